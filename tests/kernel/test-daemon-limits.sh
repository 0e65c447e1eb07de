#!/usr/bin/env bash
# The documented limits (docs/limits.md) with the real daemon: at most 256 policy files (the rest
# skipped at start-up with a message, Reload refused while there are more), a policy file larger
# than 4 MiB and a FIFO in a policy directory (neither read, neither hangs the start or Reload),
# at most 2,000,000 items in all parameters of one Enable, and a D-Bus message over the bus's
# 32 MiB, which never reaches the daemon. Each limit gives a clear error and changes nothing.
. "$(dirname "$0")/../lib/daemon.sh"
lgd_setup a
LGD_LIST_FLAGS=""
AB="$LGD_LIB/lgabuse.py"
ab() { "$LGD_PY" "$AB" "$@"; }
IP=$LGD_ERR.InvalidParameters

MANY="$LG_TMP/many"
mkdir -p "$MANY"
policy() { # NAME: a small valid policy
        printf 'policy: %s\nsublayers:\n  - name: s\n    weight: 1\n    filters:\n      - { name: f, layers: [outbound], weight: 1, action: block, match: { remote: 192.0.2.250 } }\n' "$1"
}
for i in $(seq -w 0 299); do policy "p$i" >"$MANY/p$i.yaml"; done
# Two list parameters, to reach the limit on all parameters together.
cat >"$LGD_POLICY_DIR/two-lists.yaml" <<'EOF'
policy: two-lists
parameters:
  a: { type: ports }
  b: { type: ports }
sublayers:
  - name: s
    weight: 1
    filters:
      - { name: f, layers: [outbound], weight: 1, action: block, match: { remote_port: [$a, $b], remote: 192.0.2.251 } }
EOF
first=$(ls "$LGD_POLICY_DIR"/*.yaml | wc -l)

lg_log "# $first policy files in the first directory and 300 in the second: 256 are loaded"
lgd_start --policy-dir "$MANY"
n=$(lgd_busctl ListPolicies | awk '{print $2}')
lgd_eq "ListPolicies: 256 policies" "$n" 256
skipped=$(grep -c "not loaded, more than 256 policy files" "$LG_BUS_DIR/daemon.log")
lgd_eq "the log names each file not loaded" "$skipped" $((first + 300 - 256))
lgd_expect_ok "a loaded one can be enabled" lgd_busctl Enable 'sa{sv}' p000 0
lgd_snap many
lgd_expect_error "Reload while there are more than 256 files" $LGD_ERR.InvalidPolicy "not loaded, more than 256 policy files" \
        lgd_gdbus Reload
lgd_same many "after the refused Reload"
rm -f "$MANY"/p2[0-9][0-9].yaml
lgd_expect_ok "Reload with 100 files fewer" lgd_gdbus Reload
n=$(lgd_busctl ListPolicies | awk '{print $2}')
lgd_eq "ListPolicies after the Reload" "$n" $((first + 200))

lg_log "# a policy file over 4 MiB and a FIFO in a policy directory: reported, never read, no hang"
truncate -s $((4 * 1024 * 1024 + 1)) "$MANY/huge.yaml"
mkfifo "$MANY/fifo.yaml"
lgd_snap files
t0=$(date +%s)
lgd_expect_error "Reload with a 4 MiB + 1 file and a FIFO" $LGD_ERR.InvalidPolicy \
        "huge.yaml: file is 4194305 bytes, a policy file may have at most 4194304 bytes" lgd_gdbus Reload
grep -q "fifo.yaml: a FIFO, not a policy file" <<<"$LGD_OUT" && lg_pass "  … and it names the FIFO" || lg_fail "  … the FIFO" "$LGD_OUT"
[ $(($(date +%s) - t0)) -lt 10 ] && lg_pass "  … within $(($(date +%s) - t0)) s" || lg_fail "  … Reload hung" "$(($(date +%s) - t0)) s"
lgd_same files "after the refused Reload"
lg_daemon_stop TERM
lgd_start --policy-dir "$MANY"
lg_pass "leakguardd starts with them in place (READY=1)"
grep -q "fifo.yaml: a FIFO, not a policy file" "$LG_BUS_DIR/daemon.log" && grep -q "huge.yaml: file is 4194305 bytes" "$LG_BUS_DIR/daemon.log" &&
        lg_pass "start-up: both files skipped with a message" || lg_fail "start-up: the log" "$(tail -5 "$LG_BUS_DIR/daemon.log")"
lgd_eq "start-up: p000 is enabled again (the saved state)" "$(lgd_prop EnabledPolicies)" 'as 1 "p000"'
rm -f "$MANY/huge.yaml" "$MANY/fifo.yaml"

lg_log "# at most 2,000,000 items in all parameters of one Enable"
lgd_snap items
lgd_expect_ok "two-lists with 1,000,000 + 1,000,000 ports" ab call Enable s:two-lists 'kv:a=aq*1000000:53' 'kv:b=aq*1000000:54'
lgd_eq "  … applied" "$(lgd_kernel_policies)" "p000 two-lists"
lgd_expect_ok "Disable two-lists" lgd_busctl Disable s two-lists
lgd_snap items
refused() {
        lgd_expect_error "$@"
        lgd_same items "  … after: $1"
}
refused "two-lists with 1,000,000 + 1,000,001 ports" $IP "^more than 2000000 items in all parameters together" \
        ab call Enable s:two-lists 'kv:a=aq*1000000:53' 'kv:b=aq*1000001:54'
refused "two-lists with 2,000,001 ports in one list" $IP "more than 2000000 items in one list" \
        ab call Enable s:two-lists 'kv:a=aq*2000001:53' 'kv:b=aq*1:54'

lg_log "# a message over the bus's 32 MiB limit never reaches the daemon"
out=$(ab call Enable s:killswitch 'kv:tunnel=s*34000000:w' 2>&1)
[[ $out == ERR\ * ]] && lg_pass "a 34 MB call is refused before the daemon: ${out:0:160}" || lg_fail "34 MB call" "${out:0:300}"
lgd_same items "after the 34 MB call"
kill -0 "$LG_DAEMON_PID" && lg_pass "leakguardd still running" || lg_fail "leakguardd" "died"
lgd_expect_ok "Status still answers" lgd_busctl Status
lg_done
