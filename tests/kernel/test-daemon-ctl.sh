#!/usr/bin/env bash
# leakguardctl's online commands (DESIGN §4: status, list, enable NAME [key=value…], disable NAME,
# reload, and --json) against leakguardd on the private bus: what it prints, its exit status, the
# named errors it passes on, what the kernel holds afterwards, and real packets through a veth
# into a second namespace (blocked after `enable killswitch`, passing after `disable`).
. "$(dirname "$0")/../lib/daemon.sh"
lgd_setup
lg_topo_pair 9000,9001
CTL=$LEAKGUARDCTL
LGD_LIST_FLAGS=-s   # traffic on the veth moves counters: compare without their values

# ctl LABEL WANT-STATUS(0|fail) REGEX ARGS…: run leakguardctl, check its exit status and that its
# output (stdout and stderr) matches REGEX ('' for any). The output is kept in $CTL_OUT.
ctl() {
        local label=$1 want=$2 re=$3 rc
        shift 3
        CTL_OUT=$("$@" 2>&1)
        rc=$?
        if { [ "$want" = 0 ] && [ $rc -ne 0 ]; } || { [ "$want" = fail ] && [ $rc -eq 0 ]; }; then
                lg_fail "$label" "exit status $rc: ${CTL_OUT:0:300}"
        elif [ -n "$re" ] && ! grep -Eq -- "$re" <<<"$CTL_OUT"; then
                lg_fail "$label" "output does not match /$re/: ${CTL_OUT:0:300}"
        else
                lg_pass "$label (status $rc): $(head -1 <<<"$CTL_OUT" | cut -c1-120)"
        fi
}
json_eval() { "$LGD_PY" -c 'import json,sys; d=json.loads(sys.stdin.read()); print(eval(sys.argv[1]))' "$1"; }

lgd_start
"$CTL" --help 2>&1 | grep -q 'enable NAME' || lg_fail "leakguardctl --help lists the online commands" "$("$CTL" --help 2>&1 | head -5)"

lg_log "# list and status, before anything is enabled"
ctl "list" 0 '^killswitch +disabled +Only traffic' "$CTL" list
lgd_eq "list: one line per policy" "$(awk '{print $1, $2}' <<<"$CTL_OUT" | tr '\n' ' ')" "dns-leak disabled dyn-block disabled ipv6-leak disabled killswitch disabled typed disabled "
ctl "--json list" 0 '' "$CTL" --json list
lgd_eq "--json list parses" "$(json_eval "sorted((p[0], p[2]) for p in (d[0] if isinstance(d[0], list) and d and isinstance(d[0][0], list) else d))" <<<"$CTL_OUT" 2>&1)" \
        "[('dns-leak', False), ('dyn-block', False), ('ipv6-leak', False), ('killswitch', False), ('typed', False)]"
ctl "status" 0 'State: idle +Generation: 0' "$CTL" status

lg_log "# enable killswitch: the kernel, the properties, real packets"
ctl "enable killswitch tunnel=wg0 servers=10.99.1.2:9000/udp" 0 '^Enable killswitch: generation 1$' \
        "$CTL" enable killswitch tunnel=wg0 servers=10.99.1.2:9000/udp
lgd_eq "kernel: policies with rules" "$(lgd_kernel_policies)" "killswitch"
lgd_ruleset | grep -q 'elements = { 10.99.1.2 . udp . 9000 }' && lg_pass "kernel: the server from the command line" ||
        lg_fail "kernel: server" "$(lgd_ruleset | grep -A3 vpn-servers | head -8)"
lgd_eq "EnabledPolicies" "$(lgd_prop EnabledPolicies)" 'as 1 "killswitch"'
LG_LABEL="leakguardctl enable"
lg_expect pass a udp 10.99.1.2 9000
lg_expect drop a udp 10.99.1.3 9000
lg_expect drop a tcp 10.99.1.2 9000
unset LG_LABEL
ctl "enable again with two servers (a list, comma-separated) and allow_lan=false" 0 '^Enable killswitch: generation 2$' \
        "$CTL" enable killswitch tunnel=wg0 servers=10.99.1.2:9000/udp,10.99.1.3:9000/udp allow_lan=false
lgd_ruleset | grep -Eq 'elements = \{ 10.99.1.2 . udp . 9000,\s*$' && lgd_ruleset | grep -q '10.99.1.3 . udp . 9000 }' &&
        lg_pass "kernel: both servers" || lg_fail "kernel: both servers" "$(lgd_ruleset | grep -A4 'ipv4_addr . inet_proto' | head -8)"
lg_expect pass a udp 10.99.1.3 9000
ctl "--json enable" 0 '^\{"generation": ?3\}$' "$CTL" --json enable killswitch tunnel=wg0 servers=10.99.1.3:9000/udp

lg_log "# status: the tree and --json"
ctl "status" 0 'State: protecting +Generation: 3' "$CTL" status
grep -q 'everything-else' <<<"$CTL_OUT" && grep -q 'killswitch' <<<"$CTL_OUT" && grep -Eq '[1-9][0-9]* pkts' <<<"$CTL_OUT" &&
        lg_pass "status shows the killswitch's filters and live counters" || lg_fail "status: filters and counters" "$CTL_OUT"
grep -q '10.99.1.3:9000/udp' <<<"$CTL_OUT" && lg_pass "status shows the parameters" || lg_fail "status: parameters" "$CTL_OUT"
ctl "--json status" 0 '' "$CTL" --json status
lgd_eq "--json status: state, generation, killswitch's servers" \
        "$(json_eval "(lambda s: (s['State'], s['Generation'], s['Policies']['killswitch']['Enabled'], s['Policies']['killswitch']['Parameters']['servers']))(d[0] if isinstance(d, list) else d)" <<<"$CTL_OUT" 2>&1)" \
        "('protecting', 3, True, ['10.99.1.3:9000/udp'])"

lg_log "# errors: named, non-zero exit, nothing changed"
lgd_snap before-errors
ctl "enable an unknown policy" fail "org.leakguard.LeakGuard1.Error.NoSuchPolicy" "$CTL" enable killswich tunnel=wg0
grep -q "did you mean 'killswitch'" <<<"$CTL_OUT" && lg_pass "  … with a suggestion" || lg_fail "  … suggestion" "$CTL_OUT"
ctl "enable without a required parameter" fail "org.leakguard.LeakGuard1.Error.InvalidParameters" "$CTL" enable killswitch tunnel=wg0
ctl "enable with an unknown parameter" fail "org.leakguard.LeakGuard1.Error.InvalidParameters|no parameter 'tunel'" \
        "$CTL" enable killswitch tunel=wg0 servers=10.99.1.2
ctl "enable with a hostile tunnel" fail "InvalidParameters|interface name" "$CTL" enable killswitch 'tunnel=wg0" ; flush ruleset ; "' servers=10.99.1.2
ctl "enable with a bad bool" fail "allow_lan" "$CTL" enable killswitch tunnel=wg0 servers=10.99.1.2 allow_lan=perhaps
ctl "enable with an argument that is not KEY=VALUE" fail "" "$CTL" enable killswitch tunnel
ctl "disable an unknown policy" fail "org.leakguard.LeakGuard1.Error.NoSuchPolicy" "$CTL" disable nosuch
cp "$LGD_POLICIES/broken.yaml.off" "$LGD_POLICY_DIR/broken.yaml"
ctl "reload with a broken file" fail "org.leakguard.LeakGuard1.Error.InvalidPolicy|broken.yaml:12:18" "$CTL" reload
grep -q "broken.yaml:12:18: unknown condition 'remote_prot'" <<<"$CTL_OUT" && lg_pass "  … naming file, line, column" || lg_fail "  … file:line:col" "$CTL_OUT"
rm -f "$LGD_POLICY_DIR/broken.yaml"
ctl "uid 65534: disable" fail "org.freedesktop.DBus.Error.AccessDenied" lgd_as 65534 "$CTL" disable killswitch
ctl "uid 65534: enable" fail "org.freedesktop.DBus.Error.AccessDenied" lgd_as 65534 "$CTL" enable killswitch tunnel=wg0 servers=10.99.1.2
ctl "uid 65534: reload" fail "org.freedesktop.DBus.Error.AccessDenied" lgd_as 65534 "$CTL" reload
ctl "uid 65534: status" 0 'State: protecting' lgd_as 65534 "$CTL" status
ctl "uid 65534: list" 0 '^killswitch +enabled' lgd_as 65534 "$CTL" list
lgd_same before-errors "after the refused commands"

lg_log "# reload, disable"
ctl "reload" 0 '' "$CTL" reload
ctl "disable killswitch" 0 '^Disable killswitch: generation [0-9]+$' "$CTL" disable killswitch
lgd_eq "kernel: no leakguard rules" "$(lgd_kernel_policies)" ""
lgd_eq "EnabledPolicies" "$(lgd_prop EnabledPolicies)" 'as 0'
LG_LABEL="leakguardctl disable"
lg_expect pass a udp 10.99.1.2 9000
lg_expect pass a udp 10.99.1.3 9000
lg_expect pass a tcp 10.99.1.2 9000
unset LG_LABEL
ctl "--json disable (not enabled: succeeds, same generation)" 0 '^\{"generation": ?[0-9]+\}$' "$CTL" --json disable killswitch
ctl "list" 0 '^killswitch +disabled' "$CTL" list

lg_log "# no daemon on the bus"
lg_daemon_stop TERM
ctl "status without leakguardd" fail "org.freedesktop.DBus.Error.ServiceUnknown|not provided|leakguard" "$CTL" status
ctl "enable without leakguardd" fail "" "$CTL" enable killswitch tunnel=wg0 servers=10.99.1.2
lg_done
