#!/usr/bin/python3
"""Traffic generators and watchers of the end-to-end leak tests (tests/lib/e2e.sh). Standard
library only, except `monitor`, which needs python3-dbus and python3-gi. Every generator sends only
to the addresses it is given, which the tests take from their own network namespaces.

  gen.py battery                      probes read from stdin, one a line: NAME KIND ARGS…;
                                      prints one JSON object a line: name, kind, result, detail
      udp  HOST PORT [DEV]            UDP to an echo server; DEV: SO_BINDTODEVICE
      tcp  HOST PORT [DEV]            TCP connect + echo (DNS-over-TLS: port 853)
      dns-udp SERVER NAME [TYPE]      a DNS query over UDP (TYPE A or AAAA); ok when answered
      dns-tcp SERVER NAME [TYPE]      the same over TCP
      ping HOST [DEV]                 ping(8), with -I DEV when given
  gen.py flood SECONDS RATE STOP OUT TARGET…
                                      round-robin attempts at RATE attempts/s (0: as fast as it can)
                                      for SECONDS or until the file STOP exists; writes a JSON summary
                                      to OUT. TARGET is KIND,HOST,PORT[,DEV] with KIND one of
                                      udp, tcp (one SYN: non-blocking connect, then close),
                                      icmp (PORT ignored; an echo request on a ping socket),
                                      dns (a UDP DNS query to HOST:PORT)
  gen.py ready-flood NOTIFY LOG SECONDS RATE OUT TARGET…
                                      binds the sd_notify socket NOTIFY, appends what arrives to LOG,
                                      and starts the flood the instant READY=1 arrives
  gen.py monitor OUT                  appends "TIME STATE GENERATION" for every PropertiesChanged of
                                      leakguardd to OUT (TIME: CLOCK_REALTIME seconds); "ready" first
"""
import errno
import json
import os
import random
import socket
import struct
import subprocess
import sys
import time

TIMEOUT = 0.8
SO_BINDTODEVICE = getattr(socket, "SO_BINDTODEVICE", 25)


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def addr(host, port):
    return socket.getaddrinfo(host, port, family(host), 0, 0, socket.AI_NUMERICHOST)[0][4]


def classify(e):
    if isinstance(e, (socket.timeout, TimeoutError)):
        return "timeout"
    n = getattr(e, "errno", None)
    if n == errno.EPERM:
        return "eperm"
    if n in (errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EACCES):
        return "rejected"
    if n == errno.ETIMEDOUT:
        return "timeout"
    return "error:%s" % (errno.errorcode.get(n, n) if n else type(e).__name__)


def bind_dev(s, dev):
    if dev:
        s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, dev.encode() + b"\0")


# ---- DNS ----

def dns_query(name, qtype):
    qid = random.randrange(65536)
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack("!HH", 28 if qtype == "AAAA" else 1, 1)
    return qid, q


def skip_name(msg, i):
    while True:
        n = msg[i]
        if n & 0xC0 == 0xC0:
            return i + 2
        if n == 0:
            return i + 1
        i += 1 + n


def dns_answer(msg, qid):
    rid, flags, qd, an = struct.unpack("!HHHH", msg[:8])
    if rid != qid:
        raise ValueError("wrong id")
    rcode = flags & 0xF
    if rcode:
        return "rcode%d" % rcode
    i = 12
    for _ in range(qd):
        i = skip_name(msg, i) + 4
    for _ in range(an):
        i = skip_name(msg, i)
        typ, _, _, rdlen = struct.unpack("!HHIH", msg[i:i + 10])
        i += 10
        if typ == 1 and rdlen == 4:
            return socket.inet_ntop(socket.AF_INET, msg[i:i + 4])
        if typ == 28 and rdlen == 16:
            return socket.inet_ntop(socket.AF_INET6, msg[i:i + 16])
        i += rdlen
    return "noanswer"


def probe_dns(server, name, qtype, tcp):
    qid, q = dns_query(name, qtype)
    s = socket.socket(family(server), socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM)
    s.settimeout(TIMEOUT)
    try:
        s.connect(addr(server, 53))
        if tcp:
            s.sendall(struct.pack("!H", len(q)) + q)
            buf = b""
            while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
                d = s.recv(4096)
                if not d:
                    return "closed", ""
                buf += d
            a = dns_answer(buf[2:], qid)
        else:
            s.send(q)
            a = dns_answer(s.recv(4096), qid)
        return ("ok" if a[0].isdigit() or ":" in a else a), a
    except Exception as e:
        return classify(e), ""
    finally:
        s.close()


# ---- echo probes ----

def probe_echo(proto, host, port, dev):
    s = socket.socket(family(host), socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    s.settimeout(TIMEOUT)
    try:
        bind_dev(s, dev)
        s.connect(addr(host, int(port)))
        token = os.urandom(8).hex().encode()
        s.send(token)
        deadline = time.monotonic() + TIMEOUT
        buf = b""
        while buf != token:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout()
            s.settimeout(left)
            d = s.recv(4096)
            if proto == "tcp":
                if not d:
                    return "closed", ""
                buf += d
                if not token.startswith(buf):
                    return "garbled", ""
            else:
                buf = d
        return "ok", ""
    except Exception as e:
        return classify(e), ""
    finally:
        s.close()


def probe_ping(host, dev):
    cmd = ["ping", "-6" if ":" in host else "-4", "-c1", "-W1", "-n"] + (["-I", dev] if dev else []) + [host]
    r = subprocess.run(cmd, capture_output=True, text=True)
    out = (r.stdout + r.stderr).strip().replace("\n", " | ")
    if r.returncode == 0:
        return "ok", ""
    if "not permitted" in out:
        return "eperm", ""
    if "nreachable" in out or "rohibited" in out or "filtered" in out:
        return "rejected", ""
    return "timeout", out[-120:]


def cmd_battery():
    for line in sys.stdin:
        f = line.split()
        if not f or f[0].startswith("#"):
            continue
        name, kind, args = f[0], f[1], f[2:]
        if kind in ("udp", "tcp"):
            r, d = probe_echo(kind, args[0], args[1], args[2] if len(args) > 2 else None)
        elif kind in ("dns-udp", "dns-tcp"):
            r, d = probe_dns(args[0], args[1], args[2] if len(args) > 2 else "A", kind == "dns-tcp")
        elif kind == "ping":
            r, d = probe_ping(args[0], args[1] if len(args) > 1 else None)
        else:
            r, d = "error:unknown-kind", ""
        print(json.dumps({"name": name, "kind": kind, "args": args, "result": r, "detail": d}), flush=True)


# ---- floods ----

class Target:
    def __init__(self, spec):
        f = spec.split(",")
        self.spec = spec
        self.kind, self.host, self.port = f[0], f[1], int(f[2])
        self.dev = f[3] if len(f) > 3 and f[3] else None
        self.fam = family(self.host)
        self.sa = addr(self.host, self.port)
        self.attempts = self.sent = self.eperm = self.other = 0
        self.sock = None
        if self.kind in ("udp", "dns"):
            self.sock = socket.socket(self.fam, socket.SOCK_DGRAM)
            bind_dev(self.sock, self.dev)
            self.sock.setblocking(False)
            self.payload = dns_query("flood.example.test", "A")[1] if self.kind == "dns" else b"x" * 32
        elif self.kind == "icmp":
            proto = socket.IPPROTO_ICMPV6 if self.fam == socket.AF_INET6 else socket.IPPROTO_ICMP
            self.sock = socket.socket(self.fam, socket.SOCK_DGRAM, proto)
            bind_dev(self.sock, self.dev)
            self.sock.setblocking(False)
            typ = 128 if self.fam == socket.AF_INET6 else 8
            self.payload = struct.pack("!BBHHH", typ, 0, 0, 0, 0) + b"leakguard-e2e"
        elif self.kind != "tcp":
            raise ValueError("unknown target kind " + self.kind)

    def fire(self):
        self.attempts += 1
        try:
            if self.kind == "tcp":
                s = socket.socket(self.fam, socket.SOCK_STREAM)
                try:
                    bind_dev(s, self.dev)
                    s.setblocking(False)
                    r = s.connect_ex(self.sa)
                finally:
                    s.close()
                if r in (0, errno.EINPROGRESS):
                    self.sent += 1
                elif r == errno.EPERM:
                    self.eperm += 1
                else:
                    self.other += 1
                return
            self.sock.sendto(self.payload, self.sa)
            self.sent += 1
        except OSError as e:
            if e.errno == errno.EPERM:
                self.eperm += 1
            else:
                # ENOBUFS, EAGAIN, ECONNREFUSED (an earlier ICMP error queued on the socket)…
                self.other += 1

    def summary(self):
        return {"target": self.spec, "attempts": self.attempts, "sent": self.sent, "eperm": self.eperm,
                "other": self.other}


def flood(seconds, rate, stop, out, targets, extra=None):
    start = time.monotonic()
    n = 0
    while True:
        for t in targets:
            t.fire()
        n += 1
        if n % 16 == 0:
            now = time.monotonic()
            if now - start >= seconds or (stop and os.path.exists(stop)):
                break
            if rate > 0:
                ahead = n * len(targets) / rate - (now - start)
                if ahead > 0:
                    time.sleep(ahead)
    res = {"seconds": round(time.monotonic() - start, 3), "attempts": sum(t.attempts for t in targets),
           "targets": [t.summary() for t in targets]}
    if extra:
        res.update(extra)
    with open(out + ".tmp", "w") as f:
        json.dump(res, f)
    os.rename(out + ".tmp", out)


def cmd_flood(seconds, rate, stop, out, *specs):
    flood(float(seconds), float(rate), stop, out, [Target(s) for s in specs])


def cmd_ready_flood(notify, log, seconds, rate, out, *specs):
    try:
        os.unlink(notify)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(notify)
    # Sockets first, so that nothing but the sends themselves stands between READY=1 and the packets.
    targets = [Target(x) for x in specs]
    s.settimeout(30)  # bounded: a daemon that never gets ready ends the test, not hangs it
    with open(log, "a") as f:
        while True:
            try:
                d = s.recv(4096).decode(errors="replace")
            except socket.timeout:
                with open(out, "w") as o:
                    json.dump({"seconds": 0, "attempts": 0, "targets": [], "error": "no READY=1 in 30 s"}, o)
                sys.exit(1)
            t_ready = time.monotonic()
            f.write(d.replace("\n", " ") + "\n")
            f.flush()
            if "READY=1" in d.split("\n"):
                break
    flood(float(seconds), float(rate), None, out, targets,
          {"first_send_after_ready_us": round((time.monotonic() - t_ready) * 1e6)})


def cmd_monitor(out):
    import dbus
    import dbus.mainloop.glib
    from gi.repository import GLib

    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    bus = dbus.SystemBus()
    f = open(out, "a", buffering=1)

    def changed(iface, props, invalidated):
        if str(iface) != "org.leakguard.LeakGuard1.Manager":
            return
        f.write("%.6f %s %s\n" % (time.time(), props.get("State", "-"), props.get("Generation", "-")))

    bus.add_signal_receiver(changed, signal_name="PropertiesChanged",
                            dbus_interface="org.freedesktop.DBus.Properties", path="/org/leakguard/LeakGuard1")
    bus.get_object("org.freedesktop.DBus", "/org/freedesktop/DBus").GetId(dbus_interface="org.freedesktop.DBus")
    f.write("ready\n")
    GLib.MainLoop().run()


if __name__ == "__main__":
    cmds = {"battery": cmd_battery, "flood": cmd_flood, "ready-flood": cmd_ready_flood, "monitor": cmd_monitor}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.exit(__doc__)
    cmds[sys.argv[1]](*sys.argv[2:])
