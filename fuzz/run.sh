#!/usr/bin/env bash
# Runs each libFuzzer target for a bounded time (default 20 s each) and reports executions and
# findings. Builds build-fuzz/ with clang first (-DLEAKGUARD_FUZZ=ON) unless FUZZ_NO_BUILD=1.
#
#   fuzz/run.sh [SECONDS] [TARGET…]        targets: policy params-text dbus-params state
#
# Seeds: the repository's policies, golden and broken cases (policy), fuzz/corpus/TARGET and
# fuzz/regressions/TARGET. New inputs go to BUILD/fuzz-corpus/TARGET (kept between runs, never in
# the repository). A crash, leak, sanitizer report or failed oracle stops the target, leaves the
# input in BUILD/fuzz-artifacts/ and makes this script fail: minimise it, fix the bug and add the
# input to fuzz/regressions/TARGET/, which ctest replays in every build.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
secs=${1:-20}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(policy params-text dbus-params state)
build=${FUZZ_BUILD_DIR:-$src/build-fuzz}
if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
  CC=clang cmake -S "$src" -B "$build" -DLEAKGUARD_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j"$(nproc)" --target $(printf 'fuzz-%s ' "${targets[@]}") >/dev/null
fi
mkdir -p "$build/fuzz-artifacts"
seeds_policy=("$src/policy" "$src/tests/golden" "$src/tests/broken/cases" "$src/tests/kernel/policies"
              "$src/tests/kernel/daemon-policies")
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export G_SLICE=always-malloc
failed=0 total=0
printf '%-12s %12s %8s %8s %s\n' target executions exec/s corpus result
for t in "${targets[@]}"; do
  corpus="$build/fuzz-corpus/$t"
  mkdir -p "$corpus"
  seeds=("$src/fuzz/corpus/$t" "$src/fuzz/regressions/$t")
  [ "$t" = policy ] && seeds+=("${seeds_policy[@]}")
  log="$build/fuzz-artifacts/$t.log"
  rc=0
  # -rss_limit_mb: the 2,000,000-item lists of docs/limits.md are far away; 2 GB catches a runaway.
  "$build/fuzz/fuzz-$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
    -print_final_stats=1 -dict="$src/fuzz/$t.dict" -artifact_prefix="$build/fuzz-artifacts/$t-" \
    "$corpus" "${seeds[@]}" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  units=$(find "$corpus" -type f | wc -l)
  total=$((total + ${execs:-0}))
  if [ $rc -eq 0 ]; then
    result=ok
  else
    failed=$((failed + 1))
    result="FAILED (exit $rc): $(grep -m1 -E 'ERROR|SUMMARY|check failed|Test unit written' "$log" || tail -1 "$log")"
  fi
  printf '%-12s %12s %8s %8s %s\n' "$t" "${execs:-?}" "${rate:-?}" "$units" "$result"
  [ $rc -eq 0 ] || { grep -E 'Test unit written|check failed|SUMMARY' "$log" | sed 's/^/    /'; }
done
echo "fuzz: $total executions in ${#targets[@]} targets of ${secs} s"
echo "$((${#targets[@]} - failed)) passed, $failed failed"
[ $failed -eq 0 ]
