# shellcheck shell=bash
# The end-to-end world of the leak tests (tests/kernel/test-e2e-*.sh): a protected host behind an
# ISP, two WireGuard VPN servers, a public server, resolvers, and a leak detector on the ISP's side
# of the host's uplink. Everything lives in network namespaces made here (tests/lib/netns.sh) and
# is removed on exit; leakguardd runs in the host namespace on a private bus (tests/lib/daemon.sh).
#
#            eth0                h0          n0                eth0
#   [host] ─────────────── [isp router] ──────────────── [net: public server]
#    wgXa ═══ tunnel 1 ═══╗  │ v1  │ v2
#    wgXb ═══ tunnel 2 ═══╬══╪═════╪══╗
#                         ╚═[vpn1]  [vpn2]═╝   (WireGuard servers, NAT to the internet, tunnel resolvers)
#
#   host eth0   10.77.0.2/24      fd77::2/64        default via the ISP (metric 100): the way leaks take
#   isp  h0     10.77.0.1/24      fd77::1/64        ISP resolver (dnsmasq, 53 udp+tcp), echo on 9000 and 853
#   isp  n0     203.0.113.1/24    2001:db8:1::1/64
#   net  eth0   203.0.113.10/24   2001:db8:1::10/64 echo server on 9000, 443, 853
#   isp  v1     198.51.100.1/28   2001:db8:51::1/64
#   vpn1 eth0   198.51.100.2/28   2001:db8:51::2/64 WireGuard endpoint 198.51.100.2:51820 (IPv4)
#   isp  v2     198.51.100.17/28  2001:db8:52::1/64
#   vpn2 eth0   198.51.100.18/28  2001:db8:52::2/64 WireGuard endpoint [2001:db8:52::2]:51821 (IPv6)
#   tunnel N    host 10.20N.0.2/24 fd01:20N::2/64, server 10.20N.0.1 fd01:20N::1: resolver (dnsmasq)
#               and echo (9000, 853) reachable only through the tunnel
#   host lo     stub resolvers: 127.0.0.53 → tunnel resolver 1; 127.0.0.54 → the ISP resolver (a leaky one)
#
# WireGuard is wireguard-go (the kernel has no WireGuard module) with wireguard-tools' wg. Their
# control sockets live in /var/run/wireguard/NAME.sock, shared by every namespace, so interface
# names carry a per-run tag ($E2E_TAG) and two runs never talk to each other's tunnels.
#
# Leak detector: table netdev e2e_leak in the isp namespace, hooked at ingress of h0 (everything
# the host puts on its uplink), counts per class: the VPN endpoints (udp to 198.51.100.2:51820 and
# [2001:db8:52::2]:51821), ARP, neighbour discovery, DHCP, and "leak" for everything else. A
# tcpdump on h0 with the same classes as a BPF filter prints each leaked packet and is an
# independent second count (tcpdump reads what the NIC saw; nft counts what the hook saw).

E2E_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LGD_ROLE=host
# shellcheck source=daemon.sh
. "$E2E_LIB/daemon.sh"
E2E_GEN="$SRCDIR/tests/e2e/gen.py"
E2E_PY=${LGD_PY:-/usr/bin/python3}
E2E_TAG=$(printf '%04x' $(((RANDOM << 1 ^ $$) & 0xffff)))
declare -A E2E_TUN E2E_SRV_TUN E2E_EP E2E_EP_ADDR E2E_EP_PORT E2E_RES4 E2E_RES6 E2E_SRV4 E2E_SRV6 E2E_WGPID E2E_SRVPID
E2E_TUN[1]="wg${E2E_TAG}a"
E2E_TUN[2]="wg${E2E_TAG}b"
E2E_SRV_TUN[1]="wg${E2E_TAG}s1"
E2E_SRV_TUN[2]="wg${E2E_TAG}s2"
E2E_EP[1]="198.51.100.2:51820/udp"
E2E_EP_ADDR[1]=198.51.100.2
E2E_EP_PORT[1]=51820
E2E_EP[2]="[2001:db8:52::2]:51821/udp"
E2E_EP_ADDR[2]=2001:db8:52::2
E2E_EP_PORT[2]=51821
for n in 1 2; do
        E2E_RES4[$n]=10.20$n.0.1
        E2E_RES6[$n]=fd01:20$n::1
        E2E_SRV4[$n]=10.20$n.0.1
        E2E_SRV6[$n]=fd01:20$n::1
done
E2E_PUBLIC4=203.0.113.10
E2E_PUBLIC6=2001:db8:1::10
E2E_ISP4=10.77.0.1
E2E_ISP6=fd77::1
E2E_CURRENT=0 # the server the host's routes point at (0: none)

e2e_cleanup_extra() { :; }
lgd_cleanup_extra() {
        e2e_cleanup_extra
        local n
        # Stopped and reaped here, before lg_cleanup's SIGKILL sweep: wireguard-go removes its
        # control socket on SIGTERM.
        for n in 1 2; do
                [ -n "${E2E_WGPID[$n]:-}" ] && kill "${E2E_WGPID[$n]}" 2>/dev/null && wait "${E2E_WGPID[$n]}" 2>/dev/null
                [ -n "${E2E_SRVPID[$n]:-}" ] && kill "${E2E_SRVPID[$n]}" 2>/dev/null && wait "${E2E_SRVPID[$n]}" 2>/dev/null
        done
        [ -n "${E2E_TCPDUMP_PID:-}" ] && kill "$E2E_TCPDUMP_PID" 2>/dev/null && wait "$E2E_TCPDUMP_PID" 2>/dev/null
        # wireguard-go removes its socket on SIGTERM, not on SIGKILL (lg_cleanup uses -9).
        rm -f /var/run/wireguard/wg"${E2E_TAG}"*.sock
        return 0
}

e2e_require() {
        local t
        for t in wireguard-go wg dnsmasq tcpdump; do
                command -v "$t" >/dev/null || lg_die "missing tool: $t (scripts/install-deps.sh installs it)"
        done
        [ -c /dev/net/tun ] || lg_die "/dev/net/tun is missing: wireguard-go needs a TUN device"
}

# e2e_setup: every namespace, link, address, route and service above; the tunnels are up, the
# host's routes still go to the ISP (nothing connected), leakguardd is running with nothing enabled.
e2e_setup() {
        e2e_require
        lgd_setup host isp net vpn1 vpn2
        lg_veth host eth0 isp h0
        lg_veth isp n0 net eth0
        lg_veth isp v1 vpn1 eth0
        lg_veth isp v2 vpn2 eth0
        lg_addr host eth0 10.77.0.2/24 fd77::2/64
        lg_addr isp h0 10.77.0.1/24 fd77::1/64
        lg_addr isp n0 203.0.113.1/24 2001:db8:1::1/64
        lg_addr net eth0 203.0.113.10/24 2001:db8:1::10/64
        lg_addr isp v1 198.51.100.1/28 2001:db8:51::1/64
        lg_addr vpn1 eth0 198.51.100.2/28 2001:db8:51::2/64
        lg_addr isp v2 198.51.100.17/28 2001:db8:52::1/64
        lg_addr vpn2 eth0 198.51.100.18/28 2001:db8:52::2/64
        lg_forwarding isp
        lg_route host default via 10.77.0.1 metric 100
        lg_route host default via fd77::1 metric 100
        # The endpoints stay on the uplink whatever the default route says (as wg-quick arranges).
        lg_route host 198.51.100.2/32 via 10.77.0.1
        lg_route host 2001:db8:52::2/128 via fd77::1
        lg_route net default via 203.0.113.1
        lg_route net default via 2001:db8:1::1
        lg_route vpn1 default via 198.51.100.1
        lg_route vpn1 default via 2001:db8:51::1
        lg_route vpn2 default via 198.51.100.17
        lg_route vpn2 default via 2001:db8:52::1
        lg_in host ping -c1 -W2 -q 203.0.113.10 >/dev/null || lg_die "no IPv4 route host -> net"
        lg_in host ping -6 -c1 -W2 -q 2001:db8:1::10 >/dev/null || lg_die "no IPv6 route host -> net"
        lg_in host ping -6 -c1 -W2 -q 2001:db8:52::2 >/dev/null || lg_die "no IPv6 route host -> vpn2"

        # Services.
        lg_serve net 9000,443,853
        lg_serve isp 9000,853
        e2e_dnsmasq isp isp --listen-address=10.77.0.1 --listen-address=fd77::1 \
                --address=/example.test/203.0.113.10 --address=/whoami.test/192.0.2.99
        local n
        for n in 1 2; do
                e2e_server_up $n
                lg_serve vpn$n 9000,853
                e2e_dnsmasq vpn$n "resolver$n" --listen-address=10.20$n.0.1 --listen-address=fd01:20$n::1 \
                        --address=/example.test/203.0.113.10 --address=/whoami.test/192.0.2.$n
                e2e_tunnel_up $n
        done
        e2e_dnsmasq host stub --listen-address=127.0.0.53 --server=10.201.0.1
        e2e_dnsmasq host leaky-stub --listen-address=127.0.0.54 --server=10.77.0.1
        e2e_detector_start
        lgd_start
}

# e2e_dnsmasq ROLE NAME ARGS…: a resolver in the foreground, logging its queries to $LG_TMP/dnsmasq.NAME.log.
e2e_dnsmasq() {
        local role=$1 name=$2
        shift 2
        lg_bg "$role" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces \
                --user=root --group=root --pid-file= --cache-size=0 --log-queries --log-facility=- "$@" \
                >"$LG_TMP/dnsmasq.$name.log" 2>&1
        local _
        for _ in $(seq 100); do
                grep -q "started" "$LG_TMP/dnsmasq.$name.log" 2>/dev/null && return 0
                kill -0 "$LG_LAST_PID" 2>/dev/null || break
                sleep 0.05
        done
        lg_die "dnsmasq $name in $role did not start: $(tail -3 "$LG_TMP/dnsmasq.$name.log")"
}

# ---- WireGuard ----

e2e__keys() {
        [ -f "$LG_TMP/wg.host.key" ] && return 0
        local k
        for k in host srv1 srv2; do
                (umask 077 && wg genkey >"$LG_TMP/wg.$k.key")
                wg pubkey <"$LG_TMP/wg.$k.key" >"$LG_TMP/wg.$k.pub"
        done
}

# e2e__wg_start ROLE IFACE: wireguard-go in the foreground inside ROLE; waits for its control socket.
e2e__wg_start() {
        local role=$1 ifc=$2 _
        rm -f "/var/run/wireguard/$ifc.sock"
        ip netns exec "$(lg_ns "$role")" env WG_PROCESS_FOREGROUND=1 wireguard-go "$ifc" >>"$LG_TMP/wg.$ifc.log" 2>&1 &
        E2E_LAST_WG=$!
        LG_PIDS+=("$E2E_LAST_WG")
        for _ in $(seq 200); do
                [ -S "/var/run/wireguard/$ifc.sock" ] && lg_in "$role" ip link show "$ifc" >/dev/null 2>&1 && return 0
                sleep 0.02
        done
        lg_die "wireguard-go $ifc in $role did not start: $(tail -3 "$LG_TMP/wg.$ifc.log")"
}

# e2e_server_up N: the WireGuard server N (started once) with NAT to the internet.
e2e_server_up() {
        local n=$1 ifc=${E2E_SRV_TUN[$1]}
        e2e__keys
        e2e__wg_start vpn$n "$ifc"
        E2E_SRVPID[$n]=$E2E_LAST_WG
        lg_in vpn$n wg set "$ifc" private-key "$LG_TMP/wg.srv$n.key" listen-port "${E2E_EP_PORT[$n]}" \
                peer "$(cat "$LG_TMP/wg.host.pub")" allowed-ips "10.20$n.0.2/32,fd01:20$n::2/128" ||
                lg_die "wg set $ifc"
        lg_addr vpn$n "$ifc" 10.20$n.0.1/24 fd01:20$n::1/64
        lg_in vpn$n ip link set "$ifc" up
        lg_forwarding vpn$n
        lg_in vpn$n nft -f - <<NFT || lg_die "NAT in vpn$n"
table inet e2e_nat {
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "eth0" masquerade
	}
}
NFT
}

# e2e_tunnel_up N: the host's tunnel N (interface ${E2E_TUN[N]}) to server N, with keepalives.
e2e_tunnel_up() {
        local n=$1 ifc=${E2E_TUN[$1]} ep
        e2e__keys
        e2e__wg_start host "$ifc"
        E2E_WGPID[$n]=$E2E_LAST_WG
        ep="${E2E_EP_ADDR[$n]}:${E2E_EP_PORT[$n]}"
        [[ ${E2E_EP_ADDR[$n]} == *:* ]] && ep="[${E2E_EP_ADDR[$n]}]:${E2E_EP_PORT[$n]}"
        lg_in host wg set "$ifc" private-key "$LG_TMP/wg.host.key" peer "$(cat "$LG_TMP/wg.srv$n.pub")" \
                endpoint "$ep" allowed-ips 0.0.0.0/0,::/0 persistent-keepalive 1 || lg_die "wg set $ifc"
        lg_addr host "$ifc" 10.20$n.0.2/24 fd01:20$n::2/64
        lg_in host ip link set "$ifc" up
        [ "$E2E_CURRENT" = "$n" ] && e2e_route_via "$n"
        return 0
}

# e2e_tunnel_kill N: wireguard-go of tunnel N dies (SIGKILL); the kernel removes its interface.
e2e_tunnel_kill() {
        local n=$1 _
        kill -9 "${E2E_WGPID[$n]}" 2>/dev/null
        wait "${E2E_WGPID[$n]}" 2>/dev/null
        E2E_WGPID[$n]=
        for _ in $(seq 100); do
                lg_in host ip link show "${E2E_TUN[$n]}" >/dev/null 2>&1 || break
                sleep 0.02
        done
        rm -f "/var/run/wireguard/${E2E_TUN[$n]}.sock"
}

# e2e_route_via N: the host's IPv4 default route goes through tunnel N (IPv6 keeps the ISP's
# default route: the classic IPv6 leak of an IPv4-only VPN, which ipv6-leak must stop).
e2e_route_via() {
        lg_in host ip route replace default dev "${E2E_TUN[$1]}" metric 10 || lg_die "route via tunnel $1"
        E2E_CURRENT=$1
}

# e2e_wait_tunnel N: the tunnel carries packets (a handshake has happened), 12 s at most: a
# wireguard-go whose handshake initiations were dropped (the kill switch named the other tunnel)
# waits REKEY_TIMEOUT (5 s, plus jitter) before it sends the next one.
e2e_wait_tunnel() {
        local _
        for _ in $(seq 24); do
                lg_in host ping -c1 -W0.5 -q -I "${E2E_TUN[$1]}" "10.20$1.0.1" >/dev/null 2>&1 && return 0
        done
        return 1
}

# ---- leakguardd ----

# e2e_protect N: killswitch, dns-leak and ipv6-leak for tunnel N (three Enable calls, as a VPN
# client reconnecting to another server would make them), then the routes.
# e2e_protect N [1]: with a second argument 1, the servers also hold an address without port
# (198.18.0.1), which turns the endpoint set from a hash set into an interval set (another set).
e2e_protect() {
        local n=$1 ifc=${E2E_TUN[$1]} v6servers=0 out servers=(1 "${E2E_EP[$1]}")
        [ "${2:-0}" = 1 ] && servers=(2 "${E2E_EP[$1]}" 198.18.0.1)
        [[ ${E2E_EP_ADDR[$n]} == *:* ]] && v6servers=1
        out=$(lgd_busctl Enable 'sa{sv}' killswitch 2 tunnel s "$ifc" servers as "${servers[@]}") || {
                echo "Enable killswitch: $out"
                return 1
        }
        out=$(lgd_busctl Enable 'sa{sv}' dns-leak 2 tunnel s "$ifc" resolvers as 2 "${E2E_RES4[$n]}" "${E2E_RES6[$n]}") || {
                echo "Enable dns-leak: $out"
                return 1
        }
        if [ $v6servers = 1 ]; then
                out=$(lgd_busctl Enable 'sa{sv}' ipv6-leak 2 tunnel as 1 "$ifc" servers as 1 "${E2E_EP[$n]}")
        else
                out=$(lgd_busctl Enable 'sa{sv}' ipv6-leak 1 tunnel as 1 "$ifc")
        fi || {
                echo "Enable ipv6-leak: $out"
                return 1
        }
        e2e_route_via "$n"
}

# ---- leak detector ----

e2e_detector_start() {
        lg_in isp nft -f - <<NFT || lg_die "leak detector"
table netdev e2e_leak {
	set vpn4 {
		type ipv4_addr . inet_service
		elements = { ${E2E_EP_ADDR[1]} . ${E2E_EP_PORT[1]} }
	}
	set vpn6 {
		type ipv6_addr . inet_service
		elements = { ${E2E_EP_ADDR[2]} . ${E2E_EP_PORT[2]} }
	}
	chain in {
		type filter hook ingress device "h0" priority -500; policy accept;
		ether type arp counter accept comment "arp"
		meta protocol ip udp sport 68 udp dport 67 counter accept comment "dhcp"
		meta protocol ip6 udp sport 546 udp dport 547 counter accept comment "dhcp"
		meta protocol ip6 icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, nd-redirect } counter accept comment "nd"
		meta protocol ip ip daddr . udp dport @vpn4 counter accept comment "vpn"
		meta protocol ip6 ip6 daddr . udp dport @vpn6 counter accept comment "vpn"
		counter comment "leak"
	}
}
NFT
        local filter="not arp"
        filter+=" and not (udp and dst host ${E2E_EP_ADDR[1]} and dst port ${E2E_EP_PORT[1]})"
        filter+=" and not (udp and dst host ${E2E_EP_ADDR[2]} and dst port ${E2E_EP_PORT[2]})"
        filter+=" and not (ip and udp src port 68 and dst port 67) and not (ip6 and udp src port 546 and dst port 547)"
        filter+=" and not (ip6 and ip6[6] == 58 and ip6[40] >= 133 and ip6[40] <= 137)"
        ip netns exec "$(lg_ns isp)" tcpdump -i h0 -Q in -n -l -tt "$filter" \
                >"$LG_TMP/leaks.txt" 2>"$LG_TMP/tcpdump.err" &
        LG_PIDS+=("$!")
        E2E_TCPDUMP_PID=$!
        local _
        for _ in $(seq 100); do
                grep -q "listening on" "$LG_TMP/tcpdump.err" 2>/dev/null && return 0
                sleep 0.05
        done
        lg_die "tcpdump did not start: $(cat "$LG_TMP/tcpdump.err")"
}

# e2e__counter COMMENT: packets counted by the detector's rules with that comment.
e2e__counter() {
        lg_in isp nft list chain netdev e2e_leak in |
                awk -v c="comment \"$1\"" 'index($0, c) { for (i = 1; i < NF; i++) if ($i == "packets") n += $(i + 1) }
                        END { print n + 0 }'
}

# tcpdump prints one line a packet, a -tt timestamp first.
e2e__tcpdump_count() { grep -c '^[0-9]' "$LG_TMP/leaks.txt" 2>/dev/null || true; }

# e2e_mark: remember the detector's counts; e2e_since then reports what came after.
e2e_mark() {
        sleep 0.2 # let tcpdump print what it captured so far
        E2E_M_LEAK=$(e2e__counter leak)
        E2E_M_DUMP=$(e2e__tcpdump_count)
        E2E_M_VPN=$(e2e__counter vpn)
}

# e2e_since: sets E2E_LEAKED (the larger of the two detectors' counts since e2e_mark),
# E2E_LEAKED_NFT, E2E_LEAKED_DUMP, E2E_VPN_PACKETS (packets to the VPN endpoints), and prints
# the leaked packets tcpdump saw (at most 20 lines).
e2e_since() {
        sleep 0.3
        local leak dump vpn
        leak=$(e2e__counter leak)
        dump=$(e2e__tcpdump_count)
        vpn=$(e2e__counter vpn)
        E2E_LEAKED_NFT=$((leak - E2E_M_LEAK))
        E2E_LEAKED_DUMP=$((dump - E2E_M_DUMP))
        E2E_VPN_PACKETS=$((vpn - E2E_M_VPN))
        E2E_LEAKED=$((E2E_LEAKED_NFT > E2E_LEAKED_DUMP ? E2E_LEAKED_NFT : E2E_LEAKED_DUMP))
        if [ "$E2E_LEAKED_DUMP" -gt 0 ]; then
                echo "# leaked packets (tcpdump on the ISP side of the uplink):"
                grep '^[0-9]' "$LG_TMP/leaks.txt" | tail -n "+$((E2E_M_DUMP + 1))" | head -20 | sed 's/^/#   /'
        fi
}

# ---- generators ----

# e2e_battery LABEL EXPECT-FILE: runs the probes of EXPECT-FILE (lines "NAME pass|block|any KIND ARGS…")
# once each in the host; a pass or fail per probe; E2E_SENT = number of probes.
e2e_battery() {
        local label=$1 file=$2
        awk 'NF && $1 !~ /^#/ { $2 = ""; print }' "$file" |
                lg_in host "$E2E_PY" "$E2E_GEN" battery >"$LG_TMP/battery.out" 2>"$LG_TMP/battery.err"
        E2E_SENT=0
        local name want kind rest got
        while read -r name want kind rest; do
                [[ -z $name || $name == \#* ]] && continue
                E2E_SENT=$((E2E_SENT + 1))
                got=$("$E2E_PY" -c '
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["name"] == sys.argv[2]:
        print(r["result"] + ((" " + r["detail"]) if r["detail"] else ""))
        break
else:
    print("missing")' "$LG_TMP/battery.out" "$name")
                local what="$name ($kind $rest)"
                case $want in
                pass) [[ $got == ok* ]] && lg_pass "[$label] $what passes: $got" || lg_fail "[$label] $what should pass" "$got" ;;
                block) [[ $got != ok* ]] && lg_pass "[$label] $what blocked: $got" || lg_fail "[$label] $what should be blocked" "$got" ;;
                *) lg_log "[$label] $what: $got" ;;
                esac
        done <"$file"
}

# The targets of the floods: every way around the tunnel, plus the tunnel's own way to the
# public server (which falls back to the ISP route when the tunnel is gone). Port 9999 has no
# listener: nothing echoes the flood back.
E2E_FLOOD_TARGETS=(
        "udp,$E2E_PUBLIC4,9999"
        "udp,$E2E_PUBLIC4,9999,eth0"
        "dns,$E2E_ISP4,53"
        "dns,$E2E_ISP6,53"
        "tcp,$E2E_ISP4,853"
        "tcp,$E2E_PUBLIC4,443,eth0"
        "udp,$E2E_PUBLIC6,9999"
        "tcp,$E2E_PUBLIC6,443"
        "icmp,$E2E_PUBLIC4,0,eth0"
        "icmp,$E2E_PUBLIC6,0"
        "udp,$E2E_ISP4,9999"
)
E2E_FLOOD_RATE=${E2E_FLOOD_RATE:-20000}

# e2e_flood_start NAME [SECONDS]: a bounded flood (60 s at most, or SECONDS) in the host until
# e2e_flood_stop NAME.
e2e_flood_start() {
        local name=$1 secs=${2:-60}
        rm -f "$LG_TMP/flood.$name.stop" "$LG_TMP/flood.$name.json"
        lg_bg host "$E2E_PY" "$E2E_GEN" flood "$secs" "$E2E_FLOOD_RATE" "$LG_TMP/flood.$name.stop" \
                "$LG_TMP/flood.$name.json" "${E2E_FLOOD_TARGETS[@]}"
        E2E_FLOOD_PID=$LG_LAST_PID
        sleep 0.2
}

# e2e_flood_stop NAME: stops it; E2E_SENT = attempts, E2E_FLOOD_SUMMARY = one line per target.
e2e_flood_stop() {
        local name=$1 _
        touch "$LG_TMP/flood.$name.stop"
        wait "$E2E_FLOOD_PID" 2>/dev/null
        e2e__flood_read "$LG_TMP/flood.$name.json"
}

e2e__flood_read() {
        [ -s "$1" ] || {
                E2E_SENT=0
                E2E_FLOOD_SUMMARY="no flood summary"
                return
        }
        E2E_SENT=$("$E2E_PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["attempts"])' "$1")
        E2E_FLOOD_SUMMARY=$("$E2E_PY" -c '
import json, sys
r = json.load(open(sys.argv[1]))
print("%d attempts in %.1f s" % (r["attempts"], r["seconds"]) +
      ("; first send %d us after READY=1" % r["first_send_after_ready_us"] if "first_send_after_ready_us" in r else ""))
for t in r["targets"]:
    print("  %-28s attempts=%-7d accepted=%-7d eperm=%-7d other=%d" % (t["target"], t["attempts"], t["sent"], t["eperm"], t["other"]))' "$1")
}

# ---- the report ----

E2E_ROWS=()
# e2e_row SCENARIO SENT LEAKED [NOTE]: one line of the final table, and a pass/fail on LEAKED == 0.
e2e_row() {
        E2E_ROWS+=("$1|$2|$3|${4:-}")
        if [ "$3" = 0 ]; then
                lg_pass "$1: $2 packets sent, 0 leaked${4:+ ($4)}"
        else
                lg_fail "$1: leaked $3 of $2 packets" "${4:-}"
        fi
}

e2e_table() {
        local r s sent leaked note
        printf '\n%-52s %12s %8s  %s\n' "scenario" "sent" "leaked" "notes"
        printf '%s\n' "--------------------------------------------------------------------------------------------------------"
        for r in "${E2E_ROWS[@]}"; do
                IFS='|' read -r s sent leaked note <<<"$r"
                printf '%-52s %12s %8s  %s\n' "$s" "$sent" "$leaked" "$note"
        done
        printf '\n'
}
