#!/usr/bin/env bash
# What the tamper guard (table inet leakguard_guard, DESIGN.md §1) costs on the packet path: 18-byte
# UDP datagrams per second from a namespace holding killswitch + dns-leak + ipv6-leak to a VPN
# server the kill switch permits (the path every tunnel packet takes), without a ruleset, with the
# rules of leakguardd --no-tamper-guard, and with the default daemon (persistent table + guard).
# One sender pinned to one CPU, five runs of 2 s each, medians. Not part of ctest: run by hand,
#   sudo SRCDIR=$PWD BUILDDIR=$PWD/build bash tests/e2e/bench-guard.sh
. "$(dirname "$0")/../lib/daemon.sh"
lgd_setup
lg_topo_pair
cc -O2 -o "$LG_TMP/udpblast" "$SRCDIR/tests/e2e/udpblast.c" || lg_die "cannot build udpblast"
# The receiver drops them at ingress: no socket work on its side.
lg_in b nft -f - <<'NFT' || lg_die "sink"
table netdev sink {
	chain in {
		type filter hook ingress device "eth0" priority 0; policy accept;
		udp dport 51820 drop
	}
}
NFT
run() {
        local r=() i
        for i in 1 2 3 4 5; do
                r+=("$(lg_in a taskset -c 0 "$LG_TMP/udpblast" 10.99.1.2 51820 2)")
        done
        local med
        med=$(printf '%s\n' "${r[@]}" | sort -n | sed -n 3p)
        lg_pass "$(printf '%-44s median %8s pps  (runs: %s)' "$1" "$med" "${r[*]}")"
        BENCH_LAST=$med
}
enable_all() {
        lgd_busctl Enable 'sa{sv}' killswitch 2 tunnel s wg0 servers as 1 10.99.1.2:51820/udp >/dev/null &&
                lgd_busctl Enable 'sa{sv}' dns-leak 2 tunnel s wg0 resolvers as 1 10.64.0.1 >/dev/null &&
                lgd_busctl Enable 'sa{sv}' ipv6-leak 1 tunnel as 1 wg0 >/dev/null || lg_die "Enable"
}
run "no ruleset"
base=$BENCH_LAST
lgd_start --no-tamper-guard
enable_all
run "3 policies, --no-tamper-guard"
noguard=$BENCH_LAST
lg_daemon_stop TERM
lgd_start
lgd_has_table leakguard_guard || lg_die "no guard table"
run "3 policies, persistent table + guard"
guard=$BENCH_LAST
lg_log "# the guard costs $(( (noguard - guard) * 100 / noguard ))% of the datagrams/s of the rules without it (the rules themselves cost $(( (base - noguard) * 100 / base ))%)"
lg_done
