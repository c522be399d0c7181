#!/usr/bin/env bash
# Runs the bare-metal vector firmware under qemu (mps2-an385, Cortex-M3) and
# compares every report it wrote over semihosting with proto/vectors/NAME.hex,
# byte for byte: the Cortex-M build must encode exactly what the host encodes.
#   run_vectors.sh QEMU FIRMWARE.elf VECTORS_DIR
set -euo pipefail
qemu=$1 firmware=$2 dir=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

status=0
timeout 60 "$qemu" -M mps2-an385 -nographic -monitor none -serial none \
  -chardev file,id=semihost,path="$tmp/out.txt" \
  -semihosting-config enable=on,target=native,chardev=semihost \
  -kernel "$firmware" > "$tmp/qemu.log" 2>&1 || status=$?
if [ "$status" -ne 0 ]; then
  echo "FAIL: firmware exited with status $status (124 = timeout)"
  cat "$tmp/qemu.log"; grep -v '^[0-9a-f]*$' "$tmp/out.txt" || true
  exit 1
fi

count=0 failed=0
for vec in "$dir"/*.vec; do
  [ -e "$vec" ] || break
  name=$(basename "$vec" .vec)
  count=$((count + 1))
  # The lines between "vector NAME" and "end NAME" are that vector's reports.
  sed -n "/^vector $name\$/,/^end $name\$/p" "$tmp/out.txt" | sed '1d;$d' > "$tmp/$name.hex"
  if ! grep -qx "end $name" "$tmp/out.txt"; then
    echo "FAIL $name: the firmware did not finish it"; failed=$((failed + 1))
  elif cmp -s "$tmp/$name.hex" "$dir/$name.hex"; then
    echo "ok   $name ($(wc -l < "$dir/$name.hex") reports, identical on Cortex-M3)"
  else
    echo "FAIL $name: Cortex-M3 encoding differs from $name.hex"
    diff "$tmp/$name.hex" "$dir/$name.hex" | cut -c1-160 | head -20 || true
    failed=$((failed + 1))
  fi
done
grep '^stack ' "$tmp/out.txt" | sed 's/^/measured on Cortex-M3 (bytes): /' || true
if ! grep -qx "done $count" "$tmp/out.txt"; then
  echo "FAIL: the firmware did not report 'done $count'"; grep -v '^[0-9a-f]*$' "$tmp/out.txt" || true
  failed=$((failed + 1))
fi
[ "$count" -gt 0 ] || { echo "FAIL: no vectors in $dir"; exit 1; }
echo "$((count - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
