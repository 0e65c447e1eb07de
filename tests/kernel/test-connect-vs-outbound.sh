#!/usr/bin/env bash
# The connect layer (ALE_AUTH_CONNECT, `ct state != new return`) judges new flows only: a TCP
# connection (or UDP flow) set up before the ruleset keeps working while new ones are blocked.
# The outbound layer judges every packet: it cuts an already established TCP connection.
# Policy: policies/connect-vs-outbound.yaml (the same block, in one layer or the other).
. "$(dirname "$0")/../lib/netns.sh"
lg_require
lg_topo_pair 7000,9000
lg_compile "$LG_TMP/connect.nft" connect-vs-outbound use_connect=true || lg_die compile
lg_compile "$LG_TMP/outbound.nft" connect-vs-outbound use_connect=false || lg_die compile

hold_all() { # PHASE
        local p proto r=
        for p in 10.99.1.2 fd99:1::2; do
                for proto in tcp udp; do
                        lg_hold_start "$1-$proto-$p" a $proto $p 7000
                        [ "$LG_REPLY" = connected ] || lg_die "$proto $p: $LG_REPLY"
                        lg_hold_send "$1-$proto-$p"
                        [ "$LG_REPLY" = ok ] || lg_die "$1 $proto $p before the ruleset: $LG_REPLY"
                done
        done
}

send_all() { # PHASE WANT(ok|block)
        local p proto r=
        for p in 10.99.1.2 fd99:1::2; do
                for proto in tcp udp; do
                        lg_hold_send "$1-$proto-$p"
                        r=$LG_REPLY
                        if { [ "$2" = ok ] && [ "$r" = ok ]; } || { [ "$2" = block ] && [ "$r" != ok ]; }; then
                                lg_pass "$1: established $proto flow to $p after the ruleset -> $r"
                        else
                                lg_fail "$1: established $proto flow to $p after the ruleset" "got $r, want $2"
                        fi
                done
        done
}

lg_log "# connect layer, conntrack not yet active in the namespace (informational, no verdict)"
# Flows opened while no ruleset used conntrack are unknown to it; their next packet is picked up
# mid-stream with ct state new, so the connect layer judges (here: blocks) them like new flows,
# and since a dropped packet's conntrack entry is never confirmed, they stay cut. Fail-closed,
# stricter than WFP's ALE; not a leak.
hold_all cold
lg_apply a "$LG_TMP/connect.nft" || lg_die "apply connect"
for p in 10.99.1.2 fd99:1::2; do
        for proto in tcp udp; do
                lg_hold_send "cold-$proto-$p"
                lg_log "NOTE $proto flow to $p opened before conntrack was active: $LG_REPLY"
        done
done
lg_flush a

# From here conntrack tracks the flows before the ruleset arrives, as on any host where some
# ruleset already uses ct: a rule-less ct user in a table of its own keeps it enabled.
cat >"$LG_TMP/ct.nft" <<'NFT'
table inet lgtest_conntrack {
	chain output {
		type filter hook output priority raw; policy accept;
		ct state new counter
	}
}
NFT
lg_apply a "$LG_TMP/ct.nft" || lg_die "conntrack table"

lg_log "# connect layer"
hold_all connect
lg_apply a "$LG_TMP/connect.nft" || lg_die "apply connect"
send_all connect ok
send_all connect ok   # and again: not just one packet that slipped through
for p in 10.99.1.2 fd99:1::2; do
        lg_expect drop a tcp $p 7000   # a new connection is blocked
        lg_expect drop a udp $p 7000   # a new UDP flow (new source port) is blocked
        lg_expect pass a tcp $p 9000   # other ports are not
done
n=$(lg_counter a connect-vs-outbound/cut/connect)
[ "$n" -ge 4 ] && lg_pass "connect-layer filter counted $n packets (new flows only)" ||
        lg_fail "connect-layer counter" "$n"

lg_log "# outbound layer"
lg_flush a
hold_all outbound
lg_apply a "$LG_TMP/outbound.nft" || lg_die "apply outbound"
send_all outbound block
for p in 10.99.1.2 fd99:1::2; do
        lg_expect drop a tcp $p 7000
        lg_expect pass a tcp $p 9000
done
lg_done
