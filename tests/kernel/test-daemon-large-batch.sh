#!/usr/bin/env bash
# A large parameter (issue 5): 20,000 prefixes reach the kernel as one netlink batch into a set made
# empty before the swap, while the tamper watcher is not listening (the kernel would build an event
# per element for it); the ruleset generation tells whether another process committed anything
# meanwhile, and if one did, what it changed is repaired. The parameter is saved in a side file of
# the state directory, which a reconnect of another policy leaves alone and a restart reads back.
. "$(dirname "$0")/../lib/daemon.sh"
lgd_setup
lg_topo_pair
N=20000
# The benchmark's blocklist policy: one block filter on $nets, above the shipped policies.
cp "$SRCDIR/bench/policies/blocklist.yaml" "$LGD_POLICY_DIR/"
# N distinct /30s that no merging can join (every one is .8/30), in an interval set: single
# addresses would make a hash set, whose elements are one kernel node each instead of two.
mapfile -t nets < <(python3 -c "
for i in range($N):
    print(f'11.{i >> 8 & 255}.{i & 255}.8/30')")
set4=s.blocklist.blocklist.nets.remote.v4
count_set() { lg_in a nft list set inet leakguard "$set4" | grep -o '11\.[0-9]*\.[0-9]*\.8/30' | wc -l; }
window_lines() { grep -c "another transaction was committed while our batch was" "$LG_BUS_DIR/daemon.log" || true; }
gen() { local g; g=$(lgd_prop Generation); echo "${g#t }"; }
state_is() { [ "$(lgd_prop State)" = "s \"$1\"" ]; }
side_file() { ls "$LGD_STATE_DIR"/params-*.ini 2>/dev/null; }
set_file() { ls "$LGD_STATE_DIR"/sets-*.nft 2>/dev/null; }
# ruleset.nft with each `include "FILE"` line replaced by FILE, as nft -f reads it.
expanded_ruleset() { python3 -c '
import re, sys
for line in open(sys.argv[1]):
    m = re.fullmatch(r"include \"(/[^\"]*)\"\n", line)
    sys.stdout.write(open(m.group(1)).read() if m else line)' "$LGD_STATE_DIR/ruleset.nft"; }

lgd_start
lgd_expect_ok "Enable killswitch" lgd_busctl Enable 'sa{sv}' killswitch 2 tunnel s wg0 servers as 1 10.99.1.2:9000/udp

lg_log "# $N prefixes in one Enable"
g0=$(gen)
lgd_expect_ok "Enable blocklist with $N prefixes" lgd_busctl Enable 'sa{sv}' blocklist 1 nets as "$N" "${nets[@]}"
lgd_eq "the kernel's set holds every prefix" "$(count_set)" "$N"
lgd_eq "one change, one generation" "$(($(gen) - g0))" 1
lgd_eq "no transaction of another process was seen in the batch's window" "$(window_lines)" 0
state_is protecting && lg_pass "protecting" || lg_fail "State" "$(lgd_prop State)"
grep -q "^\[files\]" "$LGD_STATE_DIR/state.ini" && [ "$(stat -c %s "$LGD_STATE_DIR/state.ini")" -lt 4096 ] &&
        lg_pass "state.ini names a side file and stays small ($(stat -c %s "$LGD_STATE_DIR/state.ini") bytes)" ||
        lg_fail "state.ini" "$(head -c 300 "$LGD_STATE_DIR/state.ini")"
side=$(side_file)
[ "$(echo "$side" | wc -w)" = 1 ] && sha=$(sha256sum "$side" | cut -c1-64) && [ "$side" = "$LGD_STATE_DIR/params-$sha.ini" ] &&
        lg_pass "one side file, named by its SHA-256 ($(stat -c %s "$side") bytes)" || lg_fail "side file" "$side"
# The fallback ruleset and the side file are written while the kernel inserts the elements; both must
# be in place, synced, when Enable returns, and the staging file gone.
lgd_eq "the fallback ruleset holds every prefix when Enable returns" \
        "$(expanded_ruleset | grep -o '11\.[0-9]*\.[0-9]*\.8/30' | wc -l)" "$N"
# The set's elements are a file of their own, named by its SHA-256, which ruleset.nft includes.
sets=$(set_file)
[ "$(echo "$sets" | wc -w)" = 1 ] && [ "$sets" = "$LGD_STATE_DIR/sets-$(sha256sum "$sets" | cut -c1-64).nft" ] &&
        grep -qxF "include \"$(realpath "$sets")\"" "$LGD_STATE_DIR/ruleset.nft" &&
        [ "$(stat -c %s "$LGD_STATE_DIR/ruleset.nft")" -lt 20000 ] &&
        lg_pass "the set's elements are in $(basename "$sets") ($(stat -c %s "$sets") bytes), which the small ruleset.nft includes" ||
        lg_fail "set file" "$sets; $(grep include "$LGD_STATE_DIR/ruleset.nft")"
[ ! -e "$LGD_STATE_DIR/ruleset.nft.new" ] && lg_pass "no staged ruleset left" || lg_fail "staged ruleset" "$(ls -l "$LGD_STATE_DIR")"
packet_blocked() { lg_in a nft list chain inet leakguard outbound.blocklist.blocklist | grep -q "@$set4"; }
packet_blocked && lg_pass "the blocklist rule refers to the set" || lg_fail "rule" "$(lgd_ruleset | head -20)"

lg_log "# a reconnect of another policy leaves the side file alone"
before=$(stat -c '%i %Y.%y' "$side")
lgd_expect_ok "reconnect killswitch" lgd_busctl Enable 'sa{sv}' killswitch 2 tunnel s wg1 servers as 1 10.99.1.3:9000/udp
lgd_eq "the side file was not rewritten" "$(stat -c '%i %Y.%y' "$side")" "$before"
grep -q "^tunnel=wg1;" "$LGD_STATE_DIR/state.ini" && lg_pass "state.ini has the new tunnel" ||
        lg_fail "state.ini" "$(cat "$LGD_STATE_DIR/state.ini")"

lg_log "# a restart reads the side file back"
lg_daemon_stop KILL
lgd_start
lgd_eq "enabled after the restart" "$(lgd_enabled_property)" "blocklist killswitch"
lgd_eq "the set still holds every prefix" "$(count_set)" "$N"
state_is protecting && lg_pass "protecting" || lg_fail "State" "$(lgd_prop State)"
lgd_expect_ok "Disable blocklist" lgd_busctl Disable s blocklist
lgd_eq "its side file is gone" "$(side_file)" ""

lg_log "# another process commits while our batch is sent: what it changed is repaired"
# A tamper loop: every transaction adds a chain to our table (cheap for nft, unlike an element
# command, which reads the whole blocklist first). One that lands in the window the watcher does not
# listen to is known only by the ruleset generation.
# The loop runs only while Enable does (a continuous loop follows below).
protecting() { [ "$(lgd_prop State)" = 's "protecting"' ]; }
for i in $(seq 30); do
        (j=0; while :; do j=$((j + 1)); ip netns exec "$(lg_ns a)" nft add chain inet leakguard "evil$i-$j" 2>/dev/null; sleep 0.01; done) &
        loop=$!
        lgd_cleanup_extra() { kill "$loop" 2>/dev/null; wait "$loop" 2>/dev/null; }
        out=$(lgd_busctl Enable 'sa{sv}' blocklist 1 nets as "$N" "${nets[@]}") || lg_fail "Enable $i" "$out"
        kill "$loop"; wait "$loop" 2>/dev/null
        lgd_cleanup_extra() { :; }
        [ "$(window_lines)" -gt 0 ] && break
        lgd_wait_for 30 protecting || lg_fail "after Enable $i" "$(lgd_prop State)"
        out=$(lgd_busctl Disable s blocklist) || lg_fail "Disable $i" "$out"
done
[ "$(window_lines)" -gt 0 ] &&
        lg_pass "a transaction in the window was noticed after $i Enables: $(grep -m1 'another transaction was committed' "$LG_BUS_DIR/daemon.log" | sed 's/.*WARNING[^:]*: [0-9:.]* //')" ||
        lg_fail "window" "no foreign transaction landed in $i windows"
no_evil() { ! lg_in a nft list table inet leakguard | grep -q "chain evil"; }
lgd_wait_for 30 no_evil && lgd_wait_for 30 protecting && lg_pass "repaired: no foreign chain left, protecting" ||
        lg_fail "repair" "$(lg_in a nft list table inet leakguard | grep -c 'chain evil') foreign chains, $(lgd_prop State)"
lg_log "# another process changes our table every 10 ms while the big set is loaded: the repairs keep"
lg_log "# the set they know to be intact, and one repair answers many events, so D-Bus calls get through"
repairs() { grep -c "tables repaired" "$LG_BUS_DIR/daemon.log" || true; }
r0=$(repairs)
ip netns exec "$(lg_ns a)" nft monitor > "$LG_TMP/monitor.txt" 2>/dev/null &
mon=$!
sleep 0.3
(j=0; while :; do j=$((j + 1)); ip netns exec "$(lg_ns a)" nft add chain inet leakguard "evil-c$j" 2>/dev/null; sleep 0.01; done) &
loop=$!
lgd_cleanup_extra() { kill "$loop" "$mon" 2>/dev/null; wait "$loop" "$mon" 2>/dev/null; }
sleep 1
t0=$(date +%s%N)
out=$(busctl --system --timeout=20 call "$LGD_NAME" "$LGD_PATH" "$LGD_IFACE" Disable s killswitch 2>&1) &&
        out=$(busctl --system --timeout=20 call "$LGD_NAME" "$LGD_PATH" "$LGD_IFACE" Enable 'sa{sv}' killswitch 2 tunnel s wg0 servers as 1 10.99.1.2:9000/udp 2>&1) &&
        lg_pass "Disable and Enable answered while being tampered with ($(( ($(date +%s%N) - t0) / 1000000 )) ms)" ||
        lg_fail "Disable/Enable under tampering" "$out"
sleep 3
kill "$loop"; wait "$loop" 2>/dev/null
sleep 0.5
kill "$mon"; wait "$mon" 2>/dev/null
lgd_cleanup_extra() { :; }
[ $(($(repairs) - r0)) -ge 2 ] && lg_pass "$(($(repairs) - r0)) repairs in the 5 s" || lg_fail "repairs" "$(($(repairs) - r0)) in 5 s"
# The loop never touches a set, so no repair may send the blocklist's elements again (each resend
# is a flush and refill of 20,000 intervals, which the kernel does slowly).
chains=$(grep -c '^add chain inet leakguard evil-c' "$LG_TMP/monitor.txt")
resent=$(grep -c '^add element inet leakguard s.blocklist' "$LG_TMP/monitor.txt")
[ "$chains" -gt 0 ] && [ "$resent" = 0 ] &&
        lg_pass "the repairs kept the intact set: $chains foreign chains seen, 0 blocklist elements re-sent" ||
        lg_fail "repairs re-sent the intact set" "$chains foreign chains, $resent element lines"
lgd_wait_for 30 no_evil && lgd_wait_for 30 protecting && lg_pass "repaired after the loop: no foreign chain, protecting" ||
        lg_fail "repair after the loop" "$(lg_in a nft list table inet leakguard | grep -c 'chain evil') foreign chains, $(lgd_prop State)"
lgd_eq "the refilled set holds every prefix" "$(count_set)" "$N"
lgd_expect_ok "Enable blocklist once more, nobody else committing" lgd_busctl Enable 'sa{sv}' blocklist 1 nets as "$N" "${nets[@]}"
lgd_eq "the set holds every prefix" "$(count_set)" "$N"

lg_log "# rules change while the big set stays: the fallback ruleset keeps including the set's file"
# Each Enable below rewrites ruleset.nft; the blocklist's 20,000 elements stay in the set file the
# save before wrote (SetFile in manager.c). The ruleset with its include expanded must be what
# leakguardctl compile prints for the same policies, byte for byte.
printf '%s\n' "${nets[@]}" > "$LG_TMP/nets.txt"
sets=$(set_file)
files=("$LGD_POLICY_DIR/blocklist.yaml" "$LGD_POLICY_DIR/killswitch.yaml")
for p in dns-leak ipv6-leak; do
        case $p in
        dns-leak) lgd_expect_ok "Enable dns-leak" lgd_busctl Enable 'sa{sv}' dns-leak 2 tunnel s wg0 resolvers as 1 10.99.1.53 ;;
        ipv6-leak) lgd_expect_ok "Enable ipv6-leak" lgd_busctl Enable 'sa{sv}' ipv6-leak 1 tunnel as 1 wg0 ;;
        esac
        files+=("$LGD_POLICY_DIR/$p.yaml")
        "$LEAKGUARDCTL" compile "${files[@]}" tunnel=wg0 killswitch.servers=10.99.1.2:9000/udp resolvers=10.99.1.53 \
                "nets=@$LG_TMP/nets.txt" > "$LG_TMP/expected.nft"
        cmp -s "$LG_TMP/expected.nft" <(expanded_ruleset) &&
                lg_pass "after Enable $p: ruleset.nft and its set file are what leakguardctl compile prints" ||
                lg_fail "after Enable $p: ruleset.nft" "$(diff "$LG_TMP/expected.nft" <(expanded_ruleset) | head -c 600)"
        # The first save after an Enable that changed nothing (its new element array made the
        # daemon forget which file holds it) writes the same file again; the next one must not.
        [ "$p" = dns-leak ] || lgd_eq "after Enable $p: the set file was not rewritten" "$(stat -c '%i %Y.%y' "$sets")" "$sets_before"
        sets_before=$(stat -c '%i %Y.%y' "$sets")
done
# nft -f itself reads the file and its include (in a namespace of its own).
lg_netns_new fb
lg_in fb nft -f "$LGD_STATE_DIR/ruleset.nft" &&
        lgd_eq "nft -f ruleset.nft loads every prefix" \
                "$(lg_in fb nft list set inet leakguard "$set4" | grep -o '11\.[0-9]*\.[0-9]*\.8/30' | wc -l)" "$N" ||
        lg_fail "nft -f ruleset.nft" "refused"

lg_log "# a start whose state.ini is unusable applies the fallback ruleset, set file included"
lg_daemon_stop TERM
lg_in a nft delete table inet leakguard
echo garbage > "$LGD_STATE_DIR/state.ini"
lgd_start
lgd_eq "fallback: the set holds every prefix" "$(count_set)" "$N"
state_is degraded && lg_pass "fallback: degraded" || lg_fail "fallback: State" "$(lgd_prop State)"
lg_daemon_stop TERM
lg_in a nft delete table inet leakguard
printf 'x' | dd of="$sets" bs=1 seek=100 conv=notrunc 2>/dev/null
lgd_start
lg_in a nft list table inet leakguard >/dev/null 2>&1 && lg_fail "fallback with a changed set file" "applied" ||
        lg_pass "fallback: a set file changed since it was written is refused, nothing applied"
grep -q "no saved ruleset to fall back to: .*$(basename "$sets") changed since it was written" "$LG_BUS_DIR/daemon.log" &&
        lg_pass "fallback: the log names the changed set file" || lg_fail "fallback: log" "$(tail -5 "$LG_BUS_DIR/daemon.log")"
state_is degraded && lg_pass "fallback refused: degraded" || lg_fail "fallback refused: State" "$(lgd_prop State)"
lg_done
