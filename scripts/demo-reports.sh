#!/usr/bin/env bash
# demo-reports.sh - the device side alone: vigil-agent over a capture of real traffic
# (data/demo-traffic.pcapng, recorded between two network namespaces by
# data/make-demo-traffic.sh), its reports decoded by `vigil decode` and
# printed as a table per report: flows, listeners, system, counters.
#
# Usage: scripts/demo-reports.sh [BUILD_DIR] [CAPTURE DEVICE_ADDR...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
capture=${2:-$root/data/demo-traffic.pcapng}
shift $(( $# > 2 ? 2 : $# ))
addrs=("$@")
[ ${#addrs[@]} -gt 0 ] || addrs=(192.0.2.1 2001:db8::1)   # the device in data/demo-traffic.pcapng

agent="$build/agent/port/linux/vigil-agent"
vigil="$build/cli/vigil"
for exe in "$agent" "$vigil"; do
  [ -x "$exe" ] || { echo "demo-reports.sh: $exe is missing: run 'make' first" >&2; exit 1; }
done

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

args=(--pcap "$capture" --device-id demo-sensor-01 --model "Vigil demo sensor"
      --firmware "demo-1.0" --interval 2 --out "$out/reports.bin")
for a in "${addrs[@]}"; do args+=(--device-addr "$a"); done

echo "== vigil-agent over $(basename "$capture") (device ${addrs[*]})"
"$agent" "${args[@]}"
"$vigil" decode --full "$out/reports.bin" >"$out/reports.jsonl"
echo

/usr/bin/python3 - "$out/reports.jsonl" "$root/tests/oracle" <<'PY'
import datetime
import sys

sys.path.insert(0, sys.argv[2])
from decoded import reports_from_decode_json  # noqa: E402


def when(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def endpoint(addr, port):
    return ("[%s]:%s" if ":" in addr else "%s:%s") % (addr, port)


def si(n):
    return "%d" % n if n < 10000 else "%.1fk" % (n / 1000) if n < 10**6 else "%.1fM" % (n / 1e6)


reports = reports_from_decode_json(sys.argv[1])
total = {"flows": 0, "bytes": 0}
for r in reports:
    part = " part %d" % r["part"] if r["part"] else ""
    print("report seq %d%s  device %s  boot %08x  period %s .. %s UTC (%s s, interval %s s)%s"
          % (r["seq"], part, r["device_id"], r["boot_id"], when(r["period_start"]),
             when(r["period_end"])[11:], r["period_end"] - r["period_start"], r["interval"],
             "  [more parts follow]" if r["more"] else ""))
    if r["flows"]:
        print("  %-5s %-26s %-26s %9s %9s %7s %7s  %-9s %s" % (
            "proto", "local", "remote", "bytes in", "bytes out", "pkts in", "pkts out",
            "initiator", "tcp flags"))
        for f in sorted(r["flows"], key=lambda f: (f["proto"], f["remote"], f["local_port"])):
            lp, rp = f["local_port"], f["remote_port"]
            if f["proto"] == "icmp":
                local, remote = "%s type %d" % (f["local"], lp), "%s code %d" % (f["remote"], rp)
            else:
                local, remote = endpoint(f["local"], lp), endpoint(f["remote"], rp)
            print("  %-5s %-26s %-26s %9s %9s %7d %7d  %-9s %s" % (
                f["proto"], local, remote, si(f["bytes_in"]), si(f["bytes_out"]),
                f["packets_in"], f["packets_out"], f["initiator"],
                ",".join(sorted(f["flags"])) if f["proto"] == "tcp" else ""))
            total["flows"] += 1
            total["bytes"] += f["bytes_in"] + f["bytes_out"]
    for o in r["overflow"]:
        print("  overflow %s %s: %d packets, %d bytes" % (o["proto"], o["direction"],
                                                        o["packets"], o["bytes"]))
    if r["listeners"]:
        print("  listening: " + ", ".join(
            "%s%s %s" % (proto, "6" if family == 6 else "", endpoint(addr or "*", port))
            for proto, family, port, addr in r["listeners"]))
    if r["system"]:
        print("  system: " + ", ".join("%s=%s" % kv for kv in sorted(r["system"].items())))
    if r["counters"] is not None:
        print("  counters: " + (", ".join("%s=%d" % kv for kv in sorted(r["counters"].items()))
                                or "all zero"))
    print()
print("%d reports, %d flow records, %s bytes of IP datagrams" % (len(reports), total["flows"],
                                                                 si(total["bytes"])))
PY
