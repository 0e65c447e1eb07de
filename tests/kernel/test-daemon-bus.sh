#!/usr/bin/env bash
# The D-Bus interface of leakguardd (DESIGN §3), end to end: leakguardd inside a network namespace of
# our own, on a private system bus that uses the project's dbus policy file, driven by busctl, gdbus
# and python3-dbus. Every method (Enable, Disable, Status, ListPolicies, Reload), every property
# (EnabledPolicies, State, Generation, Version) with PropertiesChanged after each change, every named
# error (NoSuchPolicy, InvalidParameters, InvalidPolicy, ApplyFailed, AccessDenied); after each call
# the kernel ruleset (`nft list ruleset` in the namespace) and the state file; real packets over a
# veth pair into a second namespace: blocked after the killswitch's Enable, passing after Disable.
. "$(dirname "$0")/../lib/daemon.sh"
lgd_setup
lg_topo_pair 9000,9001

# Rulesets are compared with `nft -s` (no counter values): the probes' own packets and the
# kernel's IPv6 neighbour probes on the veth move counters between two listings. (The byte-exact
# comparison with counters is in test-daemon-hostile.sh, whose namespace has no traffic.)
LGD_LIST_FLAGS=-s
# the name and handle of the base chain on the output hook, and its jumps in order
outbound_handle() {
        lg_in a nft -a list table inet leakguard 2>/dev/null |
                awk '/^\tchain / { c = $2 " " $NF } /hook output/ { print c; exit }'
}
outbound_jumps() {
        lg_in a nft list table inet leakguard 2>/dev/null |
                awk '/^\tchain / { inb = 0 } /hook output/ { inb = 1 } inb { for (i = 1; i < NF; i++) if ($i == "jump") print $(i + 1) }' | tr '\n' ' '
}
# monitor_check N EXPR LABEL: the N-th PropertiesChanged (1-based) seen by the python monitor
# satisfies the python expression EXPR over `c` (waits 5 s at most for it to arrive).
monitor_count_ge() { [ "$(grep -c '^{' "$LG_TMP/pychanges" 2>/dev/null)" -ge "$1" ]; }
monitor_wait() { lgd_wait_for 5 monitor_count_ge "$1"; }
monitor_check() {
        local n=$1 expr=$2 label=$3 line
        monitor_wait "$n"
        line=$(grep '^{' "$LG_TMP/pychanges" | sed -n "${n}p")
        if [ -n "$line" ] && "$LGD_PY" -c 'import json,sys; c=json.loads(sys.argv[1]); sys.exit(0 if eval(sys.argv[2]) else 1)' "$line" "$expr"; then
                lg_pass "$label: PropertiesChanged #$n $line"
        else
                lg_fail "$label" "PropertiesChanged #$n: '${line:-none}' does not satisfy $expr"
        fi
}

lg_log "# start: READY=1, the name, the introspection data"
lgd_start
lgd_eq "notify socket got READY=1 and a STATUS" "$(grep -c 'READY=1.*STATUS=idle' "$LG_BUS_DIR/notify.log")" 1
intro=$(busctl --system introspect "$LGD_NAME" "$LGD_PATH" "$LGD_IFACE")
for member in ".Enable method sa{sv} t" ".Disable method s t" ".Status method - a{sv}" ".ListPolicies method - a(ssb)" \
        ".Reload method - -" ".EnabledPolicies property as" ".State property s" ".Generation property t" ".Version property s"; do
        read -r -a want <<<"$member"
        if awk -v n="${want[0]}" -v t="${want[1]}" -v s="${want[2]}" -v r="${want[3]:-}" \
                '$1 == n && $2 == t && $3 == s && (r == "" || $4 == r) { ok = 1 } END { exit !ok }' <<<"$intro"; then
                lg_pass "introspection: $member"
        else
                lg_fail "introspection: $member" "$(grep -F -- "${want[0]} " <<<"$intro")"
        fi
done
for p in EnabledPolicies State Generation; do
        grep -E "^\.$p +property .*emits-change" <<<"$intro" >/dev/null && lg_pass "introspection: $p emits-change" ||
                lg_fail "introspection: $p emits-change" "$(grep -F ".$p " <<<"$intro")"
done
grep -E '^\.Version +property .* const' <<<"$intro" >/dev/null && lg_pass "introspection: Version is const" ||
        lg_fail "introspection: Version is const" "$(grep -F '.Version ' <<<"$intro")"

lg_log "# properties before any change"
lgd_eq "State (busctl)" "$(lgd_prop State)" 's "idle"'
lgd_eq "Generation (busctl)" "$(lgd_prop Generation)" 't 0'
lgd_eq "EnabledPolicies (busctl)" "$(lgd_prop EnabledPolicies)" 'as 0'
version=$(lgd_prop Version)
[[ $version =~ ^s\ \"[0-9]+\.[0-9]+ ]] && lg_pass "Version (busctl): $version" || lg_fail "Version" "$version"
all=$(gdbus call --system --dest "$LGD_NAME" --object-path "$LGD_PATH" --method org.freedesktop.DBus.Properties.GetAll "$LGD_IFACE" 2>&1)
lgd_eq "GetAll (gdbus)" "$all" "({'EnabledPolicies': <@as []>, 'State': <'idle'>, 'Generation': <uint64 0>, 'Version': <'$(sed 's/^s "\(.*\)"$/\1/' <<<"$version")'>},)"
lgd_eq "no leakguard table before the first Enable" "$(lgd_kernel_policies)" ""
lg_expect pass a udp 10.99.1.3 9000

lg_log "# two listeners for PropertiesChanged: gdbus monitor and python3-dbus"
gdbus monitor --system --dest "$LGD_NAME" --object-path "$LGD_PATH" >"$LG_TMP/gdbus-monitor" 2>&1 &
LG_PIDS+=("$!")
lgd_py monitor "$LG_TMP/pychanges" &
LG_PIDS+=("$!")
lgd_wait_for 5 grep -q ready "$LG_TMP/pychanges" || lg_fail "python monitor ready" "no 'ready'"
lgd_wait_for 5 grep -q 'owned by' "$LG_TMP/gdbus-monitor" || sleep 0.5

lg_log "# Enable (busctl): killswitch with tunnel wg0 and one VPN server, 10.99.1.2 udp 9000"
lgd_expect_ok "Enable killswitch (busctl)" lgd_busctl Enable 'sa{sv}' killswitch 2 tunnel s wg0 servers as 1 10.99.1.2:9000/udp
lgd_eq "Enable returns the new generation" "$LGD_OUT" "t 1"
ruleset=$(lgd_ruleset)
grep -q 'table inet leakguard {' <<<"$ruleset" && lg_pass "kernel: table inet leakguard exists" || lg_fail "kernel: table inet leakguard" "absent"
grep -q 'elements = { 10.99.1.2 . udp . 9000 }' <<<"$ruleset" && lg_pass "kernel: vpn-servers set holds 10.99.1.2 . udp . 9000" ||
        lg_fail "kernel: vpn-servers set" "$(grep -A3 vpn-servers <<<"$ruleset" | head -8)"
grep -q 'elements = { "wg0" }' <<<"$ruleset" && lg_pass "kernel: tunnel set holds wg0" || lg_fail "kernel: tunnel set" "no wg0"
grep -q 'drop comment "killswitch/killswitch/everything-else"' <<<"$ruleset" && lg_pass "kernel: everything-else drops" ||
        lg_fail "kernel: everything-else" "missing"
lgd_eq "kernel: policies with rules" "$(lgd_kernel_policies)" "killswitch"
lgd_eq "state.ini: saved policies" "$(lgd_state_policies)" "killswitch"
grep -q '^servers=10.99.1.2:9000/udp;$' "$LGD_STATE_DIR/state.ini" && lg_pass "state.ini: servers saved" ||
        lg_fail "state.ini: servers" "$(cat "$LGD_STATE_DIR/state.ini")"
lgd_eq "EnabledPolicies" "$(lgd_prop EnabledPolicies)" 'as 1 "killswitch"'
lgd_eq "State" "$(lgd_prop State)" 's "protecting"'
lgd_eq "Generation" "$(lgd_prop Generation)" 't 1'
monitor_check 1 "c['interface'] == '$LGD_IFACE' and c['path'] == '$LGD_PATH' and c['changed'] == {'EnabledPolicies': ['killswitch'], 'State': 'protecting', 'Generation': 1}" \
        "python3-dbus saw the Enable"
lgd_wait_for 5 grep -q "PropertiesChanged ('$LGD_IFACE', {'EnabledPolicies': <\['killswitch'\]>, 'State': <'protecting'>, 'Generation': <uint64 1>}" "$LG_TMP/gdbus-monitor" &&
        lg_pass "gdbus monitor saw the Enable: $(grep -m1 PropertiesChanged "$LG_TMP/gdbus-monitor")" ||
        lg_fail "gdbus monitor saw the Enable" "$(cat "$LG_TMP/gdbus-monitor")"
LG_LABEL="killswitch on, server 10.99.1.2:9000/udp"
lg_expect pass a udp 10.99.1.2 9000       # the VPN server
lg_expect drop a udp 10.99.1.3 9000       # anyone else
lg_expect drop a tcp 10.99.1.2 9000       # the server, but not its protocol
lg_expect drop a udp 10.99.1.2 9001       # the server, but not its port
lg_expect block a ping 10.99.1.2
lg_expect drop a udp fd99:1::2 9000
unset LG_LABEL
dropped=$(lgd_status_get "[f['Packets'] for sl in s['Policies']['killswitch']['Sublayers'] for f in sl['Filters'] if f['Name'] == 'everything-else'][0]")
[ "${dropped:-0}" -ge 4 ] && lg_pass "Status: everything-else counted $dropped dropped packets (live kernel counters)" ||
        lg_fail "Status: live counters" "everything-else Packets=$dropped"

lg_log "# Enable again (gdbus), a reconnect: new server 10.99.1.3; only set elements change"
h1=$(outbound_handle)
lgd_expect_ok "Enable killswitch again (gdbus)" lgd_gdbus Enable killswitch "{'tunnel': <'wg0'>, 'servers': <['10.99.1.3:9000/udp']>, 'allow_lan': <false>}"
lgd_eq "Enable returns the new generation" "$LGD_OUT" "(uint64 2,)"
h2=$(outbound_handle)
[ -n "$h1" ] && [ "$h1" = "$h2" ] && lg_pass "kernel: the output base chain kept (chain, handle: $h1)" ||
        lg_fail "kernel: the output base chain kept" "'$h1' -> '$h2'"
ruleset=$(lgd_ruleset)
grep -q 'elements = { 10.99.1.3 . udp . 9000 }' <<<"$ruleset" && ! grep -q '10.99.1.2 . udp' <<<"$ruleset" &&
        lg_pass "kernel: vpn-servers set now holds only 10.99.1.3 . udp . 9000" || lg_fail "kernel: vpn-servers after reconnect" "$(grep -A3 vpn-servers <<<"$ruleset" | head -8)"
lgd_eq "Generation" "$(lgd_prop Generation)" 't 2'
monitor_check 2 "c['changed']['Generation'] == 2 and c['changed']['EnabledPolicies'] == ['killswitch']" "python3-dbus saw the reconnect"
LG_LABEL="killswitch on, server 10.99.1.3:9000/udp"
lg_expect pass a udp 10.99.1.3 9000
lg_expect drop a udp 10.99.1.2 9000
unset LG_LABEL

lg_log "# Status (busctl, gdbus, python3-dbus) and ListPolicies: read-only, anyone"
lgd_snap ro
lgd_expect_ok "Status (busctl)" lgd_busctl Status
[[ $LGD_OUT == 'a{sv} '*'"State" s "protecting" "Generation" t 2 "Version" s '* ]] && lg_pass "Status (busctl): state protecting, generation 2" ||
        lg_fail "Status (busctl)" "${LGD_OUT:0:200}"
lgd_expect_ok "Status (gdbus)" lgd_gdbus Status
[[ $LGD_OUT == *"'killswitch': <{'Enabled': <true>"* ]] && lg_pass "Status (gdbus): killswitch enabled" || lg_fail "Status (gdbus)" "${LGD_OUT:0:300}"
lgd_eq "Status: killswitch parameters" "$(lgd_status_get "sorted(s['Policies']['killswitch']['Parameters'].items())")" \
        "[('allow_lan', False), ('servers', ['10.99.1.3:9000/udp']), ('tunnel', 'wg0')]"
lgd_eq "Status: killswitch sublayer and filters" \
        "$(lgd_status_get "[(sl['Name'], sl['Weight'], [(f['Name'], f['Weight'], f['Action'], f['Active']) for f in sl['Filters'] if f['Name'] in ('tunnel', 'lan', 'everything-else')]) for sl in s['Policies']['killswitch']['Sublayers']]")" \
        "[('killswitch', 65000, [('tunnel', 15, 'permit', True), ('lan', 12, 'permit', False), ('everything-else', 0, 'block', True)])]"
lgd_eq "Status: lan filter inactive (allow_lan false)" \
        "$(lgd_status_get "[f['Active'] for f in s['Policies']['killswitch']['Sublayers'][0]['Filters'] if f['Name'] == 'lan']")" "[False]"
lgd_eq "Status: enabled policies" "$(lgd_status_enabled)" "killswitch"
lgd_eq "Status: every policy of the directory" "$(lgd_status_get "' '.join(sorted(s['Policies']))")" "dns-leak dyn-block ipv6-leak killswitch typed"
lgd_expect_ok "ListPolicies (busctl)" lgd_busctl ListPolicies
[[ $LGD_OUT == 'a(ssb) 5 "dns-leak" '*'false "dyn-block" '*'false "ipv6-leak" '*'false "killswitch" "Only traffic through the VPN tunnel may leave this machine." true "typed" '*'false' ]] &&
        lg_pass "ListPolicies (busctl): five policies, sorted, only killswitch enabled" || lg_fail "ListPolicies (busctl)" "$LGD_OUT"
lgd_expect_ok "ListPolicies (python3-dbus)" lgd_py call ListPolicies '' '[]'
lgd_eq "ListPolicies (python3-dbus)" "$(sed 's/^OK //' <<<"$LGD_OUT" | "$LGD_PY" -c 'import json,sys; print([(n, e) for n, d, e in json.load(sys.stdin)[0]])')" \
        "[('dns-leak', False), ('dyn-block', False), ('ipv6-leak', False), ('killswitch', True), ('typed', False)]"
lgd_same ro "after Status and ListPolicies"
lgd_eq "Generation unchanged by reads" "$(lgd_prop Generation)" 't 2'

lg_log "# a second policy (python3-dbus): dns-leak next to the killswitch, then Disable it"
lgd_expect_ok "Enable dns-leak (python3-dbus)" lgd_py call Enable 'sa{sv}' '["dns-leak", {"tunnel": ["s", "wg0"], "resolvers": ["as", ["10.99.1.4", "fd99:1::4"]]}]'
lgd_eq "Enable dns-leak reply" "$LGD_OUT" "OK [3]"
lgd_eq "kernel: policies with rules" "$(lgd_kernel_policies)" "dns-leak killswitch"
lgd_eq "EnabledPolicies" "$(lgd_prop EnabledPolicies)" 'as 2 "dns-leak" "killswitch"'
lgd_eq "state.ini: saved policies" "$(lgd_state_policies)" "dns-leak killswitch"
jumps=$(outbound_jumps)
[[ $jumps == *killswitch*" "*dns-leak*" " ]] && [ "$(wc -w <<<"$jumps")" = 2 ] &&
        lg_pass "kernel: the output base chain jumps to killswitch (65000), then dns-leak (64000): $jumps" ||
        lg_fail "kernel: sublayer order" "jumps: $jumps"
monitor_check 3 "c['changed'] == {'EnabledPolicies': ['dns-leak', 'killswitch'], 'State': 'protecting', 'Generation': 3}" "PropertiesChanged after the second Enable"
lgd_expect_ok "Disable dns-leak (gdbus)" lgd_gdbus Disable dns-leak
lgd_eq "Disable reply" "$LGD_OUT" "(uint64 4,)"
lgd_eq "kernel: policies with rules" "$(lgd_kernel_policies)" "killswitch"
lgd_eq "state.ini: saved policies" "$(lgd_state_policies)" "killswitch"
monitor_check 4 "c['changed'] == {'EnabledPolicies': ['killswitch'], 'State': 'protecting', 'Generation': 4}" "PropertiesChanged after Disable dns-leak"

lg_log "# named errors: each with its message; the kernel and the state file stay as they were"
lgd_snap err
npc=$(grep -c '^{' "$LG_TMP/pychanges")
lgd_expect_error "Enable of an unknown policy (gdbus)" "$LGD_ERR.NoSuchPolicy" "no policy named 'killswich'.*killswitch" \
        lgd_gdbus Enable killswich "{'tunnel': <'wg0'>}"
lgd_expect_error "Disable of an unknown policy (python3-dbus)" "$LGD_ERR.NoSuchPolicy" "no policy named 'nosuch'" \
        lgd_py call Disable s '["nosuch"]'
lgd_expect_error "Enable without a required parameter" "$LGD_ERR.InvalidParameters" "needs parameter 'servers'" \
        lgd_gdbus Enable killswitch "{'tunnel': <'wg0'>}"
lgd_expect_error "Enable with an unknown parameter" "$LGD_ERR.InvalidParameters" "no parameter 'tunel'.*tunnel" \
        lgd_gdbus Enable killswitch "{'tunel': <'wg0'>, 'servers': <['10.99.1.2']>}"
lgd_expect_error "Enable with a parameter of the wrong D-Bus type" "$LGD_ERR.InvalidParameters" "'tunnel'.*must be sent as D-Bus s, not as" \
        lgd_gdbus Enable killswitch "{'tunnel': <['wg0']>, 'servers': <['10.99.1.2']>}"
lgd_expect_error "Enable with an invalid address" "$LGD_ERR.InvalidParameters" "servers.*300\.1\.2\.3" \
        lgd_gdbus Enable killswitch "{'tunnel': <'wg0'>, 'servers': <['300.1.2.3:51820/udp']>}"
lgd_expect_error "Enable whose ruleset the kernel refuses (cgroup that does not exist)" "$LGD_ERR.ApplyFailed" "cgroupv2 path fails: No such file or directory" \
        lgd_gdbus Enable typed "{'iface': <'lgx0'>, 'ifaces': <['lgx1']>, 'addrs': <['192.0.2.1']>, 'eps': <['192.0.2.2:53/udp']>, 'ports': <['9999']>, 'who': <uint32 65534>, 'cgroup_on': <true>, 'cgroup': <'lgd-no-such-cgroup.slice'>}"
lgd_expect_error "Enable refused to uid 65534 (no polkit on this bus)" org.freedesktop.DBus.Error.AccessDenied "Enable" \
        lgd_as 65534 gdbus call --system --dest "$LGD_NAME" --object-path "$LGD_PATH" --method "$LGD_IFACE.Enable" killswitch "{}"
lgd_expect_error "Disable refused to uid 65534" org.freedesktop.DBus.Error.AccessDenied "Disable" \
        lgd_as 65534 gdbus call --system --dest "$LGD_NAME" --object-path "$LGD_PATH" --method "$LGD_IFACE.Disable" killswitch
lgd_expect_error "Reload refused to uid 65534" org.freedesktop.DBus.Error.AccessDenied "Reload" \
        lgd_as 65534 gdbus call --system --dest "$LGD_NAME" --object-path "$LGD_PATH" --method "$LGD_IFACE.Reload"
cp "$LGD_POLICIES/broken.yaml.off" "$LGD_POLICY_DIR/broken.yaml"
lgd_expect_error "Reload with a broken policy file" "$LGD_ERR.InvalidPolicy" "broken.yaml:12:18: unknown condition 'remote_prot' \(did you mean 'remote_port'\?\)" \
        lgd_gdbus Reload
lgd_expect_error "the broken policy was not loaded" "$LGD_ERR.NoSuchPolicy" "no policy named 'broken'" lgd_gdbus Disable broken
lgd_same err "after every refused call"
lgd_eq "Generation unchanged by refused calls" "$(lgd_prop Generation)" 't 4'
sleep 0.3
lgd_eq "no PropertiesChanged for refused calls" "$(grep -c '^{' "$LG_TMP/pychanges")" "$npc"
LG_LABEL="after the refused calls"
lg_expect pass a udp 10.99.1.3 9000
lg_expect drop a udp 10.99.1.2 9000
unset LG_LABEL

lg_log "# Reload: the broken file gone, an edit of the enabled killswitch (block -> reject) is applied"
rm -f "$LGD_POLICY_DIR/broken.yaml"
cp "$LGD_POLICY_DIR/killswitch.yaml" "$LG_TMP/killswitch.yaml.orig"
"$LGD_PY" - "$LGD_POLICY_DIR/killswitch.yaml" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace("        weight: 0\n        action: block\n", "        weight: 0\n        action: block\n        reject: true\n")
s = s.replace("description: Only traffic", "description: Edited - only traffic")
open(p, "w").write(s)
PY
lgd_snap reload
saved_policies() { grep -v '^generation=' "$LGD_STATE_DIR/state.ini"; }
saved_policies >"$LG_TMP/saved.reload"
lgd_expect_ok "Reload (busctl)" lgd_busctl Reload
lgd_eq "Reload returns nothing" "$LGD_OUT" ""
lgd_ruleset | grep -q 'reject with icmpx admin-prohibited comment "killswitch/killswitch/everything-else"' &&
        lg_pass "kernel: everything-else now rejects" || lg_fail "kernel after Reload" "$(lgd_ruleset | grep everything-else)"
lgd_eq "kernel: vpn-servers parameters kept over Reload" "$(lg_in a nft list table inet leakguard | grep -o 'elements = { 10\.99\.1\.[0-9] \. udp \. 9000 }')" "elements = { 10.99.1.3 . udp . 9000 }"
lgd_eq "ListPolicies shows the new description" "$(lgd_py call ListPolicies '' '[]' | grep -o 'Edited - only traffic[^"]*')" "Edited - only traffic through the VPN tunnel may leave this machine."
LG_LABEL="after Reload: reject"
lg_expect reject a udp 10.99.1.2 9000
lg_expect pass a udp 10.99.1.3 9000
unset LG_LABEL
cp "$LG_TMP/killswitch.yaml.orig" "$LGD_POLICY_DIR/killswitch.yaml"
lgd_expect_ok "Reload (gdbus) with the original file" lgd_gdbus Reload
lgd_ruleset | grep 'comment "killswitch/killswitch/everything-else"' | grep -vq reject &&
        lg_pass "kernel: everything-else drops again" || lg_fail "kernel after the second Reload" "no drop"
lg_in a nft -s list ruleset | cmp -s - "$LG_TMP/snap.reload.nft" && lg_pass "kernel: ruleset as before the edit" ||
        lg_fail "kernel: ruleset as before the edit" "$(lg_in a nft -s list ruleset | diff "$LG_TMP/snap.reload.nft" - | head -5)"
saved_policies | cmp -s - "$LG_TMP/saved.reload" && lg_pass "state.ini: the same policies and parameters (only the generation moved)" ||
        lg_fail "state.ini after two Reloads" "$(saved_policies | diff "$LG_TMP/saved.reload" -)"

lg_log "# Disable (busctl): the table goes, traffic passes"
g_before=$(lgd_prop Generation)
lgd_expect_ok "Disable killswitch (busctl)" lgd_busctl Disable s killswitch
lgd_eq "Disable returns the new generation" "$LGD_OUT" "t $((${g_before#t } + 1))"
lgd_eq "kernel: no leakguard rules" "$(lgd_kernel_policies)" ""
lgd_has_table leakguard && lg_fail "kernel: table inet leakguard removed" "$(lg_in a nft list table inet leakguard)" ||
        lg_pass "kernel: table inet leakguard removed"
lgd_eq "state.ini: saved policies" "$(lgd_state_policies)" ""
lgd_eq "EnabledPolicies" "$(lgd_prop EnabledPolicies)" 'as 0'
lgd_eq "State" "$(lgd_prop State)" 's "idle"'
monitor_check "$((npc + 3))" "c['changed'] == {'EnabledPolicies': [], 'State': 'idle', 'Generation': ${g_before#t } + 1}" "PropertiesChanged after Disable"
lgd_wait_for 5 grep -q "'State': <'idle'>" "$LG_TMP/gdbus-monitor" && lg_pass "gdbus monitor saw State idle" ||
        lg_fail "gdbus monitor saw State idle" "$(tail -2 "$LG_TMP/gdbus-monitor")"
LG_LABEL="killswitch off"
lg_expect pass a udp 10.99.1.2 9000
lg_expect pass a udp 10.99.1.3 9000
lg_expect pass a tcp 10.99.1.2 9000
lg_expect pass a udp 10.99.1.2 9001
lg_expect pass a ping 10.99.1.2
lg_expect pass a udp fd99:1::2 9000
unset LG_LABEL
lgd_expect_ok "Disable of a policy that is not enabled succeeds (the wish already holds)" lgd_busctl Disable s killswitch
lgd_eq "... and changes nothing" "$LGD_OUT" "t $((${g_before#t } + 1))"

lg_log "# memory: what a burst of small changes freed goes back to the system once the daemon is idle"
# The trim after a small change waits until no change came for half a second (leakguardd.c), off
# the replies' path.
if grep -aq libasan "$BUILDDIR/leakguardd" || [ -n "${LG_DAEMON_WRAPPER:-}" ]; then
        lg_log "# (not measured under ASan or a wrapper such as valgrind: their allocators are not glibc's)"
else
        rss() { awk '/^VmRSS/ {print $2}' "/proc/$LG_DAEMON_PID/status"; }
        lgd_expect_ok "Enable killswitch" lgd_busctl Enable 'sa{sv}' killswitch 2 tunnel s wg0 servers as 1 10.99.1.2:9000/udp
        sleep 1
        before=$(rss)
        for i in $(seq 20); do
                out=$(lgd_busctl Disable s killswitch) || lg_fail "Disable $i" "$out"
                out=$(lgd_busctl Enable 'sa{sv}' killswitch 2 tunnel s wg0 servers as 1 10.99.1.2:9000/udp) ||
                        lg_fail "Enable $i" "$out"
        done
        burst=$(rss)
        sleep 1.5
        after=$(rss)
        # Twenty rule changes grow the heap by ~1.3 MB here (their save threads' allocations); it
        # must shrink again, back to where it was.
        [ "$after" -le $((before + 256)) ] && [ "$after" -le $((burst - 256)) ] &&
                lg_pass "idle RSS back to $after KiB after 20 Disable+Enable (before: $before, right after them: $burst)" ||
                lg_fail "idle RSS after 20 Disable+Enable" "$after KiB, before: $before, right after them: $burst"
fi
kill -0 "$LG_DAEMON_PID" && lg_pass "leakguardd still running" || lg_fail "leakguardd still running" "it died"
lg_done
