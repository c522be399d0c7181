#!/usr/bin/env bash
# `vigil decode` over every vector's reports must print exactly NAME.json
# (compared as parsed JSON, line by line).
set -euo pipefail
vigil=$1 dir=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
count=0 failed=0
for hex in "$dir"/*.hex; do
  [ -e "$hex" ] || break
  name=$(basename "$hex" .hex)
  count=$((count + 1))
  /usr/bin/python3 - "$hex" "$tmp/$name.bin" <<'PY'
import struct, sys
with open(sys.argv[2], "wb") as out:
    for line in open(sys.argv[1]):
        if line.strip():
            data = bytes.fromhex(line.strip())
            out.write(struct.pack(">I", len(data)) + data)
PY
  if ! "$vigil" decode "$tmp/$name.bin" > "$tmp/$name.out"; then
    echo "FAIL $name: vigil decode failed"; failed=$((failed + 1)); continue
  fi
  if /usr/bin/python3 -c '
import json, sys
a = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
b = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
sys.exit(0 if a == b else 1)' "$tmp/$name.out" "$dir/$name.json"; then
    echo "ok   $name"
  else
    echo "FAIL $name: vigil decode differs from $name.json"
    diff "$tmp/$name.out" "$dir/$name.json" | head -6 || true
    failed=$((failed + 1))
  fi
done
[ "$count" -gt 0 ] || { echo "FAIL: no vectors in $dir"; exit 1; }
echo "$((count - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
