#!/usr/bin/env bash
# Lifetimes (DESIGN §1 "dynamic session", "persistent", §4): a persistent policy outlives SIGKILL
# and SIGTERM of leakguardd in the kernel and keeps blocking real packets; a restart brings the
# same policies back (Status, EnabledPolicies, Generation), and READY=1 comes only once they are in
# the kernel (checked by polling the notify log and the kernel together, after removing the table
# as a reboot would). A dynamic policy (tests/kernel/daemon-policies/dyn-block.yaml, table inet
# leakguard_dynamic with `flags owner`) lives as long as the D-Bus client that enabled it, and as
# long as leakguardd: it leaves the kernel when that client disconnects, and when the daemon is
# SIGKILLed; a client that sends Enable and vanishes at once leaves nothing behind.
. "$(dirname "$0")/../lib/daemon.sh"
lgd_setup
lg_topo_pair 9000,9001
HOLD_PID=
lgd_cleanup_extra() { [ -n "$HOLD_PID" ] && touch "$LG_TMP/hold.stop" && kill "$HOLD_PID" 2>/dev/null && wait "$HOLD_PID" 2>/dev/null; }

# hold_start: a python3-dbus client that enables dyn-block and stays connected until hold_stop;
# its first line ("enabled GENERATION UNIQUE-NAME" or "ERR …") in $HOLD_OUT. Not in a subshell.
hold_start() {
        rm -f "$LG_TMP/hold.stop" "$LG_TMP/hold.out"
        "$LGD_PY" "$LGD_LIB/lgdbus.py" hold dyn-block '{}' "$LG_TMP/hold.stop" >"$LG_TMP/hold.out" 2>&1 </dev/null &
        HOLD_PID=$!
        lgd_wait_for 10 grep -q . "$LG_TMP/hold.out"
        HOLD_OUT=$(head -1 "$LG_TMP/hold.out")
}
hold_stop() { # the client closes its bus connection and exits
        touch "$LG_TMP/hold.stop"
        wait "$HOLD_PID" 2>/dev/null
        HOLD_PID=
}
no_dynamic_table() { ! lgd_has_table leakguard_dynamic; }

lg_log "# a persistent killswitch, then SIGKILL"
lgd_start
lgd_expect_ok "Enable killswitch" lgd_busctl Enable 'sa{sv}' killswitch 3 tunnel s wg0 servers as 1 10.99.1.2:9000/udp allow_lan b false
lgd_expect_ok "Enable ipv6-leak" lgd_gdbus Enable ipv6-leak "{'allow_lan': <true>}"
gen=$(lgd_prop Generation)
LG_LABEL="daemon running"
lg_expect pass a udp 10.99.1.2 9000
lg_expect drop a udp 10.99.1.3 9000
unset LG_LABEL
lgd_snap before-kill
lg_daemon_stop KILL
lgd_has_table leakguard && lg_pass "SIGKILL: table inet leakguard is still in the kernel" || lg_fail "SIGKILL: table inet leakguard" "gone"
lgd_eq "SIGKILL: the kernel still holds both policies" "$(lgd_kernel_policies)" "ipv6-leak killswitch"
LG_LABEL="daemon killed"
lg_expect drop a udp 10.99.1.3 9000      # still blocked: fail closed
lg_expect drop a tcp 10.99.1.2 9000
lg_expect pass a udp 10.99.1.2 9000      # the VPN server still reachable
unset LG_LABEL
lgd_eq "SIGKILL: state.ini still lists the policies" "$(lgd_state_policies)" "ipv6-leak killswitch"

lg_log "# restart over the table the killed daemon left"
lgd_start
lgd_eq "restart: EnabledPolicies" "$(lgd_prop EnabledPolicies)" 'as 2 "ipv6-leak" "killswitch"'
lgd_eq "restart: Status enabled" "$(lgd_status_enabled)" "ipv6-leak killswitch"
lgd_eq "restart: State" "$(lgd_prop State)" 's "protecting"'
g2=$(lgd_prop Generation)
[ "${g2#t }" -ge "${gen#t }" ] && lg_pass "restart: Generation $g2 continues from $gen" || lg_fail "restart: Generation" "$g2 < $gen"
lgd_eq "restart: killswitch parameters" "$(lgd_status_get "sorted(s['Policies']['killswitch']['Parameters'].items())")" \
        "[('allow_lan', False), ('servers', ['10.99.1.2:9000/udp']), ('tunnel', 'wg0')]"
lgd_eq "restart: ipv6-leak's allow_lan" "$(lgd_status_get "s['Policies']['ipv6-leak']['Parameters']['allow_lan']")" "True"
# The restart replaces the table's contents in one transaction (flush + re-add, base chains kept),
# which resets counters and may list objects in another order: compare sorted, without counters.
norm() { sed -e 's/counter packets [0-9]* bytes [0-9]*/counter/' "$@" | sort; }
lg_in a nft -s list ruleset | norm >"$LG_TMP/after-restart.nft"
norm "$LG_TMP/snap.before-kill.nft" | cmp -s - "$LG_TMP/after-restart.nft" &&
        lg_pass "restart: the kernel holds the same rules and sets as before the kill" ||
        lg_fail "restart: the kernel ruleset" "$(norm "$LG_TMP/snap.before-kill.nft" | diff - "$LG_TMP/after-restart.nft" | head -8)"
grep -q "READY=1" "$LG_BUS_DIR/notify.log" && lg_pass "restart: READY=1 ($(grep -m1 READY "$LG_BUS_DIR/notify.log"))" || lg_fail "restart: READY" "none"
LG_LABEL="after restart"
lg_expect drop a udp 10.99.1.3 9000
lg_expect pass a udp 10.99.1.2 9000
unset LG_LABEL

lg_log "# SIGTERM: persistent policies stay in the kernel"
lg_daemon_stop TERM
lgd_eq "SIGTERM: the kernel still holds both policies" "$(lgd_kernel_policies)" "ipv6-leak killswitch"
lg_expect drop a udp 10.99.1.3 9000

lg_log "# a reboot: the kernel is empty; READY=1 must come only after the saved policies are applied"
lg_in a nft delete table inet leakguard || lg_die "delete table in our namespace"
lgd_eq "reboot: no leakguard rules in the kernel" "$(lgd_kernel_policies)" ""
lg_expect pass a udp 10.99.1.3 9000
lgd_spawn
ready_seen=0 early=0 table_seen_before_ready=0 polls=0
for i in $(seq 400); do
        polls=$i
        # READY first, then the kernel: READY=1 with no table afterwards would be a window.
        r=0
        grep -q READY=1 "$LG_BUS_DIR/notify.log" && r=1
        t=0
        lg_in a nft list table inet leakguard 2>/dev/null | grep -q 'comment "killswitch/killswitch/everything-else"' && t=1
        [ $r = 0 ] && [ $t = 1 ] && table_seen_before_ready=1
        if [ $r = 1 ]; then
                ready_seen=1
                [ $t = 0 ] && early=1
                break
        fi
        kill -0 "$LG_DAEMON_PID" 2>/dev/null || break
        sleep 0.01
done
[ $ready_seen = 1 ] && [ $early = 0 ] &&
        lg_pass "reboot: when READY=1 appeared (after $polls polls) the killswitch's rules were in the kernel (seen before READY: $table_seen_before_ready)" ||
        lg_fail "reboot: READY=1 only after the policies are applied" "ready=$ready_seen table-missing-at-ready=$early"
lgd_wait_name
lgd_eq "reboot: the kernel holds both policies again" "$(lgd_kernel_policies)" "ipv6-leak killswitch"
lgd_eq "reboot: EnabledPolicies" "$(lgd_prop EnabledPolicies)" 'as 2 "ipv6-leak" "killswitch"'
lgd_eq "reboot: State" "$(lgd_prop State)" 's "protecting"'
LG_LABEL="after reboot"
lg_expect drop a udp 10.99.1.3 9000
lg_expect pass a udp 10.99.1.2 9000
unset LG_LABEL

lg_log "# a dynamic policy lives as long as the client that enabled it"
lgd_expect_ok "Disable killswitch (so that only dyn-block decides)" lgd_gdbus Disable killswitch
lg_expect pass a udp 10.99.1.2 9001
hold_start
out=$HOLD_OUT
[[ $out == "enabled "* ]] && lg_pass "python3-dbus client enabled dyn-block and stays connected: $out" || lg_fail "hold: Enable dyn-block" "$out"
owner=${out##* }
lgd_has_table leakguard_dynamic && lg_pass "kernel: table inet leakguard_dynamic exists" || lg_fail "kernel: table inet leakguard_dynamic" "absent"
lg_in a nft list table inet leakguard_dynamic | grep -q 'flags owner' && lg_pass "kernel: leakguard_dynamic has flags owner" ||
        lg_fail "kernel: flags owner" "$(lg_in a nft list table inet leakguard_dynamic | head -3)"
lgd_eq "kernel: policies with rules" "$(lgd_kernel_policies)" "dyn-block ipv6-leak"
lgd_eq "Status: dyn-block's owner is the client" "$(lgd_status_get "s['Policies']['dyn-block'].get('Owner')")" "$owner"
lgd_eq "state.ini: a dynamic policy is not saved" "$(lgd_state_policies)" "ipv6-leak"
lgd_eq "EnabledPolicies with the dynamic policy" "$(lgd_prop EnabledPolicies)" 'as 2 "dyn-block" "ipv6-leak"'
# What the kernel holds is exactly what should be there: State must stay "protecting".
st=$(lgd_prop State)
[ "$st" = 's "protecting"' ] && lg_pass "State with a dynamic policy enabled: $st" ||
        lg_fail "State with a dynamic policy enabled" "$st, Reason: $(lgd_status_get "s.get('Reason')")"
LG_LABEL="dyn-block on"
lg_expect drop a udp 10.99.1.2 9001
lg_expect drop a tcp 10.99.1.2 9001
lg_expect pass a udp 10.99.1.2 9000
unset LG_LABEL
hold_stop
if lgd_wait_for 5 no_dynamic_table; then
        lg_pass "client disconnected: table inet leakguard_dynamic is gone"
else
        lg_fail "client disconnected: dynamic policy removed" "$(lg_in a nft list table inet leakguard_dynamic | head -20)"
fi
lgd_eq "client disconnected: EnabledPolicies" "$(lgd_prop EnabledPolicies)" 'as 1 "ipv6-leak"'
lgd_eq "client disconnected: persistent policy untouched" "$(lgd_kernel_policies)" "ipv6-leak"
lg_expect pass a udp 10.99.1.2 9001

lg_log "# a dynamic policy enabled by busctl ends with busctl's connection"
lgd_expect_ok "busctl: Enable dyn-block" lgd_busctl Enable 'sa{sv}' dyn-block 0
lgd_wait_for 5 no_dynamic_table && lg_pass "busctl exited: leakguard_dynamic is gone" ||
        lg_fail "busctl exited: dynamic policy removed" "$(lgd_kernel_policies)"
lgd_eq "busctl exited: EnabledPolicies" "$(lgd_prop EnabledPolicies)" 'as 1 "ipv6-leak"'

lg_log "# a client that sends Enable and disconnects before the reply leaves nothing behind"
for i in 1 2 3 4 5; do
        lgd_py fire dyn-block '{}' >/dev/null
done
sleep 0.5
lgd_eq "fire and forget x5: EnabledPolicies" "$(lgd_prop EnabledPolicies)" 'as 1 "ipv6-leak"'
no_dynamic_table && lg_pass "fire and forget x5: no leakguard_dynamic table" || lg_fail "fire and forget: table left" "$(lgd_kernel_policies)"

lg_log "# a dynamic policy dies with the daemon (SIGKILL): the kernel removes its table"
hold_start
out=$HOLD_OUT
[[ $out == "enabled "* ]] && lg_pass "client enabled dyn-block again: $out" || lg_fail "hold: Enable dyn-block" "$out"
lgd_has_table leakguard_dynamic && lg_pass "kernel: table inet leakguard_dynamic exists" || lg_fail "kernel: table inet leakguard_dynamic" "absent"
lg_expect drop a udp 10.99.1.2 9001
g_dyn=$(lgd_prop Generation)
lg_daemon_stop KILL
lgd_wait_for 5 no_dynamic_table && lg_pass "SIGKILL: table inet leakguard_dynamic is gone with its owner" ||
        lg_fail "SIGKILL: dynamic table" "still there: $(lg_in a nft list table inet leakguard_dynamic | head -5)"
lgd_eq "SIGKILL: the persistent policy stays" "$(lgd_kernel_policies)" "ipv6-leak"
lg_expect pass a udp 10.99.1.2 9001
lgd_start
g_new=$(lgd_prop Generation)
# Generation "increments on every applied change" (DESIGN §3): a client comparing generations must
# never see it go back, not even across a crash.
[ "${g_new#t }" -ge "${g_dyn#t }" ] && lg_pass "restart: Generation ${g_new#t } does not go back (was ${g_dyn#t } before SIGKILL)" ||
        lg_fail "restart: Generation went back" "${g_dyn#t } before SIGKILL, ${g_new#t } after the restart (state.ini saved generation=$(sed -n 's/^generation=//p' "$LGD_STATE_DIR/state.ini"))"
lgd_eq "restart: the dynamic policy is not restored" "$(lgd_prop EnabledPolicies)" 'as 1 "ipv6-leak"'
no_dynamic_table && lg_pass "restart: no leakguard_dynamic table" || lg_fail "restart: dynamic table" "present"
hold_stop
lgd_eq "the old client leaving changes nothing" "$(lgd_prop EnabledPolicies)" 'as 1 "ipv6-leak"'

lg_log "# a saved state that cannot be used, after a reboot: the last saved ruleset, degraded, never open"
lgd_expect_ok "Enable killswitch" lgd_busctl Enable 'sa{sv}' killswitch 2 tunnel s wg0 servers as 1 10.99.1.2:9000/udp
lg_daemon_stop KILL
sed -i '/^\[end\]/,$d' "$LGD_STATE_DIR/state.ini"    # cut short: no "[end] complete=true"
lg_in a nft delete table inet leakguard || lg_die "delete table in our namespace"
lg_expect pass a udp 10.99.1.3 9000
lgd_start
lgd_eq "unusable state: the kernel holds the last saved ruleset" "$(lgd_kernel_policies)" "ipv6-leak killswitch"
lgd_eq "unusable state: State" "$(lgd_prop State)" 's "degraded"'
reason=$(lgd_status_get "s.get('Reason')")
[[ $reason == *incomplete* ]] && lg_pass "unusable state: Reason says why: $reason" || lg_fail "unusable state: Reason" "$reason"
LG_LABEL="degraded, last saved ruleset"
lg_expect drop a udp 10.99.1.3 9000
lg_expect pass a udp 10.99.1.2 9000
unset LG_LABEL
lgd_expect_ok "Enable killswitch again repairs" lgd_busctl Enable 'sa{sv}' killswitch 2 tunnel s wg0 servers as 1 10.99.1.2:9000/udp
lgd_eq "repaired: State" "$(lgd_prop State)" 's "protecting"'
lgd_eq "repaired: the kernel" "$(lgd_kernel_policies)" "killswitch"
lgd_eq "repaired: state.ini" "$(lgd_state_policies)" "killswitch"
lg_done
