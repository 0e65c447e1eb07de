#!/usr/bin/env bash
# leakguardd under valgrind (issue 7): real daemon integration tests run with every leakguardd
# started through LG_DAEMON_WRAPPER (tests/lib/bus.sh) as
#     valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 …
# Each test must pass as it does without valgrind, and every daemon that ended by SIGTERM must have
# left a valgrind log with "ERROR SUMMARY: 0 errors" (no invalid read or write, no use of
# uninitialised memory, no definitely lost block) and must have exited with status 0.
# LG_VALGRIND_TESTS overrides which tests run (names under tests/kernel/).
# Skipped (exit 77) in a sanitizer build: valgrind cannot run an ASan binary.
: "${SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${BUILDDIR:=$SRCDIR/build}"
if ! command -v valgrind >/dev/null; then
        echo "FAIL setup: valgrind is not installed (apt-get install valgrind)"
        echo "0 passed, 1 failed"
        exit 1
fi
if ldd "$BUILDDIR/leakguardd" 2>/dev/null | grep -q 'libasan\|libubsan' ||
        nm "$BUILDDIR/leakguardd" 2>/dev/null | grep -q __asan_init; then
        echo "SKIP leakguardd is built with sanitizers; valgrind cannot run it"
        exit 77
fi
. "$(dirname "$0")/../lib/netns.sh"
lg_require
tests=${LG_VALGRIND_TESTS:-test-daemon-state-faults.sh test-daemon-bus.sh test-daemon-abuse.sh}
VG="$LG_TMP/valgrind"
mkdir -p "$VG"
chmod 755 "$LG_TMP" "$VG"
wrapper="valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite
 --errors-for-leak-kinds=definite --num-callers=40 --suppressions=$SRCDIR/tests/valgrind.supp
 --log-file=$VG/leakguardd.%p.log"
for t in $tests; do
        rm -f "$VG"/leakguardd.*.log
        start=$(date +%s)
        # GLib's slice allocator would hide leaks and invalid accesses from valgrind.
        G_SLICE=always-malloc G_DEBUG=gc-friendly LG_DAEMON_WRAPPER="$wrapper" LG_DAEMON_READY_TIMEOUT=180 \
                bash "$SRCDIR/tests/kernel/$t" >"$LG_TMP/$t.out" 2>&1
        rc=$?
        took=$(($(date +%s) - start))
        summary=$(tail -1 "$LG_TMP/$t.out")
        if [ $rc -eq 0 ]; then
                lg_pass "$t under valgrind: $summary (${took} s)"
        else
                lg_fail "$t under valgrind" "status $rc, $summary (${took} s): $(grep -m5 '^FAIL' "$LG_TMP/$t.out" | tr '\n' ' ')"
        fi
        logs=0 complete=0
        for log in "$VG"/leakguardd.*.log; do
                [ -e "$log" ] || continue
                logs=$((logs + 1))
                # --quiet: a clean run writes nothing; an error writes its report and a summary.
                if [ -s "$log" ]; then
                        lg_fail "$t: valgrind found errors in leakguardd (pid ${log##*leakguardd.})" \
                                "$(grep -E 'Invalid|uninitialised|definitely lost|ERROR SUMMARY' "$log" | head -5 | tr '\n' ' ')"
                        sed 's/^/# /' "$log" | head -80
                else
                        complete=$((complete + 1))
                fi
        done
        [ $logs -gt 0 ] && lg_pass "$t: $logs leakguardd runs under valgrind, $complete without a single error" ||
                lg_fail "$t: leakguardd ran under valgrind" "no valgrind log"
done
lg_done
