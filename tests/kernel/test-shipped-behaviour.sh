#!/usr/bin/env bash
# The shipped policies, killswitch + dns-leak + ipv6-leak, on a client namespace with a "physical"
# uplink (veth eth0 to a LAN namespace that also holds the VPN server and another Internet host)
# and a "tunnel" (veth named wg0 to a VPN namespace holding the resolver and Internet hosts; the
# default routes point into it). Checked with real packets:
#   tunnel traffic passes; the uplink passes only the server endpoint (address + udp port) and
#   DHCP; DNS through the tunnel reaches only the resolver, other DNS is rejected; IPv6 to a
#   global address is dropped; loopback works; with allow_lan=true the LAN passes; inbound too.
. "$(dirname "$0")/../lib/netns.sh"
lg_require
lg_netns_new c lan vpn
lg_veth c eth0 lan eth0
lg_veth c wg0 vpn wg0
lg_addr c eth0 10.99.1.1/24 fd99:1::1/64
lg_addr lan eth0 10.99.1.2/24 10.99.1.3/24 fd99:1::2/64
lg_addr lan lo 198.51.100.7/32 198.51.100.8/32 2001:db8:1::7/128 2001:db8:1::8/128
lg_addr c wg0 10.99.2.1/24 2001:db8:2::1/64
lg_addr vpn wg0 10.99.2.2/24 2001:db8:2::2/64
lg_addr vpn lo 203.0.113.5/32 10.64.0.1/32 2001:db8:5::5/128
lg_route c 198.51.100.0/24 via 10.99.1.2
lg_route c 2001:db8:1::/48 via fd99:1::2
lg_route c default via 10.99.2.2 dev wg0
lg_route c ::/0 via 2001:db8:2::2 dev wg0
lg_route lan 2001:db8:2::/64 via fd99:1::1
lg_serve lan 7000,53,67,51820,51821
lg_serve vpn 7000,53,853
lg_serve c 7000,53
for h in 10.99.1.2 fd99:1::2 198.51.100.7 2001:db8:1::7 10.99.2.2 203.0.113.5 2001:db8:5::5; do
        lg_in c ping -c1 -W2 -q "$h" >/dev/null || lg_die "no route to $h before any ruleset"
done
LAN_LL=$(ip -n "$(lg_ns lan)" -6 addr show dev eth0 scope link | awk '$1 == "inet6" { sub("/.*", "", $2); print $2 }')
[ -n "$LAN_LL" ] || lg_die "no link-local address on the LAN side"

SHIPPED=("$LG_SHIPPED/killswitch.yaml" "$LG_SHIPPED/dns-leak.yaml" "$LG_SHIPPED/ipv6-leak.yaml")
# ipv6-leak keeps its defaults (no tunnel, no servers): no IPv6 at all but loopback.
PARAMS=(killswitch.tunnel=wg0 dns-leak.tunnel=wg0 killswitch.servers=198.51.100.7:51820/udp resolvers=10.64.0.1)

common_checks() {
        lg_log "# tunnel"
        lg_expect pass c udp 203.0.113.5 7000
        lg_expect pass c tcp 203.0.113.5 7000
        lg_expect pass c ping 203.0.113.5
        lg_expect pass c udp 10.99.2.2 7000
        lg_expect pass vpn udp 10.99.2.1 7000     # inbound through the tunnel
        lg_log "# uplink: only the VPN server endpoint (and DHCP)"
        lg_expect pass c udp 198.51.100.7 51820
        lg_expect drop c udp 198.51.100.7 51821   # the server's address, another port
        lg_expect drop c tcp 198.51.100.7 51820   # the server's port, but tcp
        lg_expect drop c ping 198.51.100.7
        lg_expect drop c udp 198.51.100.8 7000    # another host behind the uplink
        lg_expect drop c tcp 198.51.100.8 7000
        lg_expect drop c ping 198.51.100.8
        lg_expect drop c udp 198.51.100.8 53      # DNS out of the uplink
        lg_expect pass c udp 10.99.1.2 67 68      # DHCPv4 client 68 -> server 67
        lg_log "# DNS through the tunnel"
        lg_expect pass c udp 10.64.0.1 53
        lg_expect pass c tcp 10.64.0.1 53
        lg_expect pass c tcp 10.64.0.1 853
        lg_expect reject c udp 203.0.113.5 53     # not a resolver: rejected, not just dropped
        lg_expect reject c tcp 203.0.113.5 53
        lg_expect reject c tcp 203.0.113.5 853
        lg_log "# IPv6"
        lg_expect drop c ping 2001:db8:5::5       # global, through the tunnel
        lg_expect drop c udp 2001:db8:5::5 7000
        lg_expect drop c udp 2001:db8:2::2 7000
        lg_expect drop c udp 2001:db8:1::8 7000   # global, out of the uplink
        lg_log "# loopback"
        lg_expect pass c ping 127.0.0.1
        lg_expect pass c ping ::1
        lg_expect pass c udp 127.0.0.1 7000
        lg_expect pass c tcp ::1 7000
        lg_expect pass c udp 127.0.0.53 53        # the local stub resolver
        lg_expect pass c tcp 127.0.0.53 53
}

lg_log "## killswitch + dns-leak + ipv6-leak, allow_lan=false"
lg_compile_apply c "${SHIPPED[@]}" "${PARAMS[@]}" allow_lan=false
common_checks
lg_log "# LAN (not allowed)"
lg_expect drop c udp 10.99.1.3 7000
lg_expect drop c ping 10.99.1.3
lg_expect drop c ping "$LAN_LL%eth0"
lg_expect block lan udp 10.99.1.1 7000          # inbound from the LAN
lg_expect block lan ping 10.99.1.1

lg_log "## the same, allow_lan=true (re-applied over the previous ruleset)"
lg_compile_apply c "${SHIPPED[@]}" "${PARAMS[@]}" allow_lan=true
common_checks
lg_log "# LAN (allowed)"
lg_expect pass c udp 10.99.1.3 7000
lg_expect pass c tcp 10.99.1.3 7000
lg_expect pass c ping 10.99.1.3
lg_expect pass c udp 10.99.1.2 7000
lg_expect pass c ping "$LAN_LL%eth0"            # IPv6 link-local (killswitch lan + ipv6-leak link-local)
lg_expect pass c udp "$LAN_LL%eth0" 7000
lg_expect pass lan udp 10.99.1.1 7000           # inbound from the LAN
lg_expect pass lan ping 10.99.1.1
lg_expect pass c udp fd99:1::2 7000             # ULA: killswitch's and ipv6-leak's LAN
lg_expect drop c udp 198.51.100.8 7000          # not the LAN

lg_log "## back to allow_lan=false"
lg_compile_apply c "${SHIPPED[@]}" "${PARAMS[@]}" allow_lan=false
lg_expect drop c udp 10.99.1.3 7000
lg_expect drop c ping "$LAN_LL%eth0"
lg_expect pass c udp 203.0.113.5 7000
lg_expect pass c udp 198.51.100.7 51820

lg_log "## tunnel given as the wildcard wg*"
lg_compile_apply c "${SHIPPED[@]}" tunnel='wg*' servers=198.51.100.7:51820/udp resolvers=10.64.0.1 allow_lan=false
lg_expect pass c udp 203.0.113.5 7000
lg_expect pass c udp 10.64.0.1 53
lg_expect reject c udp 203.0.113.5 53
lg_expect drop c udp 198.51.100.8 7000

lg_log "## IPv6 VPN server: killswitch + dns-leak (no ipv6-leak)"
lg_compile_apply c "$LG_SHIPPED/killswitch.yaml" "$LG_SHIPPED/dns-leak.yaml" tunnel=wg0 \
        servers=[2001:db8:1::7]:51820/udp resolvers=10.64.0.1,2001:db8:5::5 allow_lan=false
lg_expect pass c udp 2001:db8:1::7 51820
lg_expect drop c udp 2001:db8:1::7 51821
lg_expect drop c udp 2001:db8:1::8 7000
lg_expect drop c udp 198.51.100.7 51820         # no longer a server
lg_expect pass c udp 2001:db8:5::5 7000         # IPv6 through the tunnel, no ipv6-leak
lg_expect pass c udp 2001:db8:5::5 53           # IPv6 resolver through the tunnel
lg_expect pass c ping ::1
lg_log "## IPv6 VPN server with ipv6-leak given the same tunnel and servers"
lg_compile_apply c "${SHIPPED[@]}" tunnel=wg0 servers=[2001:db8:1::7]:51820/udp resolvers=10.64.0.1 allow_lan=false
lg_expect pass c udp 2001:db8:1::7 51820         # ipv6-leak permits the server it is given
lg_expect drop c udp 2001:db8:1::7 51821
lg_expect drop c udp 2001:db8:1::8 7000          # global IPv6 out of the uplink
lg_expect pass c udp 2001:db8:5::5 7000          # IPv6 through the tunnel it is given
lg_expect drop c udp fd99:1::2 7000              # ULA without allow_lan
lg_done
