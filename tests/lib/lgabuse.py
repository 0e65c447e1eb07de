#!/usr/bin/python3
"""Abusive D-Bus clients of leakguardd (tests/kernel/test-daemon-abuse.sh), python3-dbus (libdbus).

  lgabuse.py call METHOD SIG KIND…     one call whose arguments are built by KINDs (below); prints
                                       "OK <short reply>" or "ERR <name> <message, cut to 300 chars>"
  lgabuse.py flood CONNS CALLS         CONNS connections each send CALLS calls at once (at most 100
                                       in flight per connection), a mix of Status, ListPolicies,
                                       Enable (valid and invalid), Disable; waits for every reply and
                                       prints one JSON line {"replies": n, "noreply": n, "names": {…},
                                       "status_ms_max": …}
  lgabuse.py vanish N                  N connections each send a valid Enable, an Enable with a 1 MB
                                       value and a Status, and disconnect without waiting
  lgabuse.py latency N                 N Status calls one after another; prints the slowest in ms
  lgabuse.py linger SECS POLICY        sends Enable(POLICY, {}) on a connection of its own, prints its
                                       unique name, waits SECS seconds without reading the reply and
                                       disconnects
  lgabuse.py burst CONNS N METHOD ARG  N calls METHOD(s ARG) at once on each of CONNS connections;
                                       prints {"error or ok": count, …} once all are answered

KINDs for `call`: s:TEXT, s*N:CHAR (N times CHAR), as*N:ITEM (N items, '#' replaced by the
index), aq*N:PORT, v*DEPTH[:KEY] (a{sv} entry KEY, default "tunnel", nested DEPTH variants
deep), a{sv}*N:NAME
(N entries called NAME#; NAME *M:C is M times C), kv:NAME=SIG:VALUE (one a{sv} of parameters;
several kv: join; SIG s, b, as (VALUE split on ','), as*N (VALUE ADDR: N addresses, else N items
with '#' replaced by the index), aq*N, s*N (VALUE is a character repeated N times), as1*N (one
such item)), none.
"""
import json
import os
import sys
import time

import dbus
import dbus.lowlevel
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

NAME = "org.leakguard.LeakGuard1"
PATH = "/org/leakguard/LeakGuard1"
IFACE = "org.leakguard.LeakGuard1.Manager"
TIMEOUT = 120.0


def expand(pattern, n):
    return [pattern.replace("#", str(i)) for i in range(n)]


def addr(i):
    return "10.%d.%d.%d" % ((i >> 16) & 255, (i >> 8) & 255, i & 255)


def build_args(kinds):
    """Returns (signature, [values])."""
    sig, vals, params = "", [], None
    for k in kinds:
        if k == "none":
            continue
        if k.startswith("s*"):
            n, ch = k[2:].split(":", 1)
            sig += "s"
            vals.append(dbus.String(ch * int(n)))
        elif k.startswith("s:"):
            sig += "s"
            vals.append(dbus.String(k[2:]))
        elif k.startswith("as*"):
            n, item = k[3:].split(":", 1)
            sig += "as"
            items = [addr(i) for i in range(int(n))] if item == "ADDR" else expand(item, int(n))
            vals.append(dbus.Array(items, signature="s"))
        elif k.startswith("aq*"):
            n, port = k[3:].split(":", 1)
            sig += "aq"
            vals.append(dbus.Array([dbus.UInt16(int(port))] * int(n), signature="q"))
        elif k.startswith("v*"):  # v*DEPTH or v*DEPTH:KEY (default key "tunnel")
            depth, _, key = k[2:].partition(":")
            sig += "a{sv}"
            vals.append(dbus.Dictionary({key or "tunnel": dbus.String("wg0", variant_level=int(depth))},
                                        signature="sv"))
        elif k.startswith("a{sv}*"):
            n, name = k[6:].split(":", 1)
            if name.startswith("*"):  # a{sv}*1:*N:CHAR: one entry named N times CHAR
                m, ch = name[1:].split(":", 1)
                name = ch * int(m)
            sig += "a{sv}"
            vals.append(dbus.Dictionary({nm: dbus.String("x", variant_level=1) for nm in expand(name, int(n))},
                                        signature="sv"))
        elif k.startswith("kv:"):
            name, rest = k[3:].split("=", 1)
            vsig, value = rest.split(":", 1)
            if params is None:
                params = dbus.Dictionary({}, signature="sv")
                sig += "a{sv}"
                vals.append(params)
            if vsig == "s":
                v = dbus.String(value, variant_level=1)
            elif vsig.startswith("s*"):  # s*N:CHAR, a string of N times CHAR
                v = dbus.String(value * int(vsig[2:]), variant_level=1)
            elif vsig.startswith("as1*"):  # as1*N:CHAR, one item of N times CHAR
                v = dbus.Array([value * int(vsig[4:])], signature="s", variant_level=1)
            elif vsig == "b":
                v = dbus.Boolean(value == "true", variant_level=1)
            elif vsig.startswith("as*"):
                n = int(vsig[3:])
                items = [addr(i) for i in range(n)] if value == "ADDR" else expand(value, n)
                v = dbus.Array(items, signature="s", variant_level=1)
            elif vsig == "as":
                v = dbus.Array(value.split(",") if value else [], signature="s", variant_level=1)
            elif vsig.startswith("aq*"):
                v = dbus.Array([dbus.UInt16(int(value))] * int(vsig[3:]), signature="q", variant_level=1)
            else:
                raise ValueError(vsig)
            params[name] = v
        else:
            raise ValueError("unknown kind " + k)
    return sig, vals


def short(x):
    s = json.dumps(x, default=str)
    return s if len(s) < 300 else s[:300] + "…"


def plain(v):
    if isinstance(v, dbus.Boolean):
        return bool(v)
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, (int, float)):
        return v.real
    return str(v)


def cmd_call(method, *kinds):
    bus = dbus.SystemBus()
    obj = bus.get_object(NAME, PATH, introspect=False)
    sig, vals = build_args(kinds)
    try:
        r = obj.get_dbus_method(method, IFACE)(*vals, signature=sig, timeout=TIMEOUT)
    except dbus.exceptions.DBusException as e:
        msg = (e.get_dbus_message() or "").replace("\n", "\\n")
        print("ERR %s %s" % (e.get_dbus_name(), msg[:300] + ("…" if len(msg) > 300 else "")))
        print("LEN %d" % len(e.get_dbus_message() or ""))
        return 1
    print("OK " + short(plain(r)))
    return 0


MIX = [
    ("Status", "", []),
    ("ListPolicies", "", []),
    ("Enable", "sa{sv}", ["killswitch", {"tunnel": dbus.String("wg0", variant_level=1),
                                         "servers": dbus.Array(["192.0.2.1:51820/udp"], signature="s",
                                                               variant_level=1)}]),
    ("Enable", "sa{sv}", ["killswitch", {"tunnel": dbus.String("wg0\" ; flush ruleset", variant_level=1)}]),
    ("Enable", "sa{sv}", ["nosuch", {}]),
    ("Disable", "s", ["nosuch"]),
    ("Enable", "sa{sv}", ["dns-leak", {"tunnel": dbus.String("wg0", variant_level=1),
                                       "resolvers": dbus.Array(["192.0.2.53"], signature="s", variant_level=1)}]),
    ("Disable", "s", ["dns-leak"]),
]


def cmd_flood(conns, calls):
    DBusGMainLoop(set_as_default=True)
    loop = GLib.MainLoop()
    addr_ = os.environ["DBUS_SYSTEM_BUS_ADDRESS"]
    state = {"sent": 0, "replies": 0, "noreply": 0, "names": {}, "status_ms_max": 0.0, "bad": [], "example": {}}
    total = int(conns) * int(calls)
    buses = [dbus.bus.BusConnection(addr_) for _ in range(int(conns))]
    queues = []

    def done():
        if state["replies"] + state["noreply"] == total:
            loop.quit()

    def send(bus, q):
        if not q:
            return
        i = q.pop()
        method, sig, args = MIX[i % len(MIX)]
        if method == "Enable" and args[0] == "killswitch" and "servers" in args[1]:
            args = ["killswitch", dict(args[1], servers=dbus.Array(["192.0.2.%d:51820/udp" % (i % 250 + 1)],
                                                                   signature="s", variant_level=1))]
        msg = dbus.lowlevel.MethodCallMessage(NAME, PATH, IFACE, method)
        if sig:
            msg.append(*args, signature=sig)
        t0 = time.monotonic()

        def on_reply(reply):
            if isinstance(reply, dbus.lowlevel.ErrorMessage):
                name = reply.get_error_name()
                if name == "org.freedesktop.DBus.Error.NoReply":
                    state["noreply"] += 1
                state["names"][name] = state["names"].get(name, 0) + 1
                if name not in state["example"]:
                    state["example"][name] = (reply.get_args_list() or [""])[0][:200]
            else:
                state["names"]["ok"] = state["names"].get("ok", 0) + 1
                if method == "Status":
                    state["status_ms_max"] = max(state["status_ms_max"], (time.monotonic() - t0) * 1000)
            state["replies"] += 1
            send(bus, q)  # keep this connection's window full
            done()
        bus.send_message_with_reply(msg, on_reply, timeout_s=TIMEOUT, require_main_loop=True)

    for b in buses:
        q = list(range(int(calls)))
        queues.append(q)
        for _ in range(min(100, int(calls))):
            send(b, q)
    GLib.timeout_add_seconds(int(TIMEOUT) + 30, loop.quit)
    loop.run()
    state.pop("bad")
    state["total"] = total
    print(json.dumps(state))
    return 0


def cmd_vanish(n):
    addr_ = os.environ["DBUS_SYSTEM_BUS_ADDRESS"]
    big = "A" * (1 << 20)
    for i in range(int(n)):
        bus = dbus.bus.BusConnection(addr_)
        for method, sig, args in [
            ("Enable", "sa{sv}", ["killswitch", {"tunnel": dbus.String("wg0", variant_level=1),
                                                 "servers": dbus.Array(["192.0.2.%d:51820/udp" % (i % 250 + 1)],
                                                                       signature="s", variant_level=1)}]),
            ("Enable", "sa{sv}", ["killswitch", {"tunnel": dbus.String(big, variant_level=1)}]),
            ("Enable", "sa{sv}", ["dyn-block", {}]),
            ("Status", "", []),
        ]:
            msg = dbus.lowlevel.MethodCallMessage(NAME, PATH, IFACE, method)
            if sig:
                msg.append(*args, signature=sig)
            bus.send_message(msg)
        bus.flush()
        bus.close()
    print("vanished %s" % n)
    return 0


def cmd_latency(n):
    bus = dbus.SystemBus()
    m = dbus.Interface(bus.get_object(NAME, PATH, introspect=False), IFACE)
    worst = 0.0
    for _ in range(int(n)):
        t0 = time.monotonic()
        m.Status(timeout=TIMEOUT)
        worst = max(worst, time.monotonic() - t0)
    print("%d" % (worst * 1000))
    return 0


def cmd_linger(secs, policy):
    bus = dbus.bus.BusConnection(os.environ["DBUS_SYSTEM_BUS_ADDRESS"])
    msg = dbus.lowlevel.MethodCallMessage(NAME, PATH, IFACE, "Enable")
    msg.append(policy, dbus.Dictionary({}, signature="sv"), signature="sa{sv}")
    bus.send_message(msg)
    bus.flush()
    print(bus.get_unique_name(), flush=True)
    time.sleep(float(secs))
    bus.close()
    return 0


def cmd_burst(conns, n, method, arg):
    DBusGMainLoop(set_as_default=True)
    loop = GLib.MainLoop()
    res, count, total = {}, [0], int(conns) * int(n)
    buses = [dbus.bus.BusConnection(os.environ["DBUS_SYSTEM_BUS_ADDRESS"]) for _ in range(int(conns))]

    def done(reply):
        name = reply.get_error_name() if isinstance(reply, dbus.lowlevel.ErrorMessage) else "ok"
        res[name] = res.get(name, 0) + 1
        count[0] += 1
        if count[0] == total:
            loop.quit()
    for b in buses:
        for _ in range(int(n)):
            m = dbus.lowlevel.MethodCallMessage(NAME, PATH, IFACE, method)
            m.append(arg, signature="s")
            b.send_message_with_reply(m, done, timeout_s=TIMEOUT, require_main_loop=True)
    GLib.timeout_add_seconds(int(TIMEOUT) + 10, loop.quit)
    loop.run()
    print(json.dumps(res, sort_keys=True))
    return 0


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    fn = {"call": cmd_call, "flood": cmd_flood, "vanish": cmd_vanish, "latency": cmd_latency,
          "burst": cmd_burst, "linger": cmd_linger}[cmd]
    sys.exit(fn(*args))
