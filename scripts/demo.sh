#!/usr/bin/env bash
# leakguard's main job on an embedded default: leakguardd with the shipped policies, on a private
# system bus, inside a throwaway network namespace; protection engages and a leak is blocked.
# Touches nothing outside the namespaces it makes; removes them on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
export SRCDIR=$PWD BUILDDIR=$PWD/${BUILD_DIR:-build}
ctl=$BUILDDIR/leakguardctl
. tests/lib/bus.sh

host=lgdemo-host-$$ isp=lgdemo-isp-$$ vpn=lgdemo-vpn-$$
state=$(mktemp -d)
servers=()
cleanup() {
  for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null || true; done
  lg_bus_cleanup
  for ns in $host $isp $vpn; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$state"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
try() { # try LABEL COMMAND…: prints whether the packet got through
  if "${@:2}" >/dev/null 2>&1; then printf '  %-58s \033[32mpassed\033[0m\n' "$1"
  else printf '  %-58s \033[31mblocked\033[0m\n' "$1"; fi
}
udp_probe() { # udp_probe NS ADDR PORT: one datagram, answered by an echo server
  ip netns exec "$1" python3 -c '
import socket,sys
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(1)
s.sendto(b"probe",(sys.argv[1],int(sys.argv[2]))); s.recvfrom(64)' "$2" "$3"
}

say "A host with a physical uplink (eth0 → ISP) and a VPN tunnel (wg0 → VPN)"
for ns in $host $isp $vpn; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip -n $host link add eth0 type veth peer name up0 netns $isp
ip -n $host link add wg0 type veth peer name tun0 netns $vpn
ip -n $host addr add 10.77.0.1/24 dev eth0; ip -n $host link set eth0 up
ip -n $isp addr add 10.77.0.2/24 dev up0; ip -n $isp link set up0 up
ip -n $host addr add 10.78.0.1/24 dev wg0; ip -n $host link set wg0 up
ip -n $vpn addr add 10.78.0.2/24 dev tun0; ip -n $vpn link set tun0 up
# echo servers: the VPN server's endpoint on the ISP side, an ISP resolver, a resolver in the tunnel
for spec in "$isp 10.77.0.2 51820" "$isp 10.77.0.2 53" "$vpn 10.78.0.2 53"; do
  set -- $spec
  ip netns exec "$1" python3 -c '
import socket,sys
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind((sys.argv[1],int(sys.argv[2])))
while True:
    d,a=s.recvfrom(64); s.sendto(d,a)' "$2" "$3" &
  servers+=($!)
done
sleep 0.3

say "Before protection: everything leaves"
try "ping an ISP host over eth0" ip netns exec $host ping -c1 -W1 10.77.0.2
try "DNS to the ISP resolver 10.77.0.2:53" udp_probe $host 10.77.0.2 53

say "leakguardd on a private system bus, in the host's namespace"
lg_bus_start 2>/dev/null
lg_daemon_start $host --policy-dir "$SRCDIR/policy" --state-dir "$state"
"$ctl" list

say "Enable the kill switch, DNS and IPv6 leak protection (as a VPN client would over D-Bus)"
"$ctl" enable killswitch tunnel=wg0 servers=10.77.0.2:51820/udp
"$ctl" enable dns-leak tunnel=wg0 resolvers=10.78.0.2
"$ctl" enable ipv6-leak

say "With protection"
try "ping an ISP host over eth0 (a leak)" ip netns exec $host ping -c1 -W1 10.77.0.2
try "DNS to the ISP resolver 10.77.0.2:53 (a leak)" udp_probe $host 10.77.0.2 53
try "the tunnel's own packets to the VPN server 10.77.0.2:51820" udp_probe $host 10.77.0.2 51820
try "ping through the tunnel wg0" ip netns exec $host ping -c1 -W1 10.78.0.2
try "DNS to the tunnel's resolver 10.78.0.2:53" udp_probe $host 10.78.0.2 53

say "leakguardctl status (live counters from the kernel)"
NO_COLOR=1 "$ctl" status

say "The kernel's table (first lines)"
ip netns exec $host nft list table inet leakguard | sed -n 1,30p

say "The daemon is killed: persistent protection stays (fail closed)"
lg_daemon_stop KILL
try "ping an ISP host over eth0 (a leak)" ip netns exec $host ping -c1 -W1 10.77.0.2
echo
echo "Done: the namespaces, the bus and the daemon are removed on exit."
