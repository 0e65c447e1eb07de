#!/usr/bin/env bash
# Filter order inside a sublayer: higher weight first (unsigned 64-bit, up to 2^64-1), the first
# match decides, regardless of file order; equal weights keep file order.
# Policy: policies/filter-order.yaml (file order there is the reverse of weight order).
. "$(dirname "$0")/../lib/netns.sh"
lg_require
lg_topo_pair 7000,9001,9002,9003,9004,9005
lg_compile_apply a filter-order

got=$(lg_chain_comments a outbound.filter-order.weights | sed 's|.*/||' | tr '\n' ' ')
want="max at-2-63 just-below-2-63 permit-9001 block-peer "
[ "$got" = "$want" ] && lg_pass "kernel rule order by weight: $got" || lg_fail "kernel rule order by weight" "$got"
got=$(lg_chain_comments a outbound.filter-order.ties | sed 's|.*/||' | tr '\n' ' ')
want="heavier-between a-permit a-block b-block b-permit rest-of-3 lighter-between "
[ "$got" = "$want" ] && lg_pass "kernel rule order, ties in file order: $got" ||
        lg_fail "kernel rule order, ties in file order" "$got"

for fam in 4 6; do
        if [ $fam = 4 ]; then p2=10.99.1.2 p3=10.99.1.3; else p2=fd99:1::2 p3=fd99:1::3; fi
        lg_log "# weights, IPv$fam"
        lg_expect pass a udp $p2 9001   # permit (20) beats block-peer (10), written before it
        lg_expect drop a udp $p2 7000   # only block-peer matches
        lg_expect drop a tcp $p2 9001   # the permit is udp only
        lg_expect drop a udp $p2 9002   # 2^63-1 block; the 2^63 permit does not cover 9002
        lg_expect pass a udp $p2 9003   # 2^63 permit beats 2^63-1 block (unsigned comparison)
        lg_expect drop a udp $p2 9004   # 2^64-1 block beats the 2^63 permit
        lg_log "# equal weights, IPv$fam"
        lg_expect pass a udp $p3 9001   # a-permit is before a-block in the file
        lg_expect drop a udp $p3 9002   # only a-block
        lg_expect drop a udp $p3 9003   # b-block is before b-permit in the file
        lg_expect pass a udp $p3 9004   # only b-permit
        lg_expect drop a udp $p3 9005   # weight 7 block before weight 3 permit
        lg_expect drop a udp $p3 7000   # rest-of-3 (weight 4)
        lg_expect pass a tcp $p3 7000   # nothing matches tcp to .3
done
lg_done
