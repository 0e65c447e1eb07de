# shellcheck shell=bash
# Helpers of the daemon tests (tests/kernel/test-daemon-*.sh): leakguardd on a private system bus
# (tests/lib/bus.sh), inside network namespaces of our own (tests/lib/netns.sh), driven by busctl,
# gdbus and python3-dbus (tests/lib/lgdbus.py), checked against `nft list` and the state file.
#
# Usage:  . "$SRCDIR/tests/lib/daemon.sh"; lgd_setup ROLE…; lgd_start; …; lg_done
# The daemon runs in namespace role $LGD_ROLE (default "a"). Nothing here touches the host's
# ruleset, the host's polkit or dbus configuration, or any process this test did not start.

LGD_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$LGD_LIB/netns.sh"
. "$LGD_LIB/bus.sh"

# python3-dbus belongs to the distribution's python, not to whatever python3 comes first in PATH.
LGD_PY=${LGD_PY:-/usr/bin/python3}
LGD_POLICIES="$SRCDIR/tests/kernel/daemon-policies"
LGD_ROLE=${LGD_ROLE:-a}
LGD_NAME=org.leakguard.LeakGuard1
LGD_PATH=/org/leakguard/LeakGuard1
LGD_IFACE=org.leakguard.LeakGuard1.Manager
LGD_ERR=org.leakguard.LeakGuard1.Error

lgd__on_exit() {
        local rc=$?
        trap - EXIT
        if [ "$lg_failed" -gt 0 ] || [ "$lg_finished" -eq 0 ]; then
                if [ -n "${LG_BUS_DIR:-}" ] && [ -s "$LG_BUS_DIR/daemon.log" ]; then
                        echo "# --- leakguardd log (last 40 lines) ---"
                        tail -n 40 "$LG_BUS_DIR/daemon.log" | sed 's/^/# /'
                fi
        fi
        lgd_cleanup_extra 2>/dev/null
        lg_bus_cleanup >/dev/null 2>&1
        (exit "$rc")
        lg__on_exit
}
trap lgd__on_exit EXIT
# Tests may redefine this to stop what they started besides the bus and the daemon (by PID).
lgd_cleanup_extra() { :; }

# lgd_setup ROLE…: namespaces (the first with a veth to the second when there are two, as
# lg_topo_pair does when called instead), a private bus, a policy directory holding the shipped
# policies and the test policies, an empty state directory.
lgd_setup() {
        lg_require
        local t
        for t in busctl gdbus setpriv dbus-daemon; do
                command -v "$t" >/dev/null || lg_die "missing tool: $t"
        done
        "$LGD_PY" -c 'import dbus, gi' 2>/dev/null ||
                lg_die "$LGD_PY cannot import dbus and gi (apt-get install python3-dbus python3-gi)"
        [ -x "$BUILDDIR/leakguardd" ] || lg_die "$BUILDDIR/leakguardd is not built"
        [ $# -gt 0 ] && lg_netns_new "$@"
        LGD_POLICY_DIR="$LG_TMP/policies"
        LGD_STATE_DIR="$LG_TMP/state"
        mkdir -p "$LGD_POLICY_DIR" "$LGD_STATE_DIR"
        cp "$SRCDIR"/policy/*.yaml "$LGD_POLICIES"/*.yaml "$LGD_POLICY_DIR/"
        lg_bus_start 2>/dev/null
        [ -S "$LG_BUS_DIR/system_bus_socket" ] || lg_die "private dbus-daemon did not start"
}

# lgd_start [extra leakguardd args]: start leakguardd in $LGD_ROLE and wait for READY=1.
lgd_start() {
        lg_daemon_start "$(lg_ns "$LGD_ROLE")" --policy-dir "$LGD_POLICY_DIR" --state-dir "$LGD_STATE_DIR" "$@" ||
                lg_die "leakguardd did not start"
        lgd_wait_name || lg_die "leakguardd did not take its bus name"
}

# lgd_spawn: start leakguardd without waiting for READY=1 (see lg_daemon_wait_ready).
lgd_spawn() {
        lg_daemon_spawn "$(lg_ns "$LGD_ROLE")" --policy-dir "$LGD_POLICY_DIR" --state-dir "$LGD_STATE_DIR" "$@"
}

lgd_wait_name() {
        local i
        for i in $(seq 100); do
                busctl --system status "$LGD_NAME" >/dev/null 2>&1 && return 0
                sleep 0.05
        done
        return 1
}

# ---- clients ----

# lgd_gdbus METHOD ARGS…: a gdbus call of the Manager interface (GVariant text arguments).
lgd_gdbus() {
        local m=$1
        shift
        gdbus call --system --timeout 60 --dest "$LGD_NAME" --object-path "$LGD_PATH" --method "$LGD_IFACE.$m" "$@" 2>&1
}

# lgd_busctl METHOD SIG ARGS…: a busctl call of the Manager interface.
lgd_busctl() { busctl --system --timeout=60 call "$LGD_NAME" "$LGD_PATH" "$LGD_IFACE" "$@" 2>&1; }

# lgd_py SUBCOMMAND ARGS…: tests/lib/lgdbus.py (python3-dbus).
lgd_py() { "$LGD_PY" "$LGD_LIB/lgdbus.py" "$@"; }

# lgd_as UID CMD…: run CMD as an unprivileged uid (and the same gid), no supplementary groups.
lgd_as() {
        local uid=$1
        shift
        setpriv --reuid="$uid" --regid="$uid" --clear-groups -- "$@"
}

# lgd_prop NAME: a property as busctl prints it (`as 1 "killswitch"`, `s "idle"`, `t 3`).
lgd_prop() { busctl --system get-property "$LGD_NAME" "$LGD_PATH" "$LGD_IFACE" "$1" 2>&1; }

# lgd_error_name OUTPUT: the D-Bus error name in the output of gdbus, lgdbus.py or leakguardctl.
lgd_error_name() {
        local out=$1
        case $out in
        *GDBus.Error:*) out=${out#*GDBus.Error:}; printf '%s\n' "${out%%:*}" ;;
        ERR\ *) out=${out#ERR }; printf '%s\n' "${out%% *}" ;;
        *) printf '\n' ;;
        esac
}

LGD_OUT=
# lgd_expect_ok LABEL CMD…: the call succeeds; its output is kept in $LGD_OUT.
lgd_expect_ok() {
        local label=$1 rc
        shift
        LGD_OUT=$("$@" 2>&1)
        rc=$?
        if [ $rc -eq 0 ] && [[ $LGD_OUT != ERR\ * ]]; then
                lg_pass "$label -> ${LGD_OUT:0:100}"
        else
                lg_fail "$label" "status $rc: ${LGD_OUT:0:300}"
        fi
}

# lgd_expect_error LABEL ERROR-NAME MESSAGE-REGEX CMD…: the call fails with that D-Bus error and a
# message matching MESSAGE-REGEX (extended, '' for any). The output is kept in $LGD_OUT.
lgd_expect_error() {
        local label=$1 want=$2 re=$3 rc name msg
        shift 3
        LGD_OUT=$("$@" 2>&1)
        rc=$?
        name=$(lgd_error_name "$LGD_OUT")
        msg=${LGD_OUT#*"$name"}
        msg=${msg#:}
        msg=${msg# }
        if [ "$name" != "$want" ]; then
                lg_fail "$label" "want $want, got status $rc: ${LGD_OUT:0:300}"
        elif [ -n "$re" ] && ! grep -Eq -- "$re" <<<"$msg"; then
                lg_fail "$label" "$want, but the message does not match /$re/: ${msg:0:300}"
        else
                msg=${msg//$'\n'/ | }
                lg_pass "$label -> $want: ${msg:0:160}"
        fi
}

# ---- the kernel and the state directory ----

# (`nft list ruleset` also shows the daemon's tamper guard, table inet leakguard_guard: a copy of
# table inet leakguard made in the same transactions. To find one of the daemon's rules or elements
# once, list table inet leakguard.)
lgd_ruleset() { lg_in "$LGD_ROLE" nft list ruleset; }
# lgd_has_table NAME: table inet NAME exists in the daemon's namespace.
lgd_has_table() { lg_in "$LGD_ROLE" nft list table inet "$1" >/dev/null 2>&1; }

# lgd_snap TAG: remember the kernel ruleset (`nft list ruleset`, counters included; set
# LGD_LIST_FLAGS=-s to leave counter values out where other traffic moves them) and the state
# directory's files, byte for byte.
LGD_LIST_FLAGS=${LGD_LIST_FLAGS:-}
lgd_snap() {
        local tag=$1
        lg_in "$LGD_ROLE" nft $LGD_LIST_FLAGS list ruleset >"$LG_TMP/snap.$tag.nft" 2>&1
        lgd__state_files >"$LG_TMP/snap.$tag.state"
}

lgd__state_files() {
        local f
        for f in "$LGD_STATE_DIR"/*; do
                [ -e "$f" ] || continue
                printf '=== %s\n' "$(basename "$f")"
                cat "$f"
        done
}

# lgd_same TAG LABEL: kernel ruleset and state files are byte-identical to snapshot TAG.
lgd_same() {
        local tag=$1 label=$2
        lg_in "$LGD_ROLE" nft $LGD_LIST_FLAGS list ruleset >"$LG_TMP/now.nft" 2>&1
        lgd__state_files >"$LG_TMP/now.state"
        if cmp -s "$LG_TMP/snap.$tag.nft" "$LG_TMP/now.nft" && cmp -s "$LG_TMP/snap.$tag.state" "$LG_TMP/now.state"; then
                lg_pass "$label: ruleset (nft $LGD_LIST_FLAGS list ruleset, $(wc -c <"$LG_TMP/now.nft") bytes) and state files ($(wc -c <"$LG_TMP/now.state") bytes) unchanged"
        else
                lg_fail "$label" "changed: $(diff "$LG_TMP/snap.$tag.nft" "$LG_TMP/now.nft" | head -5 | tr '\n' ' ') $(diff "$LG_TMP/snap.$tag.state" "$LG_TMP/now.state" | head -5 | tr '\n' ' ')"
        fi
}

# lgd_kernel_policies: the policies that have rules in the kernel (from the rule comments
# "policy/sublayer/filter" of both leakguard tables), sorted, space-separated.
lgd_kernel_policies() {
        { lg_in "$LGD_ROLE" nft list table inet leakguard 2>/dev/null
          lg_in "$LGD_ROLE" nft list table inet leakguard_dynamic 2>/dev/null; } |
                sed -n 's/.*comment "\([^/"]*\)\/.*/\1/p' | sort -u | tr '\n' ' ' | sed 's/ $//'
}

# lgd_enabled_property: EnabledPolicies, sorted, space-separated.
lgd_enabled_property() {
        lgd_py get EnabledPolicies | "$LGD_PY" -c 'import json,sys; print(" ".join(sorted(json.load(sys.stdin))))'
}

# lgd_status_enabled: the policies Status() reports as enabled, sorted, space-separated.
lgd_status_enabled() {
        lgd_py call Status '' '[]' | "$LGD_PY" -c '
import json, sys
line = sys.stdin.read()
assert line.startswith("OK "), line
s = json.loads(line[3:])[0]
print(" ".join(sorted(n for n, p in s["Policies"].items() if p["Enabled"])))'
}

# lgd_status_get EXPR: evaluates a python expression over the Status() dict `s` and prints it.
lgd_status_get() {
        lgd_py call Status '' '[]' | "$LGD_PY" -c '
import json, sys
line = sys.stdin.read()
assert line.startswith("OK "), line
s = json.loads(line[3:])[0]
print(eval(sys.argv[1]))' "$1"
}

# lgd_state_policies: the policies saved in STATE_DIR/state.ini, sorted, space-separated.
lgd_state_policies() {
        [ -f "$LGD_STATE_DIR/state.ini" ] || return 0
        sed -n 's/^policies=//p' "$LGD_STATE_DIR/state.ini" | tr ';' '\n' | sed '/^$/d' | sort | tr '\n' ' ' |
                sed 's/ $//'
}

# lgd_eq LABEL GOT WANT
lgd_eq() {
        if [ "$2" = "$3" ]; then lg_pass "$1: '$2'"; else lg_fail "$1" "got '$2', want '$3'"; fi
}

# lgd_wait_for SECONDS CMD…: polls CMD every 50 ms until it succeeds.
lgd_wait_for() {
        local n=$(($1 * 20))
        shift
        while [ $n -gt 0 ]; do
                "$@" >/dev/null 2>&1 && return 0
                sleep 0.05
                n=$((n - 1))
        done
        return 1
}
