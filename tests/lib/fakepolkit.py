#!/usr/bin/python3
"""A stand-in for polkitd on the private test bus (tests/kernel/test-daemon-abuse.sh): owns
org.freedesktop.PolicyKit1 and answers CheckAuthorization the way a broken or slow polkit would.

  fakepolkit.py MODE LOG        (LOG "-": standard output)
    never            never replies (the daemon's timeout must end the call in AccessDenied)
    delay:SECS:yes   replies "authorized" after SECS seconds (yes) or "not authorized" (no)
    garbage          replies with a body of the wrong signature
    error            replies with an org.freedesktop.PolicyKit1.Error.Failed error

Appends one line per CheckAuthorization to LOG ("check SENDER ACTION"), and "ready" once it owns
the name. Runs until killed. Must run as the user the bus lets own org.freedesktop.PolicyKit1
(polkitd, by /usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf).
"""
import sys

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

NAME = "org.freedesktop.PolicyKit1"
PATH = "/org/freedesktop/PolicyKit1/Authority"
IFACE = "org.freedesktop.PolicyKit1.Authority"


class Authority(dbus.service.Object):
    def __init__(self, bus, mode, log):
        super().__init__(bus, PATH)
        self.mode, self.log = mode, log
        self.held = []  # replies never sent, kept so that nothing answers them on our behalf

    @dbus.service.method(IFACE, in_signature="(sa{sv})sa{ss}us", out_signature="(bba{ss})",
                         async_callbacks=("ok", "err"))
    def CheckAuthorization(self, subject, action, details, flags, cancel, ok, err):
        name = str(subject[1].get("name", "?"))
        self.log.write("check %s %s\n" % (name, action))
        self.log.flush()
        if self.mode == "never":
            self.held.append((ok, err))
        elif self.mode.startswith("delay:"):
            _, secs, answer = self.mode.split(":")
            yes = answer == "yes"

            def later():
                ok((dbus.Boolean(yes), dbus.Boolean(False), dbus.Dictionary({}, signature="ss")))
                return False
            GLib.timeout_add(int(float(secs) * 1000), later)
        else:
            err(dbus.exceptions.DBusException("the fake polkit fails on purpose",
                                              name="org.freedesktop.PolicyKit1.Error.Failed"))


def main():
    mode, logpath = sys.argv[1], sys.argv[2]
    DBusGMainLoop(set_as_default=True)
    bus = dbus.SystemBus()
    log = sys.stdout if logpath == "-" else open(logpath, "a", buffering=1)
    if mode == "garbage":
        # dbus-python checks our out_signature; a raw filter answers first with a wrong body.
        def filt(conn, msg):
            if msg.get_type() == 1 and msg.get_member() == "CheckAuthorization":
                log.write("check %s garbage\n" % msg.get_sender())
                reply = dbus.lowlevel.MethodReturnMessage(msg)
                reply.append("not a polkit answer", dbus.UInt32(7), signature="su")
                conn.send_message(reply)
                return dbus.lowlevel.HANDLER_RESULT_HANDLED
            return dbus.lowlevel.HANDLER_RESULT_NOT_YET_HANDLED
        bus.add_message_filter(filt)
    Authority(bus, mode, log)
    r = bus.request_name(NAME, dbus.bus.NAME_FLAG_DO_NOT_QUEUE)
    if r != dbus.bus.REQUEST_NAME_REPLY_PRIMARY_OWNER:
        log.write("cannot own %s (%d)\n" % (NAME, r))
        sys.exit(1)
    log.write("ready\n")
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
