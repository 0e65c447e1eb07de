#!/usr/bin/env python3
"""Writes a policy with N filters (one of which matches $nets) and a file of M addresses.

usage: gen-policy.py DIR FILTERS ADDRESSES
"""
import ipaddress, random, sys

out, nfilters, naddrs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(42)
with open(f"{out}/big.yaml", "w") as f:
    f.write("policy: big\ndescription: benchmark policy\nparameters:\n"
            "  nets: { type: addresses }\nsublayers:\n")
    per_sublayer = 1000
    for s in range((nfilters + per_sublayer - 1) // per_sublayer):
        f.write(f"  - name: s{s}\n    weight: {1000 + s}\n    filters:\n")
        for i in range(s * per_sublayer, min(nfilters, (s + 1) * per_sublayer)):
            if i == 0:
                f.write("      - { name: nets, layers: [outbound], weight: 99999, action: block, match: { remote: $nets } }\n")
                continue
            port = 1024 + i % 60000
            f.write(f"      - {{ name: f{i}, layers: [outbound, inbound], weight: {rng.randrange(1 << 20)}, "
                    f"action: {'permit' if i % 3 else 'block'}, match: {{ protocol: udp, remote_port: {port}, "
                    f"remote: 10.{i >> 8 & 255}.{i & 255}.0/24 }} }}\n")
with open(f"{out}/nets.txt", "w") as f:
    # distinct /32s and /24s spread over the IPv4 space, plus some IPv6 prefixes
    seen = set()
    while len(seen) < naddrs:
        seen.add(rng.getrandbits(32))
    for i, a in enumerate(seen):
        if i % 10 == 0:
            f.write(f"{ipaddress.IPv6Address((0x20010db8 << 96) | (a << 64))}/64\n")
        elif i % 3 == 0:
            f.write(f"{ipaddress.IPv4Address(a & 0xffffff00)}/24\n")
        else:
            f.write(f"{ipaddress.IPv4Address(a)}\n")
