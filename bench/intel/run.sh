#!/usr/bin/env bash
# The intel matcher's figures at 10M indicators, and libmaxminddb on a 1M
# subset (written by MaxMind's own perl writer) beside Vigil on the same 1M.
# VIGIL_BENCH_INTEL_N and VIGIL_BENCH_INTEL_PEER_N override the sizes.
set -euo pipefail
build=$1
here=$(cd "$(dirname "$0")" && pwd)
bin="$build/bench/intel/bench_intel"
n=${VIGIL_BENCH_INTEL_N:-10000000}
peer_n=${VIGIL_BENCH_INTEL_PEER_N:-1000000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
"$bin" networks "$peer_n" 42 | perl "$here/write_mmdb.pl" "$tmp/peer.mmdb"
echo "# MMDB of $peer_n networks written in $(( $(date +%s) - start )) s ($(stat -c %s "$tmp/peer.mmdb") bytes)"
"$bin" run "$n" --seed 42 --peer-mmdb "$tmp/peer.mmdb" --peer-n "$peer_n"
