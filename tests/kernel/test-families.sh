#!/usr/bin/env bash
# IPv4 and IPv6 in the one inet table: family conditions (and `not: { family }`), ICMP implies
# IPv4, literal addresses of each family, and one parameter mixing both families (split into a
# .v4 and a .v6 set). Ping -4/-6, UDP and TCP over both. Policy: policies/families.yaml.
. "$(dirname "$0")/../lib/netns.sh"
lg_require
lg_topo_pair 7000,9000,9001
lg_compile_apply a families blocked=10.99.1.4,fd99:1::4

lg_expect drop a udp fd99:1::2 9000   # family: ipv6
lg_expect pass a udp 10.99.1.2 9000
lg_expect drop a udp 10.99.1.2 9001   # not: { family: ipv6 }
lg_expect pass a udp fd99:1::2 9001
lg_expect drop a ping 10.99.1.2       # protocol icmp (IPv4 only)
lg_expect pass a ping fd99:1::2
for p in 10.99.1.2 fd99:1::2; do
        lg_expect pass a udp $p 7000
        lg_expect pass a tcp $p 7000
done
for p in 10.99.1.3 fd99:1::3 10.99.1.4 fd99:1::4; do
        lg_expect drop a udp $p 7000
        lg_expect drop a tcp $p 7000
        lg_expect drop a ping $p
done
for c in families/families/udp-9000-v6-only:ip6 families/families/udp-9001-v4-only:ip \
        families/families/literal-v6:ip6 families/families/literal-v4:ip; do
        comment=${c%:*} fam=${c##*:}
        line=$(lg_in a nft list chain inet leakguard outbound.families.families | grep "comment \"$comment\"")
        # nft prints `meta nfproto` only where no ip/ip6 expression already implies it.
        case $fam in
        ip6) [[ $line == *"nfproto ipv6"* || $line == *"ip6 daddr"* ]] && [[ $line != *"nfproto ipv4"* ]] ;;
        ip) [[ $line == *"nfproto ipv4"* || $line == *"ip daddr"* ]] && [[ $line != *"nfproto ipv6"* ]] ;;
        esac && lg_pass "$comment is $fam-only in the kernel" || lg_fail "$comment family" "$line"
done
elems=$(lg_in a nft list set inet leakguard s.families.families.mixed-parameter.remote.v6.exact | tr -d '\n\t ')
[[ $elems == *"elements={fd99:1::4}"* ]] && lg_pass "mixed parameter: v6 set holds fd99:1::4" ||
        lg_fail "mixed parameter v6 set" "$elems"
lg_done
