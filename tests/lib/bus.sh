# shellcheck shell=bash
# A private system bus that uses the project's own dbus policy file, and leakguardd on it inside a
# network namespace. Source after tests/lib/netns.sh-style setup; everything is removed by lg_bus_cleanup.
# Needs: SRCDIR, BUILDDIR. Sets: LG_BUS_DIR, DBUS_SYSTEM_BUS_ADDRESS, LG_BUS_PID, LG_DAEMON_PID.

lg_bus_start() {
  LG_BUS_DIR=$(mktemp -d /tmp/lgbus.XXXXXX)
  chmod 755 "$LG_BUS_DIR"
  local extra=""
  [ -f /usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf ] &&
    extra="<include ignore_missing=\"yes\">/usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf</include>"
  cat > "$LG_BUS_DIR/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$LG_BUS_DIR/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <!-- the default policy of Debian's system.conf -->
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Peer"/>
  </policy>
  <include>$SRCDIR/dbus/org.leakguard.LeakGuard1.conf</include>
  $extra
</busconfig>
CONF
  dbus-daemon --config-file="$LG_BUS_DIR/bus.conf" --nofork --nopidfile --print-address=3 3>"$LG_BUS_DIR/address" &
  LG_BUS_PID=$!
  for _ in $(seq 100); do [ -s "$LG_BUS_DIR/address" ] && break; sleep 0.05; done
  export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$LG_BUS_DIR/system_bus_socket"
}

# lg_daemon_spawn NETNS [leakguardd args…]: starts the daemon in NETNS with NOTIFY_SOCKET pointing at a
# socket of our own whose datagrams are appended, one a line, to $LG_BUS_DIR/notify.log; does not wait.
lg_daemon_spawn() {
  local ns=$1; shift
  : > "$LG_BUS_DIR/notify.log"
  rm -f "$LG_BUS_DIR/notify.sock"
  python3 -c '
import socket,sys
s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1])
with open(sys.argv[2],"a") as f:
    while True:
        d=s.recv(4096).decode(errors="replace"); f.write(d.replace("\n"," ")+"\n"); f.flush()
' "$LG_BUS_DIR/notify.sock" "$LG_BUS_DIR/notify.log" &
  LG_NOTIFY_PID=$!
  for _ in $(seq 100); do [ -S "$LG_BUS_DIR/notify.sock" ] && break; sleep 0.02; done
  # LG_DAEMON_WRAPPER (words): runs the daemon under a tool, e.g. "valgrind --error-exitcode=99 …"
  # (tests/kernel/test-valgrind.sh). ip netns exec and valgrind both exec, so the PID is the daemon's.
  local -a wrap=()
  local w=${LG_DAEMON_WRAPPER:-}
  read -ra wrap <<<"${w//$'\n'/ }"
  NOTIFY_SOCKET="$LG_BUS_DIR/notify.sock" ip netns exec "$ns" "${wrap[@]}" "$BUILDDIR/leakguardd" "$@" \
    2>>"$LG_BUS_DIR/daemon.log" &
  LG_DAEMON_PID=$!
}

# lg_daemon_wait_ready: waits for READY=1 of the daemon lg_daemon_spawn started: 10 s at most, or
# LG_DAEMON_READY_TIMEOUT seconds (120 by default under LG_DAEMON_WRAPPER: valgrind is slow to start).
lg_daemon_wait_ready() {
  local t=${LG_DAEMON_READY_TIMEOUT:-10}
  [ -n "${LG_DAEMON_WRAPPER:-}" ] && t=${LG_DAEMON_READY_TIMEOUT:-120}
  for _ in $(seq $((t * 20))); do
    grep -q READY=1 "$LG_BUS_DIR/notify.log" && return 0
    kill -0 "$LG_DAEMON_PID" 2>/dev/null || { echo "leakguardd died:"; cat "$LG_BUS_DIR/daemon.log"; return 1; }
    sleep 0.05
  done
  echo "leakguardd did not become ready"; cat "$LG_BUS_DIR/daemon.log"; return 1
}

# lg_daemon_start NETNS [leakguardd args…]: starts the daemon in NETNS and waits for its READY=1
# (read from a notify socket of our own, so "ready" means what systemd would see).
lg_daemon_start() {
  lg_daemon_spawn "$@"
  lg_daemon_wait_ready
}

lg_daemon_stop() {
  local sig=${1:-TERM}
  if [ -n "${LG_DAEMON_PID:-}" ]; then
    kill -"$sig" "$LG_DAEMON_PID" 2>/dev/null || true
    # The exit status (valgrind's --error-exitcode, a sanitizer's abort) in LG_DAEMON_STATUS.
    LG_DAEMON_STATUS=0
    wait "$LG_DAEMON_PID" 2>/dev/null || LG_DAEMON_STATUS=$?
    LG_DAEMON_PID=
  fi
  if [ -n "${LG_NOTIFY_PID:-}" ]; then kill "$LG_NOTIFY_PID" 2>/dev/null || true; wait "$LG_NOTIFY_PID" 2>/dev/null || true; LG_NOTIFY_PID=; fi
}

lg_bus_cleanup() {
  lg_daemon_stop TERM
  if [ -n "${LG_BUS_PID:-}" ]; then kill "$LG_BUS_PID" 2>/dev/null || true; wait "$LG_BUS_PID" 2>/dev/null || true; fi
  [ -n "${LG_BUS_DIR:-}" ] && rm -rf "$LG_BUS_DIR"
}

lgbusctl() { busctl --system "$@" ; }
lgcall() { busctl --system call org.leakguard.LeakGuard1 /org/leakguard/LeakGuard1 org.leakguard.LeakGuard1.Manager "$@"; }
