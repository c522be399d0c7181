#!/usr/bin/env bash
# Report bytes per flow over an hour of a typical sensor's traffic
# (make_iot_capture.py), once over IPv4 and once over IPv6: everything the
# device sends (headers, counters, system information included) divided by
# the flows reported. Default options: 60 s periods, 1024-byte messages.
set -euo pipefail
build=$1
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for family in ipv4 ipv6; do
  addr=$(/usr/bin/python3 "$here/make_iot_capture.py" "$family" "$tmp/$family.pcap" 2>/dev/null | tail -1)
  "$build/agent/port/linux/vigil-agent" --pcap "$tmp/$family.pcap" --device-addr "$addr" \
    --device-id "bench-$family" --out "$tmp/$family.reports" 2>/dev/null
  "$build/cli/vigil" decode "$tmp/$family.reports" > "$tmp/$family.json"
  /usr/bin/python3 - "$family" "$tmp/$family.reports" "$tmp/$family.json" <<'PY'
import json, os, sys
family, reports, decoded = sys.argv[1:4]
records = 0
with open(reports, "rb") as f:
    data = f.read()
pos = 0
while pos < len(data):
    length = int.from_bytes(data[pos:pos + 4], "big")
    pos += 4 + length
    records += 1
payload = len(data) - 4 * records   # the file's length prefixes are not sent
flows = sum(len(json.loads(line)["flows"]) for line in open(decoded))
print(f"# {family}: {records} reports, {flows} flows, {payload} bytes")
print(f"BENCH wire_per_{family}_flow {payload / flows:.1f} B")
PY
done
echo "# Azure RTOS security module (published): 36 B per IPv4 and 60 B per IPv6 connection, bytes only"
