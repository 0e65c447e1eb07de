#!/usr/bin/env bash
# `not:` negates each condition inside it: "block everything not to an allowed address", per
# family (an address list without IPv6 entries blocks all IPv6), and negated port + protocol.
# Policy: policies/not.yaml.
. "$(dirname "$0")/../lib/netns.sh"
lg_require
lg_topo_pair 7000,9000
lg_serve a 7000   # a local service for the loopback checks

lg_log "# allowed = .2 and .4, IPv4 and IPv6"
lg_compile_apply a not allowed=10.99.1.2,10.99.1.4,fd99:1::2,fd99:1::4
for fam in 4 6; do
        if [ $fam = 4 ]; then n=10.99.1.; else n=fd99:1::; fi
        lg_expect pass a udp ${n}2 7000
        lg_expect pass a tcp ${n}2 9000
        lg_expect pass a ping ${n}2
        lg_expect drop a udp ${n}3 7000     # not an allowed address
        lg_expect drop a tcp ${n}3 7000
        lg_expect drop a ping ${n}3
        lg_expect drop a tcp ${n}4 9000     # tcp-to-4-not-7000: protocol != udp and port != 7000
        lg_expect pass a tcp ${n}4 7000     # port is 7000: the negated port condition fails
        lg_expect pass a udp ${n}4 9000     # protocol is udp: the negated protocol condition fails
        lg_expect pass a ping ${n}4         # no port at all: the port filter implies tcp/udp
done
lg_expect pass a udp 127.0.0.1 7000
lg_expect pass a udp ::1 7000

lg_log "# allowed = 10.99.1.2 only: every IPv6 destination is 'not allowed'"
lg_compile_apply a not allowed=10.99.1.2
lg_expect pass a udp 10.99.1.2 7000
lg_expect drop a udp 10.99.1.4 7000
lg_expect drop a udp fd99:1::2 7000
lg_expect drop a ping fd99:1::2
lg_expect pass a ping ::1
lg_done
