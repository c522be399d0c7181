#!/usr/bin/env bash
# Re-encodes every vector and compares with its .hex, byte for byte.
set -euo pipefail
runner=$1 dir=$2
count=0 failed=0
for vec in "$dir"/*.vec; do
  [ -e "$vec" ] || break
  name=$(basename "$vec" .vec)
  count=$((count + 1))
  if ! out=$("$runner" "$vec"); then
    echo "FAIL $name: runner failed"; failed=$((failed + 1)); continue
  fi
  if [ "$out" != "$(cat "$dir/$name.hex")" ]; then
    echo "FAIL $name: encoding differs from $name.hex"
    diff <(echo "$out") "$dir/$name.hex" | head -20 || true
    failed=$((failed + 1))
  else
    echo "ok   $name ($(wc -l < "$dir/$name.hex") reports)"
  fi
done
[ "$count" -gt 0 ] || { echo "FAIL: no vectors in $dir"; exit 1; }
echo "$((count - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
