#!/usr/bin/env bash
# `cmake --install` puts every file where a distribution expects it, the unit passes
# `systemd-analyze verify`, and its `systemd-analyze security` exposure stays low.
set -uo pipefail
pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass+1)); }
ko() { echo "FAIL $1"; fail=$((fail+1)); }
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
cfg=$(mktemp -d); trap 'rm -rf "$dest" "$cfg"' EXIT
cmake -S "$SRCDIR" -B "$cfg" -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_INSTALL_SYSCONFDIR=/etc >/dev/null &&
  cmake --build "$cfg" -j2 >/dev/null && DESTDIR="$dest" cmake --install "$cfg" >/dev/null || ko "install"
for f in usr/sbin/leakguardd usr/bin/leakguardctl \
         usr/share/leakguard/policies/killswitch.yaml usr/share/leakguard/policies/dns-leak.yaml \
         usr/share/leakguard/policies/ipv6-leak.yaml \
         lib/systemd/system/leakguardd.service \
         usr/share/dbus-1/system.d/org.leakguard.LeakGuard1.conf \
         usr/share/dbus-1/system-services/org.leakguard.LeakGuard1.service \
         usr/share/dbus-1/interfaces/org.leakguard.LeakGuard1.Manager.xml \
         usr/share/polkit-1/actions/org.leakguard.LeakGuard1.policy \
         etc/leakguard/policies.d; do
  if [ -e "$dest/$f" ] || [ -e "$dest/usr/$f" ]; then ok "installed /$f"; else ko "missing /$f"; fi
done
unit=$(find "$dest" -name leakguardd.service -path '*systemd*' | head -n1)
grep -q '^ExecStart=/usr/sbin/leakguardd$' "$unit" && ok "unit runs /usr/sbin/leakguardd" || ko "unit ExecStart"
for key in 'Type=notify' 'BusName=org.leakguard.LeakGuard1' 'Before=network-pre.target shutdown.target' \
           'Wants=network-pre.target' 'CapabilityBoundingSet=CAP_NET_ADMIN' \
           'RestrictAddressFamilies=AF_UNIX AF_NETLINK' 'ProtectSystem=strict' 'StateDirectory=leakguard'; do
  grep -qxF "$key" "$unit" && ok "unit has $key" || ko "unit lacks $key"
done
# verify needs the binary where ExecStart points: check a copy that points at the build.
sed "s|^ExecStart=.*|ExecStart=$dest/usr/sbin/leakguardd|" "$unit" > "$cfg/leakguardd.service"
if out=$(systemd-analyze verify "$cfg/leakguardd.service" 2>&1) && [ -z "$out" ]; then ok "systemd-analyze verify"
else ko "systemd-analyze verify: $out"; fi
exposure=$(systemd-analyze security --offline=yes "$cfg/leakguardd.service" 2>/dev/null | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
echo "systemd-analyze security exposure: ${exposure:-unknown}"
if [ -n "$exposure" ] && awk "BEGIN{exit !($exposure < 2.0)}"; then ok "exposure $exposure < 2.0"; else ko "exposure ${exposure:-unknown}"; fi
xmllint --version >/dev/null 2>&1 || true
python3 - "$dest/usr/share/dbus-1/interfaces/org.leakguard.LeakGuard1.Manager.xml" "$dest/usr/share/polkit-1/actions/org.leakguard.LeakGuard1.policy" "$dest/usr/share/dbus-1/system.d/org.leakguard.LeakGuard1.conf" <<'PY' && ok "installed XML files parse" || ko "XML parse"
import sys, xml.etree.ElementTree as ET
for f in sys.argv[1:]: ET.parse(f)
PY
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
