#!/usr/bin/env bash
# Hostile and malformed D-Bus input (DESIGN §2 "no string from a D-Bus caller is ever pasted into
# nftables syntax unchecked", §3 named errors): wrong argument signatures, unknown policies,
# missing, unknown, duplicated and ill-typed parameters, nftables syntax smuggled into strings,
# 100 KB strings, control characters and other odd (NUL-free, valid UTF-8: D-Bus carries nothing
# else) text. Every call gets a named error, and after every call the kernel ruleset (`nft list
# ruleset`, counters included: this namespace has no traffic) and the state files are byte-identical
# to what they were before; the daemon survives it all.
. "$(dirname "$0")/../lib/daemon.sh"
lgd_setup a
LGD_LIST_FLAGS=""

lgd_start
lgd_expect_ok "setup: Enable killswitch" lgd_busctl Enable 'sa{sv}' killswitch 2 tunnel s wg0 servers as 2 192.0.2.1:51820/udp '[2001:db8::1]:51820/udp'
lgd_expect_ok "setup: Enable typed (every parameter type)" lgd_py call Enable 'sa{sv}' \
        '["typed", {"iface": ["s", "lgx0"], "ifaces": ["as", ["lgx1", "lgx2"]], "addrs": ["as", ["192.0.2.10", "2001:db8::/64"]], "eps": ["as", ["192.0.2.11:53/udp"]], "ports": ["aq", [9999, 10000]], "who": ["u", 65534], "flag": ["b", true]}]'
lgd_eq "setup: kernel policies" "$(lgd_kernel_policies)" "killswitch typed"
lgd_eq "setup: saved policies" "$(lgd_state_policies)" "killswitch typed"
lgd_snap base
gen=$(lgd_prop Generation)

# bad LABEL ERROR-NAME MESSAGE-REGEX CMD…: a named error, nothing changed, and no echo of huge input.
bad() {
        lgd_expect_error "$@"
        lgd_same base "  … after: $1"
        if [ ${#LGD_OUT} -gt 2000 ]; then lg_fail "  … the reply is short" "${#LGD_OUT} bytes"; fi
}
py() { lgd_py call "$@"; }
big=$(head -c 102400 /dev/zero | tr '\0' 'A')
bigsym=$(head -c 102400 /dev/zero | tr '\0' '"')

lg_log "# wrong argument signatures: refused by sd-bus before the daemon's code (InvalidArgs)"
IA=org.freedesktop.DBus.Error.InvalidArgs
bad "Enable 'ss'" $IA "expecting 'sa\{sv\}'" py Enable ss '["killswitch", "x"]'
bad "Enable 's' (no parameters)" $IA "expecting 'sa\{sv\}'" py Enable s '["killswitch"]'
bad "Enable 'a{sv}' (no policy name)" $IA "" py Enable 'a{sv}' '[{"tunnel": ["s", "wg0"]}]'
bad "Enable 'sa{sv}s' (one argument too many)" $IA "" py Enable 'sa{sv}s' '["killswitch", {}, "x"]'
bad "Enable 'sa{ss}' (values not variants)" $IA "" py Enable 'sa{ss}' '["killswitch", {"tunnel": "wg0"}]'
bad "Enable 'asa{sv}' (name as a list)" $IA "" py Enable 'asa{sv}' '[["killswitch"], {}]'
bad "Enable '' (nothing)" $IA "" py Enable '' '[]'
bad "Disable 'as'" $IA "expecting 's'" py Disable as '[["killswitch"]]'
bad "Disable 'u'" $IA "" py Disable u '[1]'
bad "Disable '' (nothing)" $IA "" py Disable '' '[]'
bad "Status 's' (an argument to a method without)" $IA "" py Status s '["x"]'
bad "ListPolicies 'i'" $IA "" py ListPolicies i '[1]'
bad "Reload 'b'" $IA "" py Reload b '[true]'
bad "unknown method Enabled" org.freedesktop.DBus.Error.UnknownMethod "Enabled" py Enabled 's' '["killswitch"]'
bad "Set of the read-only property State" org.freedesktop.DBus.Error.PropertyReadOnly "" \
        gdbus call --system --dest "$LGD_NAME" --object-path "$LGD_PATH" --method org.freedesktop.DBus.Properties.Set "$LGD_IFACE" State "<'idle'>"
bad "Get of an unknown property" org.freedesktop.DBus.Error.UnknownProperty "" \
        gdbus call --system --dest "$LGD_NAME" --object-path "$LGD_PATH" --method org.freedesktop.DBus.Properties.Get "$LGD_IFACE" Policies
bad "Enable on another object path" org.freedesktop.DBus.Error.UnknownObject "" \
        gdbus call --system --dest "$LGD_NAME" --object-path "$LGD_PATH/x" --method "$LGD_IFACE.Enable" killswitch "{}"

lg_log "# unknown policies (NoSuchPolicy), hostile names included"
NS=$LGD_ERR.NoSuchPolicy
bad "Enable nosuch" $NS "no policy named 'nosuch'" lgd_gdbus Enable nosuch "{}"
bad "Enable '' (empty name)" $NS "no policy named ''" lgd_gdbus Enable "" "{}"
bad "Enable 'Killswitch' (case matters)" $NS "did you mean 'killswitch'" lgd_gdbus Enable Killswitch "{}"
bad "Enable 'killswitch.yaml'" $NS "" lgd_gdbus Enable killswitch.yaml "{}"
bad "Enable '../policy/killswitch'" $NS "" lgd_gdbus Enable ../policy/killswitch "{}"
bad "Enable '/etc/passwd'" $NS "" lgd_gdbus Enable /etc/passwd "{}"
bad "Enable 'killswitch\" ; flush ruleset ; \"'" $NS "" lgd_gdbus Enable 'killswitch" ; flush ruleset ; "' "{}"
bad "Disable 'killswitch\" ; flush ruleset ; \"'" $NS "" lgd_gdbus Disable 'killswitch" ; flush ruleset ; "'
bad "Disable 'killswitch ' (trailing space)" $NS "" lgd_gdbus Disable 'killswitch '
bad "Disable with a newline, tab, \\x01 and \\x7f in the name" $NS 'no policy named .kill\\nswitch\\t\\001\\177' \
        py Disable s '["kill\nswitch\t\u0001\u007f"]'
bad "Disable with a right-to-left override and an emoji" $NS "" py Disable s '["hctiwsllik\u202e\ud83d\ude00"]'
bad "Enable with a 100 KB name (message cut short)" $NS "^no policy named 'A{60}'" lgd_gdbus Enable "$big" "{}"
bad "Disable with a 100 KB name of quotes" $NS "" lgd_gdbus Disable "'$bigsym'"
bad "Disable with a 100 KB name (python3-dbus)" $NS "" py Disable s "[\"$big\"]"

lg_log "# parameters: missing, unknown, twice, of the wrong D-Bus type (InvalidParameters)"
IP=$LGD_ERR.InvalidParameters
bad "no parameters at all" $IP "needs parameter" lgd_gdbus Enable killswitch "{}"
bad "unknown parameter" $IP "has no parameter 'server'.*did you mean 'servers'" \
        lgd_gdbus Enable killswitch "{'tunnel': <'wg0'>, 'server': <['192.0.2.1']>}"
bad "empty parameter name" $IP "has no parameter ''" lgd_gdbus Enable killswitch "{'': <'wg0'>}"
bad "a parameter of another policy" $IP "has no parameter 'resolvers'" \
        lgd_gdbus Enable killswitch "{'tunnel': <'wg0'>, 'servers': <['192.0.2.1']>, 'resolvers': <['192.0.2.53']>}"
bad "a parameter given twice" $IP "'tunnel' given twice" \
        lgd_gdbus Enable killswitch "{'tunnel': <'wg0'>, 'tunnel': <'wg1'>, 'servers': <['192.0.2.1']>}"
bad "a 100 KB parameter name (message cut short)" $IP "has no parameter 'A{60}'" \
        lgd_gdbus Enable killswitch "{'$big': <'wg0'>}"
bad "parameter name with a newline" $IP "has no parameter 'tunnel\\\\n'" py Enable 'sa{sv}' '["killswitch", {"tunnel\n": ["s", "wg0"]}]'
bad "interface sent as 'as'" $IP "'tunnel' is of type interface and must be sent as D-Bus s, not as" \
        lgd_gdbus Enable killswitch "{'tunnel': <['wg0']>, 'servers': <['192.0.2.1']>}"
bad "endpoints sent as 's'" $IP "'servers' is of type endpoints and must be sent as D-Bus as, not s" \
        lgd_gdbus Enable killswitch "{'tunnel': <'wg0'>, 'servers': <'192.0.2.1'>}"
bad "bool sent as 's'" $IP "'allow_lan' is of type bool and must be sent as D-Bus b, not s" \
        lgd_gdbus Enable killswitch "{'tunnel': <'wg0'>, 'servers': <['192.0.2.1']>, 'allow_lan': <'true'>}"
bad "bool sent as 'u'" $IP "not u" py Enable 'sa{sv}' '["killswitch", {"tunnel": ["s", "wg0"], "servers": ["as", ["192.0.2.1"]], "allow_lan": ["u", 1]}]'
bad "a variant inside the variant" $IP "not v" lgd_gdbus Enable killswitch "{'tunnel': <<'wg0'>>, 'servers': <['192.0.2.1']>}"
bad "a dict as the value" $IP "" lgd_gdbus Enable killswitch "{'tunnel': <{'a': <'wg0'>}>, 'servers': <['192.0.2.1']>}"
bad "ports sent as 'ai'" $IP "'ports' is of type ports and must be sent as D-Bus as or aq, not ai" \
        py Enable 'sa{sv}' '["typed", {"iface": ["s", "lgx0"], "ifaces": ["as", ["lgx1"]], "addrs": ["as", []], "eps": ["as", []], "ports": ["ai", [53]], "who": ["u", 0]}]'
bad "user sent as 'i'" $IP "'who' is of type user and must be sent as D-Bus u or s, not i" \
        py Enable 'sa{sv}' '["typed", {"iface": ["s", "lgx0"], "ifaces": ["as", ["lgx1"]], "addrs": ["as", []], "eps": ["as", []], "ports": ["aq", [53]], "who": ["i", -1]}]'
bad "interface sent as 'y' (a byte)" $IP "not y" py Enable 'sa{sv}' '["killswitch", {"tunnel": ["y", 65], "servers": ["as", ["192.0.2.1"]]}]'

lg_log "# values: nftables syntax, 100 KB strings, odd characters, out of range (InvalidParameters)"
ks() { lgd_gdbus Enable killswitch "{'tunnel': <'$1'>, 'servers': <['${2:-192.0.2.1}']>}"; }
ks_py() { py Enable 'sa{sv}' "[\"killswitch\", {\"tunnel\": [\"s\", $1], \"servers\": [\"as\", [$2]]}]"; }
bad "tunnel 'wg0\" ; flush ruleset ; \"'" $IP "tunnel" ks 'wg0" ; flush ruleset ; "'
bad "tunnel 'wg0\"; flush ruleset; add table inet x { chain c { type filter hook output priority 0; policy drop; } }; \"'" $IP "tunnel" \
        ks 'wg0"; flush ruleset; add table inet x { chain c { type filter hook output priority 0; policy drop; } }; "'
bad "server '192.0.2.1\" ; flush ruleset ; \"'" $IP "servers" \
        ks wg0 '192.0.2.1" ; flush ruleset ; "'
bad "server '192.0.2.1 } ; flush ruleset ; add element inet leakguard x {'" $IP "servers" \
        ks wg0 '192.0.2.1 } ; flush ruleset ; add element inet leakguard x {'
bad "resolver '192.0.2.53, 0.0.0.0/0'" $IP "resolvers" \
        lgd_gdbus Enable dns-leak "{'tunnel': <'wg0'>, 'resolvers': <['192.0.2.53, 0.0.0.0/0']>}"
bad "tunnel of 100 KB" $IP "tunnel" ks "$big"
bad "tunnel of 100 KB quotes" $IP "tunnel" ks "$bigsym"
bad "server of 100 KB" $IP "servers" ks wg0 "$big"
bad "a 100 KB list of odd servers (1000 x 100 bytes)" $IP "servers" \
        py Enable 'sa{sv}' "[\"killswitch\", {\"tunnel\": [\"s\", \"wg0\"], \"servers\": [\"as\", [$(for i in $(seq 1000); do printf '"%s",' "192.0.2.1\\\" ;$(head -c 85 /dev/zero | tr '\0' 'x')"; done)\"x\"]]}]"
bad "tunnel '' (empty)" $IP "tunnel" ks ""
bad "tunnel of 16 bytes (longer than IFNAMSIZ-1)" $IP "tunnel" ks abcdefghijklmnop
bad "tunnel with a newline" $IP "tunnel" ks_py '"wg\n0"' '"192.0.2.1"'
bad "tunnel with \\x01" $IP "tunnel" ks_py '"wg\u00010"' '"192.0.2.1"'
bad "tunnel with \\x7f" $IP "tunnel" ks_py '"wg\u007f"' '"192.0.2.1"'
bad "tunnel with a space" $IP "tunnel" ks "wg 0"
bad "tunnel with a slash" $IP "tunnel" ks "wg/0"
bad "tunnel '.'" $IP "tunnel" ks "."
bad "tunnel '..'" $IP "tunnel" ks ".."
bad "tunnel with a right-to-left override" $IP "tunnel" ks_py '"wg\u202e0"' '"192.0.2.1"'
bad "tunnel with an emoji" $IP "tunnel" ks_py '"\ud83d\ude00"' '"192.0.2.1"'
bad "tunnel '*' (everything)" $IP "tunnel" ks "*"
bad "server '300.1.2.3'" $IP "servers" ks wg0 300.1.2.3
bad "server '192.0.2.1:0/udp' (port 0)" $IP "servers" ks wg0 192.0.2.1:0/udp
bad "server '192.0.2.1:65536/udp'" $IP "servers" ks wg0 192.0.2.1:65536/udp
bad "server '192.0.2.1:53/sctp'" $IP "servers" ks wg0 192.0.2.1:53/sctp
bad "server '192.0.2.0/33'" $IP "servers" ks wg0 192.0.2.0/33
bad "server '::1::2'" $IP "servers" ks wg0 ::1::2
bad "server with a newline" $IP "servers" ks_py '"wg0"' '"192.0.2.1\n"'
bad "server with an emoji" $IP "servers" ks_py '"wg0"' '"192.0.2.1\ud83d\ude00"'
bad "server 'localhost' (no name lookups)" $IP "servers" ks wg0 localhost
T='"iface": ["s", "lgx0"], "ifaces": ["as", ["lgx1"]], "addrs": ["as", []], "eps": ["as", []]'
bad "ports '65536'" $IP "ports" py Enable 'sa{sv}' "[\"typed\", {$T, \"ports\": [\"as\", [\"65536\"]], \"who\": [\"u\", 0]}]"
bad "ports '9-1' (backwards)" $IP "ports" py Enable 'sa{sv}' "[\"typed\", {$T, \"ports\": [\"as\", [\"9-1\"]], \"who\": [\"u\", 0]}]"
bad "ports '53; flush ruleset'" $IP "ports" py Enable 'sa{sv}' "[\"typed\", {$T, \"ports\": [\"as\", [\"53; flush ruleset\"]], \"who\": [\"u\", 0]}]"
bad "user 'no-such-user-lgd'" $IP "who" py Enable 'sa{sv}' "[\"typed\", {$T, \"ports\": [\"aq\", [53]], \"who\": [\"s\", \"no-such-user-lgd\"]}]"
bad "user 'root\" ; flush ruleset'" $IP "who" py Enable 'sa{sv}' "[\"typed\", {$T, \"ports\": [\"aq\", [53]], \"who\": [\"s\", \"root\\\" ; flush ruleset\"]}]"
bad "interfaces with a hostile item" $IP "ifaces" py Enable 'sa{sv}' "[\"typed\", {\"iface\": [\"s\", \"lgx0\"], \"ifaces\": [\"as\", [\"lgx1\", \"x\\\" } ; flush ruleset ; {\"]], \"addrs\": [\"as\", []], \"eps\": [\"as\", []], \"ports\": [\"aq\", [53]], \"who\": [\"u\", 0]}]"
for cg in '../../etc' '/sys/fs/cgroup' 'a" ; flush ruleset ; "' 'a\nb' "$(head -c 300 /dev/zero | tr '\0' 'c')" 'x y' 'a//b' 'a/'; do
        bad "cgroup string '${cg:0:40}'" $IP "cgroup" \
                py Enable 'sa{sv}' "[\"typed\", {$T, \"ports\": [\"aq\", [53]], \"who\": [\"u\", 0], \"cgroup_on\": [\"b\", true], \"cgroup\": [\"s\", \"${cg//\"/\\\"}\"]}]"
done

lg_log "# an unprivileged caller with hostile input is refused before any of it is read"
bad "uid 65534: Enable with a hostile tunnel" org.freedesktop.DBus.Error.AccessDenied "" \
        lgd_as 65534 gdbus call --system --dest "$LGD_NAME" --object-path "$LGD_PATH" --method "$LGD_IFACE.Enable" killswitch "{'tunnel': <'wg0\" ; flush ruleset ; \"'>}"

lg_log "# busctl (which prints only the message of an error): the same refusals, seen through it"
bc() { # LABEL MESSAGE-REGEX ARGS…
        local label=$1 re=$2 out
        shift 2
        out=$(lgd_busctl "$@")
        if [ $? -ne 0 ] && grep -Eq -- "$re" <<<"$out"; then lg_pass "busctl: $label -> ${out:0:140}"; else lg_fail "busctl: $label" "${out:0:300}"; fi
        lgd_same base "  … after busctl: $label"
}
bc "tunnel 'wg0\" ; flush ruleset ; \"'" "^Call failed: parameter 'tunnel': interface name" \
        Enable 'sa{sv}' killswitch 2 tunnel s 'wg0" ; flush ruleset ; "' servers as 1 192.0.2.1
bc "a parameter given twice" "^Call failed: parameter 'tunnel' given twice" Enable 'sa{sv}' killswitch 3 tunnel s wg0 tunnel s wg1 servers as 1 192.0.2.1
bc "Disable with a 100 KB name of quotes" "^Call failed: no policy named" Disable s "$bigsym"
bc "tunnel of 100 KB quotes" "is 102400 bytes long" Enable 'sa{sv}' killswitch 2 tunnel s "$bigsym" servers as 1 192.0.2.1
bc "Enable 'ss'" "^Call failed: Invalid arguments 'ss' to call org.leakguard.LeakGuard1.Manager.Enable\(\), expecting 'sa\{sv\}'" Enable ss killswitch x

lg_log "# afterwards: the same generation, the same policies, the daemon alive and answering"
lgd_eq "Generation unchanged" "$(lgd_prop Generation)" "$gen"
lgd_eq "EnabledPolicies unchanged" "$(lgd_prop EnabledPolicies)" 'as 2 "killswitch" "typed"'
lgd_eq "State" "$(lgd_prop State)" 's "protecting"'
kill -0 "$LG_DAEMON_PID" 2>/dev/null && lg_pass "leakguardd still running" || lg_fail "leakguardd still running" "died"
grep -Eq 'AddressSanitizer|runtime error|CRITICAL|assertion' "$LG_BUS_DIR/daemon.log" &&
        lg_fail "daemon log free of crashes and assertions" "$(grep -E 'AddressSanitizer|runtime error|CRITICAL|assertion' "$LG_BUS_DIR/daemon.log" | head -3)" ||
        lg_pass "daemon log free of crashes and assertions"
lgd_expect_ok "a valid call still works: Enable killswitch with a second server" \
        lgd_busctl Enable 'sa{sv}' killswitch 2 tunnel s wg0 servers as 1 192.0.2.7:51820/udp
lgd_ruleset | grep -q '192.0.2.7 . udp . 51820' &&
        lg_pass "kernel: the valid call was applied" || lg_fail "kernel: the valid call was applied" "no 192.0.2.7"
lg_done
