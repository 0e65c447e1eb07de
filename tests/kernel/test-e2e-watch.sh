#!/usr/bin/env bash
# The tamper watcher (src/watch.c) on its own, without tunnels: leakguardd notices foreign changes
# through nftables netlink events and never its own; it repairs what differs, and what verification
# cannot see; a foreign table of leakguard's name appearing while nothing is enabled is removed; a
# change to another table is not its business; running on the last saved ruleset (the saved state
# is unusable) it applies that ruleset again instead of "repairing" to nothing. Real packets check
# that the repaired rules block.
. "$(dirname "$0")/../lib/daemon.sh"
lgd_setup
lg_topo_pair 9000
gen() { local g; g=$(lgd_prop Generation); echo "${g#t }"; }
state_is() { [ "$(lgd_prop State)" = "s \"$1\"" ]; }
foreign_lines() { grep -c "changed our rules" "$LG_BUS_DIR/daemon.log" || true; }

lgd_start
lg_log "# nothing enabled: a foreign table inet leakguard is removed"
g0=$(gen)
lg_in a nft add table inet leakguard
lgd_wait_for 5 sh -c "! ip netns exec $(lg_ns a) nft list table inet leakguard" &&
        lg_pass "the foreign table inet leakguard is gone" || lg_fail "foreign table" "still there"
lgd_wait_for 2 state_is idle && lg_pass "State idle again" || lg_fail "State" "$(lgd_prop State)"
grep -q "nft\[[0-9]*\] changed our rules (add table in table inet leakguard)" "$LG_BUS_DIR/daemon.log" &&
        lg_pass "the log names the process: $(grep -m1 'changed our rules' "$LG_BUS_DIR/daemon.log" | sed 's/.*Message: [0-9:.]* //')" ||
        lg_fail "log" "$(tail -3 "$LG_BUS_DIR/daemon.log")"

lg_log "# our own changes are never taken for foreign ones"
before=$(foreign_lines)
g0=$(gen)
for i in $(seq 20); do
        lgd_busctl Enable 'sa{sv}' killswitch 2 tunnel s "wg$((i % 2))" servers as 1 "10.99.1.$((2 + i % 2)):9000/udp" >/dev/null ||
                lg_fail "Enable $i" "failed"
done
lgd_busctl Enable 'sa{sv}' dns-leak 2 tunnel s wg0 resolvers as 1 10.99.1.4 >/dev/null
lgd_busctl Disable s dns-leak >/dev/null
sleep 0.3
lgd_eq "22 changes, 22 generations (a repair would add more)" "$(($(gen) - g0))" 22
lgd_eq "no foreign change logged" "$(foreign_lines)" "$before"

lg_log "# another table is not ours"
g0=$(gen)
lg_in a nft add table inet firewalld
lg_in a nft add chain inet firewalld out '{ type filter hook output priority 0; policy accept; }'
lg_in a nft delete table inet firewalld
sleep 0.3
lgd_eq "foreign table added, changed, deleted: Generation unchanged" "$(gen)" "$g0"
state_is protecting && lg_pass "still protecting" || lg_fail "State" "$(lgd_prop State)"

lg_log "# a foreign rule that accepts everything, inserted first in our base chain"
lg_in a nft insert rule inet leakguard outbound-layer accept
lgd_wait_for 5 sh -c "! ip netns exec $(lg_ns a) nft list chain inet leakguard outbound-layer | grep -q '^[[:space:]]*accept$'" &&
        lg_pass "the foreign accept rule is gone" || lg_fail "foreign rule" "$(lg_in a nft list chain inet leakguard outbound-layer)"
LG_LABEL="after the repair"
lg_expect drop a udp 10.99.1.3 9000   # the last Enable named 10.99.1.2 as the server
lg_expect pass a udp 10.99.1.2 9000
unset LG_LABEL

lg_log "# the saved state is unusable: the daemon runs on its last saved ruleset and re-applies it"
lg_daemon_stop KILL
sed -i '/^\[end\]/,$d' "$LGD_STATE_DIR/state.ini" # cut short: no "[end] complete=true"
lgd_start
state_is degraded && lg_pass "unusable state: degraded" || lg_fail "unusable state" "$(lgd_prop State)"
lgd_eq "unusable state: nothing enabled" "$(lgd_prop EnabledPolicies)" 'as 0'
lg_in a nft flush ruleset
lgd_wait_for 5 lgd_has_table leakguard && lg_pass "after nft flush ruleset: the last saved ruleset is back" ||
        lg_fail "fallback repair" "no table"
lgd_eq "the rules are the killswitch's" "$(lgd_kernel_policies)" "killswitch"
state_is degraded && lg_pass "still degraded (the saved state is still unusable)" || lg_fail "State" "$(lgd_prop State)"
LG_LABEL="fallback repaired"
lg_expect drop a udp 10.99.1.3 9000   # the last Enable named 10.99.1.2 as the server
lg_expect pass a udp 10.99.1.2 9000
unset LG_LABEL
lgd_expect_ok "Enable makes the kernel known again" lgd_busctl Enable 'sa{sv}' killswitch 2 tunnel s wg0 servers as 1 10.99.1.3:9000/udp
lgd_wait_for 2 state_is protecting && lg_pass "protecting" || lg_fail "State" "$(lgd_prop State)"
lgd_has_table leakguard_guard && lg_pass "the guard is back" || lg_fail "guard" "absent"
lg_done
