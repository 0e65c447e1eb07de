#!/usr/bin/env bash
# Broken inputs: every case must be refused by leakguardctl with exit status 1, the exact
# expected message on stderr and nothing on stdout (no ruleset may ever be printed for them).
#
# A case is cases/NAME.expect plus its input:
#   NAME.expect  the exact expected stderr; lines starting with "# " are comments
#   NAME.yaml    the policy file; without NAME.args the command is `leakguardctl check NAME.yaml`
#   NAME.args    arguments of `leakguardctl compile`, one per line ('#' lines are comments),
#                naming the files explicitly (NAME.yaml or ../../../policy/*.yaml)
#   NAME.gen     a bash script that writes the input (too big to commit) to the path in "$1";
#                it runs in a temporary directory, and the command is `check NAME.yaml` there
# leakguardctl runs in the directory holding the input, so messages name it as NAME.yaml.
# UPDATE=1 rewrites the .expect files from the actual output (keeping comments): review the diff.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cases=$here/cases
: "${LEAKGUARDCTL:?LEAKGUARDCTL must name the leakguardctl binary}"
ctl=$(realpath "$LEAKGUARDCTL")
export LC_ALL=C.UTF-8
min_cases=40
max_ms=2000 # every refusal, including the 50 MB file, must be quick

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pass=0 fail=0
report_fail() {
  echo "FAIL $1: $2"
  fail=$((fail+1))
}

# Inputs without an .expect would silently never run.
for f in "$cases"/*.yaml "$cases"/*.args "$cases"/*.gen; do
  [ -e "$f" ] || continue
  base=${f%.*}
  [ -f "$base.expect" ] || report_fail "$(basename "$base")" "$(basename "$f") has no .expect"
done

for expect in "$cases"/*.expect; do
  name=$(basename "$expect" .expect)
  dir=$cases
  if [ -f "$cases/$name.gen" ]; then
    dir=$tmp/$name
    mkdir -p "$dir"
    if ! bash "$cases/$name.gen" "$dir/$name.yaml"; then
      report_fail "$name" "generator failed"
      continue
    fi
  fi
  if [ -f "$cases/$name.args" ]; then
    mapfile -t argv < <(grep -v '^#' "$cases/$name.args")
    cmd=(compile "${argv[@]}")
  elif [ -f "$dir/$name.yaml" ]; then
    cmd=(check "$name.yaml")
  else
    report_fail "$name" "neither $name.yaml, $name.args nor $name.gen"
    continue
  fi
  want=$(grep -v '^# ' "$expect" || true)

  start=$(date +%s%N)
  (cd "$dir" && exec timeout 10 "$ctl" "${cmd[@]}") >"$tmp/out" 2>"$tmp/err"
  rc=$?
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  got=$(cat "$tmp/err")

  if [ "${UPDATE:-0}" = 1 ] && [ "$rc" -ne 0 ]; then
    { grep '^# ' "$expect" || true; printf '%s\n' "$got"; } >"$tmp/new" && mv "$tmp/new" "$expect"
    want=$got
  fi

  if [ "$rc" -ne 1 ]; then
    report_fail "$name" "exit status $rc, expected 1 ($([ "$rc" -eq 0 ] && echo accepted || echo 'crash, usage error or timeout'))"
  elif [ -s "$tmp/out" ]; then
    report_fail "$name" "printed $(wc -c <"$tmp/out") bytes on stdout (a ruleset for a broken input)"
  elif [ "$got" != "$want" ]; then
    report_fail "$name" "wrong message"
    diff -u --label expected --label actual <(printf '%s\n' "$want") <(printf '%s\n' "$got") | sed 's/^/    /'
  elif [ "$ms" -gt "$max_ms" ]; then
    report_fail "$name" "took $ms ms (at most $max_ms)"
  else
    echo "ok   $name: $got"
    pass=$((pass+1))
  fi
done

total=$((pass+fail))
if [ "$total" -lt "$min_cases" ]; then
  echo "FAIL: only $total cases, at least $min_cases expected"
  fail=$((fail+1))
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
