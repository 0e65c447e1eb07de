#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine as root: install, build, run every test;
# then the same suite again in an ASan+UBSan build (build-asan/, every process's sanitizer report
# collected and fatal), and each libFuzzer target for a bounded time (fuzz/run.sh, build-fuzz/).
# Arguments go to every ctest run (e.g. -R daemon). Environment:
#   LEAKGUARD_SANITIZE_SUITE=0   skip the sanitizer build and its suite
#   LEAKGUARD_FUZZ_SECONDS=N     seconds per fuzz target (default 20; 0 skips the fuzzers)
# The suite takes ~3 min on 2 cores, the sanitizer suite ~6, the fuzzers ~3 with their build.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
./scripts/install-deps.sh
./scripts/build.sh
(cd "${BUILD_DIR:-build}" && ctest --output-on-failure -j2 "$@")

if [ "${LEAKGUARD_SANITIZE_SUITE:-1}" != 0 ]; then
  echo "== the suite again under AddressSanitizer and UndefinedBehaviorSanitizer (build-asan/)"
  BUILD_DIR=build-asan ./scripts/build.sh -DLEAKGUARD_SANITIZE=ON
  # Reports go to files, one per process that had one (the daemon's stderr is a test's log):
  # any file there fails the run, whatever the test that started the process said.
  reports=$(mktemp -d /tmp/leakguard-sanitizers.XXXXXX)
  chmod 1777 "$reports" # the tests run some clients as unprivileged users
  export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:detect_stack_use_after_return=1:strict_string_checks=1:log_path=$reports/asan:suppressions=$src/tests/asan.supp"
  export LSAN_OPTIONS="suppressions=$src/tests/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan"
  export G_SLICE=always-malloc G_DEBUG=gc-friendly
  rc=0
  (cd build-asan && ctest --output-on-failure -j2 "$@") || rc=$?
  if compgen -G "$reports/*" >/dev/null; then
    echo "== sanitizer reports:"
    for f in "$reports"/*; do echo "--- $f"; head -60 "$f"; done
    rc=1
  fi
  rm -rf "$reports"
  unset ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS G_SLICE G_DEBUG
  [ $rc -eq 0 ] || { echo "sanitizer suite failed"; exit $rc; }
fi

secs=${LEAKGUARD_FUZZ_SECONDS:-20}
if [ "$secs" != 0 ]; then
  echo "== fuzzers, ${secs} s each (build-fuzz/)"
  fuzz/run.sh "$secs"
fi
