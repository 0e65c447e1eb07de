#!/usr/bin/python3
"""Helpers of tests/kernel/test-netlog.sh (net events: the Blocked signal, its rate limits, the
journal). Each subcommand does one thing and prints one result line.

  send udp HOST PORT [SPORT [MARK]]   one UDP datagram (bound to SPORT, SO_MARK MARK); prints
                                      "sent" or "eperm" (dropped on output)
  send tcp HOST PORT                  one TCP connect; prints ok, refused (a reset), timeout, eperm
  flood SECONDS HOST PORT…            UDP datagrams round-robin to the ports for SECONDS; prints
                                      "packets=N eperm=M"
  journal SOCKET OUT                  a stand-in for journald: binds the native protocol socket
                                      and appends every entry to OUT as one JSON object a line
  status SECONDS OUT                  calls Status() on the bus over and over for SECONDS; prints
                                      "calls=N max_ms=X median_ms=Y" (also written to OUT)
"""
import errno
import json
import os
import socket
import statistics
import sys
import time

SO_MARK = 36


def fam(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def cmd_send(proto, host, port, sport=None, mark=None):
    if proto == "udp":
        s = socket.socket(fam(host), socket.SOCK_DGRAM)
        if mark:
            s.setsockopt(socket.SOL_SOCKET, SO_MARK, int(mark, 0))
        if sport:
            s.bind(("::" if fam(host) == socket.AF_INET6 else "0.0.0.0", int(sport)))
        try:
            s.sendto(b"leakguard", (host, int(port)))
            print("sent")
        except OSError as e:
            print("eperm" if e.errno == errno.EPERM else "error:%d" % e.errno)
        return 0
    s = socket.socket(fam(host), socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect((host, int(port)))
        print("ok")
    except ConnectionRefusedError:
        print("refused")
    except socket.timeout:
        print("timeout")
    except OSError as e:
        print("eperm" if e.errno == errno.EPERM else "error:%d" % e.errno)
    return 0


def cmd_flood(seconds, host, *ports):
    s = socket.socket(fam(host), socket.SOCK_DGRAM)
    dests = [(host, int(p)) for p in ports]
    n = eperm = 0
    end = time.monotonic() + float(seconds)
    data = b"x" * 16
    while True:
        for d in dests:
            n += 1
            try:
                s.sendto(data, d)
            except OSError as e:
                if e.errno == errno.EPERM:
                    eperm += 1
        if n % 512 < len(dests) and time.monotonic() >= end:
            break
    print("packets=%d eperm=%d" % (n, eperm), flush=True)
    return 0


def parse_native(d):
    """journald's native protocol: KEY=VALUE lines, or KEY\\n<le64 length>VALUE\\n for binary."""
    out, i = {}, 0
    while i < len(d):
        nl = d.find(b"\n", i)
        if nl < 0:
            break
        line = d[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            out[k.decode()] = v.decode(errors="replace")
            i = nl + 1
        else:
            n = int.from_bytes(d[nl + 1:nl + 9], "little")
            out[line.decode()] = d[nl + 9:nl + 9 + n].decode(errors="replace")
            i = nl + 9 + n + 1
    return out


def cmd_journal(path, out):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    with open(out, "a") as f:
        while True:
            d = s.recv(1 << 20)
            f.write(json.dumps(parse_native(d)) + "\n")
            f.flush()


def cmd_status(seconds, out):
    import dbus
    bus = dbus.SystemBus()
    obj = bus.get_object("org.leakguard.LeakGuard1", "/org/leakguard/LeakGuard1", introspect=False)
    lat = []
    end = time.monotonic() + float(seconds)
    while time.monotonic() < end:
        t = time.monotonic()
        r = obj.Status(dbus_interface="org.leakguard.LeakGuard1.Manager", timeout=30)
        lat.append((time.monotonic() - t) * 1000)
        assert "NetEvents" in r
        time.sleep(0.05)
    line = "calls=%d max_ms=%.1f median_ms=%.1f" % (len(lat), max(lat), statistics.median(lat))
    with open(out, "w") as f:
        f.write(line + "\n")
    print(line)
    return 0


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    sys.exit({"send": cmd_send, "flood": cmd_flood, "journal": cmd_journal, "status": cmd_status}[cmd](*args))
