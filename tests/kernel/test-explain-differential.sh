#!/usr/bin/env bash
# Explain (DESIGN §3) against the kernel, packet by packet: thousands of random packets (a few
# addresses, ports, protocols, interfaces, users, groups and marks, chosen to meet many filters)
# go through the real kernel in a namespace holding leakguardd's rules (outbound, inbound and
# forwarded), and every kernel verdict is compared with what Explain says over D-Bus. Three rule
# sets: the shipped policies; tests/kernel/explain-policies (sublayers, hard permits, not, when,
# users, groups, marks, every layer, a dynamic session in its own table); tests/kernel/policies
# (not, hard-permit, sublayers, when, connect-vs-outbound) with the first one's `when` flipped.
# The sending, probing and comparing is tests/kernel/explain-diff.py (see there).
. "$(dirname "$0")/../lib/daemon.sh"
lgd_setup a b
DIFF="$SRCDIR/tests/kernel/explain-diff.py"
N_OUT=${LG_DIFF_OUT:-1500}
N_IN=${LG_DIFF_IN:-800}
N_FWD=${LG_DIFF_FWD:-400}
SEED=${LG_DIFF_SEED:-$RANDOM}
lg_log "# seed $SEED (LG_DIFF_SEED=$SEED reproduces this run)"
cp "$SRCDIR"/tests/kernel/explain-policies/*.yaml "$LGD_POLICY_DIR/"
for p in not hard-permit sublayers sublayers-other when connect-vs-outbound; do
        cp "$LG_POLICIES/$p.yaml" "$LGD_POLICY_DIR/"
done

# ---- topology -------------------------------------------------------------------------------
# a (leakguardd): eth0 <-> b:p0, wg0 <-> b:p1, wg7 <-> b:p2, tun9 <-> b:p3 (this kernel may have no
# dummy interfaces; wg7 and tun9 only ever send). No ARP or neighbour discovery
# anywhere (both ends of a veth share one MAC address, so NOARP frames are for the other end):
# the only IP packets are the test's own.
A=$(lg_ns a)
B=$(lg_ns b)
for pair in "eth0 p0 02:00:00:00:00:10" "wg0 p1 02:00:00:00:00:11" "wg7 p2 02:00:00:00:00:12" "tun9 p3 02:00:00:00:00:13"; do
        read -r ia ib mac <<<"$pair"
        lg_veth a "$ia" b "$ib"
        ip -n "$A" link set "$ia" address "$mac" arp off
        ip -n "$B" link set "$ib" address "$mac" arp off
done
lg_addr a eth0 192.0.2.1/24 2001:db8:1::1/64
lg_addr a wg0 198.51.100.1/24 2001:db8:2::1/64
# The peers' addresses belong to namespace b. The forwarded packets' destinations (203.0.113.0/24,
# 2001:db8:3::/64, 2001:db8:4::/64) are routed into b too, whose sink drops them (were they b's
# own, b would deliver the packets it sends to them to itself).
lg_addr b p0 192.0.2.2/24 192.0.2.53/24 10.99.1.2/24 10.99.1.4/24 2001:db8:1::2/64 fd99:1::2/64 fd99:1::4/64 \
        fe80::2/64
lg_addr b p1 198.51.100.7/24 198.51.100.53/24 198.51.100.200/24 2001:db8:2::53/64
metric=100
for d in eth0 wg0 wg7 tun9; do
        ip -n "$A" route add default dev "$d" metric $metric || lg_die "route via $d"
        ip -n "$A" -6 route add default dev "$d" metric $metric || lg_die "route6 via $d"
        metric=$((metric + 1))
done
lg_route a 203.0.113.0/25 dev wg0
lg_route a 203.0.113.128/25 dev eth0
lg_route a 2001:db8:3::/64 dev wg0
lg_route a 2001:db8:4::/64 dev eth0
ip -n "$B" route add default dev p0 metric 100 && ip -n "$B" route add default dev p1 metric 101 &&
        ip -n "$B" -6 route add default dev p0 metric 100 && ip -n "$B" -6 route add default dev p1 metric 101 ||
        lg_die "routes of b"
lg_in a sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 net.ipv4.conf.all.rp_filter=0 \
        net.ipv4.conf.default.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0 net.ipv4.conf.wg0.rp_filter=0 \
        net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.eth0.send_redirects=0 net.ipv4.conf.wg0.send_redirects=0 \
        >/dev/null || lg_die "sysctls of a"
# b takes every packet and answers none.
lg_in b nft -f - <<'NFT' || lg_die "sink of b"
table inet sink {
        chain pre { type filter hook prerouting priority -500; policy drop; }
}
NFT
# a's probe: after leakguard's chains (priority filter = 0, its guard copy 1), note the ID of each
# test packet (TTL/hop limit 77 on input, any forwarded one) and drop it; each phase its own
# conntrack zone. explain-diff.py rewrites rawpre's zone and flushes the sets per phase.
lg_in a nft -f - <<'NFT' || lg_die "probe of a"
table inet lgprobe {
        set in4 { typeof ip id; flags dynamic; size 65535; }
        set in6 { typeof ip6 flowlabel; flags dynamic; size 65535; }
        set fwd4 { typeof ip id; flags dynamic; size 65535; }
        set fwd6 { typeof ip6 flowlabel; flags dynamic; size 65535; }
        chain rawout { type filter hook output priority raw; ct zone set 1; }
        chain rawpre { type filter hook prerouting priority raw; ct zone set 2; }
        chain probe_in {
                type filter hook input priority 100; policy drop;
                ip ttl 77 add @in4 { ip id }
                ip6 hoplimit 77 add @in6 { ip6 flowlabel }
        }
        chain probe_fwd {
                type filter hook forward priority 100; policy drop;
                meta nfproto ipv4 add @fwd4 { ip id }
                meta nfproto ipv6 add @fwd6 { ip6 flowlabel }
        }
}
NFT

lgd_start
STOP="$LG_TMP/stop-hold"
HOLD_PID=
lgd_cleanup_extra() {
        touch "$STOP"
        [ -n "$HOLD_PID" ] && { kill "$HOLD_PID"; wait "$HOLD_PID"; } 2>/dev/null
        return 0
}

enable() { lgd_expect_ok "Enable $*" "$LEAKGUARDCTL" enable "$@"; }
disable_all() {
        local p
        for p in $(lgd_enabled_property); do "$LEAKGUARDCTL" disable "$p" >/dev/null; done
}

# run SCENARIO [VERDICTS]: the differential run over whatever is enabled now; VERDICTS: phases and
# verdicts the kernel must have given at least once (so the run shows both ways of each phase).
run() {
        local scenario=$1 want=${2:-} out rc start end
        start=$(date +%s%N)
        out=$("$LGD_PY" "$DIFF" "$A" "$B" "$scenario" "$SEED" "$N_OUT" "$N_IN" "$N_FWD" 2>&1)
        rc=$?
        end=$(date +%s%N)
        printf '%s\n' "$out" | sed 's/^/# /'
        local summary
        summary=$(grep '^SUMMARY' <<<"$out")
        if [ $rc -eq 0 ] && [ -n "$summary" ]; then
                lg_pass "$scenario: Explain agrees with the kernel on every packet ($(sed 's/^SUMMARY //' <<<"$summary"), $(((end - start) / 1000000)) ms)"
        else
                lg_fail "$scenario: Explain differs from the kernel" "$(grep -E '^(MISMATCH|ERROR|SUMMARY|Traceback)' <<<"$out" | head -5 | tr '\n' ' ')"
        fi
        local w
        for w in $want; do
                grep -q "${w/:/ } [1-9]" <<<"$summary" && lg_pass "$scenario: the kernel gave '${w/:/ }' at least once" ||
                        lg_fail "$scenario: the kernel never gave '${w/:/ }'" "$summary"
        done
        # Every packet that was sent counts: a run that sent nothing proves nothing.
        local compared
        compared=$(sed -n 's/.*compared=\([0-9]*\).*/\1/p' <<<"$summary")
        [ "${compared:-0}" -ge $(((N_OUT + N_IN + N_FWD) * 9 / 10)) ] &&
                lg_pass "$scenario: $compared of $((N_OUT + N_IN + N_FWD)) packets compared" ||
                lg_fail "$scenario: too few packets compared" "${compared:-0} of $((N_OUT + N_IN + N_FWD))"
}

lg_log "# scenario 1: the shipped policies"
enable killswitch tunnel=wg0 "servers=192.0.2.2:51820/udp,[2001:db8:1::2]:51820/udp" allow_lan=true
enable dns-leak tunnel=wg0 resolvers=198.51.100.53,2001:db8:2::53
enable ipv6-leak allow_lan=true tunnel=wg0 "servers=[2001:db8:1::2]:51820/udp"
run shipped "outbound:block outbound:permit inbound:block inbound:permit"

lg_log "# scenario 2: tests/kernel/explain-policies (diff-a persistent, diff-b a dynamic session)"
disable_all
enable diff-a tunnel=wg0 "servers=192.0.2.53:53/udp,[2001:db8:2::53]:53/udp"
"$LGD_PY" "$LGD_LIB/lgdbus.py" hold diff-b '{}' "$STOP" >"$LG_TMP/hold.out" &
HOLD_PID=$!
lgd_wait_for 5 grep -q '^enabled' "$LG_TMP/hold.out" && lg_pass "diff-b enabled as a dynamic session: $(head -1 "$LG_TMP/hold.out")" ||
        lg_fail "diff-b enabled" "$(cat "$LG_TMP/hold.out")"
lgd_has_table leakguard_dynamic && lg_pass "kernel: table inet leakguard_dynamic holds diff-b" ||
        lg_fail "kernel: table inet leakguard_dynamic" "absent"
run explain-policies "outbound:block outbound:permit inbound:block inbound:permit forward:block forward:permit"

lg_log "# scenario 3: tests/kernel/policies, and diff-a with its 'when' flipped"
touch "$STOP"
wait "$HOLD_PID" 2>/dev/null
HOLD_PID=
lgd_wait_for 5 sh -c "! ip netns exec '$A' nft list table inet leakguard_dynamic >/dev/null 2>&1" ||
        lg_fail "diff-b disabled when its client left" "table inet leakguard_dynamic still there"
disable_all
enable diff-a tunnel=wg0 "servers=192.0.2.53:53/udp" strict=false lax=true admin=1000
enable not allowed=10.99.1.2,fd99:1::2,192.0.2.2,2001:db8:1::2,203.0.113.0/24
enable hard-permit
enable sublayers
enable sublayers-other
enable when strict=true
enable connect-vs-outbound use_connect=true
run test-policies "outbound:block outbound:permit inbound:block inbound:permit forward:block forward:permit"

lg_done
