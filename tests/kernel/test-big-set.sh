#!/usr/bin/env bash
# A named interval set of 100,000 IPv4 and 100,000 IPv6 prefixes (an `addresses` parameter of
# generated prefixes) matches exactly at its edges: the first and last address of the first, a
# middle and the last prefix are blocked, the addresses just outside them are not.
# Policy: policies/big-set.yaml. The prefixes go to leakguardctl in 50 parameters of 4,000 items:
# one 100,000-item value exceeds Linux's 128 KiB limit on a single argv string (E2BIG), which
# this test also records.
. "$(dirname "$0")/../lib/netns.sh"
lg_require
N=${LG_BIG_N:-100000}
lg_topo_pair 7000
lg_route a 10.128.0.0/9 via 10.99.1.2
lg_route a fd98::/16 via fd99:1::2
lg_route b local 10.128.0.0/9 dev lo
lg_route b local fd98::/16 dev lo

# Prefixes with gaps between them (so none merge): stride 16 addresses (IPv4) or 2 /64s (IPv6),
# lengths cycling /29 /30 /32 /29 and /64 /96 /128 /64; the first and last are /29 and /64.
"$LG_PY" - "$N" "$LG_TMP" <<'PY' || lg_die "generate prefixes"
import ipaddress, sys
n, tmp = int(sys.argv[1]), sys.argv[2]
b4 = int(ipaddress.IPv4Address("10.128.0.16"))
b6 = int(ipaddress.IPv6Address("fd98::"))
v4, v6, e4, e6 = [], [], [], []
for i in range(n):
    s4, l4 = b4 + i * 16, (29, 30, 32, 29)[i % 4]
    s6, l6 = b6 + ((i + 1) * 2 << 64), (64, 96, 128, 64)[i % 4]
    v4.append("%s/%d" % (ipaddress.IPv4Address(s4), l4))
    v6.append("%s/%d" % (ipaddress.IPv6Address(s6), l6))
    if i in (0, n // 2 + 1, n - 1):   # i % 4 of n//2+1 is 1 (a /30), of 0 and n-1 is 0 and 3 (/29)
        e4.append((s4, s4 + (1 << (32 - l4)) - 1))
        e6.append((s6, s6 + (1 << (128 - l6)) - 1))
items = v4 + v6
chunks = 50
per = -(-len(items) // chunks)
with open(tmp + "/args", "w") as f:
    for c in range(chunks):
        f.write("p%02d=%s\n" % (c, ",".join(items[c * per:(c + 1) * per]) or "127.0.0.1"))
with open(tmp + "/one-arg", "w") as f:
    f.write("p00=" + ",".join(v4))
with open(tmp + "/edges", "w") as f:
    for (lo, hi), A in [(e, ipaddress.IPv4Address) for e in e4] + [(e, ipaddress.IPv6Address) for e in e6]:
        f.write("drop %s\ndrop %s\npass %s\npass %s\n" % (A(lo), A(hi), A(lo - 1), A(hi + 1)))
PY
lg_log "# $N IPv4 + $N IPv6 prefixes; edges probed: $(wc -l <"$LG_TMP/edges")"

# The limit of one argv string: a 100,000-prefix value cannot be one key=value argument.
one=$(stat -c %s "$LG_TMP/one-arg")
if "$LEAKGUARDCTL" compile "$LG_POLICIES/big-set.yaml" "$(cat "$LG_TMP/one-arg")" >/dev/null 2>"$LG_TMP/e2big"; then
        lg_log "NOTE one $one-byte argument was accepted"
else
        lg_log "NOTE one $one-byte key=value argument is refused by exec: $(sed 's/.*: //' "$LG_TMP/e2big" | head -1)"
fi

mapfile -t args <"$LG_TMP/args"
t0=$(date +%s%N)
# The 50 arguments together exceed the default ARG_MAX (a quarter of the 8 MiB stack limit).
(ulimit -s 65536 && exec "$LEAKGUARDCTL" compile "$LG_POLICIES/big-set.yaml" "${args[@]}") >"$LG_TMP/big.nft" ||
        lg_die "compile the big set"
t1=$(date +%s%N)
lg_in a nft -f "$LG_TMP/big.nft" || lg_die "load the big set"
t2=$(date +%s%N)
lg_log "# compile $(((t1 - t0) / 1000000)) ms, nft -f $(((t2 - t1) / 1000000)) ms, ruleset $(stat -c %s "$LG_TMP/big.nft") bytes"

for fam in v4 v6; do
        n=$(lg_in a nft -j list set inet leakguard "s.big-set.big.nets.remote.$fam" | "$LG_PY" -c '
import json, sys
print(sum(len(o["set"].get("elem", [])) for o in json.load(sys.stdin)["nftables"] if "set" in o))')
        [ "$n" -eq "$N" ] && lg_pass "kernel set .$fam holds $n elements" || lg_fail "kernel set .$fam size" "$n, want $N"
done

LG_TIMEOUT=1
while read -r want addr; do
        lg_expect "$want" a udp "$addr" 7000
done <"$LG_TMP/edges"
lg_done
