#!/usr/bin/env bash
# WFP arbitration across sublayers, with real packets: a permit (return) in a higher sublayer does
# not save a packet that a lower sublayer blocks; sublayers of two policies interleave by weight.
# Policies: policies/sublayers.yaml, policies/sublayers-other.yaml.
. "$(dirname "$0")/../lib/netns.sh"
lg_require
lg_topo_pair 7000,9000,9001,9002

lg_log "# sublayers alone: high (60000) permits the peer, low (100) blocks its udp 9000"
lg_compile_apply a sublayers
for peer in 10.99.1.2 fd99:1::2; do
        lg_expect drop a udp "$peer" 9000   # permitted above, blocked below: blocked
        lg_expect drop a udp "$peer" 9002   # blocked in the high sublayer itself
        lg_expect pass a udp "$peer" 7000   # permitted above, no opinion below
        lg_expect pass a tcp "$peer" 9000   # low blocks udp only
        lg_expect pass a ping "$peer"
done
lg_expect pass a udp 10.99.1.3 9000         # no filter matches: base chain policy accept
lg_expect pass a udp fd99:1::3 9000
# The blocked packets really matched the permit first, then the block below.
n_permit=$(lg_counter a sublayers/high/permit-peer)
n_block=$(lg_counter a sublayers/low/block-udp-9000)
if [ "$n_permit" -gt 0 ] && [ "$n_block" -ge 2 ]; then
        lg_pass "counters: permit-peer matched $n_permit packets, low/block-udp-9000 dropped $n_block"
else
        lg_fail "counters" "permit-peer=$n_permit low/block-udp-9000=$n_block"
fi

lg_log "# with a second policy: its sublayers interleave by weight"
lg_compile_apply a sublayers sublayers-other
jumps=$(lg_chain_jumps a outbound-layer | tr '\n' ' ')
want="outbound.sublayers.high outbound.sublayers-other.middle outbound.sublayers.low outbound.sublayers-other.bottom "
if [ "$jumps" = "$want" ]; then lg_pass "kernel jump order: $jumps"; else lg_fail "kernel jump order" "$jumps"; fi
for peer in 10.99.1.2 fd99:1::2; do
        lg_expect drop a udp "$peer" 9001   # other policy's middle sublayer blocks below high's permit
        lg_expect drop a udp "$peer" 9000   # the lowest sublayer's permit does not undo low's block
        lg_expect pass a udp "$peer" 7000
done
lg_done
