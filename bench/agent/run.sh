#!/usr/bin/env bash
# libvigil benchmarks: memory per flow, instructions and ns per packet, and
# report bytes per flow over a realistic device's traffic.
set -euo pipefail
build=$1
here=$(cd "$(dirname "$0")" && pwd)
bin=$build/bench/agent/bench_observe

"$bin" ram
echo "# Azure RTOS security module (published): 52 B per IPv4 and 200 B per IPv6 connection"

# Instructions per call: callgrind counts only inside vigil_observe (callees
# included; the flushes between batches of new flows are outside it).
per_call() {
  local mode=$1 n=$2 out
  out=$(mktemp)
  valgrind --tool=callgrind --callgrind-out-file="$out" --toggle-collect=vigil_observe \
    "$bin" "$mode" "$n" >/dev/null 2>&1
  local total
  total=$(callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
  rm -f "$out"
  # The existing-flow mode makes one extra call to create the flow first.
  local calls=$n
  [ "$mode" = existing ] && calls=$((n + 1))
  awk -v t="$total" -v c="$calls" 'BEGIN { printf "%.1f", t / c }'
}
echo "BENCH observe_instructions_existing_flow $(per_call existing 100000) instructions"
echo "BENCH observe_instructions_new_flow $(per_call new 100000) instructions"
"$bin" time

bash "$here/wire.sh" "$build"
