#!/usr/bin/env bash
# Abusive D-Bus callers and a broken polkit (issue 7; the malformed-input cases are in
# test-daemon-hostile.sh): 1 MB strings, 100,000- and 2,000,001-element arrays, deeply nested
# variants, thousands of unknown parameters, thousands of concurrent calls from many connections,
# clients that disconnect mid-call, and a fake polkit (tests/lib/fakepolkit.py) that never answers,
# answers late, answers garbage or fails. Every call gets a named error or a correct answer; the
# daemon keeps answering Status meanwhile; the kernel ruleset and the state files are
# byte-identical before and after every refused call (docs/limits.md lists the limits checked).
. "$(dirname "$0")/../lib/daemon.sh"
getent passwd polkitd >/dev/null || lg_die "no polkitd user (apt-get install polkitd)"
lgd_setup a
LGD_LIST_FLAGS=""
PK_PID=
lgd_cleanup_extra() { [ -n "$PK_PID" ] && kill "$PK_PID" 2>/dev/null && wait "$PK_PID" 2>/dev/null; }
AB="$LGD_LIB/lgabuse.py"
ab() { "$LGD_PY" "$AB" "$@"; }
# The daemon gives polkit 3 s instead of 30 (src/polkit.c), so that "never answers" ends quickly.
export LEAKGUARD_POLKIT_TIMEOUT_MS=3000
# Latency bounds in ms; under LG_DAEMON_WRAPPER (valgrind: tests/kernel/test-valgrind.sh) 10 times as long.
SLOW=1
[ -n "${LG_DAEMON_WRAPPER:-}" ] && SLOW=10
IA=org.freedesktop.DBus.Error.InvalidArgs
IP=$LGD_ERR.InvalidParameters
NS=$LGD_ERR.NoSuchPolicy
AD=org.freedesktop.DBus.Error.AccessDenied

lgd_start
lgd_expect_ok "setup: Enable killswitch" lgd_busctl Enable 'sa{sv}' killswitch 2 tunnel s wg0 servers as 1 192.0.2.1:51820/udp
lgd_snap base

# refused LABEL ERROR-NAME MESSAGE-REGEX KIND…: lgabuse.py call; a named error with a short message,
# and the kernel and the state files as they were.
refused() {
        local label=$1 want=$2 re=$3
        shift 3
        lgd_expect_error "$label" "$want" "$re" ab call "$@"
        local len
        len=$(sed -n 's/^LEN //p' <<<"$LGD_OUT")
        if [ -n "$len" ] && [ "$len" -gt 2000 ]; then lg_fail "  … the error message is short" "$len bytes"; fi
        lgd_same base "  … after: $label"
}
alive() {
        kill -0 "$LG_DAEMON_PID" 2>/dev/null && lg_pass "$1: leakguardd still running" || lg_fail "$1: leakguardd" "died"
}

lg_log "# 1 MB strings everywhere a string goes"
refused "Enable with a 1 MB policy name" $NS "^no policy named 'A{60}'" Enable 's*1048576:A' 'a{sv}*0:x'
refused "Disable with a 1 MB policy name" $NS "^no policy named" Disable 's*1048576:B'
refused "Enable killswitch with a 1 MB parameter name" $IP "has no parameter 'C{60}'" Enable s:killswitch 'a{sv}*1:*1048576:C'
refused "Enable killswitch with a 1 MB tunnel" $IP "tunnel" Enable s:killswitch 'kv:tunnel=s*1048576:w' 'kv:servers=as:192.0.2.1'
refused "Enable killswitch with a 1 MB server" $IP "servers" Enable s:killswitch 'kv:tunnel=s:wg0' 'kv:servers=as1*1048576:1'
refused "Enable typed with a 1 MB string parameter" $IP "cgroup" Enable s:typed 'kv:iface=s:lo' 'kv:ifaces=as:lo' 'kv:addrs=as:' 'kv:eps=as:' 'kv:ports=aq*1:53' 'kv:who=s:0' 'kv:cgroup=s*1048576:c'
refused "Status with a 1 MB argument" $IA "" Status 's*1048576:S'

lg_log "# 100,000-element arrays and 100,000 parameters"
refused "killswitch with 100,000 invalid servers" $IP "servers" Enable s:killswitch 'kv:tunnel=s:wg0' 'kv:servers=as*100000:x#'
refused "killswitch with 100,000 unknown parameters" $IP "has no parameter" Enable s:killswitch 'a{sv}*100000:p#'
refused "typed with 2,000,001 ports (aq)" $IP "more than 2000000 items" Enable s:typed 'kv:iface=s:lo' 'kv:ifaces=as:lo' 'kv:addrs=as:' 'kv:eps=as:' 'kv:ports=aq*2000001:53' 'kv:who=s:0'
refused "typed with 2,000,001 ports (as)" $IP "more than 2000000 items" Enable s:typed 'kv:iface=s:lo' 'kv:ifaces=as:lo' 'kv:addrs=as:' 'kv:eps=as:' 'kv:ports=as*2000001:9' 'kv:who=s:0'
alive "after the huge calls"

lg_log "# deeply nested variants: a variant where a string belongs is refused by signature"
for depth in 2 8 32 60; do
        refused "tunnel nested $depth variants deep" $IP "not v" Enable s:killswitch "v*$depth"
done
for depth in 63 64 65 200; do
        # Past D-Bus's nesting limit: libdbus or the bus refuses to carry it; the daemon never sees it.
        out=$(ab call Enable s:killswitch "v*$depth" 2>&1)
        [[ $out == ERR\ * ]] && lg_pass "tunnel nested $depth variants deep: refused (${out:0:120})" || lg_fail "nested $depth" "${out:0:200}"
        lgd_same base "  … after nesting $depth"
done
alive "after the nested variants"

lg_log "# Explain (anyone may call it): the same abuse"
refused "Explain with a 1 MB remote" $IP "" Explain 'kv:remote=s*1048576:1'
refused "Explain with a 1 MB interface" $IP "" Explain 'kv:interface=s*1048576:i'
refused "Explain with a 1 MB unknown key" $IP "" Explain 'a{sv}*1:*1048576:k'
refused "Explain with 100,000 unknown keys" $IP "" Explain 'a{sv}*100000:k#'
refused "Explain with remote nested 8 variants deep" $IP "" Explain 'v*8:remote'
refused "Explain with a string argument" $IA "" Explain 's*1048576:x'
lgd_expect_ok "Explain still answers a plain question" ab call Explain 'kv:remote=s:192.0.2.9:53' 'kv:protocol=s:udp'

lg_log "# thousands of concurrent calls from 20 connections (3000 calls, 100 in flight on each)"
out=$(ab flood 20 150)
lg_log "# flood: $out"
"$LGD_PY" - "$out" <<'PY' && lg_pass "flood: every call answered, only named errors" || lg_fail "flood" "$out"
import json, sys
r = json.loads(sys.argv[1])
# LimitsExceeded: more than LG_MAX_PENDING_AUTH (1024) privileged calls wait for authorization.
ok_names = {"ok", "org.leakguard.LeakGuard1.Error.InvalidParameters", "org.leakguard.LeakGuard1.Error.NoSuchPolicy",
            "org.freedesktop.DBus.Error.LimitsExceeded"}
assert r["replies"] == r["total"] == 3000, r
assert r["noreply"] == 0, r
assert set(r["names"]) <= ok_names, r["names"]
PY
worst=$("$LGD_PY" -c 'import json,sys; print(int(json.loads(sys.argv[1])["status_ms_max"]))' "$out")
[ "$worst" -lt 30000 ] && lg_pass "flood: the slowest Status took $worst ms (queued behind the flood)" || lg_fail "flood: Status" "$worst ms"
lgd_eq "after the flood: EnabledPolicies and the kernel agree" "$(lgd_enabled_property)" "$(lgd_kernel_policies)"
lgd_eq "after the flood: state.ini agrees" "$(lgd_state_policies)" "$(lgd_kernel_policies)"
lgd_eq "after the flood: State" "$(lgd_prop State)" 's "protecting"'

lg_log "# 200 clients that send Enable (valid, 1 MB, dynamic) and Status, and disconnect at once"
lgd_expect_ok "vanishing clients" ab vanish 200
no_dynamic() { ! lgd_has_table leakguard_dynamic && [[ $(lgd_prop EnabledPolicies) != *dyn-block* ]]; }
lgd_wait_for 20 no_dynamic && lg_pass "no dynamic policy of a vanished client is left" ||
        lg_fail "dynamic policy of vanished clients" "$(lgd_prop EnabledPolicies)"
alive "after the vanishing clients"
lgd_eq "after the vanishing clients: EnabledPolicies and the kernel agree" "$(lgd_enabled_property)" "$(lgd_kernel_policies)"
lgd_eq "after the vanishing clients: State" "$(lgd_prop State)" 's "protecting"'
lgd_expect_ok "back to the killswitch alone" lgd_busctl Disable s dns-leak
lgd_snap base

# ---- a broken polkit ----
pk_start() { # MODE
        lgd_cleanup_extra
        PK_PID=
        lgd_wait_for 10 sh -c '! busctl --system status org.freedesktop.PolicyKit1' || lg_die "the previous fake polkit still owns its name"
        : >"$LG_TMP/pk.log"
        # As polkitd: only that user may own org.freedesktop.PolicyKit1 (polkit's own bus policy).
        # setpriv itself, not lgd_as: a function in the background is a subshell, and its PID not
        # the fake polkit's.
        local u
        u=$(id -u polkitd)
        setpriv --reuid="$u" --regid="$(id -g polkitd)" --clear-groups -- \
                "$LGD_PY" "$LGD_LIB/fakepolkit.py" "$1" - >>"$LG_TMP/pk.log" 2>>"$LG_TMP/pk.err" &
        PK_PID=$!
        lgd_wait_for 10 grep -qx ready "$LG_TMP/pk.log" || lg_die "fake polkit ($1) did not start: $(cat "$LG_TMP/pk.log" "$LG_TMP/pk.err")"
}
as_nobody() { lgd_as 65534 "$LGD_PY" "$LGD_LIB/lgdbus.py" "$@"; }
# timed LABEL ERROR-OR-OK MESSAGE-REGEX MIN-S MAX-S CMD…: the call's result and how long it took,
# while root's Status must keep answering within a second.
timed() {
        local label=$1 want=$2 re=$3 min=$4 max=$5
        shift 5
        local t0 t1 lat
        t0=$(date +%s.%N)
        "$@" >"$LG_TMP/timed.out" 2>&1 &
        local pid=$!
        lat=$(ab latency 10)
        wait "$pid"
        t1=$(date +%s.%N)
        LGD_OUT=$(cat "$LG_TMP/timed.out")
        local took
        took=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
        if [ "$want" = ok ]; then
                [[ $LGD_OUT == OK\ * ]] && lg_pass "$label -> $LGD_OUT" || lg_fail "$label" "$LGD_OUT"
        else
                local name msg
                name=$(lgd_error_name "$LGD_OUT")
                msg=${LGD_OUT#ERR "$name" }
                [ "$name" = "$want" ] && grep -Eq -- "$re" <<<"$msg" && lg_pass "$label -> $name: ${msg:0:140}" ||
                        lg_fail "$label" "want $want /$re/: $LGD_OUT"
        fi
        awk -v t="$took" -v lo="$min" -v hi="$max" -v slow="$SLOW" 'BEGIN { exit !(t >= lo && t <= hi * slow) }' &&
                lg_pass "  … it took ${took} s (expected $min-$max s)" || lg_fail "  … it took ${took} s" "expected $min-$max s"
        [ "$lat" -lt $((1000 * SLOW)) ] && lg_pass "  … meanwhile the slowest of 10 Status calls took $lat ms" ||
                lg_fail "  … Status while waiting for polkit" "$lat ms"
}

lg_log "# polkit never answers: AccessDenied after the daemon's timeout (3 s here, 30 s by default)"
pk_start never
timed "uid 65534: Enable while polkit never answers" $AD "^Enable: polkit could not decide" 2.5 8 \
        as_nobody call Enable 'sa{sv}' '["ipv6-leak", {}]'
lgd_same base "after the unanswered authorization"
grep -q "^check " "$LG_TMP/pk.log" && lg_pass "the fake polkit was asked" || lg_fail "the fake polkit was asked" "$(cat "$LG_TMP/pk.log")"
# 300 unprivileged calls at once, from 3 connections: more than the bus lets the daemon have
# pending (max_replies_per_connection 128): all end in AccessDenied, none without an answer.
t0=$(date +%s)
out=$(lgd_as 65534 "$LGD_PY" "$AB" burst 3 100 Disable killswitch 2>&1)
t1=$(date +%s)
[ "$out" = '{"org.freedesktop.DBus.Error.AccessDenied": 300}' ] &&
        lg_pass "300 concurrent unprivileged Disables while polkit never answers: all AccessDenied in $((t1 - t0)) s" ||
        lg_fail "300 concurrent unprivileged Disables" "$out"
lgd_same base "after 300 unanswered authorizations"
lat=$(ab latency 10)
[ "$lat" -lt $((1000 * SLOW)) ] && lg_pass "Status afterwards: slowest of 10 took $lat ms" || lg_fail "Status afterwards" "$lat ms"

lg_log "# polkit answers late"
pk_start delay:2:yes
timed "uid 65534: Enable ipv6-leak, polkit says yes after 2 s" ok "" 1.5 8 \
        as_nobody call Enable 'sa{sv}' '["ipv6-leak", {}]'
lgd_eq "kernel: ipv6-leak applied" "$(lgd_kernel_policies)" "ipv6-leak killswitch"
lgd_expect_ok "root: Disable ipv6-leak" lgd_busctl Disable s ipv6-leak
lgd_snap base
lg_log "# a client that disconnects while polkit thinks: nothing of its call may stay"
# The client stays 1 s (long enough for the daemon to ask polkit), polkit answers yes after 2 s.
pk_start delay:2:yes
out=$(lgd_as 65534 "$LGD_PY" "$AB" linger 1 dyn-block 2>&1)
lg_log "# Enable dyn-block sent by $out, which left after 1 s"
grep -q "check $out" "$LG_TMP/pk.log" && lg_pass "the fake polkit was asked about $out before it left" ||
        lg_fail "the fake polkit was asked about $out" "$(cat "$LG_TMP/pk.log")"
sleep 2.5
lgd_eq "dyn-block of a client gone during authorization is not enabled" "$(lgd_prop EnabledPolicies)" 'as 1 "killswitch"'
lgd_has_table leakguard_dynamic && lg_fail "no dynamic table" "$(lgd_ruleset | grep -A3 leakguard_dynamic | head -5)" ||
        lg_pass "no table inet leakguard_dynamic"
# Enabled, then disabled as soon as the daemon learns the client is gone (src/bus.c
# check_owner_present): the kernel is as before, the generation moved on.
lgd_ruleset >"$LG_TMP/now.nft" 2>&1
cmp -s "$LG_TMP/snap.base.nft" "$LG_TMP/now.nft" && lg_pass "after the vanished client's authorized call: the kernel ruleset is as before" ||
        lg_fail "after the vanished client's authorized call: kernel" "$(diff "$LG_TMP/snap.base.nft" "$LG_TMP/now.nft" | head -5)"
grep -q "disabled 1 dynamic policies of $out, which left the bus" "$LG_BUS_DIR/daemon.log" &&
        lg_pass "the daemon says it disabled the dynamic policy of $out" || lg_fail "daemon log" "$(tail -3 "$LG_BUS_DIR/daemon.log")"
lgd_snap base
pk_start delay:2:no
timed "uid 65534: Enable, polkit says no after 2 s" $AD "^Enable: polkit denied the action" 1.5 8 \
        as_nobody call Enable 'sa{sv}' '["ipv6-leak", {}]'
lgd_same base "after the late denial"

lg_log "# polkit answers nonsense or fails"
pk_start garbage
timed "uid 65534: Enable, polkit answers with a body of the wrong type" $AD "^Enable: polkit sent an unreadable answer" 0 3 \
        as_nobody call Enable 'sa{sv}' '["ipv6-leak", {}]'
lgd_same base "after polkit's garbage"
pk_start error
timed "uid 65534: Disable, polkit fails" $AD "^Disable: polkit could not decide \(the fake polkit fails on purpose\)" 0 3 \
        as_nobody call Disable s '["killswitch"]'
lgd_same base "after polkit's error"
lgd_cleanup_extra
PK_PID=

lg_log "# valid but large: 100,000 addresses in one parameter are applied as one set"
lgd_expect_ok "typed with 100,000 addresses" ab call Enable s:typed 'kv:iface=s:lo' 'kv:ifaces=as:lo' 'kv:addrs=as*100000:ADDR' 'kv:eps=as:' 'kv:ports=aq*1:53' 'kv:who=s:0'
n=$(lg_in a nft -j list set inet leakguard "$(lgd_ruleset | sed -n 's/^\t*set \(.*typed.*addrs.*v4[^ ]*\) {.*/\1/p' | head -1)" 2>/dev/null |
        "$LGD_PY" -c 'import json,sys
d=json.load(sys.stdin)
for o in d["nftables"]:
    if "set" in o: print(len(o["set"].get("elem", [])))' 2>/dev/null)
[ -n "$n" ] && [ "$n" -ge 1 ] && lg_pass "kernel: the typed address set holds $n elements (merged ranges)" || lg_fail "kernel: typed address set" "'$n'"
lat=$(ab latency 5)
[ "$lat" -lt $((5000 * SLOW)) ] && lg_pass "Status with 100,000 addresses enabled: slowest of 5 took $lat ms" || lg_fail "Status with a big set" "$lat ms"
lgd_expect_ok "Disable typed" lgd_busctl Disable s typed

lg_log "# the end: alive, consistent, no sanitizer report"
alive "at the end"
lgd_eq "State" "$(lgd_prop State)" 's "protecting"'
lgd_eq "EnabledPolicies and the kernel agree" "$(lgd_enabled_property)" "$(lgd_kernel_policies)"
grep -Eq 'AddressSanitizer|runtime error|LeakSanitizer|CRITICAL' "$LG_BUS_DIR/daemon.log" &&
        lg_fail "daemon log free of sanitizer reports" "$(grep -E 'AddressSanitizer|runtime error|LeakSanitizer|CRITICAL' "$LG_BUS_DIR/daemon.log" | head -3)" ||
        lg_pass "daemon log free of sanitizer reports and criticals"

lg_log "# SIGTERM while calls wait for a polkit that never answers: they get AccessDenied, not silence"
pk_start never
lgd_as 65534 "$LGD_PY" "$AB" burst 1 3 Disable killswitch >"$LG_TMP/stopping.out" 2>&1 &
burst=$!
lgd_wait_for 10 sh -c "[ \$(grep -c '^check ' '$LG_TMP/pk.log') -ge 3 ]" || lg_fail "the fake polkit was asked 3 times" "$(cat "$LG_TMP/pk.log")"
lg_daemon_stop TERM
wait "$burst"
lgd_eq "the 3 waiting callers were answered" "$(cat "$LG_TMP/stopping.out")" '{"org.freedesktop.DBus.Error.AccessDenied": 3}'
lgd_eq "leakguardd exited cleanly (status 0; 99 would be a valgrind error)" "$LG_DAEMON_STATUS" 0
lg_done
