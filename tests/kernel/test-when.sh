#!/usr/bin/env bash
# `when: $flag` keeps a filter only when the bool is true, `when: "!$flag"` only when it is false;
# the default applies when the parameter is not given; re-applying with the other value really
# removes the filter from the kernel. Policy: policies/when.yaml.
. "$(dirname "$0")/../lib/netns.sh"
lg_require
lg_topo_pair 9000,9001,9002

check_compiled() { # FILE WANT-if-strict WANT-if-not-strict
        local f=$1 a=0 b=0
        grep -q 'comment "when/when/if-strict"' "$f" && a=1
        grep -q 'comment "when/when/if-not-strict"' "$f" && b=1
        [ "$a$b" = "$2$3" ] && lg_pass "compiled $(basename "$f"): if-strict=$a if-not-strict=$b" ||
                lg_fail "compiled $(basename "$f")" "if-strict=$a if-not-strict=$b, want $2 $3"
}

lg_compile "$LG_TMP/true.nft" when strict=true || lg_die "compile strict=true"
lg_compile "$LG_TMP/false.nft" when strict=false || lg_die "compile strict=false"
lg_compile "$LG_TMP/default.nft" when || lg_die "compile with the default"
check_compiled "$LG_TMP/true.nft" 1 0
check_compiled "$LG_TMP/false.nft" 0 1
check_compiled "$LG_TMP/default.nft" 0 1

for round in 1 2; do
        lg_log "# strict=true (round $round)"
        lg_apply a "$LG_TMP/true.nft" || lg_die "apply true"
        for p in 10.99.1.2 fd99:1::2; do
                lg_expect drop a udp $p 9000
                lg_expect pass a udp $p 9001
                lg_expect drop a udp $p 9002
        done
        lg_log "# strict=false (round $round)"
        lg_apply a "$LG_TMP/false.nft" || lg_die "apply false"
        for p in 10.99.1.2 fd99:1::2; do
                lg_expect pass a udp $p 9000
                lg_expect drop a udp $p 9001
                lg_expect drop a udp $p 9002
        done
done
lg_done
