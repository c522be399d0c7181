#!/usr/bin/env bash
# demo-scan.sh - the offline demo (`make demo-scan`, and `make demo` without root): `vigil scan` over a capture of real traffic
# (data/scan-demo.pcapng, recorded between network namespaces by
# data/make-scan-demo.sh). libvigil turns the device's packets into reports,
# and the analyzer checks them against two threat-intelligence feeds
# (data/feeds/) and the demo policy (data/policy.yaml). The device reaches
# two listed command-and-control servers, accepts telnet from a listed
# scanner, uploads 2 MB where its group allows 1 MB, and listens on telnet
# and plaintext CoAP: each shows up as an alert or a recommendation.
#
# Usage: scripts/demo-scan.sh [BUILD_DIR]
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
vigil="$build/cli/vigil"
[ -x "$vigil" ] || { echo "demo-scan.sh: $vigil is missing: run 'make' first" >&2; exit 1; }

args=(scan --pcap "$root/data/scan-demo.pcapng"
      --device-addr 192.0.2.1 --device-addr 2001:db8::1 --device-id demo-device
      --intel "$root/data/feeds/c2-blocklist.txt" --intel "csv:dst_ip:$root/data/feeds/scanners.csv"
      --policy "$root/data/policy.yaml")
echo "\$ vigil ${args[*]#$root/}"
echo
"$vigil" "${args[@]}"
rc=$?
echo
echo "vigil scan exited $rc (0: nothing found, 1: findings, 2: error)."
echo "The same as JSON lines, for tools: add --json. Keep the results: add --db FILE,"
echo "then 'vigil devices|alerts|recommendations --db FILE'."
# Findings are the point of the demo: only an error fails it.
[ "$rc" -le 1 ]
