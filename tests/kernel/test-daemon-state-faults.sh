#!/usr/bin/env bash
# A damaged state directory (DESIGN §4, issue 7): state.ini truncated, garbage, of another version,
# empty, with NUL bytes, with bad escapes, larger than 256 MiB, a directory, a FIFO, naming a
# policy that no longer exists or a parameter value that no longer parses; ruleset.nft damaged too;
# and a disk that fills up while the state is written (a 64 KiB tmpfs as --state-dir). In every
# case leakguardd starts (READY=1, no hang), applies nothing of the damaged state, keeps what the
# kernel holds (byte-identical `nft list ruleset`), reports `degraded` in State and says why in
# Status' Reason; a full disk leaves the old state.ini intact and the daemon degraded until a save
# succeeds again. (Unreadable by mode is not tested: root ignores file modes; a directory and a
# FIFO in the file's place stand for it.)
#
# The tmpfs is mounted inside a private mount namespace this script re-executes itself in, so the
# host's mount table is never touched.
if [ -z "${LG_STATE_FAULTS_MNTNS:-}" ]; then
        LG_STATE_FAULTS_MNTNS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/../lib/daemon.sh"
lgd_setup a
LGD_LIST_FLAGS=""
command -v mkfifo >/dev/null || lg_die "missing tool: mkfifo"

KS=(Enable 'sa{sv}' killswitch 2 tunnel s wg0 servers as 1 192.0.2.1:51820/udp)

lg_log "# a good state: killswitch and ipv6-leak enabled, the daemon stopped (the tables stay)"
lgd_start
lgd_expect_ok "Enable killswitch" lgd_busctl "${KS[@]}"
lgd_expect_ok "Enable ipv6-leak" lgd_busctl Enable 'sa{sv}' ipv6-leak 0
lg_daemon_stop TERM
cp "$LGD_STATE_DIR/state.ini" "$LG_TMP/good.ini"
cp "$LGD_STATE_DIR/ruleset.nft" "$LG_TMP/good.nft"
lg_in a nft list ruleset >"$LG_TMP/kernel.good"
lgd_eq "the kernel holds both policies" "$(lgd_kernel_policies)" "ipv6-leak killswitch"

# degraded_start LABEL REASON-REGEX: starts the daemon over the damaged state directory and checks
# that it is ready, degraded for REASON, has enabled nothing, and left the kernel as it was.
degraded_start() {
        local label=$1 re=$2
        lg_in a nft list ruleset >"$LG_TMP/kernel.before"
        if ! lg_daemon_start "$(lg_ns a)" --policy-dir "$LGD_POLICY_DIR" --state-dir "$LGD_STATE_DIR" >"$LG_TMP/start.out" 2>&1; then
                lg_fail "$label: leakguardd starts" "$(cat "$LG_TMP/start.out")"
                return
        fi
        lgd_wait_name
        lg_pass "$label: READY=1 ($(grep -m1 READY=1 "$LG_BUS_DIR/notify.log" | cut -c1-80))"
        lgd_eq "$label: State" "$(lgd_prop State)" 's "degraded"'
        local reason
        reason=$(lgd_status_get "s.get('Reason', '')")
        grep -Eq -- "$re" <<<"$reason" && lg_pass "$label: Reason: ${reason:0:200}" || lg_fail "$label: Reason /$re/" "$reason"
        lgd_eq "$label: nothing of the damaged state is enabled" "$(lgd_prop EnabledPolicies)" "as 0"
        lg_in a nft list ruleset >"$LG_TMP/kernel.after"
        cmp -s "$LG_TMP/kernel.before" "$LG_TMP/kernel.after" &&
                lg_pass "$label: the kernel ruleset is byte-identical ($(wc -c <"$LG_TMP/kernel.after") bytes)" ||
                lg_fail "$label: the kernel ruleset" "$(diff "$LG_TMP/kernel.before" "$LG_TMP/kernel.after" | head -5)"
        grep -q "degraded: " "$LG_BUS_DIR/daemon.log" && lg_pass "$label: the log says why" ||
                lg_fail "$label: the log" "$(tail -3 "$LG_BUS_DIR/daemon.log")"
        lg_daemon_stop TERM
        grep -Eq 'AddressSanitizer|runtime error|CRITICAL' "$LG_BUS_DIR/daemon.log" &&
                lg_fail "$label: no sanitizer report" "$(grep -E 'AddressSanitizer|runtime error|CRITICAL' "$LG_BUS_DIR/daemon.log" | head -3)"
        : >"$LG_BUS_DIR/daemon.log"
}
reset_state() { rm -rf "$LGD_STATE_DIR"; mkdir -p "$LGD_STATE_DIR"; cp "$LG_TMP/good.nft" "$LGD_STATE_DIR/ruleset.nft"; }

lg_log "# state.ini damaged, the kernel still holds the tables"
reset_state; head -c $(($(wc -c <"$LG_TMP/good.ini") / 2)) "$LG_TMP/good.ini" >"$LGD_STATE_DIR/state.ini"
degraded_start "truncated to half" "saved state unusable: .*state.ini: .*(incomplete|Key file|no )"
reset_state; head -c 4096 /dev/urandom >"$LGD_STATE_DIR/state.ini"
degraded_start "4 KiB of random bytes" "saved state unusable: .*state.ini"
reset_state; sed 's/^version=1$/version=99/' "$LG_TMP/good.ini" >"$LGD_STATE_DIR/state.ini"
degraded_start "version 99" "state version 99, this leakguardd reads version 1"
reset_state; : >"$LGD_STATE_DIR/state.ini"
degraded_start "empty" "saved state unusable: .*(no state version|Key file does not have group)"
reset_state; { head -c 100 "$LG_TMP/good.ini"; printf '\0'; tail -c +101 "$LG_TMP/good.ini"; } >"$LGD_STATE_DIR/state.ini"
degraded_start "a NUL byte inside" "contains a NUL byte"
reset_state; sed 's/^tunnel=wg0;$/tunnel=wg0\\x\\/' "$LG_TMP/good.ini" >"$LGD_STATE_DIR/state.ini"
degraded_start "a bad escape in a value" "invalid escape sequence"
reset_state; printf '[leakguard]\nversion=1\n%s\n' "$(head -c 3000 /dev/zero | tr '\0' '\377')" >"$LGD_STATE_DIR/state.ini"
degraded_start "a 3000-byte line of invalid UTF-8" "saved state unusable"
reset_state; truncate -s 300M "$LGD_STATE_DIR/state.ini"
degraded_start "300 MiB (sparse)" "more than the 268435456 allowed"
reset_state; mkdir "$LGD_STATE_DIR/state.ini"
degraded_start "a directory in its place" "is not a regular file"
reset_state; mkfifo "$LGD_STATE_DIR/state.ini"
degraded_start "a FIFO in its place (would block a reader forever)" "is not a regular file"
reset_state; sed 's/^policies=.*/policies=gone;ipv6-leak;killswitch;/' "$LG_TMP/good.ini" >"$LGD_STATE_DIR/state.ini"
degraded_start "a saved policy that no longer exists" "saved policy 'gone' no longer applies: no policy named 'gone'"
reset_state; sed 's/^servers=.*/servers=300.1.2.3;/' "$LG_TMP/good.ini" >"$LGD_STATE_DIR/state.ini"
degraded_start "a saved value that no longer parses" "saved policy '(ipv6-leak|killswitch)' no longer applies: .*300\.1\.2\.3"
reset_state; sed 's/^tunnel=wg0;$/tunnel=wg0;\nnot_a_param=1;/' "$LG_TMP/good.ini" >"$LGD_STATE_DIR/state.ini"
degraded_start "a parameter the policy does not have" "no longer has parameter 'not_a_param'"
reset_state; sed 's/^policies=.*/policies=Bad Name;/' "$LG_TMP/good.ini" >"$LGD_STATE_DIR/state.ini"
degraded_start "a policy name no policy file could have" "not a policy name"
reset_state; sed 's/^policies=.*/policies=killswitch;killswitch;/' "$LG_TMP/good.ini" >"$LGD_STATE_DIR/state.ini"
degraded_start "a policy listed twice" "listed twice"
reset_state
degraded_start "no state.ini, but a leakguard table in the kernel" "the kernel holds a leakguard table but there is no saved state"

lg_log "# a reboot (empty kernel) with an unusable state.ini: the last saved ruleset is applied"
lg_in a nft delete table inet leakguard
lg_in a nft delete table inet leakguard_guard 2>/dev/null
reset_state; sed 's/^version=1$/version=2/' "$LG_TMP/good.ini" >"$LGD_STATE_DIR/state.ini"
lgd_start
lgd_eq "reboot, state.ini of version 2: State" "$(lgd_prop State)" 's "degraded"'
reason=$(lgd_status_get "s.get('Reason', '')")
grep -q "state version 2" <<<"$reason" && lg_pass "reboot: Reason: ${reason:0:160}" || lg_fail "reboot: Reason" "$reason"
grep -q "applied the last saved ruleset" "$LG_BUS_DIR/daemon.log" && lg_pass "reboot: the log says the last saved ruleset was applied" ||
        lg_fail "reboot: fallback" "$(tail -3 "$LG_BUS_DIR/daemon.log")"
lgd_eq "reboot: the kernel holds the last saved ruleset's policies" "$(lgd_kernel_policies)" "ipv6-leak killswitch"
lg_daemon_stop TERM
lg_in a nft delete table inet leakguard
lg_in a nft delete table inet leakguard_guard 2>/dev/null
reset_state; sed 's/^version=1$/version=2/' "$LG_TMP/good.ini" >"$LGD_STATE_DIR/state.ini"
printf 'add table inet leakguard\nthis is not nftables\n' >"$LGD_STATE_DIR/ruleset.nft"
lgd_start
lgd_eq "reboot, both files damaged: State" "$(lgd_prop State)" 's "degraded"'
lgd_eq "reboot, both files damaged: nothing half-applied" "$(lg_in a nft list ruleset | grep -c 'table inet leakguard')" "0"
grep -q "no saved ruleset to fall back to" "$LG_BUS_DIR/daemon.log" && lg_pass "reboot, both damaged: the log says the ruleset could not be applied" ||
        lg_fail "reboot, both damaged: log" "$(tail -3 "$LG_BUS_DIR/daemon.log")"
lg_log "# recovery: an Enable writes a good state again and the daemon is no longer degraded"
lgd_expect_ok "Enable killswitch" lgd_busctl "${KS[@]}"
lgd_eq "after Enable: State" "$(lgd_prop State)" 's "protecting"'
grep -q '^version=1$' "$LGD_STATE_DIR/state.ini" && lg_pass "after Enable: state.ini is version 1 again" || lg_fail "state.ini" "$(head -3 "$LGD_STATE_DIR/state.ini")"
lg_daemon_stop TERM
lgd_start
lgd_eq "restart after recovery: State" "$(lgd_prop State)" 's "protecting"'
lgd_eq "restart after recovery: EnabledPolicies" "$(lgd_prop EnabledPolicies)" 'as 1 "killswitch"'
lg_daemon_stop TERM

lg_log "# the disk fills up: --state-dir on a 64 KiB tmpfs"
FULL="$LG_TMP/full"
mkdir -p "$FULL"
mount -t tmpfs -o size=64k,mode=0700 lgtest-state-full "$FULL" || lg_die "cannot mount a tmpfs in our mount namespace"
# The benchmark's blocklist policy: one block filter on $nets, above the shipped policies.
cp "$SRCDIR/bench/policies/blocklist.yaml" "$LGD_POLICY_DIR/"
LGD_STATE_DIR="$FULL/state"
mkdir -p "$LGD_STATE_DIR"
lgd_start
lgd_expect_ok "Enable killswitch (the disk has room)" lgd_busctl "${KS[@]}"
lgd_eq "State" "$(lgd_prop State)" 's "protecting"'
cp "$LGD_STATE_DIR/state.ini" "$LG_TMP/full-before.ini"
dd if=/dev/zero of="$FULL/filler" bs=4k 2>/dev/null
lg_log "# $(df -k "$FULL" | tail -1)"
lgd_expect_ok "Enable killswitch with another server while the disk is full" \
        lgd_busctl Enable 'sa{sv}' killswitch 2 tunnel s wg0 servers as 1 192.0.2.7:51820/udp
lgd_ruleset | grep -q '192.0.2.7 . udp . 51820' && lg_pass "disk full: the kernel holds the new server" ||
        lg_fail "disk full: the kernel" "no 192.0.2.7"
lgd_eq "disk full: State" "$(lgd_prop State)" 's "degraded"'
reason=$(lgd_status_get "s.get('Reason', '')")
grep -q "cannot save the state (.*No space left on device.*); a restart would restore an older set of policies" <<<"$reason" &&
        lg_pass "disk full: Reason: ${reason:0:200}" || lg_fail "disk full: Reason" "$reason"
cmp -s "$LG_TMP/full-before.ini" "$LGD_STATE_DIR/state.ini" && lg_pass "disk full: state.ini is the old one, intact" ||
        lg_fail "disk full: state.ini" "$(diff "$LG_TMP/full-before.ini" "$LGD_STATE_DIR/state.ini" | head -5)"
ls -a "$LGD_STATE_DIR" | grep -q '^state.ini.' && lg_fail "disk full: no temporary file left" "$(ls -a "$LGD_STATE_DIR")" ||
        lg_pass "disk full: no temporary file left behind"
kill -0 "$LG_DAEMON_PID" && lg_pass "disk full: leakguardd still running" || lg_fail "disk full: leakguardd" "died"
# A large parameter: its side file and the fallback ruleset are written by a thread while the kernel
# inserts the elements; both writes fail here, and neither may leave anything behind.
cp "$LGD_STATE_DIR/ruleset.nft" "$LG_TMP/full-before.nft"
mapfile -t nets < <(python3 -c "
for i in range(6000):
    print(f'11.{i >> 8 & 255}.{i & 255}.7')")
lgd_expect_ok "Enable blocklist with 6,000 prefixes while the disk is full" \
        lgd_busctl Enable 'sa{sv}' blocklist 1 nets as "${#nets[@]}" "${nets[@]}"
lgd_eq "disk full, large parameter: the kernel holds every prefix" \
        "$(lg_in a nft list table inet leakguard | grep -o '11\.[0-9]*\.[0-9]*\.7' | wc -l)" 6000
lgd_eq "disk full, large parameter: State" "$(lgd_prop State)" 's "degraded"'
cmp -s "$LG_TMP/full-before.ini" "$LGD_STATE_DIR/state.ini" && cmp -s "$LG_TMP/full-before.nft" "$LGD_STATE_DIR/ruleset.nft" &&
        lg_pass "disk full, large parameter: state.ini and ruleset.nft are the old ones, intact" ||
        lg_fail "disk full, large parameter: state files" "$(ls -l "$LGD_STATE_DIR")"
[ "$(ls -A "$LGD_STATE_DIR" | sort | tr '\n' ' ')" = "ruleset.nft state.ini " ] &&
        lg_pass "disk full, large parameter: no side file, staged ruleset or temporary file left" ||
        lg_fail "disk full, large parameter: files left" "$(ls -A "$LGD_STATE_DIR")"
lgd_expect_ok "Disable blocklist while the disk is full" lgd_busctl Disable s blocklist
rm -f "$FULL/filler"
lgd_expect_ok "room again: Enable killswitch once more" \
        lgd_busctl Enable 'sa{sv}' killswitch 2 tunnel s wg0 servers as 1 192.0.2.8:51820/udp
lgd_eq "room again: State" "$(lgd_prop State)" 's "protecting"'
grep -q '^servers=192.0.2.8:51820/udp;$' "$LGD_STATE_DIR/state.ini" && lg_pass "room again: state.ini saved the new server" ||
        lg_fail "room again: state.ini" "$(cat "$LGD_STATE_DIR/state.ini")"
lg_daemon_stop TERM
lgd_start
lgd_eq "restart: the newest parameters come back" "$(lgd_status_get "s['Policies']['killswitch']['Parameters']['servers']")" "['192.0.2.8:51820/udp']"
lg_daemon_stop TERM
umount "$FULL"
lg_done
