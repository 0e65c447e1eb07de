#!/usr/bin/env bash
# contrib/networkmanager/90-leakguard, run the way NetworkManager-dispatcher runs it: executed
# directly (its mode must allow that and nothing more), argv[1] the interface, argv[2] the action,
# and only the environment NetworkManager sets (env -i: NM_DISPATCHER_ACTION, CONNECTION_ID,
# CONNECTION_UUID, VPN_IP_IFACE, VPN_IP4_NAMESERVERS, VPN_IP6_NAMESERVERS, DEVICE_IFACE…), against
# leakguardd on the private bus (DBUS_SYSTEM_BUS_ADDRESS) in a namespace of our own.
#   vpn-up enables killswitch, dns-leak and ipv6-leak with the VPN's interface, servers and
#   resolvers; again with the same environment changes no rule; vpn-down, down, up of an ethernet
#   device and the other actions change nothing; servers come from the configuration (per
#   connection UUID first), from a WireGuard interface's peers, or from VPN_GATEWAY; without
#   servers nothing changes and the script says why; hostile values reach leakguardd as data and
#   are refused there.
. "$(dirname "$0")/../lib/daemon.sh"
lgd_setup a
lgd_start
NM="$SRCDIR/contrib/networkmanager/90-leakguard"
CONF="$LG_TMP/networkmanager.conf"
UUID1=7d0c2b43-5b0e-4a53-9d55-3c4a7a0e2e01
UUID2=0b9e8f2a-3c1d-4e5f-8a7b-6c5d4e3f2a1b
WG_IF="wgnm$(printf '%04x' $((RANDOM & 0xffff)))"
WG_PID=
lgd_cleanup_extra() {
        [ -n "$WG_PID" ] && kill "$WG_PID" 2>/dev/null && wait "$WG_PID" 2>/dev/null
        rm -f "/var/run/wireguard/$WG_IF.sock"
        return 0
}

# dispatch ACTION IFACE [VAR=VALUE…]: the script with NetworkManager's environment only.
dispatch() {
        local action=$1 iface=$2
        shift 2
        DISPATCH_OUT=$(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DBUS_SYSTEM_BUS_ADDRESS="$DBUS_SYSTEM_BUS_ADDRESS" \
                LEAKGUARD_NM_CONF="$CONF" NM_DISPATCHER_ACTION="$action" "$@" "$NM" "$iface" "$action" 2>&1)
        DISPATCH_RC=$?
}
param() { lgd_status_get "s['Policies']['$1']['Parameters'].get('$2')"; }
gen() { local g; g=$(lgd_prop Generation); echo "${g#t }"; }
# ruleset: the kernel's rules and set elements, without counter values.
ruleset() { lg_in a nft list ruleset | sed 's/counter packets [0-9]* bytes [0-9]*/counter/'; }

lg_log "# the file NetworkManager-dispatcher will run"
mode=$(stat -c %a "$NM")
[ -x "$NM" ] && [ $((0$mode & 022)) = 0 ] && lg_pass "executable, not writable by group or others (mode $mode)" ||
        lg_fail "file mode" "$mode: the dispatcher ignores scripts writable by group or others"
[ "$(head -1 "$NM")" = "#!/bin/sh" ] && sh -n "$NM" && lg_pass "a POSIX sh script that parses" || lg_fail "shebang/syntax" "$(head -1 "$NM")"

lg_log "# installed but not configured (no $CONF): vpn-up changes nothing"
rm -f "$CONF"
dispatch vpn-up tun0 CONNECTION_ID="office vpn" VPN_IP_IFACE=tun0 VPN_IP4_NAMESERVERS=10.8.0.1
[ $DISPATCH_RC = 0 ] && lg_pass "no configuration: rc 0: $DISPATCH_OUT" || lg_fail "no configuration" "rc=$DISPATCH_RC $DISPATCH_OUT"
lgd_eq "no configuration: nothing enabled" "$(lgd_prop EnabledPolicies)" 'as 0'
lgd_eq "the shipped example configuration enables nothing by itself either" \
        "$(grep -v '^#' "$SRCDIR/contrib/networkmanager/networkmanager.conf" | grep -c '^servers')" 0

lg_log "# vpn-up of an OpenVPN-style tunnel, servers from the configuration"
cat >"$CONF" <<EOF
# leakguard's NetworkManager settings
servers=198.51.100.7:51820/udp
servers.$UUID2=[2001:db8::7]:51820/udp, 203.0.113.9:443/tcp
EOF
VPN1=(CONNECTION_ID="office vpn" "CONNECTION_UUID=$UUID1" VPN_IP_IFACE=tun0 DEVICE_IFACE=eth0 DEVICE_IP_IFACE=eth0
        VPN_IP4_NAMESERVERS="10.8.0.1" VPN_IP6_NAMESERVERS="fd00:8::1" VPN_IP4_GATEWAY=10.8.0.1)
g0=$(gen)
dispatch vpn-up tun0 "${VPN1[@]}"
[ $DISPATCH_RC = 0 ] && lg_pass "vpn-up: $(echo "$DISPATCH_OUT" | tr '\n' ';')" || lg_fail "vpn-up" "rc=$DISPATCH_RC $DISPATCH_OUT"
lgd_eq "vpn-up: EnabledPolicies" "$(lgd_prop EnabledPolicies)" 'as 3 "dns-leak" "ipv6-leak" "killswitch"'
lgd_eq "vpn-up: three Enable calls" "$(($(gen) - g0))" 3
lgd_eq "killswitch tunnel" "$(param killswitch tunnel)" "tun0"
lgd_eq "killswitch servers (configuration)" "$(param killswitch servers)" "['198.51.100.7:51820/udp']"
lgd_eq "killswitch allow_lan" "$(param killswitch allow_lan)" "False"
lgd_eq "dns-leak resolvers (VPN_IP4/6_NAMESERVERS)" "$(param dns-leak resolvers)" "['10.8.0.1', 'fd00:8::1']"
lgd_eq "dns-leak tunnel" "$(param dns-leak tunnel)" "tun0"
lgd_eq "ipv6-leak tunnel" "$(param ipv6-leak tunnel)" "['tun0']"
lgd_eq "ipv6-leak servers (no IPv6 server)" "$(param ipv6-leak servers)" "[]"
lgd_eq "State" "$(lgd_prop State)" 's "protecting"'

lg_log "# idempotent: the same vpn-up again"
ruleset >"$LG_TMP/rules.1"
cp "$LGD_STATE_DIR/state.ini" "$LG_TMP/state.1"
dispatch vpn-up tun0 "${VPN1[@]}"
[ $DISPATCH_RC = 0 ] && lg_pass "vpn-up again: rc 0" || lg_fail "vpn-up again" "rc=$DISPATCH_RC $DISPATCH_OUT"
ruleset >"$LG_TMP/rules.2"
cmp -s "$LG_TMP/rules.1" "$LG_TMP/rules.2" && lg_pass "vpn-up again: the kernel holds the same rules and elements" ||
        lg_fail "vpn-up again changed the rules" "$(diff "$LG_TMP/rules.1" "$LG_TMP/rules.2" | head -5)"
lgd_eq "vpn-up again: EnabledPolicies" "$(lgd_prop EnabledPolicies)" 'as 3 "dns-leak" "ipv6-leak" "killswitch"'
lgd_eq "vpn-up again: State" "$(lgd_prop State)" 's "protecting"'

lg_log "# vpn-down and the other actions change nothing"
g1=$(gen)
dispatch vpn-down tun0 "${VPN1[@]}"
[ $DISPATCH_RC = 0 ] && lg_pass "vpn-down: rc 0, says: $DISPATCH_OUT" || lg_fail "vpn-down" "rc=$DISPATCH_RC $DISPATCH_OUT"
for a in pre-down down up pre-up dhcp4-change dhcp6-change connectivity-change hostname reapply vpn-pre-down; do
        dispatch "$a" eth0 CONNECTION_ID="Wired" CONNECTION_UUID=$UUID1 DEVICE_IFACE=eth0 DEVICE_IP_IFACE=eth0
        [ $DISPATCH_RC = 0 ] || lg_fail "$a" "rc=$DISPATCH_RC $DISPATCH_OUT"
done
lgd_eq "vpn-down, down, up, … : Generation unchanged" "$(gen)" "$g1"
lgd_eq "vpn-down: EnabledPolicies" "$(lgd_prop EnabledPolicies)" 'as 3 "dns-leak" "ipv6-leak" "killswitch"'
ruleset >"$LG_TMP/rules.3"
cmp -s "$LG_TMP/rules.1" "$LG_TMP/rules.3" && lg_pass "vpn-down: the kernel still holds the same rules" ||
        lg_fail "vpn-down changed the rules" "$(diff "$LG_TMP/rules.1" "$LG_TMP/rules.3" | head -5)"

lg_log "# reconnect to another connection: per-UUID servers, IPv6 server"
dispatch vpn-up tun1 CONNECTION_ID="home vpn" CONNECTION_UUID=$UUID2 VPN_IP_IFACE=tun1 VPN_IP4_NAMESERVERS="10.9.0.1"
[ $DISPATCH_RC = 0 ] && lg_pass "vpn-up tun1: rc 0" || lg_fail "vpn-up tun1" "rc=$DISPATCH_RC $DISPATCH_OUT"
lgd_eq "killswitch tunnel replaced" "$(param killswitch tunnel)" "tun1"
lgd_eq "killswitch servers from servers.$UUID2" "$(param killswitch servers)" "['[2001:db8::7]:51820/udp', '203.0.113.9:443/tcp']"
lgd_eq "ipv6-leak servers: the IPv6 one" "$(param ipv6-leak servers)" "['[2001:db8::7]:51820/udp']"
lgd_eq "dns-leak resolvers replaced" "$(param dns-leak resolvers)" "['10.9.0.1']"

lg_log "# dns_leak=no, ipv6_leak=no, allow_lan=yes: only the kill switch is touched, nothing is disabled"
printf 'servers=198.51.100.8:1194/udp\ndns_leak=no\nipv6_leak = no\nallow_lan=yes\n' >"$CONF"
g2=$(gen)
dispatch vpn-up tun2 CONNECTION_ID="x" CONNECTION_UUID=$UUID1 VPN_IP_IFACE=tun2 VPN_IP4_NAMESERVERS="10.10.0.1"
lgd_eq "one Enable" "$(($(gen) - g2))" 1
lgd_eq "killswitch allow_lan" "$(param killswitch allow_lan)" "True"
lgd_eq "dns-leak left as it was (still enabled)" "$(param dns-leak tunnel)" "tun1"
lgd_eq "EnabledPolicies" "$(lgd_prop EnabledPolicies)" 'as 3 "dns-leak" "ipv6-leak" "killswitch"'

lg_log "# no configuration: servers from a WireGuard interface's peers"
: >"$CONF"
rm -f "/var/run/wireguard/$WG_IF.sock"
ip netns exec "$(lg_ns a)" env WG_PROCESS_FOREGROUND=1 wireguard-go "$WG_IF" >"$LG_TMP/wg.log" 2>&1 &
WG_PID=$!
lgd_wait_for 5 test -S "/var/run/wireguard/$WG_IF.sock" || lg_die "wireguard-go did not start"
(umask 077 && wg genkey >"$LG_TMP/k")
lg_in a wg set "$WG_IF" private-key "$LG_TMP/k" peer "$(wg genkey | wg pubkey)" endpoint 192.0.2.44:51820 \
        allowed-ips 0.0.0.0/0 peer "$(wg genkey | wg pubkey)" endpoint '[2001:db8::44]:51821' allowed-ips ::/0 ||
        lg_die "wg set"
dispatch vpn-up "$WG_IF" CONNECTION_ID="wg" CONNECTION_UUID=$UUID1 VPN_IP_IFACE="$WG_IF"
[ $DISPATCH_RC = 0 ] && lg_pass "vpn-up $WG_IF: rc 0" || lg_fail "vpn-up $WG_IF" "rc=$DISPATCH_RC $DISPATCH_OUT"
lgd_eq "killswitch servers from wg show endpoints" "$(lgd_status_get "sorted(s['Policies']['killswitch']['Parameters']['servers'])")" \
        "['192.0.2.44:51820/udp', '[2001:db8::44]:51821/udp']"
lgd_eq "ipv6-leak servers" "$(param ipv6-leak servers)" "['[2001:db8::44]:51821/udp']"
lg_log "# NetworkManager's own WireGuard connections report up, not vpn-up: only with wireguard=yes"
lgd_expect_ok "Disable killswitch (test setup)" lgd_busctl Disable s killswitch
g3=$(gen)
dispatch up "$WG_IF" CONNECTION_ID="wg" CONNECTION_UUID=$UUID1 DEVICE_IFACE="$WG_IF" DEVICE_IP_IFACE="$WG_IF"
lgd_eq "up of a WireGuard device without wireguard=yes: nothing" "$(gen)" "$g3"
printf 'wireguard=yes\n' >"$CONF"
dispatch up "$WG_IF" CONNECTION_ID="wg" CONNECTION_UUID=$UUID1 DEVICE_IFACE="$WG_IF" DEVICE_IP_IFACE="$WG_IF"
lgd_eq "up of a WireGuard device with wireguard=yes: killswitch on it" "$(param killswitch tunnel)" "$WG_IF"
dispatch up eth0 CONNECTION_ID="Wired" CONNECTION_UUID=$UUID2 DEVICE_IFACE=eth0 DEVICE_IP_IFACE=eth0
lgd_eq "up of an ethernet device with wireguard=yes: nothing" "$(param killswitch tunnel)" "$WG_IF"

lg_log "# VPN_GATEWAY when nothing else names the servers; none at all: nothing changes"
: >"$CONF"
dispatch vpn-up tun5 CONNECTION_ID="gw" CONNECTION_UUID=$UUID1 VPN_IP_IFACE=tun5 VPN_GATEWAY=198.51.100.99
lgd_eq "servers from VPN_GATEWAY" "$(param killswitch servers)" "['198.51.100.99']"
g4=$(gen)
dispatch vpn-up tun6 CONNECTION_ID="none" CONNECTION_UUID=$UUID1 VPN_IP_IFACE=tun6
[ $DISPATCH_RC = 1 ] && [[ $DISPATCH_OUT == *"no VPN servers known"* ]] && lg_pass "no servers: rc 1, says: $DISPATCH_OUT" ||
        lg_fail "no servers" "rc=$DISPATCH_RC $DISPATCH_OUT"
lgd_eq "no servers: Generation unchanged" "$(gen)" "$g4"
lgd_eq "no servers: the kill switch keeps its tunnel" "$(param killswitch tunnel)" "tun5"

lg_log "# hostile values are data"
printf 'servers=198.51.100.7:51820/udp\n' >"$CONF"
g5=$(gen)
rm -f "$LG_TMP/pwned"
dispatch vpn-up x CONNECTION_ID='$(touch '"$LG_TMP"'/pwned)' CONNECTION_UUID='../../etc/passwd' \
        VPN_IP_IFACE='tun0;touch '"$LG_TMP"'/pwned' VPN_IP4_NAMESERVERS='10.0.0.1 `touch '"$LG_TMP"'/pwned`'
[ $DISPATCH_RC != 0 ] && lg_pass "hostile interface name: refused (rc $DISPATCH_RC): $(echo "$DISPATCH_OUT" | head -2 | tr '\n' ';')" ||
        lg_fail "hostile interface name" "accepted: $DISPATCH_OUT"
[ ! -e "$LG_TMP/pwned" ] && lg_pass "nothing was executed" || lg_fail "hostile values" "a command ran"
lgd_eq "hostile: Generation unchanged" "$(gen)" "$g5"
# A short name with shell syntax: refused by leakguardd's interface-name check, never run by sh.
mkdir -p "$LG_TMP/cwd"
(cd "$LG_TMP/cwd" && dispatch vpn-up x CONNECTION_ID='$(>pw)' CONNECTION_UUID=$UUID1 VPN_IP_IFACE='$(>pw)' \
        VPN_IP4_NAMESERVERS='10.0.0.1' && printf '%s\n%s\n' "$DISPATCH_RC" "$DISPATCH_OUT" >"$LG_TMP/rc")
[ "$(head -1 "$LG_TMP/rc")" = 1 ] && [ -z "$(ls -A "$LG_TMP/cwd")" ] &&
        lg_pass "interface \$(>pw): refused, nothing executed (no file pw): $(tail -n +2 "$LG_TMP/rc" | head -1)" ||
        lg_fail "interface \$(>pw)" "$(cat "$LG_TMP/rc"), cwd: $(ls -A "$LG_TMP/cwd")"
lgd_eq "interface \$(>pw): Generation unchanged" "$(gen)" "$g5"
printf 'servers=198.51.100.7:51820/udp $(touch %s/pwned) `id` ;reboot\n' "$LG_TMP" >"$CONF"
dispatch vpn-up tun7 CONNECTION_ID="c" CONNECTION_UUID=$UUID1 VPN_IP_IFACE=tun7
[ $DISPATCH_RC != 0 ] && [ ! -e "$LG_TMP/pwned" ] && lg_pass "hostile configuration: refused by leakguardd, nothing executed" ||
        lg_fail "hostile configuration" "rc=$DISPATCH_RC $DISPATCH_OUT"
lgd_eq "hostile configuration: Generation unchanged" "$(gen)" "$g5"

lg_log "# leakguardd not running: the script fails loudly, never silently"
lg_daemon_stop TERM
printf 'servers=198.51.100.7:51820/udp\n' >"$CONF"
dispatch vpn-up tun0 "${VPN1[@]}"
[ $DISPATCH_RC != 0 ] && lg_pass "no daemon: rc $DISPATCH_RC: $(echo "$DISPATCH_OUT" | head -1)" || lg_fail "no daemon" "rc 0"
lg_done
