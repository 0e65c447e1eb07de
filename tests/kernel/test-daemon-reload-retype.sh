#!/usr/bin/env bash
# An enabled policy whose file changes a set's type (addresses → endpoints) is re-applied by Reload:
# the set gets a new name (names carry the type), is made and filled in a transaction before the
# swap, and a flood to the address that set blocks in both versions gets nothing through meanwhile.
set -uo pipefail
. "$SRCDIR/tests/lib/bus.sh"
pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass+1)); }
ko() { echo "FAIL $1"; fail=$((fail+1)); }
h=lgtest-retype-h-$$ p=lgtest-retype-p-$$
work=$(mktemp -d); pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  lg_bus_cleanup; ip netns del $h 2>/dev/null; ip netns del $p 2>/dev/null; rm -rf "$work"
  echo "$pass passed, $fail failed"
}
trap cleanup EXIT
ip netns add $h; ip netns add $p
ip -n $h link add v0 type veth peer name v0 netns $p
ip -n $h addr add 10.97.0.1/24 dev v0; ip -n $p addr add 10.97.0.2/24 dev v0
ip -n $p addr add 10.97.0.3/24 dev v0
for ns in $h $p; do ip -n $ns link set v0 up; ip -n $ns link set lo up; done
mkdir "$work/pol"
policy() { # policy TYPE
  cat > "$work/pol/retype.yaml" <<P
policy: retype
parameters:
  peers: { type: $1 }
  blocked: { type: $1 }
sublayers:
  - name: main
    weight: 100
    filters:
      - { name: peers, layers: [outbound], weight: 2, action: permit, match: { remote: \$peers } }
      - { name: blocked, layers: [outbound], weight: 1, action: block, match: { remote: \$blocked } }
P
}
policy addresses
lg_bus_start 2>/dev/null
lg_daemon_start $h --policy-dir "$work/pol" --state-dir "$work/state" || { ko "daemon start"; exit 1; }
$LEAKGUARDCTL enable retype peers=10.97.0.2 blocked=10.97.0.3 >/dev/null && ok "enabled with an address set" || ko "enable"
ip netns exec $h nft list set inet leakguard s.retype.main.peers.remote.v4.exact >/dev/null 2>&1 && ok "address set s.….remote.v4.exact (a hash set: single addresses)" || ko "no address set"
# the counting receiver: an nft counter in the peer namespace for packets to the blocked 10.97.0.3
ip netns exec $p nft -f - <<N
table inet count {
  chain in {
    type filter hook input priority 0; policy accept;
    ip daddr 10.97.0.3 udp dport 9 counter
  }
}
N
ip netns exec $h python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); n = 0; end = time.time() + 8
while time.time() < end:
    try: s.sendto(b"x", ("10.97.0.3", 9)); n += 1
    except OSError: n += 1
print(n)' > "$work/sent" &
pids+=($!)
sleep 0.5
# 20 Reloads, the sets' type switching each time (parameter text is valid for both types).
refused=0
for i in $(seq 20); do
  [ $((i % 2)) = 1 ] && policy endpoints || policy addresses
  gdbus call --system -d org.leakguard.LeakGuard1 -o /org/leakguard/LeakGuard1 \
    -m org.leakguard.LeakGuard1.Manager.Reload >/dev/null 2>"$work/err" || { refused=$((refused+1)); cat "$work/err"; }
done
policy endpoints
gdbus call --system -d org.leakguard.LeakGuard1 -o /org/leakguard/LeakGuard1 -m org.leakguard.LeakGuard1.Manager.Reload >/dev/null || refused=$((refused+1))
[ $refused = 0 ] && ok "21 Reloads with the sets' type changed each time" || ko "$refused Reloads refused"
wait "${pids[@]}" 2>/dev/null; pids=()
ip netns exec $h nft list set inet leakguard s.retype.main.peers.remote.ep4 >/dev/null 2>&1 && ok "endpoint set s.….remote.ep4 made (an interval set: an address alone is every port)" || ko "no endpoint set"
ip netns exec $h nft list set inet leakguard s.retype.main.peers.remote.v4.exact >/dev/null 2>&1 && ko "old address set left behind" || ok "old address set deleted"
got=$(ip netns exec $p nft list table inet count | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
echo "flood: $(cat "$work/sent") datagrams sent to the blocked 10.97.0.3, $got arrived"
[ "${got:-x}" = 0 ] && ok "nothing to the blocked address arrived during the Reload" || ko "$got packets leaked"
st=$(busctl --system get-property org.leakguard.LeakGuard1 /org/leakguard/LeakGuard1 org.leakguard.LeakGuard1.Manager State)
[ "$st" = 's "protecting"' ] && ok "protecting after the Reload" || ko "state $st"
ip netns exec $h ping -c1 -W1 10.97.0.2 >/dev/null && ok "the permitted peer still answers" || ko "peer blocked"
[ "$fail" -eq 0 ]
