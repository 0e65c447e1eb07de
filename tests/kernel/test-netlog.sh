#!/usr/bin/env bash
# Net events (DESIGN §1, §3 signal Blocked): real packets in a namespace hit filters with
# `log: true`; leakguardd reads NFLOG group 7401 in its namespace and emits Blocked with the
# packet's keys, as received by two clients (leakguardctl monitor --json over sd-bus, gdbus
# monitor over GDBus); each Blocked packet, given back to Explain, is explained as blocked by the
# same filter; each event reaches the journal with LEAKGUARD_* fields (a stand-in journald socket in
# the daemon's mount namespace). Under a flood the signals are rate-limited (per filter, and for
# all filters together), the suppressed events are counted and reported, and Status keeps answering.
. "$(dirname "$0")/../lib/daemon.sh"
lgd_setup a b
HELPER="$SRCDIR/tests/kernel/netlog-helper.py"
CTL=$LEAKGUARDCTL
json_eval() { "$LGD_PY" -c 'import json,sys; d=json.loads(sys.stdin.read()); print(eval(sys.argv[1]))' "$1"; }

lg_veth a eth0 b eth0
lg_addr a eth0 192.0.2.1/24 2001:db8:1::1/64
lg_addr b eth0 192.0.2.2/24 2001:db8:1::2/64
lg_in a ping -c1 -W2 -q 192.0.2.2 >/dev/null || lg_die "no IPv4 link"
lg_in a ping -6 -c1 -W2 -q 2001:db8:1::2 >/dev/null || lg_die "no IPv6 link"
cp "$SRCDIR"/tests/kernel/netlog-policies/*.yaml "$LGD_POLICY_DIR/"
# Twelve logged filters, to flood more of them than the global limit lets through.
{
        printf 'policy: netlog-many\ndescription: twelve logged blocks\nparameters:\n  peer: { type: addresses }\n'
        printf 'sublayers:\n  - name: many\n    weight: 900\n    filters:\n'
        for i in $(seq 0 11); do
                printf '      - { name: port-%d, layers: [outbound], weight: 0, action: block, log: true, match: { remote: $peer, protocol: udp, remote_port: %d } }\n' \
                        "$i" $((9400 + i))
        done
} >"$LGD_POLICY_DIR/netlog-many.yaml"

# The daemon runs under a wrapper that puts a stand-in journald socket into its own mount
# namespace (ip netns exec made one; /run/systemd is hidden only from the daemon).
JOURNAL="$LG_TMP/journal.jsonl"
cat >"$LG_TMP/journal-wrap.sh" <<EOF
#!/bin/bash
set -e
if [ -d /run/systemd ]; then mount -t tmpfs -o mode=755 lgjournal /run/systemd; else mount -t tmpfs -o mode=755 lgjournal /run; fi
mkdir -p /run/systemd/journal
"$LGD_PY" "$HELPER" journal /run/systemd/journal/socket "$JOURNAL" &
echo \$! >"$LG_TMP/journal.pid"
for i in \$(seq 100); do [ -S /run/systemd/journal/socket ] && break; sleep 0.02; done
exec "\$@"
EOF
lgd_cleanup_extra() {
        local p
        for p in "$LG_TMP/journal.pid" "$LG_TMP/monitor.pid" "$LG_TMP/gdbus.pid"; do
                [ -s "$p" ] && kill "$(cat "$p")" 2>/dev/null
        done
        return 0
}
LG_DAEMON_WRAPPER="bash $LG_TMP/journal-wrap.sh" LG_DAEMON_READY_TIMEOUT=15 lgd_start
lgd_eq "Status: net events active on group 7401" "$(lgd_status_get "(s['NetEvents']['Active'], s['NetEvents']['Group'])")" "(True, 7401)"

lg_log "# two clients of the Blocked signal: leakguardctl monitor --json (sd-bus), gdbus monitor (GDBus)"
MON="$LG_TMP/monitor.jsonl"
"$CTL" --json monitor >"$MON" 2>"$LG_TMP/monitor.err" &
echo $! >"$LG_TMP/monitor.pid"
gdbus monitor --system --dest "$LGD_NAME" --object-path "$LGD_PATH" >"$LG_TMP/gdbus.txt" 2>&1 &
echo $! >"$LG_TMP/gdbus.pid"
lgd_wait_for 5 grep -q Monitoring "$LG_TMP/monitor.err" || lg_fail "leakguardctl monitor subscribed" "$(cat "$LG_TMP/monitor.err")"
lgd_wait_for 5 grep -q 'owned by' "$LG_TMP/gdbus.txt" || sleep 0.5

lgd_expect_ok "enable netlog" "$CTL" enable netlog peer=192.0.2.2,2001:db8:1::2
lgd_expect_ok "enable netlog-many" "$CTL" enable netlog-many peer=192.0.2.2

# count FILTER: Blocked signals of one filter seen by leakguardctl monitor so far.
count() { grep -c "\"filter\":\"$1\"" "$MON" 2>/dev/null; }
# expect_event LABEL FILTER N EXPR: waits (5 s at most) for the N-th signal of FILTER and checks the
# python expression EXPR over it (`e`: policy, sublayer, filter, packet).
expect_event() {
        local label=$1 filter=$2 n=$3 expr=$4 line
        lgd_wait_for 5 sh -c "[ \$(grep -c '\"filter\":\"$filter\"' '$MON') -ge $n ]"
        line=$(grep "\"filter\":\"$filter\"" "$MON" | sed -n "${n}p")
        if [ -n "$line" ] && "$LGD_PY" -c 'import json,sys; e=json.loads(sys.argv[1]); sys.exit(0 if eval(sys.argv[2]) else 1)' "$line" "$expr"; then
                lg_pass "$label: $line"
        else
                lg_fail "$label" "signal #$n of $filter: '${line:-none}' does not satisfy $expr"
        fi
        LAST_EVENT=$line
}
# explain_back LABEL: the packet of the last event, given to Explain (leakguardctl explain
# KEY=VALUE… from its keys), is blocked by the same filter.
explain_back() {
        local label=$1 args want got
        mapfile -t args < <("$LGD_PY" -c 'import json,sys; e=json.loads(sys.argv[1]); [print("%s=%s" % kv) for kv in e["packet"].items()]' "$LAST_EVENT")
        want=$("$LGD_PY" -c 'import json,sys; e=json.loads(sys.argv[1]); print("block %s/%s/%s" % (e["policy"], e["sublayer"], e["filter"]))' "$LAST_EVENT")
        got=$("$CTL" --json explain "${args[@]}" 2>&1 | json_eval '"%s %s/%s/%s" % (d["verdict"], d["policy"], d["sublayer"], d["filter"])')
        lgd_eq "$label: Explain of the Blocked packet (${args[*]})" "$got" "$want"
}

lg_log "# outbound UDP, IPv4, from port 40100 with mark 0x2a, as root"
lgd_eq "udp to 192.0.2.2:9100 dropped" "$(lg_in a "$LGD_PY" "$HELPER" send udp 192.0.2.2 9100 40100 0x2a)" eperm
expect_event "Blocked udp-9100" udp-9100 1 \
        "e['policy'] == 'netlog' and e['sublayer'] == 'guard' and e['packet'] == {'layer': 'outbound', 'protocol': 'udp', 'remote': '192.0.2.2:9100', 'local': '192.0.2.1:40100', 'interface': 'eth0', 'uid': 0, 'gid': 0, 'mark': 42}"
explain_back "udp-9100"

lg_log "# outbound TCP, IPv6, rejected with a reset"
lgd_eq "tcp to [2001:db8:1::2]:9101 refused (reject)" "$(lg_in a "$LGD_PY" "$HELPER" send tcp 2001:db8:1::2 9101)" refused
expect_event "Blocked tcp-9101 (IPv6, rejected)" tcp-9101 1 \
        "e['packet']['layer'] == 'outbound' and e['packet']['protocol'] == 'tcp' and e['packet']['remote'] == '[2001:db8:1::2]:9101' and e['packet']['local'].startswith('[2001:db8:1::1]:') and e['packet']['interface'] == 'eth0' and e['packet']['uid'] == 0 and e['packet']['mark'] == 0"
explain_back "tcp-9101"

lg_log "# outbound UDP as uid 4242 (the filter matches that user only)"
lgd_eq "udp to 192.0.2.2:9102 as uid 4242 dropped" "$(lg_in a setpriv --reuid=4242 --regid=4242 --clear-groups "$LGD_PY" "$HELPER" send udp 192.0.2.2 9102)" eperm
expect_event "Blocked uid-4242" uid-4242 1 "e['packet']['uid'] == 4242 and e['packet']['gid'] == 4242 and e['packet']['remote'] == '192.0.2.2:9102'"
explain_back "uid-4242"

lg_log "# inbound ICMP echo request from b"
lg_in b ping -c1 -W1 -q 192.0.2.1 >/dev/null 2>&1
expect_event "Blocked ping-in (inbound)" ping-in 1 \
        "e['packet'] == {'layer': 'inbound', 'protocol': 'icmp', 'remote': '192.0.2.2', 'local': '192.0.2.1', 'interface': 'eth0', 'mark': 0, 'icmp_type': 'echo-request'}"
explain_back "ping-in"

lg_log "# a block without log: true: dropped, no signal"
lgd_eq "udp to 192.0.2.2:9300 dropped" "$(lg_in a "$LGD_PY" "$HELPER" send udp 192.0.2.2 9300)" eperm
sleep 0.5
lgd_eq "no Blocked for the quiet filter" "$(count quiet)" 0
lgd_eq "gdbus monitor saw the same four signals" "$(grep -c "$LGD_IFACE.Blocked" "$LG_TMP/gdbus.txt")" 4
grep -q "Blocked ('netlog', 'guard', 'udp-9100', {'layer': <'outbound'>, 'protocol': <'udp'>, 'remote': <'192.0.2.2:9100'>, 'local': <'192.0.2.1:40100'>, 'interface': <'eth0'>, 'uid': <uint32 0>, 'gid': <uint32 0>, 'mark': <uint32 42>})" "$LG_TMP/gdbus.txt" &&
        lg_pass "gdbus monitor: Blocked with the signature (sssa{sv}) and the keys" || lg_fail "gdbus monitor" "$(grep Blocked "$LG_TMP/gdbus.txt" | head -2)"

lg_log "# the journal: one entry per event, with structured fields"
lgd_wait_for 3 grep -q 'LEAKGUARD_FILTER": "ping-in' "$JOURNAL"
entry=$(grep '"LEAKGUARD_FILTER": "udp-9100"' "$JOURNAL" | head -1)
lgd_eq "journal entry of udp-9100" "$(json_eval '(d["MESSAGE_ID"], d["PRIORITY"], d["LEAKGUARD_POLICY"], d["LEAKGUARD_SUBLAYER"], d["LEAKGUARD_FILTER"], d["LEAKGUARD_LAYER"], d["LEAKGUARD_PROTOCOL"], d["LEAKGUARD_REMOTE"], d["LEAKGUARD_LOCAL"], d["LEAKGUARD_INTERFACE"], d["LEAKGUARD_UID"], d["LEAKGUARD_MARK"])' <<<"${entry:-null}" 2>&1)" \
        "('cdb66a77ce6d4b0ab296caf1fc51b9b3', '5', 'netlog', 'guard', 'udp-9100', 'outbound', 'udp', '192.0.2.2:9100', '192.0.2.1:40100', 'eth0', '0', '42')"
lgd_eq "journal MESSAGE of udp-9100" "$(json_eval 'd["MESSAGE"]' <<<"${entry:-null}" 2>&1)" \
        "blocked outbound udp to 192.0.2.2:9100 from 192.0.2.1:40100 out on eth0, uid 0, mark 0x2a by netlog/guard/udp-9100"
lgd_eq "journal entries of Blocked events" "$(grep -c cdb66a77ce6d4b0ab296caf1fc51b9b3 "$JOURNAL")" 4

# flood LABEL SECONDS PORTS: UDP flood from a while Status is called over and over; sets FLOOD
# (packets), SIGNALS (Blocked seen by the monitor during it), STATUS_LINE.
flood() {
        local label=$1 secs=$2 before
        shift 2
        before=$(grep -c '"filter"' "$MON")
        "$LGD_PY" "$HELPER" status "$((secs + 1))" "$LG_TMP/status.txt" >/dev/null &
        local spid=$!
        FLOOD=$(lg_in a "$LGD_PY" "$HELPER" flood "$secs" 192.0.2.2 "$@")
        wait $spid
        STATUS_LINE=$(cat "$LG_TMP/status.txt" 2>/dev/null)
        sleep 1 # the last batch (at most 50 ms late) and the bus
        SIGNALS=$(($(grep -c '"filter"' "$MON") - before))
        lg_log "# $label: $FLOOD over $secs s; $SIGNALS Blocked signals; Status during the flood: $STATUS_LINE"
}

lg_log "# flood of one filter: 3 s of UDP to ports 9200-9209"
flood "one filter" 3 9200 9201 9202 9203 9204 9205 9206 9207 9208 9209
packets=$(sed 's/packets=\([0-9]*\).*/\1/' <<<"$FLOOD")
logged=$(lgd_status_get "[f['Packets'] for l in s['Layers'] if l['Name'] == 'outbound' for sl in l['Sublayers'] for f in sl['Filters'] if f['Name'] == 'flood'][0]")
signals=$(count flood)
# A token bucket of burst 10 and 5/s lets through at most 10 + 5 * (3 s + 1 s of slack) signals.
[ "$packets" -ge 10000 ] && [ "$logged" -ge 10000 ] && lg_pass "flood: $packets packets sent, $logged logged by the kernel (rule counter)" ||
        lg_fail "flood: too few packets to be a flood" "packets=$packets logged=$logged"
[ "$signals" -ge 10 ] && [ "$signals" -le 30 ] &&
        lg_pass "flood: $signals Blocked signals for $logged logged packets (per-filter bucket: burst 10, 5/s)" ||
        lg_fail "flood: signals not rate-limited to burst 10 + 5/s" "$signals signals for $logged packets"
stats=$(lgd_status_get "(s['NetEvents']['Received'], s['NetEvents']['Emitted'], s['NetEvents']['Suppressed'], s['NetEvents']['Overruns'])")
read -r received emitted suppressed overruns < <(tr -d '(),' <<<"$stats")
[ "$suppressed" -gt 1000 ] && [ $((emitted + suppressed)) -eq "$received" ] &&
        lg_pass "Status NetEvents: received $received = emitted $emitted + suppressed $suppressed (socket overruns: $overruns)" ||
        lg_fail "Status NetEvents" "$stats"
read -r calls maxms _ < <(sed 's/calls=\([0-9]*\) max_ms=\([0-9.]*\).*/\1 \2/' <<<"$STATUS_LINE")
[ "${calls:-0}" -ge 20 ] && awk -v m="$maxms" 'BEGIN { exit !(m < 1000) }' &&
        lg_pass "Status answered during the flood: $STATUS_LINE" || lg_fail "Status during the flood" "${STATUS_LINE:-no answer}"
lgd_wait_for 7 grep -q f8ab93bfe2f0428296361e4849ac3a6f "$JOURNAL"
report=$(grep f8ab93bfe2f0428296361e4849ac3a6f "$JOURNAL" | head -1)
lgd_eq "journal: a suppression report (MESSAGE_ID f8ab93bf…) names the filter" \
        "$(json_eval '(int(d["LEAKGUARD_SUPPRESSED"]) > 0, d["LEAKGUARD_INTERVAL_SEC"], "netlog/guard/flood" in d["MESSAGE"])' <<<"${report:-null}" 2>&1)" "(True, '5', True)"
lg_log "# report: $(json_eval 'd["MESSAGE"]' <<<"${report:-null}" 2>&1)"

lg_log "# flood of twelve filters: the global bucket (burst 100, 50/s) binds before the per-filter ones"
flood "twelve filters" 3 $(seq 9400 9411)
[ "$SIGNALS" -ge 100 ] && [ "$SIGNALS" -le $((100 + 50 * 4)) ] &&
        lg_pass "flood of twelve filters: $SIGNALS Blocked signals (global bucket: burst 100, 50/s; per filter alone would allow up to $((12 * (10 + 5 * 4))))" ||
        lg_fail "flood of twelve filters: not limited by the global bucket" "$SIGNALS signals"
per=$(for i in $(seq 0 11); do count "port-$i"; done | sort -n | tr '\n' ' ')
lg_log "# signals per filter: $per"
read -r calls maxms _ < <(sed 's/calls=\([0-9]*\) max_ms=\([0-9.]*\).*/\1 \2/' <<<"$STATUS_LINE")
[ "${calls:-0}" -ge 20 ] && awk -v m="$maxms" 'BEGIN { exit !(m < 1000) }' &&
        lg_pass "Status answered during the flood of twelve filters: $STATUS_LINE" || lg_fail "Status during the flood" "${STATUS_LINE:-no answer}"

lg_log "# after the floods: events flow again once the buckets refill"
sleep 2
before=$(count udp-9100)
lgd_eq "udp to 192.0.2.2:9100 dropped" "$(lg_in a "$LGD_PY" "$HELPER" send udp 192.0.2.2 9100)" eperm
expect_event "Blocked udp-9100 after the floods" udp-9100 $((before + 1)) "e['packet']['remote'] == '192.0.2.2:9100'"
lgd_eq "the daemon is still running" "$(kill -0 "$LG_DAEMON_PID" && echo yes)" yes

lg_done
