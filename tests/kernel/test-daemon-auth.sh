#!/usr/bin/env bash
# Who may call what (DESIGN §3, §4 "Authorization"): root may change; anyone else is asked about
# through polkit, asynchronously, and refused when polkit is absent; everyone may read (Status,
# ListPolicies, properties); only root may own the bus name. Then a real polkitd on the private bus,
# with the project's action file and a test JavaScript rule, decides both ways: uid 2 (bin) allowed,
# uid 65534 (nobody) denied by the rule, uid 3 (sys) denied for want of an authentication agent.
# polkitd only reads /etc/polkit-1/rules.d, /usr/share/polkit-1/{rules.d,actions}: it runs in a
# mount namespace of its own (unshare -m) with tmpfs over those three, so the host's files are
# never touched.
. "$(dirname "$0")/../lib/daemon.sh"
lgd_setup a
LGD_LIST_FLAGS=""
PK_PID=
lgd_cleanup_extra() { [ -n "$PK_PID" ] && kill "$PK_PID" 2>/dev/null && wait "$PK_PID" 2>/dev/null; }

as_gdbus() { # UID METHOD ARGS…
        local uid=$1 m=$2
        shift 2
        lgd_as "$uid" gdbus call --system --timeout 60 --dest "$LGD_NAME" --object-path "$LGD_PATH" --method "$LGD_IFACE.$m" "$@"
}
KS="{'tunnel': <'wg0'>, 'servers': <['192.0.2.1:51820/udp']>}"

lgd_start
lgd_expect_ok "root: Enable killswitch (gdbus)" lgd_gdbus Enable killswitch "$KS"
lgd_eq "kernel: policies with rules" "$(lgd_kernel_policies)" "killswitch"

lg_log "# uid 65534 without polkit on the bus: no change, but every read"
lgd_snap nobody
lgd_expect_error "uid 65534: Enable (gdbus)" org.freedesktop.DBus.Error.AccessDenied "^Enable: polkit could not decide" \
        as_gdbus 65534 Enable killswitch "$KS"
lgd_expect_error "uid 65534: Enable of another policy (gdbus)" org.freedesktop.DBus.Error.AccessDenied "^Enable: polkit could not decide" \
        as_gdbus 65534 Enable dns-leak "{'tunnel': <'wg0'>, 'resolvers': <['192.0.2.53']>}"
lgd_expect_error "uid 65534: Disable (gdbus)" org.freedesktop.DBus.Error.AccessDenied "^Disable: polkit could not decide" \
        as_gdbus 65534 Disable killswitch
lgd_expect_error "uid 65534: Reload (gdbus)" org.freedesktop.DBus.Error.AccessDenied "^Reload: polkit could not decide" \
        as_gdbus 65534 Reload
lgd_expect_error "uid 65534: Disable (python3-dbus)" org.freedesktop.DBus.Error.AccessDenied "" \
        lgd_as 65534 "$LGD_PY" "$LGD_LIB/lgdbus.py" call Disable s '["killswitch"]'
lgd_expect_error "uid 65534: Enable of an unknown policy is refused before anything is looked up" org.freedesktop.DBus.Error.AccessDenied "" \
        as_gdbus 65534 Enable no-such-policy "{}"
out=$(lgd_as 65534 busctl --system call "$LGD_NAME" "$LGD_PATH" "$LGD_IFACE" Enable 'sa{sv}' killswitch 0 2>&1)
# busctl prints the errno that sd-bus maps AccessDenied to, not the error's name or message.
[[ $? -ne 0 && $out == "Call failed: Access denied" ]] && lg_pass "uid 65534: Enable (busctl) refused: $out" || lg_fail "uid 65534: Enable (busctl)" "$out"
lgd_same nobody "after the refused calls of uid 65534"
lgd_expect_ok "uid 65534: Status (gdbus)" as_gdbus 65534 Status
[[ $LGD_OUT == *"'killswitch': <{'Enabled': <true>"* ]] && lg_pass "uid 65534 reads Status: killswitch enabled" || lg_fail "uid 65534 reads Status" "${LGD_OUT:0:200}"
lgd_expect_ok "uid 65534: ListPolicies (busctl)" lgd_as 65534 busctl --system call "$LGD_NAME" "$LGD_PATH" "$LGD_IFACE" ListPolicies
[[ $LGD_OUT == *'"killswitch" "Only traffic through the VPN tunnel may leave this machine." true'* ]] && lg_pass "uid 65534 reads ListPolicies" || lg_fail "uid 65534 reads ListPolicies" "$LGD_OUT"
lgd_expect_ok "uid 65534: ListPolicies (python3-dbus)" lgd_as 65534 "$LGD_PY" "$LGD_LIB/lgdbus.py" call ListPolicies '' '[]'
for p in "EnabledPolicies:as 1 \"killswitch\"" "State:s \"protecting\"" "Generation:t 1" "Version:$(lgd_prop Version)"; do
        got=$(lgd_as 65534 busctl --system get-property "$LGD_NAME" "$LGD_PATH" "$LGD_IFACE" "${p%%:*}" 2>&1)
        lgd_eq "uid 65534 reads property ${p%%:*} (busctl)" "$got" "${p#*:}"
done
lgd_expect_ok "uid 65534: GetAll (gdbus)" lgd_as 65534 gdbus call --system --dest "$LGD_NAME" --object-path "$LGD_PATH" --method org.freedesktop.DBus.Properties.GetAll "$LGD_IFACE"
[[ $LGD_OUT == "({'EnabledPolicies': <['killswitch']>, 'State': <'protecting'>, 'Generation': <uint64 1>, 'Version': <'"* ]] &&
        lg_pass "uid 65534 reads all properties" || lg_fail "uid 65534 reads all properties" "$LGD_OUT"
lgd_expect_error "uid 65534: Set of a property is refused" org.freedesktop.DBus.Error.PropertyReadOnly "" \
        lgd_as 65534 gdbus call --system --dest "$LGD_NAME" --object-path "$LGD_PATH" --method org.freedesktop.DBus.Properties.Set "$LGD_IFACE" State "<'idle'>"
lgd_expect_error "uid 65534 cannot own $LGD_NAME (the project's dbus policy)" org.freedesktop.DBus.Error.AccessDenied "not allowed to own" \
        lgd_as 65534 "$LGD_PY" -c 'import dbus, sys
try:
    dbus.SystemBus().request_name("org.leakguard.LeakGuard1", dbus.bus.NAME_FLAG_DO_NOT_QUEUE)
    print("OK owned")
except dbus.exceptions.DBusException as e:
    print("ERR %s %s" % (e.get_dbus_name(), e.get_dbus_message())); sys.exit(1)'
lgd_same nobody "after the reads of uid 65534"

lg_log "# a real polkitd on the private bus, in a mount namespace of its own"
PKD=/usr/lib/polkit-1/polkitd
[ -x "$PKD" ] || PKD=/usr/libexec/polkitd
[ -x "$PKD" ] || lg_die "polkitd not installed (apt-get install polkitd)"
getent passwd polkitd >/dev/null || lg_die "no polkitd user (polkitd drops privileges to it)"
host_before=$(ls -la /etc/polkit-1/rules.d /usr/share/polkit-1/rules.d /usr/share/polkit-1/actions 2>&1 | md5sum)
mkdir -p "$LG_TMP/pk"
cp "$SRCDIR/dbus/org.leakguard.LeakGuard1.policy" "$LG_TMP/pk/"
cat >"$LG_TMP/pk/50-leakguard-test.rules" <<'JS'
// Test rule: bin may manage leakguard, nobody may not; everyone else gets the action's default
// (auth_admin: a challenge nobody can answer here, so: denied).
polkit.addRule(function(action, subject) {
    if (action.id != "org.leakguard.LeakGuard1.manage")
        return polkit.Result.NOT_HANDLED;
    polkit.log("leakguard-test-rule: " + action.id + " for " + subject.user);
    if (subject.user == "bin")
        return polkit.Result.YES;
    if (subject.user == "nobody")
        return polkit.Result.NO;
    return polkit.Result.NOT_HANDLED;
});
JS
chmod 644 "$LG_TMP/pk/"*
# unshare -m makes all mounts private (util-linux default), so nothing propagates to the host.
unshare -m --propagation private sh -ec '
        for d in /etc/polkit-1/rules.d /usr/share/polkit-1/rules.d /usr/share/polkit-1/actions; do
                mount -t tmpfs -o mode=0755 lgd-polkit-test "$d"
        done
        cp "$1/org.leakguard.LeakGuard1.policy" /usr/share/polkit-1/actions/
        cp "$1/50-leakguard-test.rules" /etc/polkit-1/rules.d/
        exec "$2"' sh "$LG_TMP/pk" "$PKD" >"$LG_TMP/polkitd.log" 2>&1 &
PK_PID=$!
if lgd_wait_for 10 busctl --system status org.freedesktop.PolicyKit1; then
        lg_pass "polkitd owns org.freedesktop.PolicyKit1 on the private bus (pid $PK_PID)"
else
        lg_fail "polkitd started" "$(cat "$LG_TMP/polkitd.log")"
fi
grep -q "Finished loading, compiling and executing 1 rules" "$LG_TMP/polkitd.log" && lg_pass "polkitd loaded exactly our rule" ||
        lg_fail "polkitd loaded our rule" "$(head -5 "$LG_TMP/polkitd.log")"
out=$(pkaction --action-id org.leakguard.LeakGuard1.manage --verbose 2>&1)
[[ $out == *"implicit any:      auth_admin"* && $out == *"implicit active:   auth_admin_keep"* ]] &&
        lg_pass "polkitd knows the project's action org.leakguard.LeakGuard1.manage (pkaction)" || lg_fail "pkaction" "$out"
host_during=$(ls -la /etc/polkit-1/rules.d /usr/share/polkit-1/rules.d /usr/share/polkit-1/actions 2>&1 | md5sum)
lgd_eq "the host's polkit directories are untouched while polkitd runs" "$host_during" "$host_before"

lg_log "# uid 2 (bin): the rule says yes"
lgd_expect_ok "uid 2: Enable dns-leak (gdbus)" as_gdbus 2 Enable dns-leak "{'tunnel': <'wg0'>, 'resolvers': <['192.0.2.53']>}"
lgd_eq "uid 2: Enable reply" "$LGD_OUT" "(uint64 2,)"
lgd_eq "kernel: policies with rules" "$(lgd_kernel_policies)" "dns-leak killswitch"
lgd_eq "state.ini: saved policies" "$(lgd_state_policies)" "dns-leak killswitch"
lgd_expect_ok "uid 2: Enable killswitch with new parameters (busctl)" \
        lgd_as 2 busctl --system call "$LGD_NAME" "$LGD_PATH" "$LGD_IFACE" Enable 'sa{sv}' killswitch 2 tunnel s wg1 servers as 1 192.0.2.2
ks_tunnel() { lg_in a nft list table inet leakguard | grep -A3 'set .*killswitch.*tunnel' | sed -n 's/.*elements = { \(.*\) }/\1/p'; }
lgd_eq "kernel: the killswitch's tunnel is now wg1" "$(ks_tunnel)" '"wg1"'
lgd_expect_ok "uid 2: Reload (gdbus)" as_gdbus 2 Reload
lgd_expect_ok "uid 2: Disable dns-leak (python3-dbus)" lgd_as 2 "$LGD_PY" "$LGD_LIB/lgdbus.py" call Disable s '["dns-leak"]'
lgd_eq "kernel: policies with rules" "$(lgd_kernel_policies)" "killswitch"
grep -q "leakguard-test-rule: org.leakguard.LeakGuard1.manage for bin" "$LG_TMP/polkitd.log" &&
        lg_pass "polkitd's log: our rule decided for bin" || lg_fail "polkitd's log" "$(tail -5 "$LG_TMP/polkitd.log")"

lg_log "# uid 65534 (nobody): the rule says no; uid 3 (sys): auth_admin, no agent: no"
lgd_snap denied
lgd_expect_error "uid 65534: Enable (gdbus)" org.freedesktop.DBus.Error.AccessDenied "^Enable: polkit denied the action" \
        as_gdbus 65534 Enable dns-leak "{'tunnel': <'wg0'>, 'resolvers': <['192.0.2.53']>}"
lgd_expect_error "uid 65534: Disable (gdbus)" org.freedesktop.DBus.Error.AccessDenied "^Disable: polkit denied the action" \
        as_gdbus 65534 Disable killswitch
lgd_expect_error "uid 65534: Reload (gdbus)" org.freedesktop.DBus.Error.AccessDenied "^Reload: polkit denied the action" \
        as_gdbus 65534 Reload
lgd_expect_error "uid 3: Disable (gdbus)" org.freedesktop.DBus.Error.AccessDenied "^Disable: polkit requires authentication" \
        as_gdbus 3 Disable killswitch
lgd_expect_error "uid 3: Enable (python3-dbus)" org.freedesktop.DBus.Error.AccessDenied "^Enable: polkit requires authentication" \
        lgd_as 3 "$LGD_PY" "$LGD_LIB/lgdbus.py" call Enable 'sa{sv}' '["dns-leak", {"tunnel": ["s", "wg0"], "resolvers": ["as", ["192.0.2.53"]]}]'
lgd_same denied "after the calls polkit denied"
grep -q "leakguard-test-rule: org.leakguard.LeakGuard1.manage for nobody" "$LG_TMP/polkitd.log" &&
        grep -q "leakguard-test-rule: org.leakguard.LeakGuard1.manage for sys" "$LG_TMP/polkitd.log" &&
        lg_pass "polkitd's log: our rule was asked for nobody and sys" || lg_fail "polkitd's log" "$(tail -5 "$LG_TMP/polkitd.log")"
lgd_expect_ok "root still needs no polkit: Status" lgd_busctl Status

lg_log "# polkitd gone: everyone but root is refused again"
kill "$PK_PID"
wait "$PK_PID" 2>/dev/null
PK_PID=
lgd_wait_for 5 sh -c '! busctl --system status org.freedesktop.PolicyKit1 >/dev/null 2>&1'
lgd_expect_error "uid 2 without polkitd: Disable" org.freedesktop.DBus.Error.AccessDenied "polkit could not decide" \
        as_gdbus 2 Disable killswitch
lgd_expect_ok "root without polkitd: Disable killswitch" lgd_gdbus Disable killswitch
lgd_eq "kernel: no leakguard rules" "$(lgd_kernel_policies)" ""
host_after=$(ls -la /etc/polkit-1/rules.d /usr/share/polkit-1/rules.d /usr/share/polkit-1/actions 2>&1 | md5sum)
lgd_eq "the host's polkit directories are as before" "$host_after" "$host_before"
findmnt -n /etc/polkit-1/rules.d >/dev/null && lg_fail "no tmpfs on the host's /etc/polkit-1/rules.d" "$(findmnt /etc/polkit-1/rules.d)" ||
        lg_pass "no tmpfs leaked onto the host's /etc/polkit-1/rules.d"
lg_done
