#!/usr/bin/env bash
# leakguard's benchmarks (issue 5), one command, not part of the test suite. Everything runs in
# network namespaces made here, on a private bus; results are ratios measured in one run against a
# baseline (interleaved repeats, medians, min–max). Writes the table to stdout and bench/out/.
#
#   sudo bench/run.sh            # REPEATS=7 SECONDS_PER_RUN=3 by default
#   sudo ENABLE_ONLY=1 bench/run.sh   # only the Enable rows (a minute instead of five)
#
# Any other process on the host that listens to nftables events (another leakguardd's watcher, nft
# monitor), in any network namespace, makes the kernel build one event per set element of every
# batch: the 100,000-prefix rows then measure that (0.5-2 s instead of 0.2). The script says so.
set -euo pipefail
cd "$(dirname "$0")/.."
REPEATS=${REPEATS:-7}
ENABLE_ONLY=${ENABLE_ONLY:-0}
SECS=${SECONDS_PER_RUN:-3}
./scripts/install-deps.sh
command -v iperf3 >/dev/null || { export DEBIAN_FRONTEND=noninteractive; apt-get install -y -qq iperf3 >/dev/null; }
BUILD_TYPE=Release BUILD_DIR=build-bench ./scripts/build.sh >/dev/null
export SRCDIR=$PWD BUILDDIR=$PWD/build-bench
ctl=$BUILDDIR/leakguardctl
client=(/usr/bin/python3 "$SRCDIR/bench/client.py")
cclient=("$BUILDDIR/lg-enable-call")
. tests/lib/bus.sh

out=bench/out; mkdir -p "$out"
work=$(mktemp -d)
h=lgbench-h-$$ p=lgbench-p-$$ b=lgbench-b-$$ # b: baselines, away from the daemon's watcher
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  lg_bus_cleanup
  for ns in $h $p $b; do ip netns del $ns 2>/dev/null || true; done
  rm -rf "$work" ${mem:+"$mem"}
}
trap cleanup EXIT

# Host h: uplink eth0 (10.90.0.1) and tunnel wg0 (10.91.0.1), both veths to peer p.
ip netns add $h; ip netns add $p; ip netns add $b
for ns in $h $p; do ip -n $ns link set lo up; done
ip -n $h link add eth0 type veth peer name eth0 netns $p
ip -n $h link add wg0 type veth peer name wg0 netns $p
ip -n $h addr add 10.90.0.1/24 dev eth0; ip -n $p addr add 10.90.0.2/24 dev eth0
ip -n $h addr add 10.91.0.1/24 dev wg0; ip -n $p addr add 10.91.0.2/24 dev wg0
for ns in $h $p; do ip -n $ns link set eth0 up; ip -n $ns link set wg0 up; done
NH="ip netns exec $h" NB="ip netns exec $b"

python3 bench/gen-policy.py "$work" 1 100000 # nets.txt: 100,000 prefixes (IPv4 and IPv6)
policies="$work/policies"; mkdir -p "$policies"
cp policy/*.yaml bench/policies/blocklist.yaml "$policies/"
nets_json=$(python3 -c 'import json,sys; print(json.dumps([l.strip() for l in open(sys.argv[1]) if l.strip()]))' "$work/nets.txt")
P3='{"killswitch":{"tunnel":"wg0","servers":["10.90.0.2:51820/udp"]},"dns-leak":{"tunnel":"wg0","resolvers":["10.91.0.2"]},"ipv6-leak":{}}'
P4=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d["blocklist"]={"nets":json.load(open(sys.argv[2]))}; print(json.dumps(d))' "$P3" <(echo "$nets_json"))
echo "$P4" > "$work/p4.json"
python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["blocklist"]))' "$work/p4.json" > "$work/bl.json"
"$ctl" compile policy/killswitch.yaml policy/dns-leak.yaml policy/ipv6-leak.yaml tunnel=wg0 \
  killswitch.servers=10.90.0.2:51820/udp resolvers=10.91.0.2 > "$work/three.nft"
"$ctl" compile "$policies"/blocklist.yaml policy/killswitch.yaml policy/dns-leak.yaml policy/ipv6-leak.yaml \
  tunnel=wg0 killswitch.servers=10.90.0.2:51820/udp resolvers=10.91.0.2 "nets=@$work/nets.txt" > "$work/four.nft"

"$ctl" compile "$policies"/blocklist.yaml "nets=@$work/nets.txt" > "$work/one.nft"
lg_bus_start 2>/dev/null
state=$work/state; mkdir -p "$state"
# Without the tamper guard by default, so that the daemon applies exactly the ruleset nft -f gets;
# GUARD=1 measures the default daemon, which keeps an owner-flagged copy too (docs/tamper-and-e2e.md).
daemon_flags=(--no-tamper-guard); [ "${GUARD:-0}" = 1 ] && daemon_flags=()
lg_daemon_start $h --policy-dir "$policies" --state-dir "$state" "${daemon_flags[@]}"
DPID=$(pgrep -P "$LG_DAEMON_PID" leakguardd || echo "$LG_DAEMON_PID")
[ -r /proc/$DPID/status ] || DPID=$LG_DAEMON_PID

t() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
disable_all() { "${client[@]}" disable blocklist killswitch dns-leak ipv6-leak; }
base_fresh() { $NB nft delete table inet leakguard 2>/dev/null || true; }

# stats FILE → "median min max"
stats() { sort -g "$1" | awk '{v[NR]=$1} END {printf "%.6f %.6f %.6f\n", v[int((NR+1)/2)], v[1], v[NR]}'; }
row() { # row LABEL FILE BASEFILE UNIT TARGET
  read -r m lo hi < <(stats "$2"); read -r bm blo bhi < <(stats "$3")
  python3 - "$1" "$m" "$lo" "$hi" "$bm" "$blo" "$bhi" "$4" "$5" <<'PY'
import sys
label, m, lo, hi, bm, blo, bhi, unit, target = sys.argv[1], *map(float, sys.argv[2:8]), sys.argv[8], sys.argv[9]
k = 1000 if unit == "ms" else 1
print(f"| {label} | {m*k:.2f} ({lo*k:.2f}–{hi*k:.2f}) | {bm*k:.2f} ({blo*k:.2f}–{bhi*k:.2f}) | {m/bm:.2f}× | {target} |")
PY
}

echo "# measuring: $REPEATS interleaved repeats" >&2
: > "$work/e3" ; : > "$work/b3"; : > "$work/e4"; : > "$work/e4f"; : > "$work/b4"; : > "$work/rc"; : > "$work/brc"
: > "$work/e1"; : > "$work/b1"; : > "$work/e1c"
foreign_listeners() { # leakguardd processes not ours, and nft monitors, anywhere on the host
  { pgrep -x leakguardd | grep -vx "$DPID" || true; pgrep -f '^nft monitor' || true; } 2>/dev/null | wc -l
}
foreign=0
for i in $(seq "$REPEATS"); do
  disable_all
  "${client[@]}" enable3 "$P3" >> "$work/e3"
  base_fresh; t $NB nft -f "$work/three.nft" >> "$work/b3"
  disable_all
  "${client[@]}" enable3 "@$work/p4.json" >> "$work/e4"
  disable_all
  "${client[@]}" enable3 "@$work/p4.json" first >> "$work/e4f"
  base_fresh; t $NB nft -f "$work/four.nft" >> "$work/b4"
  disable_all
  foreign=$((foreign + $(foreign_listeners)))
  "${client[@]}" call blocklist "@$work/bl.json" >> "$work/e1"
  base_fresh; t $NB nft -f "$work/one.nft" >> "$work/b1"
  # The same call from C (sd-bus): the daemon's and the bus's time, without dbus-python's
  # marshalling of 100,000 Python strings.
  disable_all
  "${cclient[@]}" blocklist nets "$work/nets.txt" >> "$work/e1c"
done

# The same three calls with the state directory on tmpfs: the daemon's own cost without the disk.
# Before it replies, every Enable syncs the fallback ruleset, state.ini and their directory (three
# fsyncs, 0.3-2.5 ms each on this machine's disk); nft -f writes nothing. A second daemon on the same
# bus and namespace, after the first is stopped with nothing enabled.
disable_all
lg_daemon_stop TERM
mem=$(mktemp -d /dev/shm/lgbench-state-XXXXXX)
lg_daemon_start $h --policy-dir "$policies" --state-dir "$mem" "${daemon_flags[@]}"
: > "$work/e3m"; : > "$work/b3m"
for i in $(seq "$REPEATS"); do
  disable_all
  "${client[@]}" enable3 "$P3" >> "$work/e3m"
  base_fresh; t $NB nft -f "$work/three.nft" >> "$work/b3m"
done
disable_all
lg_daemon_stop TERM
rm -rf "$mem"; mem=
lg_daemon_start $h --policy-dir "$policies" --state-dir "$state" "${daemon_flags[@]}"
DPID=$(pgrep -P "$LG_DAEMON_PID" leakguardd || echo "$LG_DAEMON_PID")
[ -r /proc/$DPID/status ] || DPID=$LG_DAEMON_PID

if [ "$ENABLE_ONLY" != 1 ]; then
# Reconnect: Enable killswitch again with another server and tunnel, first with the three shipped
# policies alone, then with the 100,000-prefix set loaded too (a reconnect must not depend on the
# size of other sets). Baseline: nft -f of exactly those set-element changes, in its own namespace
# holding the 100,000-prefix ruleset. Both loops run the same baseline after each pair of calls:
# that nft -f works for 0.5 s, and the call right after it is slower (caches, deferred kernel
# work), so a loop without it would not compare like with like.
ip -n $h link add wg1 type veth peer name wg1p; ip -n $h link set wg1 up
base_fresh; $NB nft -f "$work/four.nft"
S=s.killswitch.killswitch.vpn-servers.remote.ep4.exact I=s.killswitch.killswitch.tunnel.interface.exact
printf 'delete element inet leakguard %s { 10.90.0.2 . udp . 51820 }\nadd element inet leakguard %s { 10.90.0.3 . udp . 51820 }\nflush set inet leakguard %s\nadd element inet leakguard %s { "wg1" }\n' $S $S $I $I > "$work/up1.nft"
printf 'delete element inet leakguard %s { 10.90.0.3 . udp . 51820 }\nadd element inet leakguard %s { 10.90.0.2 . udp . 51820 }\nflush set inet leakguard %s\nadd element inet leakguard %s { "wg0" }\n' $S $S $I $I > "$work/up2.nft"
reconnects() { # FILE: REPEATS pairs of reconnects, each pair followed by the baseline's pair
  for i in $(seq "$REPEATS"); do
    "${client[@]}" call killswitch '{"tunnel":"wg1","servers":["10.90.0.3:51820/udp"]}' >> "$1"
    "${client[@]}" call killswitch '{"tunnel":"wg0","servers":["10.90.0.2:51820/udp"]}' >> "$1"
    t $NB nft -f "$work/up1.nft" >> "$work/brc"
    t $NB nft -f "$work/up2.nft" >> "$work/brc"
  done
}
disable_all
"${client[@]}" enable3 "$P3" >/dev/null
: > "$work/rc3"
reconnects "$work/rc3"
disable_all
"${client[@]}" enable3 "@$work/p4.json" >/dev/null
reconnects "$work/rc"
# Back to what the daemon believes, then check it agrees with the kernel.
"${client[@]}" call killswitch '{"tunnel":"wg0","servers":["10.90.0.2:51820/udp"]}' >/dev/null

# Status offered at 1,000 calls/s (bench/status-load.c, asynchronous sd-bus calls), and memory: with the
# 100,000-prefix parameter (every Status carries it; at 20 calls/s), then with the three shipped policies alone.
idle_rss_big=$(awk '/VmRSS/ {print $2}' /proc/$DPID/status)
read -r b50 b99 bmax bcalls brate brss0 brss1 < <("$BUILDDIR/lg-status-load" 20 5 "$DPID")
"${client[@]}" disable blocklist
idle_rss=$(awk '/VmRSS/ {print $2}' /proc/$DPID/status)
read -r s50 s99 smax scalls srate srss0 srss1 < <("$BUILDDIR/lg-status-load" 1000 5 "$DPID")

# Throughput: iperf3 over wg0 with no ruleset, with leakguard (3 policies + 100,000-prefix
# blocklist consulted by every packet), and with one rule per address (100,000 rules).
ip netns exec $p iperf3 -s -D -B 10.91.0.2 --pidfile "$work/iperf.pid" >/dev/null
sleep 0.5; pids+=("$(cat "$work/iperf.pid")")
python3 - "$work/nets.txt" > "$work/naive.nft" <<'PY'
import sys
print("table inet naive {\n chain out {\n  type filter hook output priority filter; policy accept;")
for l in open(sys.argv[1]):
    l = l.strip()
    if l:
        print(f"  {'ip6' if ':' in l else 'ip'} daddr {l} drop")
print(" }\n}")
PY
tcp() { $NH iperf3 -c 10.91.0.2 -t "$SECS" -J | python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9)'; }
udp() { $NH iperf3 -c 10.91.0.2 -u -b 0 -l 22 -t "$SECS" -J | python3 -c '
import json,sys; s=json.load(sys.stdin)["end"]["sum"]; print(s["packets"]*(1-s["lost_percent"]/100)/s["seconds"])'; }
mode() {
  case $1 in
    none) disable_all; $NH nft delete table inet naive 2>/dev/null || true ;;
    leakguard) $NH nft delete table inet naive 2>/dev/null || true
      "${client[@]}" enable3 "@$work/p4.json" >/dev/null
      ;;
    naive) disable_all; $NH nft -f "$work/naive.nft" ;;
    three) $NH nft delete table inet naive 2>/dev/null || true
      disable_all; "${client[@]}" enable3 "$P3" >/dev/null ;;
    onerule) disable_all; $NH nft -f "$work/onerule.nft" ;;
  esac
}
# The floor of any nftables ruleset: one output and one input base chain, one rule each.
printf 'table inet naive {\n chain out { type filter hook output priority filter; policy accept; oifname "wg0" accept; }\n chain in { type filter hook input priority filter; policy accept; iifname "wg0" accept; }\n}\n' > "$work/onerule.nft"
modes="none onerule three leakguard naive"
for m in $modes; do : > "$work/tcp-$m"; : > "$work/udp-$m"; done
for i in $(seq 3); do
  for m in $modes; do
    mode $m
    tcp >> "$work/tcp-$m"; udp >> "$work/udp-$m"
  done
done
mode none

# Start to READY=1 with saved state of the three policies, vs nft -f of the same ruleset.
"${client[@]}" enable3 "$P3" >/dev/null
lg_daemon_stop TERM
: > "$work/ready"; : > "$work/bready"
for i in $(seq "$REPEATS"); do
  /usr/bin/python3 - "$h" "$BUILDDIR/leakguardd" "$policies" "$state" "${daemon_flags[@]}" >> "$work/ready" <<'PY'
import os, socket, subprocess, sys, tempfile, time
ns, daemon, pol, st = sys.argv[1:5]
d = tempfile.mkdtemp(); path = os.path.join(d, "notify")
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(path)
env = dict(os.environ, NOTIFY_SOCKET=path)
t = time.perf_counter()
p = subprocess.Popen(["nsenter", f"--net=/run/netns/{ns}", daemon, "--policy-dir", pol, "--state-dir", st] + sys.argv[5:],
                     env=env, stderr=subprocess.DEVNULL)
while b"READY=1" not in s.recv(4096):
    pass
print(f"{time.perf_counter() - t:.6f}")
p.terminate(); p.wait()
PY
  base_fresh; t nsenter --net=/run/netns/$b nft -f "$work/three.nft" >> "$work/bready"
done

fi # ENABLE_ONLY

med() { stats "$1" | awk '{print $1}'; }
{
  echo "## leakguard benchmarks — $(date -u +%F), $(nproc) cores, kernel $(uname -r), nftables $(nft --version | awk '{print $2}'), Release build, tamper guard $([ "${GUARD:-0}" = 1 ] && echo on || echo off)"
  echo
  echo "Medians of $REPEATS interleaved repeats (min–max); ratio = leakguard median / baseline median."
  echo
  echo "| figure | leakguard ms | baseline ms | ratio | target |"
  echo "|---|---|---|---|---|"
  row "Enable killswitch + dns-leak + ipv6-leak (3 calls) vs nft -f of the same ruleset" "$work/e3" "$work/b3" ms "≤ 1.2×"
  row "the same 3 calls with the state directory on tmpfs (no disk flushes) vs nft -f" "$work/e3m" "$work/b3m" ms "≤ 1.2×"
  row "same + blocklist with a 100,000-prefix parameter, enabled last (4 calls) vs nft -f" "$work/e4" "$work/b4" ms "≤ 1.2×, < 200 ms"
  row "the same, blocklist enabled first (4 calls) vs nft -f" "$work/e4f" "$work/b4" ms "≤ 1.2×, < 200 ms"
  row "Enable of the blocklist alone (1 call, 100,000 prefixes) vs nft -f of its ruleset" "$work/e1" "$work/b1" ms "< 200 ms"
  row "the same call made from C (sd-bus, bench/enable-call.c) vs nft -f of its ruleset" "$work/e1c" "$work/b1" ms "< 200 ms"
  [ "$ENABLE_ONLY" = 1 ] || {
  row "reconnect: Enable killswitch with another server and tunnel, 100,000-prefix set loaded, vs nft -f of the element changes" "$work/rc" "$work/brc" ms "≤ 5 ms"
  row "reconnect with 100,000-prefix set loaded vs the same with the three shipped policies alone (size independence)" "$work/rc" "$work/rc3" ms "≈ 1×"
  row "start to READY=1 with saved state (3 policies) vs nft -f of the same ruleset" "$work/ready" "$work/bready" ms "< 50 ms"
  }
  [ "$foreign" = 0 ] || echo "
**Not comparable:** another process listened to nftables events during $foreign of the $REPEATS Enable repeats (another leakguardd or nft monitor, in any network namespace): the kernel built an event per set element."
  [ "$ENABLE_ONLY" = 1 ] && exit 0
  echo
  echo "| throughput over a veth pair (3 runs of ${SECS} s, medians), share of no ruleset | TCP Gbit/s | UDP 64-byte packets/s | TCP | UDP |"
  echo "|---|---|---|---|---|"
  for m in $modes; do
    case $m in
      none) label="no ruleset" ;; onerule) label="one base chain per hook, one rule each (the floor of any ruleset)" ;;
      three) label="leakguard: the 3 shipped policies" ;; leakguard) label="leakguard: 3 policies + 100,000-prefix blocklist (target ≥ 97%)" ;;
      naive) label="one rule per address (100,000 rules, iptables-era)" ;;
    esac
    python3 - "$(med "$work/tcp-none")" "$(med "$work/udp-none")" "$(med "$work/tcp-$m")" "$(med "$work/udp-$m")" "$label" <<'PY'
import sys
tn, un, t, u, label = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
print(f"| {label} | {t:.2f} | {u:,.0f} | {t/tn*100:.1f}% | {u/un*100:.1f}% |")
PY
  done
  echo
  echo "| daemon | value | target |"
  echo "|---|---|---|"
  echo "| resident memory idle, the 3 shipped policies enabled | ${idle_rss} KiB | < 8 MB idle |"
  echo "| resident memory while serving Status at ${srate}/s (peak) | ${srss1} KiB | |"
  echo "| Status latency p50 / p99 / max at ${srate} calls/s (${scalls} calls) | ${s50} / ${s99} / ${smax} ms | p99 < 2 ms |"
  echo "| resident memory idle, + blocklist with 100,000 prefixes | ${idle_rss_big} KiB | |"
  echo "| Status latency p50 / p99 / max with the 100,000-prefix parameter in every reply, at ${brate} calls/s | ${b50} / ${b99} / ${bmax} ms | |"
} | tee "$out/$([ "$ENABLE_ONLY" = 1 ] && echo results-enable.md || echo results.md)"
