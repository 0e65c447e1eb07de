#!/usr/bin/env bash
# A hard permit (accept) skips the lower sublayers of its own layer only: a block in a higher
# sublayer of the same layer, and blocks in other layers (connect on the same output hook,
# inbound on input), still apply. Policy: policies/hard-permit.yaml.
. "$(dirname "$0")/../lib/netns.sh"
lg_require
lg_topo_pair 7000,9000,9001,9002
lg_compile_apply a hard-permit

for peer in 10.99.1.2 fd99:1::2; do
        lg_expect pass a udp "$peer" 7000   # hard permit: the guard sublayer below is skipped
        lg_expect pass a tcp "$peer" 7000
        lg_expect pass a ping "$peer"
        lg_expect drop a udp "$peer" 9002   # blocked in a sublayer above the hard permit
        lg_expect drop a tcp "$peer" 9000   # connect layer: its own base chain, still blocks
        lg_expect drop a udp "$peer" 9001   # inbound layer drops the reply
done
lg_expect drop a udp 10.99.1.3 7000         # not hard-permitted: the guard blocks it
lg_expect drop a udp fd99:1::3 7000
lg_expect drop a ping 10.99.1.3

n=$(lg_counter a hard-permit/other-layers/no-new-tcp-9000)
[ "$n" -ge 2 ] && lg_pass "connect-layer block counted $n packets" || lg_fail "connect-layer counter" "$n"
n=$(lg_counter a hard-permit/other-layers/no-udp-from-9001)
[ "$n" -ge 2 ] && lg_pass "inbound-layer block counted $n packets" || lg_fail "inbound-layer counter" "$n"
lg_done
