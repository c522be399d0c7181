#!/usr/bin/env bash
# Regenerates the shared test vectors after a deliberate wire-format change:
# NAME.vec from make_vectors.py, NAME.hex from the encoder (vector_runner),
# NAME.json from `vigil decode`. Review the diff before committing: the
# vectors are the contract between the encoder, the decoders and python-cbor2.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../../build}" && pwd)
/usr/bin/python3 "$here/make_vectors.py"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for vec in "$here"/*.vec; do
  name=$(basename "$vec" .vec)
  "$build/tests/encoder/vector_runner" "$vec" > "$here/$name.hex"
  /usr/bin/python3 - "$here/$name.hex" "$tmp/$name.bin" <<'PY'
import struct, sys
with open(sys.argv[2], "wb") as out:
    for line in open(sys.argv[1]):
        data = bytes.fromhex(line.strip())
        out.write(struct.pack(">I", len(data)) + data)
PY
  "$build/cli/vigil" decode "$tmp/$name.bin" > "$here/$name.json"
done
echo "regenerated $(ls "$here"/*.vec | wc -l) vectors"
