#!/usr/bin/python3
"""A small D-Bus client of leakguardd for the daemon tests (python3-dbus, libdbus: a third client
besides busctl/sd-bus and gdbus/GDBus). It talks to whatever DBUS_SYSTEM_BUS_ADDRESS names.

  lgdbus.py call METHOD SIG JSON-ARGS        one call; prints "OK <json reply>" or "ERR <name> <message>"
  lgdbus.py get PROPERTY                     prints the property as JSON
  lgdbus.py monitor OUT                      appends every PropertiesChanged of leakguardd to OUT as JSON
                                             lines ("ready" first); runs until killed
  lgdbus.py hold POLICY JSON-PARAMS STOP     Enable on one connection, print "enabled GEN UNIQUE-NAME"
                                             (or "ERR …"), keep the connection until the file STOP exists,
                                             then close it and exit
  lgdbus.py fire POLICY JSON-PARAMS          send Enable without waiting for the reply and disconnect at once
  lgdbus.py stress ID N                      one client: N calls mixing Enable, Disable and Status on one
                                             connection; prints "ID ok=… denied=… err=… noreply=… errors=[…]"
                                             (denied: AccessDenied, err: any other error, noreply: timeouts)

JSON-ARGS is a list with one item per complete type of SIG. A variant ('v', also inside a{sv}) is
written as [SIGNATURE, VALUE], e.g. call Enable 'sa{sv}' '["killswitch", {"tunnel": ["s", "wg0"]}]'.
"""
import json
import os
import random
import sys
import time

import dbus

NAME = "org.leakguard.LeakGuard1"
PATH = "/org/leakguard/LeakGuard1"
IFACE = "org.leakguard.LeakGuard1.Manager"
TIMEOUT = 60.0


def split_sig(sig):
    """Splits a D-Bus signature into its complete types."""
    out, i = [], 0
    while i < len(sig):
        j = end_of(sig, i)
        out.append(sig[i:j])
        i = j
    return out


def end_of(sig, i):
    c = sig[i]
    if c == "a":
        return end_of(sig, i + 1)
    if c in "({":
        close = ")" if c == "(" else "}"
        i += 1
        while sig[i] != close:
            i = end_of(sig, i)
        return i + 1
    return i + 1


BASIC = {
    "s": dbus.String, "o": dbus.ObjectPath, "g": dbus.Signature, "b": dbus.Boolean, "y": dbus.Byte,
    "n": dbus.Int16, "q": dbus.UInt16, "i": dbus.Int32, "u": dbus.UInt32, "x": dbus.Int64, "t": dbus.UInt64,
    "d": dbus.Double,
}


def to_dbus(sig, val, variant_level=0):
    kw = {"variant_level": variant_level} if variant_level else {}
    if sig == "v":
        inner_sig, inner = val
        return to_dbus(inner_sig, inner, variant_level + 1)
    if sig in BASIC:
        return BASIC[sig](val, **kw)
    if sig.startswith("a{"):
        k, v = split_sig(sig[2:-1])
        return dbus.Dictionary({to_dbus(k, a): to_dbus(v, b) for a, b in val.items()}, signature=k + v, **kw)
    if sig.startswith("a"):
        return dbus.Array([to_dbus(sig[1:], x) for x in val], signature=sig[1:], **kw)
    if sig.startswith("("):
        return dbus.Struct([to_dbus(s, x) for s, x in zip(split_sig(sig[1:-1]), val)], signature=sig[1:-1], **kw)
    raise ValueError("unsupported signature " + sig)


def plain(v):
    if isinstance(v, dbus.Boolean):
        return bool(v)
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, (int, float)):
        return v.real
    if isinstance(v, str):
        return str(v)
    return v


def proxy(bus):
    return dbus.Interface(bus.get_object(NAME, PATH, introspect=False), IFACE)


def raw_call(bus, method, sig, args):
    obj = bus.get_object(NAME, PATH, introspect=False)
    typed = [to_dbus(s, a) for s, a in zip(split_sig(sig), args)]
    return obj.get_dbus_method(method, IFACE)(*typed, signature=sig, timeout=TIMEOUT)


def cmd_call(method, sig, args_json):
    bus = dbus.SystemBus()
    try:
        r = raw_call(bus, method, sig, json.loads(args_json))
    except dbus.exceptions.DBusException as e:
        msg = (e.get_dbus_message() or "").replace("\n", "\\n")
        print("ERR %s %s" % (e.get_dbus_name(), msg))
        return 1
    # dbus-python returns None, the value itself, or a tuple: always print the list of out-args.
    out = [] if r is None else list(r) if type(r) is tuple else [r]
    print("OK " + json.dumps(plain(out)))
    return 0


def cmd_get(prop):
    bus = dbus.SystemBus()
    obj = bus.get_object(NAME, PATH, introspect=False)
    v = obj.Get(IFACE, prop, dbus_interface="org.freedesktop.DBus.Properties")
    print(json.dumps(plain(v)))
    return 0


def cmd_monitor(out):
    from dbus.mainloop.glib import DBusGMainLoop
    from gi.repository import GLib

    DBusGMainLoop(set_as_default=True)
    bus = dbus.SystemBus()
    f = open(out, "a", buffering=1)

    def changed(iface, props, invalidated, path=None, sender=None):
        f.write(json.dumps({"interface": str(iface), "path": str(path), "sender": str(sender),
                            "changed": plain(props), "invalidated": plain(invalidated)}) + "\n")

    bus.add_signal_receiver(changed, signal_name="PropertiesChanged",
                            dbus_interface="org.freedesktop.DBus.Properties", path=PATH,
                            path_keyword="path", sender_keyword="sender")
    # A round trip to the bus so that the match rule is in place before "ready".
    bus.get_object("org.freedesktop.DBus", "/org/freedesktop/DBus").GetId(
        dbus_interface="org.freedesktop.DBus")
    f.write("ready\n")
    GLib.MainLoop().run()


def cmd_hold(policy, params_json, stop):
    # A private connection: closing it really disconnects (the shared SystemBus() is never closed).
    bus = dbus.bus.BusConnection(os.environ["DBUS_SYSTEM_BUS_ADDRESS"])
    try:
        gen = raw_call(bus, "Enable", "sa{sv}", [policy, json.loads(params_json)])
        print("enabled %d %s" % (gen, bus.get_unique_name()), flush=True)
    except dbus.exceptions.DBusException as e:
        print("ERR %s %s" % (e.get_dbus_name(), e.get_dbus_message()), flush=True)
    # A file, not stdin: a pipe's write end would be inherited by processes started later.
    while not os.path.exists(stop):
        time.sleep(0.02)
    bus.close()
    print("closed", flush=True)
    return 0


def cmd_fire(policy, params_json):
    bus = dbus.bus.BusConnection(os.environ["DBUS_SYSTEM_BUS_ADDRESS"])
    msg = dbus.lowlevel.MethodCallMessage(NAME, PATH, IFACE, "Enable")
    msg.append(policy, to_dbus("a{sv}", json.loads(params_json)), signature="sa{sv}")
    msg.set_no_reply(True)
    bus.send_message(msg)
    bus.flush()
    print(bus.get_unique_name(), flush=True)
    bus.close()
    return 0


STRESS_POLICIES = {
    "killswitch": {"tunnel": ["s", "wg0"], "servers": ["as", ["192.0.2.1:51820/udp"]]},
    "dns-leak": {"tunnel": ["s", "wg0"], "resolvers": ["as", ["192.0.2.53"]]},
    "ipv6-leak": {"allow_lan": ["b", True]},
}


def cmd_stress(ident, n):
    bus = dbus.SystemBus()
    m = proxy(bus)
    rnd = random.Random(int(ident))
    ok = denied = err = noreply = 0
    errors = []
    names = sorted(STRESS_POLICIES)
    for i in range(int(n)):
        what = ("Enable", "Disable", "Status")[i % 3]
        policy = rnd.choice(names)
        try:
            if what == "Enable":
                # Vary a parameter, so that re-enabling changes set elements (a "reconnect").
                params = json.loads(json.dumps(STRESS_POLICIES[policy]))
                if policy == "killswitch":
                    params["servers"][1] = ["192.0.2.%d:51820/udp" % rnd.randint(1, 200)]
                r = raw_call(bus, "Enable", "sa{sv}", [policy, params])
                assert isinstance(r, dbus.UInt64)
            elif what == "Disable":
                r = raw_call(bus, "Disable", "s", [policy])
                assert isinstance(r, dbus.UInt64)
            else:
                r = m.Status(timeout=TIMEOUT)
                assert "Policies" in r and "Generation" in r
            ok += 1
        except dbus.exceptions.DBusException as e:
            if e.get_dbus_name() == "org.freedesktop.DBus.Error.NoReply":
                noreply += 1
            elif e.get_dbus_name() == "org.freedesktop.DBus.Error.AccessDenied":
                denied += 1
            else:
                err += 1
            errors.append("%s %s: %s" % (what, policy, e.get_dbus_name()))
    print("%s ok=%d denied=%d err=%d noreply=%d errors=%s" % (ident, ok, denied, err, noreply, json.dumps(errors[:3])),
          flush=True)
    return 0


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    fn = {"call": cmd_call, "get": cmd_get, "monitor": cmd_monitor, "hold": cmd_hold, "fire": cmd_fire,
          "stress": cmd_stress}[cmd]
    sys.exit(fn(*args))
