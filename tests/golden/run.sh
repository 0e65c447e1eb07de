#!/usr/bin/env bash
# Golden files, the nftables-project way: each CASE.args holds the arguments of
# `leakguardctl compile` (paths relative to the repository), CASE.nft the reviewed expected output.
# UPDATE=1 rewrites the expected files: review the diff by hand before committing it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$SRCDIR"
fail=0 n=0
for args in "$here"/*.args; do
  name=$(basename "$args" .args)
  expected="$here/$name.nft"
  mapfile -t argv < <(grep -v '^#' "$args" | grep -v '^[[:space:]]*$')
  actual=$("$LEAKGUARDCTL" compile "${argv[@]}") || { echo "FAIL $name: compile failed"; fail=$((fail+1)); continue; }
  n=$((n+1))
  if [ "${UPDATE:-0}" = 1 ]; then printf '%s\n' "$actual" > "$expected"; fi
  if ! diff -u "$expected" <(printf '%s\n' "$actual"); then
    echo "FAIL $name"; fail=$((fail+1))
  else
    # Determinism: a second run gives byte-identical output.
    again=$("$LEAKGUARDCTL" compile "${argv[@]}")
    [ "$again" = "$actual" ] || { echo "FAIL $name: output differs between runs"; fail=$((fail+1)); }
  fi
done
echo "$((n-fail)) passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$n" -gt 0 ]
