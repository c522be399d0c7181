#!/usr/bin/env bash
# Report bytes per flow over an hour of a typical sensor's traffic
# (make_iot_capture.py), once over IPv4 and once over IPv6, default options
# (60 s periods, 1024-byte messages). Two figures each:
#   wire_per_<family>_flow: bytes of the flow records (all the per-flow
#     fields: addresses, ports, bytes and packets both ways, initiator, TCP
#     flags, times) per flow, what the Azure module's 36/60 B compare with;
#   wire_per_<family>_flow_with_report_headers: everything sent (report
#     headers, counters, system information) divided by the flows. A sensor
#     with four flows a minute pays mostly for headers there.
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
  /usr/bin/python3 - "$family" "$tmp/$family.reports" <<'PY'
import sys
import cbor2
family, reports = sys.argv[1:3]
with open(reports, "rb") as f:
    data = f.read()
pos = records = payload = flow_bytes = flows = 0
while pos < len(data):
    length = int.from_bytes(data[pos:pos + 4], "big")
    report = cbor2.loads(data[pos + 4:pos + 4 + length])
    pos += 4 + length
    records += 1
    payload += length        # the file's length prefixes are not sent
    for flow in report.get(10, []):
        # cbor2 writes shortest-form heads, as the encoder does: the same bytes.
        flow_bytes += len(cbor2.dumps(flow))
        flows += 1
print(f"# {family}: {records} reports, {flows} flows, {payload} bytes sent, "
      f"{flow_bytes} of them in flow records")
print(f"BENCH wire_per_{family}_flow {flow_bytes / flows:.1f} B")
print(f"BENCH wire_per_{family}_flow_with_report_headers {payload / flows:.1f} B")
PY
done
echo "# Azure RTOS security module (published): 36 B per IPv4 and 60 B per IPv6 connection, bytes only"
