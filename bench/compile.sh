#!/usr/bin/env bash
# Compile time and peak memory of `leakguardctl compile` for a policy with FILTERS filters and a
# parameter with ADDRESSES addresses (defaults 10,000 and 1,000,000), interleaved with the
# baseline `leakguardctl check` of the same policy (parse and validate only), REPEATS times.
# Prints a table: medians, min–max, ratio to the baseline, peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
FILTERS=${1:-10000} ADDRESSES=${2:-1000000} REPEATS=${REPEATS:-5}
ctl=${BUILD_DIR:-build}/leakguardctl
[ -x "$ctl" ] || ./scripts/build.sh >/dev/null
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
python3 bench/gen-policy.py "$work" "$FILTERS" "$ADDRESSES"
run() { # run NAME CMD…: appends "seconds maxrss_kb" to $work/NAME
  /usr/bin/time -f "%e %M" -o "$work/t" "$@" >/dev/null
  cat "$work/t" >> "$work/$name"
}
for i in $(seq "$REPEATS"); do
  name=check run "$ctl" check "$work/big.yaml"
  name=compile run "$ctl" compile "$work/big.yaml" "nets=@$work/nets.txt"
done
stats() { sort -n -k1 "$work/$1" | awk '{t[NR]=$1; if ($2>m) m=$2} END {printf "%.3f %.3f %.3f %d\n", t[int((NR+1)/2)], t[1], t[NR], m}'; }
read -r cm cmin cmax crss < <(stats check)
read -r pm pmin pmax prss < <(stats compile)
echo "machine: $(nproc) cores, $(uname -r), $(date -u +%F)"
printf '%-44s %10s %17s %8s %12s\n' "what ($FILTERS filters, $ADDRESSES addresses)" "median s" "min–max s" "ratio" "peak RSS"
printf '%-44s %10s %17s %8s %9d KiB\n' "check (parse + validate, baseline)" "$cm" "$cmin–$cmax" "1.00" "$crss"
printf '%-44s %10s %17s %8.2f %9d KiB\n' "compile (+ parameter, sets, ruleset text)" "$pm" "$pmin–$pmax" "$(echo "$pm / $cm" | bc -l)" "$prss"
printf 'ruleset text: %d bytes\n' "$("$ctl" compile "$work/big.yaml" "nets=@$work/nets.txt" | wc -c)"
