#!/usr/bin/python3
"""Cross-checks the shared test vectors with python-cbor2, independently of
the C code: every line of proto/vectors/NAME.hex is decoded with cbor2 and
interpreted per proto/vigil.cddl here, and must equal the matching line of
NAME.json (what `vigil decode` prints). Fails when there are no vectors.

usage: check_vectors.py VECTORS_DIR"""
import glob
import ipaddress
import json
import os
import sys

import cbor2

COUNTERS = ["ip_truncated", "ip_bad_version", "ipv4_bad_ihl", "ipv4_bad_total_length",
            "ipv6_bad_payload_length", "ipv6_ext_truncated", "ipv6_ext_chain_too_long",
            "transport_truncated", "tcp_bad_offset", "fragment_unattributed",
            "proto_unsupported", "local_addr_full", "flow_table_full", "outbox_dropped",
            "time_saturated", "clock_backwards", "listeners_truncated", "config_rejected",
            "bad_argument", "foreign_packet", "capture_dropped", "flow_split", "reports"]
SYSTEM = ["os_name", "os_version", "stack_name", "stack_version", "agent_version",
          "device_model", "firmware_version"]
PROTOS = ["tcp", "udp", "icmp"]


def addr(raw):
    assert len(raw) in (4, 16), f"address of {len(raw)} bytes"
    return str(ipaddress.ip_address(raw))


def interpret(report):
    assert isinstance(report, dict), "a report is a map"
    assert report[0] == 1, "version 1"
    locals_ = list(report.get(9, []))
    by_family = {4: [a for a in locals_ if len(a) == 4], 6: [a for a in locals_ if len(a) == 16]}
    flows = []
    remotes = []
    for i, f in enumerate(report.get(10, [])):
        assert isinstance(f, list) and len(f) == 10, f"flow {i} has 10 items"
        kind, remote = f[0], f[1]
        if isinstance(remote, int):
            assert remote < i, f"flow {i}: back-reference {remote} to a later flow"
            remote = remotes[remote]
        remotes.append(remote)
        family = 4 if len(remote) == 4 else 6
        proto = PROTOS[kind & 3]
        if proto == "icmp" and family == 6:
            proto = "icmpv6"
        flows.append({
            "proto": proto,
            "local_addr": addr(by_family[family][kind >> 7]),
            "remote_addr": addr(remote),
            "local_port": f[2], "remote_port": f[3],
            "bytes_in": f[4], "bytes_out": f[5], "packets_in": f[6], "packets_out": f[7],
            "initiator": "remote" if kind & 4 else "local",
        })
    listeners = []
    for l in report.get(11, []):
        family = l[1]
        raw = l[3] if len(l) == 4 and len(l[3]) else bytes(4 if family == 4 else 16)
        listeners.append({"proto": ["tcp", "udp"][l[0]], "family": family, "port": l[2],
                          "addr": addr(raw)})
    system = None
    if 12 in report:
        system = {SYSTEM[k]: v for k, v in sorted(report[12].items()) if k < 7}
        if 7 in report[12]:
            system["boot_time"] = report[12][7]
    counters = {(COUNTERS[k] if k < len(COUNTERS) else f"counter_{k}"): v
                for k, v in report.get(13, {}).items()}
    overflow = [{"proto": PROTOS[code // 2], "direction": ["in", "out"][code % 2],
                 "packets": packets, "bytes": size} for code, packets, size in report.get(14, [])]
    return {
        "device_id": report[1], "boot_id": report[2], "seq": report[3],
        "period_start": report[4], "period_end": report[5], "interval": report[6],
        "part": report.get(7, 0), "more": report.get(8, False), "uptime": report.get(15),
        "local_addrs": [addr(a) for a in locals_], "flows": flows,
        "listening_ports": listeners, "system": system, "counters": counters,
        "overflow": overflow,
    }


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else "proto/vectors"
    hex_files = sorted(glob.glob(os.path.join(directory, "*.hex")))
    if not hex_files:
        print(f"FAIL: no vectors in {directory}")
        return 1
    failed = checked = 0
    for hex_file in hex_files:
        name = os.path.basename(hex_file)[:-4]
        hex_lines = [l.strip() for l in open(hex_file) if l.strip()]
        json_lines = [l for l in open(hex_file[:-4] + ".json") if l.strip()]
        if len(hex_lines) != len(json_lines):
            print(f"FAIL {name}: {len(hex_lines)} reports but {len(json_lines)} JSON lines")
            failed += 1
            continue
        for n, (h, j) in enumerate(zip(hex_lines, json_lines)):
            checked += 1
            mine = interpret(cbor2.loads(bytes.fromhex(h)))
            theirs = json.loads(j)
            if mine != theirs:
                failed += 1
                print(f"FAIL {name} report {n}:")
                for key in sorted(set(mine) | set(theirs)):
                    if mine.get(key) != theirs.get(key):
                        print(f"  {key}: cbor2 {mine.get(key)!r}\n  {' ' * len(key)}  json  {theirs.get(key)!r}")
        print(f"ok   {name} ({len(hex_lines)} reports)" if not failed else f"     {name} checked")
    print(f"{checked - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
