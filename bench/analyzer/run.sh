#!/usr/bin/env bash
# The analyzer's figures: flows per second through every stage but storage,
# and reports per second into a SQLite file (in a temporary directory).
set -euo pipefail
build=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$build/bench/analyzer/bench_analyze" "$tmp"
