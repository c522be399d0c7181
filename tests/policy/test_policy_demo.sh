#!/usr/bin/env bash
# test_policy_demo.sh - the demo policy (data/policy.yaml) on the demo capture
# (data/scan-demo.pcapng) raises exactly the alerts in demo.expected: the
# upload outside the allowlist and over its byte range, the C2 addresses, the
# telnet scanner and its listener; nothing for the broker or the device's own
# link.
#
# Usage: test_policy_demo.sh VIGIL_AGENT DEMO_CHECK SOURCE_DIR WORK_DIR
set -euo pipefail
agent=${1:?usage: test_policy_demo.sh VIGIL_AGENT DEMO_CHECK SOURCE_DIR WORK_DIR}
check=${2:?} src=${3:?} work=${4:?}
rm -rf "$work"
mkdir -p "$work"
"$agent" --pcap "$src/data/scan-demo.pcapng" --device-addr 192.0.2.1 --device-addr 2001:db8::1 \
  --device-id demo-device --out "$work/reports" 2>"$work/agent.log"
"$check" "$src/data/policy.yaml" "$work/reports" | LC_ALL=C sort >"$work/actual"
if diff -u "$src/tests/policy/demo.expected" "$work/actual"; then
  echo "ok   the demo policy raises exactly the expected alerts"
else
  echo "FAIL the demo policy's alerts differ (above: - expected, + actual)"
  exit 1
fi
