#!/usr/bin/env bash
# Explain and the Blocked signal as interface (DESIGN §3) and the views of leakguardctl: the
# daemon's introspection against dbus/org.leakguard.LeakGuard1.Manager.xml (every method, signal
# and property, argument names and types, both ways); Explain over busctl and gdbus with its named
# errors; `leakguardctl explain` (text, --json, errors, exit status); `leakguardctl status`, the
# `netsh wfp show state` view (layers, sublayers by weight, filters by weight with action and live
# counters, parameters; colour on a terminal only, NO_COLOR, --json); `leakguardctl monitor` lines.
. "$(dirname "$0")/../lib/daemon.sh"
lgd_setup a b
CTL=$LEAKGUARDCTL
HELPER="$SRCDIR/tests/kernel/netlog-helper.py"
json_eval() { "$LGD_PY" -c 'import json,sys; d=json.loads(sys.stdin.read()); print(eval(sys.argv[1]))' "$1"; }
lg_veth a eth0 b eth0
lg_addr a eth0 192.0.2.1/24 2001:db8:1::1/64
lg_addr b eth0 192.0.2.2/24 2001:db8:1::2/64
lg_in a ping -c1 -W2 -q 192.0.2.2 >/dev/null || lg_die "no IPv4 link"
cp "$SRCDIR"/tests/kernel/netlog-policies/*.yaml "$LGD_POLICY_DIR/"
lgd_start

lg_log "# the daemon's introspection is the interface file, member by member"
busctl --system --xml-interface introspect "$LGD_NAME" "$LGD_PATH" >"$LG_TMP/intro.xml" 2>&1
diff=$("$LGD_PY" - "$LG_TMP/intro.xml" "$SRCDIR/dbus/org.leakguard.LeakGuard1.Manager.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
def members(path):
    root = ET.parse(path).getroot()
    iface = [i for i in root.iter("interface") if i.get("name") == "org.leakguard.LeakGuard1.Manager"][0]
    out = set()
    for m in iface:
        if m.tag in ("method", "signal"):
            args = tuple((a.get("name"), a.get("type"), a.get("direction", "out" if m.tag == "signal" else "in"))
                         for a in m.iter("arg"))
            out.add((m.tag, m.get("name"), args))
        elif m.tag == "property":
            out.add((m.tag, m.get("name"), (m.get("type"), m.get("access"))))
    return out
daemon, xml = members(sys.argv[1]), members(sys.argv[2])
for x in sorted(daemon - xml, key=str): print("only in the daemon:", x)
for x in sorted(xml - daemon, key=str): print("only in the XML file:", x)
print("members=%d" % len(daemon & xml))
PY
)
if grep -q '^only' <<<"$diff"; then lg_fail "introspection equals the XML file" "$diff"; else lg_pass "introspection equals the XML file ($diff)"; fi
intro=$(busctl --system introspect "$LGD_NAME" "$LGD_PATH" "$LGD_IFACE")
grep -Eq '^\.Explain +method +a\{sv\} +ssss ' <<<"$intro" && lg_pass "introspection: .Explain method a{sv} ssss" ||
        lg_fail "introspection: Explain" "$(grep Explain <<<"$intro")"
grep -Eq '^\.Blocked +signal +sssa\{sv\} ' <<<"$intro" && lg_pass "introspection: .Blocked signal sssa{sv}" ||
        lg_fail "introspection: Blocked" "$(grep Blocked <<<"$intro")"

lg_log "# Explain with nothing enabled, then with killswitch and netlog"
lgd_eq "Explain, nothing enabled (busctl)" "$(lgd_busctl Explain 'a{sv}' 2 protocol s udp remote s 192.0.2.2:53)" 'ssss "permit" "" "" ""'
lgd_expect_ok "enable killswitch" "$CTL" enable killswitch tunnel=wg0 servers=192.0.2.2:51820/udp
lgd_expect_ok "enable netlog" "$CTL" enable netlog peer=192.0.2.2
lgd_eq "Explain: to the server (busctl)" "$(lgd_busctl Explain 'a{sv}' 3 protocol s udp remote s 192.0.2.2:51820 interface s eth0)" \
        'ssss "permit" "killswitch" "killswitch" "vpn-servers"'
lgd_eq "Explain: elsewhere (gdbus)" \
        "$(lgd_gdbus Explain "{'protocol': <'tcp'>, 'remote': <'198.51.100.7:443'>, 'interface': <'eth0'>, 'uid': <uint32 1000>}")" \
        "('block', 'killswitch', 'killswitch', 'everything-else')"
lgd_eq "Explain: through the tunnel, inbound" \
        "$(lgd_gdbus Explain "{'layer': <'inbound'>, 'protocol': <'icmp'>, 'remote': <'198.51.100.7'>, 'interface': <'wg0'>, 'icmp_type': <'echo-reply'>}")" \
        "('permit', 'killswitch', 'killswitch', 'tunnel')"
# An echo request (the default ICMP type) meets netlog's ping-in, below the tunnel's soft permit.
lgd_eq "Explain: a ping through the tunnel, inbound" \
        "$(lgd_gdbus Explain "{'layer': <'inbound'>, 'protocol': <'icmp'>, 'remote': <'198.51.100.7'>, 'interface': <'wg0'>}")" \
        "('block', 'netlog', 'guard', 'ping-in')"
lgd_expect_error "Explain: unknown key" "$LGD_ERR.InvalidParameters" "unknown packet key 'remot' \(did you mean 'remote'\?\)" \
        lgd_gdbus Explain "{'remot': <'192.0.2.2:53'>}"
lgd_expect_error "Explain: uid sent as a string" "$LGD_ERR.InvalidParameters" "packet key 'uid' must be sent as D-Bus u, not s" \
        lgd_gdbus Explain "{'remote': <'192.0.2.2'>, 'uid': <'root'>}"
lgd_expect_error "Explain: no address" "$LGD_ERR.InvalidParameters" "needs 'remote' \(or 'local'\)" \
        lgd_gdbus Explain "{'protocol': <'udp'>}"
lgd_expect_error "Explain: a key twice" "$LGD_ERR.InvalidParameters" "packet key 'remote' given twice" \
        lgd_gdbus Explain "{'remote': <'192.0.2.2'>, 'remote': <'192.0.2.3'>}"
lgd_expect_error "Explain: a prefix is not a packet's address" "$LGD_ERR.InvalidParameters" "'192.0.2.0/24' is not an address" \
        lgd_gdbus Explain "{'remote': <'192.0.2.0/24'>}"
lgd_expect_ok "Explain as an unprivileged user" lgd_as 65534 busctl --system call "$LGD_NAME" "$LGD_PATH" "$LGD_IFACE" Explain 'a{sv}' 1 remote s 192.0.2.9

lg_log "# leakguardctl explain"
lgd_eq "explain: text" "$("$CTL" explain proto=udp remote=198.51.100.7:53 interface=eth0 2>&1)" "block by killswitch/killswitch/everything-else"
lgd_eq "explain: text, permit" "$("$CTL" explain protocol=udp remote=192.0.2.2:51820 interface=eth0 uid=0 mark=0x10 2>&1)" \
        "permit by killswitch/killswitch/vpn-servers"
lgd_eq "explain: --json" "$("$CTL" --json explain proto=tcp remote=[2001:db8::9]:443 interface=wg0 layer=connect 2>&1)" \
        '{"verdict":"permit","policy":"","sublayer":"","filter":""}'
lgd_eq "explain: --json, outbound through the tunnel" "$("$CTL" --json explain proto=tcp remote=[2001:db8::9]:443 interface=wg0 2>&1)" \
        '{"verdict":"permit","policy":"killswitch","sublayer":"killswitch","filter":"tunnel"}'
lgd_eq "explain: a user by name" "$("$CTL" explain proto=udp remote=192.0.2.2:9102 uid=root interface=eth0 2>&1)" \
        "block by killswitch/killswitch/everything-else"
out=$("$CTL" explain proto=udp remote=192.0.2.2:53 interfac=eth0 2>&1)
rc=$?
[ $rc -eq 1 ] && grep -q "Explain failed: unknown packet key 'interfac' (did you mean 'interface'?).*InvalidParameters" <<<"$out" &&
        lg_pass "explain: unknown key -> exit 1: $out" || lg_fail "explain: unknown key" "status $rc: $out"
out=$("$CTL" explain remote 2>&1)
rc=$?
[ $rc -eq 2 ] && lg_pass "explain: not KEY=VALUE -> exit 2: $out" || lg_fail "explain: not KEY=VALUE" "status $rc: $out"
out=$("$CTL" explain proto=udp remote=192.0.2.2 uid=no-such-user 2>&1)
rc=$?
[ $rc -eq 1 ] && grep -q "not a uid or a known user name" <<<"$out" && lg_pass "explain: unknown user -> exit 1: $out" ||
        lg_fail "explain: unknown user" "status $rc: $out"

lg_log "# leakguardctl status: the netsh wfp show state view"
lgd_eq "udp to 192.0.2.2:9 dropped" "$(lg_in a "$LGD_PY" "$HELPER" send udp 192.0.2.2 9)" eperm # killswitch's everything-else
lg_in a "$LGD_PY" "$HELPER" send udp 192.0.2.2 51820 >/dev/null   # counted by vpn-servers, then netlog's chain
plain=$("$CTL" status 2>&1)
printf '%s\n' "$plain" | sed 's/^/# | /'
grep -q $'\033' <<<"$plain" && lg_fail "status piped: no colour" "escape codes in a pipe" || lg_pass "status piped: no colour"
grep -Eq '^State: protecting +Generation: 2 +Version: ' <<<"$plain" && lg_pass "status: state line" || lg_fail "status: state line" "$(head -1 <<<"$plain")"
grep -Eq '^Net events: NFLOG group 7401, [0-9]+ blocked packets logged, [0-9]+ signalled, [0-9]+ suppressed by the rate limits \(5/s per filter, 50/s in all\)$' <<<"$plain" &&
        lg_pass "status: net events line" || lg_fail "status: net events line" "$(grep 'Net events' <<<"$plain")"
# The layers in hook order, the sublayers of each by weight, the filters of each by weight.
lgd_eq "status: layers and sublayers in evaluation order" \
        "$(grep -E '^(Layer|  sublayer)' <<<"$plain" | sed 's/  */ /g' | tr '\n' '|')" \
        "Layer outbound (output hook, every packet)| sublayer killswitch/killswitch weight 65000| sublayer netlog/guard weight 1000|Layer inbound (input hook, every packet)| sublayer killswitch/killswitch weight 65000| sublayer netlog/guard weight 1000|"
outbound=$(sed -n '/^Layer outbound/,/^Layer inbound/p' <<<"$plain")
lgd_eq "status: outbound filters by weight, with action" \
        "$(awk '/ pkts / { print $1, $2 }' <<<"$outbound" | tr '\n' '|')" \
        "16 permit|15 permit|14 permit|13 permit|13 permit|13 permit|0 block|10 permit|5 block,|5 reject,|4 block,|2 block,|1 block|"
grep -Eq '^ +0 +block +everything-else +[1-9][0-9]* pkts +[0-9.]+ (B|KiB)$' <<<"$outbound" &&
        lg_pass "status: everything-else of the outbound layer counted the packet" ||
        lg_fail "status: live counter" "$(grep everything-else <<<"$outbound")"
grep -Eq '^ +5 +block, log +udp-9100 +0 pkts' <<<"$outbound" && lg_pass "status: logged filters say so" ||
        lg_fail "status: log flag" "$(grep udp-9100 <<<"$outbound")"
grep -Eq '^ +5 +reject, log +tcp-9101 ' <<<"$outbound" && lg_pass "status: rejecting filters say so" ||
        lg_fail "status: reject" "$(grep tcp-9101 <<<"$outbound")"
grep -Eq '^ +parameters: tunnel=wg0 servers=192.0.2.2:51820/udp allow_lan=false$' <<<"$plain" &&
        lg_pass "status: killswitch's parameters" || lg_fail "status: parameters" "$(grep parameters <<<"$plain")"
grep -Eq "inactive \(their \`when\` is false\): lan$" <<<"$plain" && lg_pass "status: inactive filters named" ||
        lg_fail "status: inactive filters" "$(grep inactive <<<"$plain")"
tty=$(script -qec "$CTL status" /dev/null 2>&1)
grep -q $'\033\[31mblock' <<<"$tty" && grep -q $'\033\[1;32mprotecting' <<<"$tty" &&
        lg_pass "status on a terminal: coloured (blocks red, state green)" || lg_fail "status on a terminal: colour" "$(head -3 <<<"$tty" | cat -v)"
tty=$(NO_COLOR=1 script -qec "$CTL status" /dev/null 2>&1)
grep -q $'\033' <<<"$tty" && lg_fail "NO_COLOR on a terminal" "$(head -3 <<<"$tty" | cat -v)" || lg_pass "status on a terminal with NO_COLOR: plain"
js=$("$CTL" --json status 2>&1)
lgd_eq "--json status: Layers" "$(json_eval "[(l['Name'], [(s['Policy'], s['Name'], s['Weight'], s['Table'], len(s['Filters'])) for s in l['Sublayers']]) for l in d['Layers']]" <<<"$js" 2>&1)" \
        "[('outbound', [('killswitch', 'killswitch', 65000, 'leakguard', 7), ('netlog', 'guard', 1000, 'leakguard', 6)]), ('inbound', [('killswitch', 'killswitch', 65000, 'leakguard', 7), ('netlog', 'guard', 1000, 'leakguard', 2)])]"
lgd_eq "--json status: NetEvents" "$(json_eval "(d['NetEvents']['Active'], d['NetEvents']['Group'], d['NetEvents']['FilterRate'], d['NetEvents']['GlobalBurst'])" <<<"$js" 2>&1)" \
        "(True, 7401, 5, 100)"
lgd_eq "--json status: per-layer counters" "$(json_eval "[f['Packets'] > 0 for l in d['Layers'] if l['Name'] == 'outbound' for s in l['Sublayers'] for f in s['Filters'] if f['Name'] in ('everything-else', 'vpn-servers')]" <<<"$js" 2>&1)" \
        "[True, True]"

lg_log "# leakguardctl monitor"
lgd_expect_ok "disable killswitch (so that netlog's filters decide)" "$CTL" disable killswitch
"$CTL" monitor >"$LG_TMP/mon.txt" 2>"$LG_TMP/mon.err" &
mpid=$!
LG_PIDS+=("$mpid")
lgd_wait_for 5 grep -q Monitoring "$LG_TMP/mon.err"
lg_in a "$LGD_PY" "$HELPER" send udp 192.0.2.2 9100 40200 0x7 >/dev/null
lg_in b ping -c1 -W1 -q 192.0.2.1 >/dev/null 2>&1
lgd_wait_for 5 sh -c "[ \$(wc -l <'$LG_TMP/mon.txt') -ge 2 ]"
lg_stop "$mpid"
grep -q $'\033' "$LG_TMP/mon.txt" && lg_fail "monitor piped: no colour" "$(cat -v "$LG_TMP/mon.txt")" || lg_pass "monitor piped: no colour"
grep -Eq '^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} blocked outbound udp +192\.0\.2\.2:9100 <- 192\.0\.2\.1:40200 out on eth0 uid 0 mark 0x7  netlog/guard/udp-9100$' "$LG_TMP/mon.txt" &&
        lg_pass "monitor: outbound line: $(head -1 "$LG_TMP/mon.txt")" || lg_fail "monitor: outbound line" "$(cat "$LG_TMP/mon.txt")"
grep -Eq '^[0-9:.]{12} blocked inbound +icmp +192\.0\.2\.2 -> 192\.0\.2\.1 in on eth0 echo-request  netlog/guard/ping-in$' "$LG_TMP/mon.txt" &&
        lg_pass "monitor: inbound line: $(sed -n 2p "$LG_TMP/mon.txt")" || lg_fail "monitor: inbound line" "$(cat "$LG_TMP/mon.txt")"

lg_done
