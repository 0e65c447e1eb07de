#!/usr/bin/env bash
# Replacing one compiled ruleset by another (nft -f of the compiled output: `flush table` and
# re-add, one transaction) while UDP floods run lets ZERO packets through to a destination both
# rulesets block. Two floods at once: one sent from the namespace holding the ruleset (outbound
# layer), one routed through it (forward layer). The receiver counts with nft counters in its
# own namespace (exact, whatever the socket buffers do); the permitted destinations must keep
# receiving during the swaps, so the flood is real. Policy: policies/swap.yaml.
# Two informational runs only report what gets through with other transaction shapes: sets deleted
# and re-declared after the flush, and `delete table` + re-create (the design measured 1-5 packets
# per swap that way); they show that the flood would reveal a leak.
. "$(dirname "$0")/../lib/netns.sh"
lg_require
SWAPS=${LG_SWAPS:-200}
RENEW_SWAPS=${LG_RENEW_SWAPS:-50}
CONTROL_SWAPS=${LG_CONTROL_SWAPS:-50}

# s (sender) -- a (ruleset; host and router) -- b (receiver)
lg_topo_pair
lg_netns_new s
lg_veth s eth0 a eth1
lg_addr s eth0 10.99.3.1/24 fd99:3::1/64
lg_addr a eth1 10.99.3.2/24 fd99:3::2/64
lg_route s 10.99.1.0/24 via 10.99.3.2
lg_route s fd99:1::/64 via fd99:3::2
lg_route b 10.99.3.0/24 via 10.99.1.1
lg_route b fd99:3::/64 via fd99:1::1
lg_forwarding a
lg_in s ping -c1 -W2 -q 10.99.1.2 >/dev/null || lg_die "no route s -> b"
lg_in s ping -6 -c1 -W2 -q fd99:1::2 >/dev/null || lg_die "no IPv6 route s -> b"

cat >"$LG_TMP/count.nft" <<'NFT'
table inet lgtest_count {
	chain pre {
		type filter hook prerouting priority raw; policy accept;
		udp dport 9000 ip saddr 10.99.1.1 counter drop comment "blocked-out-v4"
		udp dport 9000 ip6 saddr fd99:1::1 counter drop comment "blocked-out-v6"
		udp dport 9000 ip saddr 10.99.3.1 counter drop comment "blocked-fwd-v4"
		udp dport 9000 ip6 saddr fd99:3::1 counter drop comment "blocked-fwd-v6"
		udp dport 9000 counter drop comment "blocked-other"
		udp dport 9001 ip saddr 10.99.1.1 counter drop comment "permitted-out-v4"
		udp dport 9001 ip6 saddr fd99:1::1 counter drop comment "permitted-out-v6"
		udp dport 9001 ip saddr 10.99.3.1 counter drop comment "permitted-fwd-v4"
		udp dport 9001 ip6 saddr fd99:3::1 counter drop comment "permitted-fwd-v6"
	}
}
NFT
lg_apply b "$LG_TMP/count.nft" || lg_die "receiver counters"
count() { # COMMENT-PREFIX: sum of the receiver's counters
        lg_in b nft list table inet lgtest_count |
                awk -v c="comment \"$1" 'index($0, c) { for (i = 1; i < NF; i++) if ($i == "packets") n += $(i + 1) }
                        END { print n + 0 }'
}
# (nft 1.0.6 has no `reset rules`; re-adding the rules zeroes their counters.)
reset_counts() { { echo "flush table inet lgtest_count"; cat "$LG_TMP/count.nft"; } | lg_in b nft -f - || lg_die "reset counters"; }

many=$(for i in $(seq 0 999); do printf '10.98.%d.%d,' $((i / 250)) $((i % 250 + 1)); done)
# Both rulesets give each set the same kind (hash for the IPv4 singles, interval for IPv6, where r1
# has an unused prefix too): a kind change is a new set, which one standalone transaction cannot add
# without leaking (the informational run below); the daemon makes such sets before the swap.
lg_compile "$LG_TMP/r1.nft" swap blocked=10.99.1.3,fd99:1::3,2001:db8:ffff::/48 extra=false || lg_die compile
lg_compile "$LG_TMP/r2.nft" swap "blocked=${many}10.99.1.3,fd99:1::3,2001:db8::/32" extra=true || lg_die compile
# Informational variant: after `flush table`, every set is deleted and declared anew in the same
# transaction (what re-declaring a set whose type changed would need). On kernel 6.18 this lets
# packets through: a set created in the transaction does not match during the commit.
for r in r1 r2; do
        awk 'NR == 3 { while ((getline l < sets) > 0) print "delete set inet leakguard " l } { print }' \
                sets=<(sed -n 's/^\tset \([^ ]*\) {$/\1/p' "$LG_TMP/$r.nft") "$LG_TMP/$r.nft" >"$LG_TMP/$r.renew.nft"
done
grep -q '^delete set' "$LG_TMP/r1.renew.nft" || lg_die "renew variant"
# Control: the same rulesets, but the table is deleted and re-created in the transaction.
for r in r1 r2; do
        { printf 'table inet leakguard { }\ndelete table inet leakguard\n'; cat "$LG_TMP/$r.nft"; } >"$LG_TMP/$r.delete.nft"
done

# flood_run LABEL SWAPS INIT FILE1 FILE2: loads INIT, then floods during SWAPS loads alternating
# FILE2, FILE1, FILE2…; sets the globals below.
flood_run() {
        local label=$1 swaps=$2 init=$3 f1=$4 f2=$5 i t0 t1 pout pfwd
        lg_apply a "$init" || lg_die "apply $init"
        reset_counts
        rm -f "$LG_TMP/stop"
        local targets="10.99.1.3,9000 fd99:1::3,9000 10.99.1.2,9001 fd99:1::2,9001"
        lg_bg a sh -c "exec '$LG_PY' '$LG_TMP/lgnet.py' flood '$LG_TMP/stop' $targets >'$LG_TMP/flood.$label.out'"
        pout=$LG_LAST_PID
        lg_bg s sh -c "exec '$LG_PY' '$LG_TMP/lgnet.py' flood '$LG_TMP/stop' $targets >'$LG_TMP/flood.$label.fwd'"
        pfwd=$LG_LAST_PID
        sleep 0.3
        before_ok=$(count permitted)
        swap_errors=0
        t0=$(date +%s%N)
        for i in $(seq "$swaps"); do
                if [ $((i % 2)) = 1 ]; then lg_apply a "$f2"; else lg_apply a "$f1"; fi || swap_errors=$((swap_errors + 1))
        done
        t1=$(date +%s%N)
        during_ok=$(($(count permitted) - before_ok))
        sleep 0.3
        touch "$LG_TMP/stop"
        wait "$pout" "$pfwd"
        swap_ms=$(((t1 - t0) / 1000000))
        leaked=$(count blocked)
        leaked_out=$(($(count blocked-out-v4) + $(count blocked-out-v6)))
        leaked_fwd=$(($(count blocked-fwd-v4) + $(count blocked-fwd-v6)))
        received_ok=$(count permitted)
        received_ok_out=$(($(count permitted-out-v4) + $(count permitted-out-v6)))
        received_ok_fwd=$(($(count permitted-fwd-v4) + $(count permitted-fwd-v6)))
}

lg_log "# $SWAPS swaps, flush table + re-add (the compiled output)"
flood_run main "$SWAPS" "$LG_TMP/r1.nft" "$LG_TMP/r1.nft" "$LG_TMP/r2.nft"
sed 's/^/# sender in a (outbound): /' "$LG_TMP/flood.main.out"
sed 's/^/# sender in s (forwarded by a): /' "$LG_TMP/flood.main.fwd"
sent_blocked=$(cat "$LG_TMP/flood.main.out" "$LG_TMP/flood.main.fwd" |
        awk '$1 ~ /,9000$/ { for (i = 2; i <= NF; i++) if ($i ~ /^attempts=/) n += substr($i, 10) } END { print n + 0 }')
lg_log "# swaps: $SWAPS in $swap_ms ms ($swap_errors failed loads)"
lg_log "# to the blocked destinations: $sent_blocked packets offered (outbound sender: refused with EPERM; forwarded: dropped in a)"
lg_log "# received at the blocked destinations: $leaked (outbound $leaked_out, forward $leaked_fwd)"
lg_log "# received at the permitted destinations: $received_ok (outbound $received_ok_out, forward $received_ok_fwd), $during_ok during the swaps"
[ "$swap_errors" -eq 0 ] && lg_pass "all $SWAPS loads succeeded" || lg_fail "loads" "$swap_errors of $SWAPS failed"
[ "$sent_blocked" -gt 10000 ] && lg_pass "flood offered $sent_blocked packets to the blocked destinations" ||
        lg_fail "flood too small" "$sent_blocked packets to the blocked destinations"
[ "$leaked" -eq 0 ] && lg_pass "zero packets reached the blocked destinations during $SWAPS swaps" ||
        lg_fail "leak during swaps" "$leaked packets reached the blocked destinations (outbound $leaked_out, forward $leaked_fwd)"
[ "$received_ok_out" -gt 0 ] && [ "$received_ok_fwd" -gt 0 ] && [ "$during_ok" -gt 0 ] &&
        lg_pass "permitted destinations kept receiving (outbound $received_ok_out, forward $received_ok_fwd; $during_ok during the swaps)" ||
        lg_fail "permitted traffic" "outbound $received_ok_out, forward $received_ok_fwd, during swaps $during_ok"

if [ "$RENEW_SWAPS" -gt 0 ]; then
        lg_log "# informational: $RENEW_SWAPS swaps by flush table + delete and re-declare every set + re-add"
        flood_run renew "$RENEW_SWAPS" "$LG_TMP/r1.nft" "$LG_TMP/r1.renew.nft" "$LG_TMP/r2.renew.nft"
        lg_log "NOTE renewed sets: $leaked packets reached the blocked destinations in $RENEW_SWAPS swaps (outbound $leaked_out, forward $leaked_fwd; $swap_errors failed loads)"
fi
if [ "$CONTROL_SWAPS" -gt 0 ]; then
        lg_log "# informational: $CONTROL_SWAPS swaps by delete table + re-create in one transaction"
        flood_run control "$CONTROL_SWAPS" "$LG_TMP/r1.nft" "$LG_TMP/r1.delete.nft" "$LG_TMP/r2.delete.nft"
        lg_log "NOTE control: $leaked packets reached the blocked destinations in $CONTROL_SWAPS delete+create swaps (outbound $leaked_out, forward $leaked_fwd)"
fi
lg_done
