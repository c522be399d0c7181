#!/usr/bin/env bash
# run_oracle.sh - one oracle test: make a capture, run vigil-agent over it,
# decode the reports with `vigil decode`, and compare every flow with what
# tshark reads from the same capture (compare.py).
#
# Usage: run_oracle.sh NAME VIGIL_AGENT VIGIL WORK_DIR
#   NAME: netns_icmp | netns_tcp | netns_udp   (real traffic; root and ip netns)
#         scapy_ipv6_ext | scapy_ipv4_frag | scapy_truncated | scapy_tcp_flags
#         scapy_many_flows | scapy_counter_wrap | scapy_full_table
#         demo       (the committed data/demo-traffic.pcapng; no root needed)
#         selftest   (the comparison must catch a tampered report)
# Exits 77 (ctest's skip) when a prerequisite is missing.
set -euo pipefail

name=${1:?usage: run_oracle.sh NAME VIGIL_AGENT VIGIL WORK_DIR}
agent=${2:?} vigil=${3:?} work_root=${4:?}
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3   # Debian's python3-scapy and python3-cbor2 belong to it
SKIP=77

skip() { echo "SKIP: $*"; exit "$SKIP"; }
command -v tshark >/dev/null || skip "tshark is not installed"
"$py" -c 'import scapy, cbor2' 2>/dev/null || skip "python3-scapy or python3-cbor2 missing"

work="$work_root/$name"
rm -rf "$work"
mkdir -p "$work"

addrs=()
interval=60
meta_args=()
extra_args=()
case "$name" in
  netns_*)
    [ "$(id -u)" -eq 0 ] || skip "needs root for network namespaces"
    probe=vigil-probe-$$
    ip netns add "$probe" 2>/dev/null || skip "ip netns is unavailable"
    ip netns del "$probe"
    command -v tcpdump >/dev/null || skip "tcpdump is not installed"
    capture="$work/capture.pcap"
    bash "$here/netns_capture.sh" "${name#netns_}" "$capture" >"$work/device_addrs"
    mapfile -t addrs <"$work/device_addrs"
    interval=1   # real traffic spans a few seconds: several report periods
    ;;
  demo)
    capture="$here/../../data/demo-traffic.pcapng"
    addrs=(192.0.2.1 2001:db8::1)   # as data/make-demo-traffic.sh made it
    interval=1
    ;;
  scapy_*|selftest)
    scapy_name=${name#scapy_}
    [ "$name" = selftest ] && scapy_name=tcp_flags
    capture=$("$py" "$here/make_scapy_captures.py" "$scapy_name" "$work")
    meta_args=(--meta "$work/$scapy_name.json")
    "$py" -c 'import json,sys; m = json.load(open(sys.argv[1]))
open(sys.argv[2], "w").write("\n".join(m["device_addrs"]) + "\n")
open(sys.argv[3], "w").write("".join(a + "\n" for a in m["agent_args"]))' \
      "$work/$scapy_name.json" "$work/device_addrs" "$work/agent_args"
    mapfile -t addrs <"$work/device_addrs"
    mapfile -t extra_args <"$work/agent_args"
    ;;
  *)
    echo "run_oracle.sh: unknown test '$name'" >&2; exit 2 ;;
esac

agent_args=(--pcap "$capture" --device-id "oracle-$name" --interval "$interval"
            --out "$work/reports.bin")
agent_args+=("${extra_args[@]}")
compare_args=(--capture "$capture" --agent-log "$work/agent.log" "${meta_args[@]}")
for a in "${addrs[@]}"; do
  agent_args+=(--device-addr "$a")
  compare_args+=(--device-addr "$a")
done

"$agent" "${agent_args[@]}" 2>"$work/agent.log" || { cat "$work/agent.log"; exit 1; }
cat "$work/agent.log"
"$vigil" decode --full "$work/reports.bin" >"$work/decoded.jsonl"

if [ "$name" = selftest ]; then
  # A report with one byte more in one flow must be caught.
  if "$py" "$here/compare.py" "${compare_args[@]}" --decoded "$work/decoded.jsonl" \
       --tamper >"$work/tampered.txt"; then
    echo "FAIL: the oracle accepted a tampered report"; exit 1
  fi
  grep -q "differs" "$work/tampered.txt" || { cat "$work/tampered.txt"; exit 1; }
  echo "oracle selftest ok: a tampered flow is reported:"
  grep -A2 "differs" "$work/tampered.txt"
  exit 0
fi

# The reports as `vigil decode` prints them, and again decoded with cbor2
# (an independent CBOR decoder): both must agree with tshark.
"$py" "$here/compare.py" "${compare_args[@]}" --decoded "$work/decoded.jsonl"
"$py" "$here/compare.py" "${compare_args[@]}" --reports "$work/reports.bin" >/dev/null ||
  { echo "FAIL: the cbor2 reading of the reports disagrees"; 
    "$py" "$here/compare.py" "${compare_args[@]}" --reports "$work/reports.bin"; exit 1; }
