#!/usr/bin/env bash
# Leak-proof end to end (tests/lib/e2e.sh draws the world): a host behind an ISP with two real
# WireGuard tunnels (wireguard-go), protected by leakguardd's killswitch + dns-leak + ipv6-leak, and
# a leak detector on the ISP's side of the host's uplink that counts every packet the host puts on
# the wire other than WireGuard to the VPN endpoints, ARP, neighbour discovery and DHCP.
#
# Scenarios, each reporting packets sent and packets leaked (the table at the end):
#   0. detector self-check: the same generators without protection do leak, and are seen
#   1. connected (enabled by contrib/networkmanager/90-leakguard on vpn-up): the tunnel carries
#      TCP/UDP/ICMP/DNS/DoT and IPv6 inside it, the stub resolver on 127.0.0.53 works; every way
#      around it is blocked: DNS over UDP and TCP and DoT to the ISP resolver, IPv6 to global
#      addresses over the ISP's IPv6 route, sockets bound to eth0, ping -I eth0, the LAN, the other
#      tunnel, a stub resolver that forwards to the ISP
#   2. the tunnel dies (wireguard-go SIGKILLed, its interface gone) under a flood
#   3. 200 reconnects alternating between server 1 (IPv4 endpoint) and server 2 (IPv6 endpoint),
#      each three Enable calls, under a flood; every other pair adds a server address without port,
#      so the IPv4 endpoint set changes kind (hash ↔ interval: a new set) as well
#   4. leakguardd SIGKILLed and restarted, SIGTERMed and started, a Reload of a broken policy file,
#      each under a flood
#   5. another process flushes the ruleset, deletes our table, adds eth0 to our tunnel set, makes
#      our table dormant, under a flood: the daemon notices through nftables netlink events,
#      goes degraded then protecting (PropertiesChanged, timed), and nothing escapes because the
#      owner-flagged guard table holds the same blocks; the same flush without the guard (measured,
#      for the record) shows what the guard buys
#   6. a foreign table that accepts everything (firewalld/Docker style) changes nothing
#   7. start-up with saved state after a "reboot" (our table gone): a sender that starts sending the
#      instant READY=1 arrives finds protection in force
# Bounded: every flood stops by itself after 60 s at most; the whole test takes about 1.5 minutes.
. "$(dirname "$0")/../lib/e2e.sh"
RECONNECTS=${E2E_RECONNECTS:-200}
NOGUARD_FLUSHES=${E2E_NOGUARD_FLUSHES:-5}

e2e_setup
lg_bg host "$E2E_PY" "$E2E_GEN" monitor "$LG_TMP/states.txt"
MONITOR_PID=$LG_LAST_PID
lgd_wait_for 10 grep -q ready "$LG_TMP/states.txt" || lg_die "PropertiesChanged monitor did not start"

# battery_file MODE N: the probes, with what each must do. MODE connected|down|bypass.
battery_file() {
        local mode=$1 n=$2 m=$((3 - $2)) f="$LG_TMP/battery.$1.$2" up=pass stub=pass any=""
        [ "$mode" = connected ] || up=block
        [ "$n" = 1 ] || stub=block
        [ "$mode" = down ] && stub=block
        [ "$mode" = bypass ] && any=any
        {
                if [ "$mode" != bypass ]; then
                        cat <<B
tunnel-tcp4            $up tcp $E2E_PUBLIC4 9000
tunnel-udp4            $up udp $E2E_PUBLIC4 9000
tunnel-icmp4           $up ping $E2E_PUBLIC4
tunnel-udp6-inside     $up udp ${E2E_SRV6[$n]} 9000
tunnel-dns-udp         $up dns-udp ${E2E_RES4[$n]} whoami.test
tunnel-dns-tcp         $up dns-tcp ${E2E_RES4[$n]} whoami.test
tunnel-dns-over-ipv6   $up dns-udp ${E2E_RES6[$n]} whoami.test
tunnel-dot             $up tcp ${E2E_RES4[$n]} 853
stub-127.0.0.53        $stub dns-udp 127.0.0.53 whoami.test
public-dot-in-tunnel   block tcp $E2E_PUBLIC4 853
other-tunnel-udp       block udp ${E2E_SRV4[$m]} 9000
B
                fi
                cat <<B | sed "s/ block / ${any:-block} /"
isp-dns-udp            block dns-udp $E2E_ISP4 example.test
isp-dns-tcp            block dns-tcp $E2E_ISP4 example.test
isp-dns6-udp           block dns-udp $E2E_ISP6 example.test
isp-dns6-tcp           block dns-tcp $E2E_ISP6 example.test
isp-dot                block tcp $E2E_ISP4 853
leaky-stub-127.0.0.54  block dns-udp 127.0.0.54 example.test
global6-tcp            block tcp $E2E_PUBLIC6 9000
global6-udp            block udp $E2E_PUBLIC6 9000
global6-icmp6          block ping $E2E_PUBLIC6
bound-eth0-tcp4        block tcp $E2E_PUBLIC4 9000 eth0
bound-eth0-udp4        block udp $E2E_PUBLIC4 9000 eth0
ping-I-eth0            block ping $E2E_PUBLIC4 eth0
bound-eth0-udp6        block udp $E2E_PUBLIC6 9000 eth0
ping6-I-eth0           block ping $E2E_PUBLIC6 eth0
lan-udp                block udp $E2E_ISP4 9000
lan-tcp                block tcp $E2E_ISP4 9000
lan-icmp               block ping $E2E_ISP4
B
        } >"$f"
        echo "$f"
}

state_is() { [ "$(lgd_prop State)" = "s \"$1\"" ]; }
gen_of() { local g; g=$(lgd_prop Generation); echo "${g#t }"; }

# flood_row LABEL SECONDS: a flood of SECONDS while nothing else happens.
flood_row() {
        e2e_mark
        e2e_flood_start "$1" "$2"
        wait "$E2E_FLOOD_PID" 2>/dev/null
        e2e__flood_read "$LG_TMP/flood.$1.json"
        e2e_since
        e2e_row "$1" "$E2E_SENT" "$E2E_LEAKED" "tunnel carried $E2E_VPN_PACKETS packets"
}

lg_log "# 0. detector self-check: no protection yet, the host's own routes"
e2e_mark
e2e_battery "unprotected" "$(battery_file bypass 1)"
e2e_since
[ "$E2E_LEAKED_NFT" -gt 0 ] && [ "$E2E_LEAKED_DUMP" -gt 0 ] &&
        lg_pass "detector: unprotected, $E2E_SENT probes leaked $E2E_LEAKED_NFT packets (nft) / $E2E_LEAKED_DUMP (tcpdump)" ||
        lg_fail "detector self-check" "nft $E2E_LEAKED_NFT, tcpdump $E2E_LEAKED_DUMP: the detector does not see leaks"
DETECTOR_SELFCHECK="$E2E_SENT probes without protection: $E2E_LEAKED_NFT packets seen by nft, $E2E_LEAKED_DUMP by tcpdump"

lg_log "# 1. connected: NetworkManager's vpn-up runs the dispatcher script"
NMCONF="$LG_TMP/networkmanager.conf"
printf '# servers come from the WireGuard interface itself\ndns_leak=yes\nipv6_leak=yes\n' >"$NMCONF"
out=$(env -i PATH="$PATH" DBUS_SYSTEM_BUS_ADDRESS="$DBUS_SYSTEM_BUS_ADDRESS" LEAKGUARD_NM_CONF="$NMCONF" \
        NM_DISPATCHER_ACTION=vpn-up CONNECTION_ID="vpn one" CONNECTION_UUID=7d0c2b43-5b0e-4a53-9d55-3c4a7a0e2e01 \
        VPN_IP_IFACE="${E2E_TUN[1]}" DEVICE_IFACE=eth0 VPN_IP4_NAMESERVERS="${E2E_RES4[1]}" \
        VPN_IP6_NAMESERVERS="${E2E_RES6[1]}" sh "$SRCDIR/contrib/networkmanager/90-leakguard" "${E2E_TUN[1]}" vpn-up 2>&1)
rc=$?
[ $rc = 0 ] && lg_pass "dispatcher vpn-up: $(echo "$out" | tr '\n' ';')" || lg_fail "dispatcher vpn-up" "rc=$rc: $out"
lgd_eq "dispatcher: killswitch servers taken from the WireGuard interface" \
        "$(lgd_status_get "s['Policies']['killswitch']['Parameters']['servers']")" "['${E2E_EP[1]}']"
e2e_route_via 1
e2e_wait_tunnel 1 && lg_pass "tunnel 1 carries packets under protection" || lg_fail "tunnel 1" "no handshake"
state_is protecting && lg_pass "State protecting" || lg_fail "State" "$(lgd_prop State)"
e2e_mark
e2e_battery "connected" "$(battery_file connected 1)"
e2e_since
e2e_row "1. connected: generator battery" "$E2E_SENT" "$E2E_LEAKED" "every bypass blocked"
flood_row "1. connected: flood 2 s" 2

lg_log "# 2. the tunnel dies under a flood"
e2e_mark
e2e_flood_start s2
sleep 0.5
e2e_tunnel_kill 1
lg_in host ip link show "${E2E_TUN[1]}" >/dev/null 2>&1 && lg_fail "tunnel 1 interface" "still there" ||
        lg_pass "wireguard-go killed: interface ${E2E_TUN[1]} is gone, default route back to the ISP"
sleep 1.5
e2e_flood_stop s2
e2e_since
e2e_row "2. tunnel killed under flood" "$E2E_SENT" "$E2E_LEAKED"
e2e_mark
e2e_battery "tunnel down" "$(battery_file down 1)"
e2e_since
e2e_row "2. tunnel down: generator battery" "$E2E_SENT" "$E2E_LEAKED"
e2e_tunnel_up 1
e2e_wait_tunnel 1 && lg_pass "tunnel 1 re-created: the kill switch (by interface name) lets it through, no Enable needed" ||
        lg_fail "tunnel 1 re-created" "no handshake"

lg_log "# 3. $RECONNECTS reconnects, alternating servers, under a flood"
g0=$(gen_of)
e2e_mark
e2e_flood_start s3
t0=$(date +%s%N)
fails=0
for i in $(seq "$RECONNECTS"); do
        e2e_protect $((2 - i % 2)) $(((i / 2) % 2)) >/dev/null || fails=$((fails + 1))
done
t1=$(date +%s%N)
e2e_flood_stop s3
e2e_since
[ $fails = 0 ] && lg_pass "$RECONNECTS reconnects ($((RECONNECTS * 3)) Enable calls) in $(((t1 - t0) / 1000000)) ms" ||
        lg_fail "reconnects" "$fails failed"
lgd_eq "Generation advanced by one per Enable" "$(($(gen_of) - g0))" "$((RECONNECTS * 3))"
e2e_row "3. $RECONNECTS reconnects under flood" "$E2E_SENT" "$E2E_LEAKED" "$(((t1 - t0) / RECONNECTS / 1000000)) ms per reconnect"
last=$((2 - RECONNECTS % 2))
e2e_wait_tunnel "$last" && lg_pass "after the reconnects: tunnel $last carries packets" || lg_fail "tunnel $last after reconnects" "no traffic"
[ "$last" = 1 ] || e2e_protect 1 >/dev/null

lg_log "# 4. the daemon is killed, stopped, restarted, and fed a broken policy, under floods"
e2e_mark
e2e_flood_start s4a
lg_daemon_stop KILL
sleep 0.5
lgd_start
sleep 0.3
e2e_flood_stop s4a
e2e_since
state_is protecting && lg_pass "after SIGKILL and restart: protecting" || lg_fail "after SIGKILL" "$(lgd_prop State)"
e2e_row "4a. SIGKILL + restart under flood" "$E2E_SENT" "$E2E_LEAKED"
e2e_mark
e2e_flood_start s4b
lg_daemon_stop TERM
sleep 0.5
lgd_start
sleep 0.3
e2e_flood_stop s4b
e2e_since
state_is protecting && lg_pass "after SIGTERM and start: protecting" || lg_fail "after SIGTERM" "$(lgd_prop State)"
e2e_row "4b. SIGTERM (systemctl stop) + start under flood" "$E2E_SENT" "$E2E_LEAKED"
e2e_mark
e2e_flood_start s4c
g0=$(gen_of)
cp "$LGD_POLICY_DIR/killswitch.yaml" "$LG_TMP/killswitch.yaml.good"
printf '  - name: [unclosed\n' >>"$LGD_POLICY_DIR/killswitch.yaml"
out=$(lgd_busctl Reload)
[ $? != 0 ] && [[ $out == *InvalidPolicy* || $out == *killswitch.yaml* ]] && lg_pass "Reload of a broken killswitch.yaml refused: $(echo "$out" | head -2 | tr '\n' ' ')" ||
        lg_fail "Reload of a broken policy" "$out"
sleep 0.3
cp "$LG_TMP/killswitch.yaml.good" "$LGD_POLICY_DIR/killswitch.yaml"
e2e_flood_stop s4c
e2e_since
lgd_eq "broken Reload: Generation unchanged" "$(gen_of)" "$g0"
state_is protecting && lg_pass "broken Reload: still protecting" || lg_fail "broken Reload" "$(lgd_prop State)"
e2e_row "4c. Reload with a broken policy file under flood" "$E2E_SENT" "$E2E_LEAKED"

lg_log "# 5. tampering by another process, under floods"
# tamper LABEL CMD…: runs CMD in the host under a flood and times the daemon's reaction from the
# PropertiesChanged monitor; sets TAMPER_DEG_MS, TAMPER_PROT_MS (empty if never seen).
tamper() {
        local label=$1 t0 line
        shift
        e2e_mark
        e2e_flood_start "tamper"
        t0=$(date +%s.%N)
        lg_in host "$@" || lg_fail "$label: the tamper command failed" "$*"
        TAMPER_DEG_MS='' TAMPER_PROT_MS=''
        local _
        for _ in $(seq 100); do
                line=$(awk -v t0="$t0" '$1 != "ready" && $1 >= t0 { if ($2 == "degraded" && !d) d = $1; if ($2 == "protecting" && d && !p) p = $1 }
                        END { if (d) printf "%.1f", (d - t0) * 1000; printf " "; if (p) printf "%.1f", (p - t0) * 1000 }' "$LG_TMP/states.txt")
                TAMPER_DEG_MS=${line% *}
                TAMPER_PROT_MS=${line#* }
                [ -n "$TAMPER_PROT_MS" ] && break
                sleep 0.05
        done
        sleep 0.5
        e2e_flood_stop "tamper"
        e2e_since
}
TAMPER_TIMES=()
for name in flush-ruleset delete-table add-eth0-to-tunnel-set dormant-table; do
        case $name in
        flush-ruleset) tamper "$name" nft flush ruleset ;;
        delete-table) tamper "$name" nft delete table inet leakguard ;;
        # eth0 as a tunnel: without repair the kill switch itself would let everything out
        add-eth0-to-tunnel-set) tamper "$name" nft add element inet leakguard s.killswitch.killswitch.tunnel.interface.exact '{ "eth0" }' ;;
        # a dormant table's base chains are unhooked: it holds rules and decides nothing
        dormant-table) tamper "$name" nft add table inet leakguard '{ flags dormant; }' ;;
        esac
        if [ -n "$TAMPER_DEG_MS" ] && [ -n "$TAMPER_PROT_MS" ]; then
                lg_pass "$name: PropertiesChanged State degraded after $TAMPER_DEG_MS ms, protecting after $TAMPER_PROT_MS ms"
        else
                lg_fail "$name: degraded then protecting" "degraded '${TAMPER_DEG_MS}' protecting '${TAMPER_PROT_MS}' ms; $(tail -3 "$LG_TMP/states.txt" | tr '\n' ' ')"
        fi
        TAMPER_TIMES+=("$name: degraded ${TAMPER_DEG_MS:-?} ms, protecting ${TAMPER_PROT_MS:-?} ms")
        e2e_row "5. tamper: $name" "$E2E_SENT" "$E2E_LEAKED" "protecting again after ${TAMPER_PROT_MS:-?} ms"
        lgd_eq "$name: our rules are back" "$(lgd_kernel_policies)" "dns-leak ipv6-leak killswitch"
        state_is protecting && lg_pass "$name: State protecting" || lg_fail "$name: State" "$(lgd_prop State)"
done
# Five foreign element additions within half a second: verification cannot see them, so repairs
# of changes it cannot see are rate-limited (one a second); the last one waits for the timer.
e2e_mark
e2e_flood_start rapid
for i in 1 2 3 4 5; do
        lg_in host nft add element inet leakguard s.killswitch.killswitch.tunnel.interface.exact "{ \"eth$i\" }"
        sleep 0.1
done
clean() { ! lg_in host nft list set inet leakguard s.killswitch.killswitch.tunnel.interface.exact | grep -q '"eth[0-9]"'; }
t0=$(date +%s%N)
lgd_wait_for 5 clean && lg_pass "rapid tampering: the set is clean again $((($(date +%s%N) - t0) / 1000000)) ms after the last addition" ||
        lg_fail "rapid tampering" "$(lg_in host nft list set inet leakguard s.killswitch.killswitch.tunnel.interface.exact | grep elements)"
lgd_wait_for 2 state_is protecting && lg_pass "rapid tampering: protecting" || lg_fail "rapid tampering: State" "$(lgd_prop State)"
e2e_flood_stop rapid
e2e_since
e2e_row "5. tamper: 5 foreign elements in 0.5 s" "$E2E_SENT" "$E2E_LEAKED" "repairs rate-limited to 1/s"
lg_in host nft list set inet leakguard s.killswitch.killswitch.tunnel.interface.exact | grep -q '"eth0"' &&
        lg_fail "repair" "eth0 is still in the tunnel set" || lg_pass "repair removed the foreign eth0 element"
lg_in host nft list table inet leakguard | grep -q dormant && lg_fail "repair" "table still dormant" ||
        lg_pass "repair made the table active again"
out=$(lg_in host nft delete table inet leakguard_guard 2>&1) && lg_fail "delete the guard table" "allowed" ||
        lg_pass "another process cannot delete the owner-flagged guard: $(echo "$out" | head -1)"
out=$(lg_in host nft flush table inet leakguard_guard 2>&1) && lg_fail "flush the guard table" "allowed" ||
        lg_pass "another process cannot flush the guard: $(echo "$out" | head -1)"
e2e_wait_tunnel 1 && lg_pass "after the repairs: tunnel 1 carries packets" || lg_fail "tunnel after repairs" "no traffic"

lg_log "# 5'. for the record: the same flush without the guard (leakguardd --no-tamper-guard)"
lg_daemon_stop TERM
lgd_start --no-tamper-guard
lgd_has_table leakguard_guard && lg_fail "--no-tamper-guard" "guard table present" || lg_pass "--no-tamper-guard: no guard table"
noguard_leaks=0 noguard_sent=0 noguard_times=""
for i in $(seq "$NOGUARD_FLUSHES"); do
        tamper "no-guard flush $i" nft flush ruleset
        noguard_leaks=$((noguard_leaks + E2E_LEAKED))
        noguard_sent=$((noguard_sent + E2E_SENT))
        noguard_times+="${TAMPER_PROT_MS:-?} "
done
NOGUARD_NOTE="without the guard, $NOGUARD_FLUSHES x 'nft flush ruleset' under flood: $noguard_leaks of $noguard_sent packets escaped; protecting again after: ${noguard_times}ms"
lg_log "# $NOGUARD_NOTE"
lgd_eq "no guard: our rules are back after the flushes" "$(lgd_kernel_policies)" "dns-leak ipv6-leak killswitch"
lg_daemon_stop TERM
lgd_start
lgd_has_table leakguard_guard && lg_pass "guard table back with the default daemon" || lg_fail "guard table" "absent"

lg_log "# 6. a foreign table that accepts everything"
g0=$(gen_of)
lg_in host nft -f - <<'NFT' || lg_die "foreign table"
table inet other {
	chain out { type filter hook output priority -100; policy accept; accept; }
	chain out-late { type filter hook output priority 100; policy accept; accept; }
	chain route-out { type route hook output priority -150; policy accept; accept; }
	chain in { type filter hook input priority -100; policy accept; accept; }
	chain fw { type filter hook forward priority -100; policy accept; accept; }
}
NFT
e2e_mark
e2e_battery "accept-all table" "$(battery_file connected 1)"
e2e_since
e2e_row "6. foreign accept-all table: generator battery" "$E2E_SENT" "$E2E_LEAKED"
flood_row "6. foreign accept-all table: flood 2 s" 2
lgd_eq "foreign table: Generation unchanged (not our tables, nothing to repair)" "$(gen_of)" "$g0"
state_is protecting && lg_pass "foreign table: still protecting" || lg_fail "foreign table: State" "$(lgd_prop State)"
lg_in host nft delete table inet other

lg_log "# 7. start-up with saved state: a sender starts the instant READY=1 arrives"
lg_daemon_stop TERM
lg_in host nft delete table inet leakguard || lg_die "delete table (reboot)"
lgd_has_table leakguard_guard && lg_die "guard outlived its daemon"
# Someone squats the guard's name with a plain table while the daemon is down.
lg_in host nft add table inet leakguard_guard || lg_die "squat"
e2e_mark
rm -f "$LG_TMP/s7.json" "$LG_TMP/s7.notify"
: >"$LG_BUS_DIR/notify.log"
lg_bg host "$E2E_PY" "$E2E_GEN" ready-flood "$LG_TMP/s7.notify" "$LG_BUS_DIR/notify.log" 1.5 "$E2E_FLOOD_RATE" \
        "$LG_TMP/s7.json" "${E2E_FLOOD_TARGETS[@]}"
SENDER_PID=$LG_LAST_PID
lgd_wait_for 5 test -S "$LG_TMP/s7.notify" || lg_die "ready-flood did not bind its socket"
NOTIFY_SOCKET="$LG_TMP/s7.notify" ip netns exec "$(lg_ns host)" "$BUILDDIR/leakguardd" --policy-dir "$LGD_POLICY_DIR" \
        --state-dir "$LGD_STATE_DIR" 2>>"$LG_BUS_DIR/daemon.log" &
LG_DAEMON_PID=$!
wait "$SENDER_PID"
lgd_wait_name || lg_die "leakguardd did not take its bus name"
e2e__flood_read "$LG_TMP/s7.json"
e2e_since
lg_log "# $E2E_FLOOD_SUMMARY"
first=$("$E2E_PY" -c 'import json,sys; print(json.load(open(sys.argv[1])).get("first_send_after_ready_us", "?"))' "$LG_TMP/s7.json")
e2e_row "7. start-up: sender starts at READY=1" "$E2E_SENT" "$E2E_LEAKED" "first packet ${first} us after READY=1"
state_is protecting && lg_pass "start-up: protecting" || lg_fail "start-up: State" "$(lgd_prop State)"
lg_in host nft list table inet leakguard_guard | grep -q "flags owner" &&
        lg_pass "start-up: the squatted guard name was taken back, owner-flagged" ||
        lg_fail "start-up: guard" "$(lg_in host nft list table inet leakguard_guard 2>&1 | head -3)"

kill "$MONITOR_PID" 2>/dev/null
e2e_table
lg_log "detector self-check: $DETECTOR_SELFCHECK"
lg_log "tamper recovery (tamper command to PropertiesChanged):"
for t in "${TAMPER_TIMES[@]}"; do lg_log "  $t"; done
lg_log "$NOGUARD_NOTE"
lg_done
