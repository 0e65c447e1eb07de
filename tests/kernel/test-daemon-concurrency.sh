#!/usr/bin/env bash
# Concurrency: 10 python3-dbus clients (root), each on its own bus connection, make 1,000 calls in
# total (Enable with varying parameters, Disable, Status, interleaved, all at once). Every call must
# be answered (no error, no timeout), and afterwards what the daemon says (EnabledPolicies, Status,
# the parameters it reports), what the kernel holds and what the state file saved must agree.
# Meanwhile an 11th client, uid 65534, makes 100 calls of its own: its Enable and Disable calls,
# authorized asynchronously between root's, must all be refused (never mixed up with root's) and
# its Status calls answered.
. "$(dirname "$0")/../lib/daemon.sh"
lgd_setup a
CLIENTS=10
PER_CLIENT=100

lgd_start
gdbus monitor --system --dest "$LGD_NAME" --object-path "$LGD_PATH" >"$LG_TMP/monitor" 2>&1 &
LG_PIDS+=("$!")
sleep 0.3
g0=$(lgd_prop Generation)
start=$(date +%s%N)
pids=()
for i in $(seq "$CLIENTS"); do
        # A file each: print() writes a line and its newline in two write()s, which ten clients
        # appending to one file interleaved once ("errors=[]6 ok=100 …"), hiding a client's count.
        lgd_py stress "$i" "$PER_CLIENT" >"$LG_TMP/result.$i" &
        pids+=("$!")
        LG_PIDS+=("$!")
done
lgd_as 65534 "$LGD_PY" "$LGD_LIB/lgdbus.py" stress 65534 "$PER_CLIENT" >"$LG_TMP/nobody" &
pids+=("$!")
LG_PIDS+=("$!")
for p in "${pids[@]}"; do wait "$p"; done
cat "$LG_TMP"/result.* >"$LG_TMP/results"
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
lg_log "# $CLIENTS clients x $PER_CLIENT calls in ${elapsed} ms"
lg_log "$(sed 's/^/#   client /' "$LG_TMP/results" "$LG_TMP/nobody")"
lgd_eq "every client reported" "$(wc -l <"$LG_TMP/results")" "$CLIENTS"
ok=$(sed -n 's/.* ok=\([0-9]*\) .*/\1/p' "$LG_TMP/results" | awk '{ n += $1 } END { print n + 0 }')
err=$(sed -n 's/.* err=\([0-9]*\) .*/\1/p' "$LG_TMP/results" | awk '{ n += $1 } END { print n + 0 }')
noreply=$(sed -n 's/.* noreply=\([0-9]*\) .*/\1/p' "$LG_TMP/results" | awk '{ n += $1 } END { print n + 0 }')
lgd_eq "successful replies" "$ok" "$((CLIENTS * PER_CLIENT))"
lgd_eq "error replies" "$err" "0"
lgd_eq "calls without a reply (timeouts)" "$noreply" "0"
denied=$(sed -n 's/.* denied=\([0-9]*\) .*/\1/p' "$LG_TMP/results" | awk '{ n += $1 } END { print n + 0 }')
lgd_eq "root's calls refused" "$denied" "0"
# uid 65534: calls 0, 3, 6, … are Enable, 1, 4, … Disable, 2, 5, … Status.
lgd_eq "uid 65534: Enable and Disable refused, Status answered" "$(cut -d' ' -f2-5 "$LG_TMP/nobody")" \
        "ok=$((PER_CLIENT / 3)) denied=$((PER_CLIENT - PER_CLIENT / 3)) err=0 noreply=0"
kill -0 "$LG_DAEMON_PID" 2>/dev/null && lg_pass "leakguardd still running" || lg_fail "leakguardd still running" "died"

lg_log "# afterwards: one consistent picture"
prop=$(lgd_enabled_property)
status=$(lgd_status_enabled)
kernel=$(lgd_kernel_policies)
saved=$(lgd_state_policies)
lg_log "# EnabledPolicies='$prop' Status='$status' kernel='$kernel' state.ini='$saved'"
lgd_eq "Status agrees with EnabledPolicies" "$status" "$prop"
lgd_eq "the kernel agrees with EnabledPolicies" "$kernel" "$prop"
lgd_eq "state.ini agrees with EnabledPolicies" "$saved" "$prop"
want_state=idle
[ -n "$prop" ] && want_state=protecting
lgd_eq "State" "$(lgd_prop State)" "s \"$want_state\""
g1=$(lgd_prop Generation)
lgd_eq "Status and the property agree on Generation" "$(lgd_status_get "s['Generation']")" "${g1#t }"
[ "${g1#t }" -gt "${g0#t }" ] && lg_pass "Generation moved from ${g0#t } to ${g1#t }" || lg_fail "Generation" "${g0#t } -> ${g1#t }"
saved_gen=$(sed -n 's/^generation=//p' "$LGD_STATE_DIR/state.ini")
[ -n "$saved_gen" ] && [ "$saved_gen" -le "${g1#t }" ] && lg_pass "state.ini generation $saved_gen <= ${g1#t }" ||
        lg_fail "state.ini generation" "'$saved_gen' vs ${g1#t }"
if [[ " $prop " == *" killswitch "* ]]; then
        st=$(lgd_status_get "s['Policies']['killswitch']['Parameters']['servers'][0].split(':')[0]")
        ke=$(lg_in a nft list table inet leakguard | grep -o '192\.0\.2\.[0-9]* \. udp \. 51820' | sort -u | cut -d' ' -f1 | tr '\n' ' ')
        lgd_eq "the kernel holds exactly the killswitch server Status reports" "$ke" "$st "
        sv=$(sed -n '/^\[policy killswitch\]/,/^\[/s/^servers=\(.*\):51820\/udp;$/\1/p' "$LGD_STATE_DIR/state.ini")
        lgd_eq "state.ini saved the killswitch server Status reports" "$sv" "$st"
else
        lg_pass "killswitch ended disabled (parameters not compared)"
fi
last=$(grep PropertiesChanged "$LG_TMP/monitor" | tail -1)
[[ $last == *"'Generation': <uint64 ${g1#t }>"* ]] && lg_pass "the last PropertiesChanged carries the final generation ${g1#t }" ||
        lg_fail "last PropertiesChanged" "${last:0:300}"
n_changes=$(grep -c PropertiesChanged "$LG_TMP/monitor")
lgd_eq "one PropertiesChanged per applied change" "$n_changes" "$((${g1#t } - ${g0#t }))"
grep -Eq 'CRITICAL|AddressSanitizer|runtime error' "$LG_BUS_DIR/daemon.log" &&
        lg_fail "daemon log free of criticals" "$(grep -E 'CRITICAL|AddressSanitizer|runtime error' "$LG_BUS_DIR/daemon.log" | head -3)" ||
        lg_pass "daemon log free of criticals"

lg_log "# and it still works: Disable everything, the kernel empties"
for p in $prop; do lgd_expect_ok "Disable $p" lgd_busctl Disable s "$p"; done
lgd_eq "kernel: no leakguard rules" "$(lgd_kernel_policies)" ""
lgd_eq "state.ini: nothing saved" "$(lgd_state_policies)" ""
lgd_eq "State" "$(lgd_prop State)" 's "idle"'
lg_done
