#!/usr/bin/env bash
# Parameter changes of an enabled policy (a reconnect) touch only set elements; leakguardd encodes
# them itself and sends them as one netlink batch (src/nft.c). For a series of parameter sets
# covering every kind of set (interface names with wildcards, IPv4/IPv6 addresses, prefixes and
# ranges up to the top of the address space, endpoints with and without port and protocol, ports;
# hash sets of single values and interval sets),
# the kernel's sets after each change must equal what nftables itself makes of the same ruleset
# loaded from scratch, and the base chains must never be re-created.
set -uo pipefail
if [ -z "${LG_ELEM_MODE:-}" ]; then
  # Both ways the daemon sends element changes: through the nftables context's socket together with
  # the owner-flagged guard (default), and through a socket of its own (--no-tamper-guard).
  LG_ELEM_MODE=guard bash "$0" || exit 1
  LG_ELEM_MODE=noguard exec bash "$0" --no-tamper-guard
fi
echo "# mode: $LG_ELEM_MODE"
. "$SRCDIR/tests/lib/bus.sh"
pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass+1)); }
ko() { echo "FAIL $1"; fail=$((fail+1)); }
ns=lgtest-elem-$$-$RANDOM ref=lgtest-elemref-$$-$RANDOM
state=$(mktemp -d)
cleanup() { lg_bus_cleanup; ip netns del $ns 2>/dev/null; ip netns del $ref 2>/dev/null; rm -rf "$state"; echo "$pass passed, $fail failed"; }
trap cleanup EXIT
ip netns add $ns; ip netns add $ref
lg_bus_start 2>/dev/null
lg_daemon_start $ns --policy-dir "$SRCDIR/policy" --state-dir "$state" "$@" || { ko "daemon start"; exit 1; }
ctl=$LEAKGUARDCTL

sets_of() { # sets_of NS [TABLE] → every set with its elements, one element per line, sorted
  ip netns exec "$1" nft -s -j list sets inet | python3 -c '
import json, subprocess, sys
ns, table = sys.argv[1], sys.argv[2]
for o in json.load(sys.stdin)["nftables"]:
    s = o.get("set")
    if not s or s["table"] != table: continue
    out = subprocess.run(["ip","netns","exec",ns,"nft","-j","list","set","inet",table,s["name"]],
                         capture_output=True, text=True).stdout
    for x in json.loads(out)["nftables"]:
        if "set" in x:
            for e in x["set"].get("elem", []):
                print(s["name"], json.dumps(e, sort_keys=True))
' "$1" "${2:-leakguard}" | sort
}
handle_of() { ip netns exec $ns nft -a list chain inet leakguard outbound-layer | sed -n 's/.*chain outbound-layer { # handle \([0-9]*\).*/\1/p'; }

# Single values make hash sets (name suffix .exact), prefixes, ranges and wildcards interval sets:
# the second variant changes elements of hash sets only, the fourth every element of the resolvers'
# interval sets (sent from the compiler's binary ranges, not parsed back), the others change kinds.
variants=(
  "tunnel=wg0 servers=198.51.100.7:51820/udp resolvers=10.64.0.1"
  "tunnel=wg1 servers=198.51.100.8:51820/udp,[2001:db8::7]:443/tcp,198.51.100.7:1194/tcp resolvers=10.64.0.2,10.64.0.1,fd00::53"
  "tunnel=wg* servers=198.51.100.8:51820/udp,198.51.100.9,[2001:db8::7]:443/tcp resolvers=10.0.0.0/8,255.255.255.0/24,fd00::/8"
  "tunnel=wg* servers=198.51.100.8:51820/udp,198.51.100.9,[2001:db8::7]:443/tcp resolvers=172.16.0.0/12,192.0.2.0-192.0.2.9,::/0"
  "tunnel=tun0 servers=203.0.113.1/udp,203.0.113.2:1194,[2001:db8::8] resolvers=1.2.3.4-1.2.3.9,::/0"
  "tunnel=wg0 servers=198.51.100.7:51820/udp resolvers=10.64.0.1"
)
first=""
for v in "${variants[@]}"; do
  read -r -a kv <<< "$v"
  ks=(); dns=()
  for a in "${kv[@]}"; do
    case $a in resolvers=*) dns+=("$a") ;; servers=*) ks+=("$a") ;; tunnel=*) ks+=("$a"); dns+=("$a") ;; esac
  done
  $ctl enable killswitch "${ks[@]}" >/dev/null || ko "enable killswitch ${ks[*]}"
  $ctl enable dns-leak "${dns[@]}" >/dev/null || ko "enable dns-leak ${dns[*]}"
  h=$(handle_of); [ -n "$first" ] || first=$h
  [ "$h" = "$first" ] && ok "base chain kept (handle $h) after: $v" || ko "base chain re-created ($first → $h) after: $v"
  ip netns exec $ref nft delete table inet leakguard 2>/dev/null
  $ctl compile "$SRCDIR/policy/killswitch.yaml" "$SRCDIR/policy/dns-leak.yaml" "${kv[@]}" | ip netns exec $ref nft -f - ||
    ko "reference load: $v"
  if diff <(sets_of $ns) <(sets_of $ref) >/dev/null; then ok "sets equal nftables' own encoding: $v"
  else ko "sets differ from nftables' own encoding: $v"; diff <(sets_of $ns) <(sets_of $ref) | head -20; fi
  if ip netns exec $ns nft list table inet leakguard_guard >/dev/null 2>&1; then
    # The tamper guard is a copy of the persistent table, changed in the same transaction.
    if diff <(sets_of $ns leakguard_guard) <(sets_of $ref) >/dev/null; then ok "guard's sets equal too: $v"
    else ko "guard's sets differ: $v"; diff <(sets_of $ns leakguard_guard) <(sets_of $ref) | head -10; fi
  fi
  state_now=$(busctl --system get-property org.leakguard.LeakGuard1 /org/leakguard/LeakGuard1 org.leakguard.LeakGuard1.Manager State)
  [ "$state_now" = 's "protecting"' ] && ok "state protecting after: $v" || ko "state $state_now after: $v"
done
[ "$pass" -gt 0 ] && [ "$fail" -eq 0 ]
