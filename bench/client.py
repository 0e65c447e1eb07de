#!/usr/bin/python3
"""D-Bus timings for bench/run.sh, on one persistent connection (what a VPN GUI holds).

  client.py enable3 PARAMS_JSON [first] Enable killswitch, dns-leak, ipv6-leak and then blocklist if
                                        in PARAMS_JSON (with "first": blocklist before the others);
                                        prints the seconds from first call to last return
  client.py call POLICY PARAMS_JSON     one Enable; prints its seconds
  client.py disable NAME…               Disable each
PARAMS_JSON maps policy → {param: value} (or @FILE holding it); strings are sent as s, lists as
as, bools as b.
"""
import json, sys, time
import dbus

bus = dbus.SystemBus()
mgr = dbus.Interface(bus.get_object("org.leakguard.LeakGuard1", "/org/leakguard/LeakGuard1"),
                     "org.leakguard.LeakGuard1.Manager")

def variant(v):
    if isinstance(v, bool):
        return dbus.Boolean(v)
    if isinstance(v, list):
        return dbus.Array(v, signature="s")
    return dbus.String(v)

def enable(policy, params):
    return mgr.Enable(policy, dbus.Dictionary({k: variant(v) for k, v in params.items()}, signature="sv"),
                      timeout=120)

def load(arg):
    return json.load(open(arg[1:])) if arg.startswith("@") else json.loads(arg)

cmd = sys.argv[1]
if cmd == "enable3":
    params = load(sys.argv[2])
    order = ["killswitch", "dns-leak", "ipv6-leak", "blocklist"]
    if sys.argv[3:] == ["first"]:
        order = order[-1:] + order[:-1]
    t = time.perf_counter()
    for policy in order:
        if policy in params:
            enable(policy, params[policy])
    print(f"{time.perf_counter() - t:.6f}")
elif cmd == "call":
    params = load(sys.argv[3])
    t = time.perf_counter()
    enable(sys.argv[2], params)
    print(f"{time.perf_counter() - t:.6f}")
elif cmd == "disable":
    for name in sys.argv[2:]:
        mgr.Disable(name, timeout=120)
