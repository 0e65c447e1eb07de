#!/usr/bin/env bash
# Every compiled combination of the shipped policies (killswitch, dns-leak, ipv6-leak: each alone
# and together; allow_lan true and false; IPv4, IPv6 and mixed servers/resolvers) passes
# `nft -c -f`, really loads with `nft -f`, and loads again on top of itself (re-apply = flush +
# re-add) leaving the same ruleset; applied one after another in a second namespace without any
# deletion in between, every combination loads and its base chains jump exactly where a fresh
# load's do.
. "$(dirname "$0")/../lib/netns.sh"
lg_require
lg_netns_new fresh rolling

variants=(
        "v4|tunnel=wg0|servers=198.51.100.7:51820/udp|resolvers=10.64.0.1"
        "v6|tunnel=wg*|servers=[2001:db8:1::7]:51820/udp,2001:db8:1::8,[2001:db8:1::9]:443/tcp|resolvers=fd00:64::1,2001:db8:64::1"
        "mixed|tunnel=tun0|servers=198.51.100.7:1194/udp,198.51.100.10,[2001:db8:1::7]:1194,198.51.100.9/tcp|resolvers=10.64.0.1,fd00:64::1"
)
subsets=("killswitch" "dns-leak" "ipv6-leak" "killswitch dns-leak" "killswitch ipv6-leak" "dns-leak ipv6-leak"
        "killswitch dns-leak ipv6-leak")

listing() { lg_in "$1" nft -s list table inet leakguard; }
comments() { sed -n 's/.*comment "\([^"]*\)".*/\1/p' | sort -u; }
jumps() { lg_in "$1" nft list table inet leakguard | awk '/chain .*-layer/ { c = $2 } { for (i = 1; i < NF; i++) if ($i == "jump") print c, $(i + 1) }'; }

combos=0
for v in "${variants[@]}"; do
        IFS='|' read -r vname tunnel servers resolvers <<<"$v"
        for subset in "${subsets[@]}"; do
                for lan in true false; do
                        files=() params=()
                        for p in $subset; do files+=("$LG_SHIPPED/$p.yaml"); done
                        [[ $subset == *killswitch* ]] && params+=("$servers")
                        [[ $subset == *killswitch* || $subset == *dns-leak* ]] && params+=("$tunnel")
                        [[ $subset == *dns-leak* ]] && params+=("$resolvers")
                        [[ $subset == *killswitch* || $subset == *ipv6-leak* ]] && params+=("allow_lan=$lan")
                        [[ $subset == dns-leak && $lan == false ]] && continue   # no allow_lan: one run is enough
                        name="$vname [${subset// /+}] allow_lan=$lan"
                        f="$LG_TMP/combo.$combos.nft"
                        combos=$((combos + 1))
                        if ! lg_compile "$f" "${files[@]}" "${params[@]}"; then
                                lg_fail "$name: compile"
                                continue
                        fi
                        lg_flush fresh
                        err=$(lg_in fresh nft -c -f "$f" 2>&1) || { lg_fail "$name: nft -c -f" "$err"; continue; }
                        err=$(lg_in fresh nft -f "$f" 2>&1) || { lg_fail "$name: nft -f" "$err"; continue; }
                        first=$(listing fresh)
                        err=$(lg_in fresh nft -f "$f" 2>&1) || { lg_fail "$name: second nft -f" "$err"; continue; }
                        second=$(listing fresh)
                        if [ "$first" != "$second" ]; then
                                lg_fail "$name: second load changed the ruleset" \
                                        "$(diff <(echo "$first") <(echo "$second") | head -5 | tr '\n' ' ')"
                                continue
                        fi
                        if [ "$(comments <"$f")" != "$(echo "$first" | comments)" ]; then
                                lg_fail "$name: the kernel's rules are not the compiled ones"
                                continue
                        fi
                        err=$(lg_in rolling nft -f "$f" 2>&1) || { lg_fail "$name: load over the previous combination" "$err"; continue; }
                        if [ "$(jumps rolling)" != "$(jumps fresh)" ]; then
                                lg_fail "$name: base chains after loading over the previous combination" \
                                        "$(diff <(jumps fresh) <(jumps rolling) | tr '\n' ' ')"
                                continue
                        fi
                        lg_pass "$name: nft -c, nft -f twice (same ruleset), over the previous one"
                done
        done
done
lg_log "# $combos combinations"

# A long server list (more than 4096 endpoints, the old limit of the compiler's cover check), with
# duplicates and an address given both bare and with port: the kernel refuses an element given twice
# or one whose start lies in another (File exists), so the compiler must drop those at any length.
big=$(for i in $(seq 0 4999); do printf '100.%d.%d.%d:51820/udp,' $((64 + i / 62500)) $((i / 250 % 250)) $((i % 250 + 1)); done)
big="servers=${big}100.64.0.1:51820/udp,100.64.0.2,100.64.0.3:443/tcp,100.64.0.3/tcp,[2001:db8:1::7]:51820/udp,[2001:db8:1::7]:51820/udp"
if lg_compile "$LG_TMP/big-servers.nft" "$LG_SHIPPED/killswitch.yaml" tunnel=wg0 "$big"; then
        n=$(grep -o ' \. udp \. 51820\| \. tcp \. 443\| \. 0-255 \. 0-65535\| \. tcp \. 0-65535' "$LG_TMP/big-servers.nft" | wc -l)
        lg_flush fresh
        if err=$(lg_in fresh nft -f "$LG_TMP/big-servers.nft" 2>&1 && lg_in fresh nft -f "$LG_TMP/big-servers.nft" 2>&1); then
                lg_pass "killswitch with 5,006 server endpoints (duplicates, covered ones): $n elements, loads twice"
        else
                lg_fail "killswitch with 5,006 server endpoints" "$(echo "$err" | head -c 300)"
        fi
        # 5,000 generated + bare 100.64.0.2 (covers 100.64.0.2:51820/udp) + 100.64.0.3/tcp (covers
        # 100.64.0.3:443/tcp) + the IPv6 endpoint once; the repeated 100.64.0.1:51820/udp goes.
        [ "$n" -eq 5002 ] && lg_pass "server set has 5,002 elements (duplicates and covered endpoints dropped)" ||
                lg_fail "server set size" "$n elements, want 5002"
else
        lg_fail "compile killswitch with 5,006 server endpoints"
fi
lg_done
