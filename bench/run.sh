#!/usr/bin/env bash
# make bench: runs every component's bench/<component>/run.sh in turn.
# Each prints lines `BENCH <name> <value> <unit>` (and context lines).
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
for script in "$here"/*/run.sh; do
  echo "== $(basename "$(dirname "$script")")"
  bash "$script" "$build"
done
