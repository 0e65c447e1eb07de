#!/usr/bin/python3
"""Differential test of Explain against the kernel (tests/kernel/test-explain-differential.sh).

  explain-diff.py NS_A NS_B SCENARIO SEED OUT IN FWD

Makes OUT + IN + FWD random packets from small pools of addresses, ports, protocols, interfaces,
users and marks chosen to hit many filters, sends each through the real kernel, and compares the
kernel's verdict with leakguardd's Explain (D-Bus, DBUS_SYSTEM_BUS_ADDRESS) packet by packet:

  outbound  raw IP_HDRINCL sockets in NS_A (where leakguardd's rules are), bound to the packet's
            interface, opened with the packet's fsuid/fsgid (what `meta skuid`/`skgid` read) and
            SO_MARK. The output hook's verdict is sendto()'s: EPERM when a chain dropped it.
  inbound   sent from NS_B over the veth into NS_A; a probe chain of NS_A (table inet lgprobe,
            input hook, priority 100, after leakguard's chains) records the IP ID (IPv4) or flow
            label (IPv6) of every test packet that got through, then drops it, so NS_A never
            answers and every test packet stays the first of its flow.
  forward   sent from NS_B to addresses NS_A routes out of one of its interfaces; recorded by the
            probe's forward chain.

Each phase runs in its own conntrack zone (the probe's raw chains), so that no flow of one phase
is taken for the reply of another: every packet is the first of its flow (`ct state new`), which
is what Explain assumes. Prints one line per mismatch and a summary; exits 1 on any mismatch.
"""
import ctypes
import json
import os
import random
import socket
import struct
import subprocess
import sys

import dbus

CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)
SO_MARK = 36
SO_BINDTODEVICE = 25

# ---- pools ----------------------------------------------------------------------------------
# Addresses: TEST-NET ranges, the 10.99.1.x / fd99:1::x addresses of tests/kernel/policies, and
# link-local ones; all of them are configured in NS_B, the namespace the packets go to.
REMOTE4 = ["192.0.2.2", "192.0.2.53", "198.51.100.7", "198.51.100.53", "198.51.100.200", "203.0.113.9",
           "203.0.113.200", "10.99.1.2", "10.99.1.4"]
REMOTE6 = ["2001:db8:1::2", "2001:db8:2::53", "2001:db8:3::9", "2001:db8:4::9", "fe80::2", "fd99:1::2",
           "fd99:1::4"]
LOCAL4_OUT = ["192.0.2.1", "192.0.2.150", "198.51.100.1"]
LOCAL6_OUT = ["2001:db8:1::1", "2001:db8:1::150", "2001:db8:2::1"]
LOCAL4_IN = ["192.0.2.1", "198.51.100.1"]   # NS_A's own addresses
LOCAL6_IN = ["2001:db8:1::1", "2001:db8:2::1"]
RPORTS = [22, 53, 67, 80, 443, 547, 853, 7000, 9000, 9001, 9002, 9005, 51820, 12345]
LPORTS = [22, 68, 546, 5000, 9001, 40000]
OUT_IFACES = ["eth0", "wg0", "lo", "wg7", "tun9"]
IN_IFACES = ["eth0", "wg0"]           # NS_A's side; NS_B sends on its peer
PEER = {"eth0": "p0", "wg0": "p1"}
UIDS = [0, 1000, 4242]
MARKS = [0, 0x1, 0x10, 0x11]
# Forwarded: NS_A routes these out of one interface each (see the test's setup).
FORWARD4 = {"203.0.113.9": "wg0", "203.0.113.200": "eth0"}
FORWARD6 = {"2001:db8:3::9": "wg0", "2001:db8:4::9": "eth0"}
FWD_SOURCES4 = ["192.0.2.2", "198.51.100.7", "198.51.100.53", "10.99.1.2"]
FWD_SOURCES6 = ["2001:db8:1::2", "2001:db8:2::53", "fd99:1::2"]
PROTOS = ["tcp", "udp", "icmp", "253"]
PROTO_NUM = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58, "253": 253}


def gen(rnd, phase, n):
    pkts = []
    for i in range(n):
        fam = rnd.choice((4, 6))
        proto = rnd.choice(PROTOS)
        if proto == "icmp" and fam == 6:
            proto = "icmpv6"
        p = {"id": i + 1, "phase": phase, "family": fam, "proto": proto}
        if phase == "outbound":
            iface = rnd.choice(OUT_IFACES)
            remote = rnd.choice(REMOTE4 if fam == 4 else REMOTE6)
            # IPv6 routes nothing but ::1 through lo (ENETUNREACH); IPv4 sends anything there.
            if iface == "lo" and (fam == 6 or rnd.random() < 0.5):
                remote = "127.0.0.1" if fam == 4 else "::1"
            if remote.startswith("fe80") and iface == "lo":
                iface = "eth0"
            p.update(iface=iface, remote=remote, local=rnd.choice(LOCAL4_OUT if fam == 4 else LOCAL6_OUT),
                     uid=rnd.choice(UIDS), gid=rnd.choice(UIDS), mark=rnd.choice(MARKS))
        elif phase == "inbound":
            remote = rnd.choice([a for a in (REMOTE4 if fam == 4 else REMOTE6)])
            p.update(iface=rnd.choice(IN_IFACES), remote=remote, local=rnd.choice(LOCAL4_IN if fam == 4 else LOCAL6_IN))
        else:
            table = FORWARD4 if fam == 4 else FORWARD6
            dst = rnd.choice(sorted(table))
            p.update(iface=table[dst], remote=dst, local=rnd.choice(FWD_SOURCES4 if fam == 4 else FWD_SOURCES6),
                     inif=rnd.choice(IN_IFACES))
        if proto in ("tcp", "udp"):
            p.update(rport=rnd.choice(RPORTS), lport=rnd.choice(LPORTS))
        pkts.append(p)
    return pkts


# ---- packets --------------------------------------------------------------------------------

def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def build(p, src, dst, sport, dport, ttl=77):
    """The IP packet: src/dst and ports as on the wire."""
    fam, num = p["family"], PROTO_NUM[p["proto"]]
    s = socket.inet_pton(socket.AF_INET if fam == 4 else socket.AF_INET6, src)
    d = socket.inet_pton(socket.AF_INET if fam == 4 else socket.AF_INET6, dst)
    if p["proto"] == "tcp":
        l4 = struct.pack("!HHIIBBHHH", sport, dport, random.getrandbits(32), 0, 5 << 4, 0x02, 64240, 0, 0)
    elif p["proto"] == "udp":
        l4 = struct.pack("!HHHH", sport, dport, 8 + 4, 0) + b"test"
    elif p["proto"] in ("icmp", "icmpv6"):
        l4 = struct.pack("!BBHHH", 8 if fam == 4 else 128, 0, 0, p["id"] & 0xffff, 1) + b"test"
    else:
        l4 = b"\0" * 8  # no ports: whatever `th dport` reads is 0
    if fam == 4:
        pseudo = s + d + struct.pack("!BBH", 0, num, len(l4))
    else:
        pseudo = s + d + struct.pack("!IxxxB", len(l4), num)
    if p["proto"] in ("tcp", "udp", "icmpv6"):
        off = 16 if p["proto"] == "tcp" else 6 if p["proto"] == "udp" else 2
        c = csum(pseudo + l4)
        if p["proto"] == "udp" and c == 0:
            c = 0xffff
        l4 = l4[:off] + struct.pack("!H", c) + l4[off + 2:]
    elif p["proto"] == "icmp":
        l4 = l4[:2] + struct.pack("!H", csum(l4)) + l4[4:]
    if fam == 4:
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), p["id"], 0, ttl, num, 0, s, d)
    else:
        hdr = struct.pack("!IHBB16s16s", (6 << 28) | p["id"], len(l4), num, ttl, s, d)
    return hdr + l4


def setns(name):
    fd = os.open("/run/netns/" + name, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns " + name)
    finally:
        os.close(fd)


class Sockets:
    """Raw sockets by (family, interface, uid, gid, mark), made in the current namespace."""

    def __init__(self):
        self.socks = {}

    def get(self, fam, iface, uid=0, gid=0, mark=0):
        key = (fam, iface, uid, gid, mark)
        s = self.socks.get(key)
        if s:
            return s
        # The socket's file keeps the fsuid/fsgid it was opened with: what nftables' skuid reads.
        libc.setfsgid(gid)
        libc.setfsuid(uid)
        try:
            s = socket.socket(socket.AF_INET if fam == 4 else socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
        finally:
            libc.setfsuid(0)
            libc.setfsgid(0)
        if fam == 4:
            s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
        s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, iface.encode())
        if mark:
            s.setsockopt(socket.SOL_SOCKET, SO_MARK, mark)
        self.socks[key] = s
        return s


def send(socks, p, src, dst, sport, dport, iface, uid=0, gid=0, mark=0):
    s = socks.get(p["family"], iface, uid, gid, mark)
    data = build(p, src, dst, sport, dport)
    try:
        if p["family"] == 4:
            s.sendto(data, (dst, 0))
        else:
            scope = socket.if_nametoindex(iface) if dst.startswith("fe80") else 0
            s.sendto(data, (dst, 0, 0, scope))
        return "sent"
    except OSError as e:
        return "eperm" if e.errno == 1 else "error:%d" % e.errno


def nft_set_ids(setname):
    out = subprocess.run(["nft", "-j", "list", "set", "inet", "lgprobe", setname], capture_output=True, text=True,
                         check=True).stdout
    ids = set()
    for obj in json.loads(out)["nftables"]:
        for e in obj.get("set", {}).get("elem", []):
            ids.add(e if isinstance(e, int) else e.get("elem", {}).get("val"))
    return ids


def nft(cmd):
    subprocess.run(["nft", cmd], check=True)


# ---- Explain --------------------------------------------------------------------------------

def endpoint(fam, addr, port):
    if port is None:
        return addr
    return "[%s]:%d" % (addr, port) if fam == 6 else "%s:%d" % (addr, port)


def describe(p):
    """The packet as Explain takes it, direction-neutral: remote is the peer."""
    d = {"layer": dbus.String(p["phase"]), "protocol": dbus.String(p["proto"]),
         "remote": dbus.String(endpoint(p["family"], p["remote"], p.get("rport"))),
         "local": dbus.String(endpoint(p["family"], p["local"], p.get("lport"))),
         "interface": dbus.String(p["iface"])}
    if p["phase"] == "outbound":
        d.update(uid=dbus.UInt32(p["uid"]), gid=dbus.UInt32(p["gid"]), mark=dbus.UInt32(p["mark"]))
    return dbus.Dictionary(d, signature="sv")


def main():
    ns_a, ns_b, scenario, seed, n_out, n_in, n_fwd = sys.argv[1:8]
    rnd = random.Random("%s-%s" % (scenario, seed))
    random.seed(seed)
    bus = dbus.SystemBus()
    mgr = dbus.Interface(bus.get_object("org.leakguard.LeakGuard1", "/org/leakguard/LeakGuard1", introspect=False),
                         "org.leakguard.LeakGuard1.Manager")
    results = []  # (packet, kernel verdict or None when it could not be sent)
    host = os.open("/proc/self/ns/net", os.O_RDONLY)

    # outbound: the verdict of the output hook is sendto()'s
    setns(ns_a)
    nft("flush chain inet lgprobe rawpre; add rule inet lgprobe rawpre ct zone set 2")
    socks = Sockets()
    for p in gen(rnd, "outbound", int(n_out)):
        r = send(socks, p, p["local"], p["remote"], p.get("lport", 0), p.get("rport", 0), p["iface"], p["uid"],
                 p["gid"], p["mark"])
        results.append((p, {"sent": "permit", "eperm": "block"}.get(r), r))

    # inbound and forward: sent from NS_B, seen (or not) by the probe of NS_A
    for phase, n, zone, set4, set6 in (("inbound", n_in, 2, "in4", "in6"), ("forward", n_fwd, 3, "fwd4", "fwd6")):
        setns(ns_a)
        nft("flush chain inet lgprobe rawpre; add rule inet lgprobe rawpre ct zone set %d" % zone)
        nft("flush set inet lgprobe %s; flush set inet lgprobe %s" % (set4, set6))
        setns(ns_b)
        socks = Sockets()
        sent = []
        for p in gen(rnd, phase, int(n)):
            out_if = PEER[p["iface"] if phase == "inbound" else p["inif"]]
            r = send(socks, p, p["remote"] if phase == "inbound" else p["local"],
                     p["local"] if phase == "inbound" else p["remote"],
                     p.get("rport", 0) if phase == "inbound" else p.get("lport", 0),
                     p.get("lport", 0) if phase == "inbound" else p.get("rport", 0), out_if)
            sent.append((p, r))
        setns(ns_a)
        # Everything was sent; the veth delivers synchronously, but give softirqs a moment.
        import time
        time.sleep(0.3)
        seen4, seen6 = nft_set_ids(set4), nft_set_ids(set6)
        for p, r in sent:
            seen = p["id"] in (seen4 if p["family"] == 4 else seen6)
            results.append((p, ("permit" if seen else "block") if r == "sent" else None, r))
    libc.setns(host, CLONE_NEWNET)

    compared = mismatches = unsent = 0
    stats = {}
    for p, kernel, how in results:
        if kernel is None:
            unsent += 1
            continue
        try:
            verdict, policy, sublayer, filt = mgr.Explain(describe(p), timeout=30)
        except dbus.exceptions.DBusException as e:
            print("ERROR Explain %s: %s" % (json.dumps(p), e.get_dbus_message()))
            mismatches += 1
            continue
        compared += 1
        key = (p["phase"], kernel)
        stats[key] = stats.get(key, 0) + 1
        stats[("filter", "%s/%s/%s" % (policy, sublayer, filt) if filt else "-")] = \
            stats.get(("filter", "%s/%s/%s" % (policy, sublayer, filt) if filt else "-"), 0) + 1
        if str(verdict) != kernel:
            mismatches += 1
            if mismatches <= 20:
                print("MISMATCH kernel=%s explain=%s by %s/%s/%s packet=%s" % (kernel, verdict, policy, sublayer,
                                                                                filt, json.dumps(p)))
    phases = ", ".join("%s %s %d" % (ph, v, c) for (ph, v), c in sorted(stats.items()) if ph != "filter")
    deciders = sorted(((c, f) for (ph, f), c in stats.items() if ph == "filter"), reverse=True)
    print("SUMMARY scenario=%s compared=%d mismatches=%d unsent=%d (%s)" % (scenario, compared, mismatches, unsent,
                                                                             phases))
    print("DECIDERS %d distinct: %s" % (len(deciders), ", ".join("%s %d" % (f, c) for c, f in deciders)))
    unsent_why = {}
    for p, kernel, how in results:
        if kernel is None:
            unsent_why[how] = unsent_why.get(how, 0) + 1
    if unsent_why:
        print("UNSENT %s, e.g. %s" % (json.dumps(unsent_why),
                                      json.dumps([p for p, k, how in results if k is None][:3])))
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
