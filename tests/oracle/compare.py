#!/usr/bin/python3
"""compare.py - the oracle: per-flow bytes and packets that tshark reads from
a capture must equal what vigil-agent reported for it (decoded by `vigil
decode`).

Usage:
  compare.py --capture FILE --device-addr A [--device-addr B ...]
             (--decoded JSONL | --reports BIN) [--meta JSON] [--agent-log FILE]

The tshark side follows the report format's rules (proto/vigil.cddl), not
libvigil's code: a flow is (proto, local addr, remote addr, local port,
remote port); bytes are the IPv4 total length or 40 + the IPv6 payload
length; ICMP and ICMPv6 use type and code as the ports, replies keyed by their
request's type; a later fragment (offset > 0) joins the flow of the first
fragment with the same (source, destination, identification, and for IPv4
protocol) seen before it,
and is otherwise no flow. A packet whose source is a device address is
outbound, whose destination is, inbound; any other is foreign (counted, not
a flow). Frames that --meta lists as deliberately malformed are left out of
the flows and must raise the counter it names.

Exit 0 when everything matches; 1 with a readable diff otherwise; 2 on bad
usage or when tshark fails.
"""
import argparse
import ipaddress
import json
import re
import struct
import subprocess
import sys
from collections import defaultdict

PROTO_NAMES = {0: "tcp", 1: "udp", 2: "icmp"}
ICMP4_REPLY_TO_REQUEST = {0: 8, 14: 13, 16: 15, 18: 17}
ICMP6_REPLY_TO_REQUEST = {129: 128}
COUNTER_NAMES = [
    "ip_truncated", "ip_bad_version", "ipv4_bad_ihl", "ipv4_bad_total_length",
    "ipv6_bad_payload_length", "ipv6_ext_truncated", "ipv6_ext_chain_too_long",
    "transport_truncated", "tcp_bad_offset", "fragment_unattributed", "proto_unsupported",
    "local_addr_full", "flow_table_full", "outbox_dropped", "time_saturated",
    "clock_backwards", "listeners_truncated", "config_rejected", "bad_argument",
    "foreign_packet", "capture_dropped", "flow_split", "reports",
]
# Counters of packets libvigil could not make into a flow (ids 0-10).
PARSE_COUNTERS = COUNTER_NAMES[:11]
# Counters that must stay zero for these small captures (flow_split may not:
# a flow past 16 MB or 65535 packets in a period takes a second record, and
# its numbers must still add up).
MUST_BE_ZERO = ["local_addr_full", "flow_table_full", "outbox_dropped", "time_saturated",
                "clock_backwards", "config_rejected", "bad_argument", "capture_dropped"]
TCP_SYN, TCP_ACK, TCP_FIN, TCP_RST = 0x02, 0x10, 0x01, 0x04

FIELDS = [
    "frame.number", "frame.protocols", "frame.time_epoch",
    "ip.src", "ip.dst", "ip.len", "ip.id", "ip.flags.mf", "ip.frag_offset", "ip.proto",
    "ipv6.src", "ipv6.dst", "ipv6.plen", "ipv6.fraghdr.offset", "ipv6.fraghdr.more",
    "ipv6.fraghdr.ident",
    "tcp.srcport", "tcp.dstport", "tcp.flags",
    "udp.srcport", "udp.dstport",
    "icmp.type", "icmp.code", "icmpv6.type", "icmpv6.code",
]


def norm(addr):
    return ipaddress.ip_address(addr).compressed


def to_int(text):
    return int(text, 0) if text else None


def tshark_rows(capture):
    cmd = ["tshark", "-n", "-r", capture, "-o", "ip.defragment:FALSE",
           "-o", "ipv6.defragment:FALSE", "-T", "fields", "-E", "occurrence=f",
           "-E", "separator=\t"]
    for f in FIELDS:
        cmd += ["-e", f]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        sys.stderr.write("compare.py: tshark failed: %s\n" % res.stderr.strip())
        sys.exit(2)
    for line in res.stdout.splitlines():
        values = line.split("\t")
        values += [""] * (len(FIELDS) - len(values))
        yield dict(zip(FIELDS, values))


def transport_of(row):
    """The outermost transport protocol after the IP layer and its extension
    headers, from tshark's protocol chain ('tcp', 'udp', 'icmp', 'icmpv6', ...)."""
    chain = row["frame.protocols"].split(":")
    for i, name in enumerate(chain):
        if name in ("ip", "ipv6"):
            for nxt in chain[i + 1:]:
                if nxt.startswith("ipv6.") or nxt == "ah":
                    continue
                return nxt
            return None
    return None


class Oracle:
    """Flows computed from tshark's fields."""

    def __init__(self, device_addrs, bad_frames, interval=None):
        self.device = {norm(a) for a in device_addrs}
        self.bad_frames = bad_frames
        self.flows = defaultdict(lambda: {"bytes_in": 0, "bytes_out": 0, "packets_in": 0,
                                          "packets_out": 0, "syn_from": None, "flags": set()})
        self.fragments = {}     # (family, src, dst, id) -> (proto, local port, remote port)
        self.frames = 0
        self.non_ip = 0
        self.foreign = 0
        self.ip_to_device = 0   # IP frames not foreign
        self.unattributed = 0
        self.problems = []
        self.listeners = set()      # (proto, family, port, device addr)
        # Report periods as vigil-agent makes them: a packet `interval` or
        # more seconds after the period began closes it and starts the next.
        self.interval = interval
        self.period_start = None
        self.periods = []           # [(start, {key: {counts, first, last}})]
        self.udp_first = {}         # (family, local, lport, remote, rport) -> first was inbound

    def feed(self, row):
        ts = int(float(row["frame.time_epoch"]))
        if self.period_start is None:
            self.period_start = ts
            self.periods.append((ts, {}))
        if self.interval and ts - self.period_start >= self.interval:
            self.period_start = ts
            self.periods.append((ts, {}))
        self.ts = ts
        self.feed_packet(row)

    def feed_packet(self, row):
        self.frames += 1
        number = int(row["frame.number"])
        chain = row["frame.protocols"].split(":")
        if "ip" in chain and ("ipv6" not in chain or chain.index("ip") < chain.index("ipv6")):
            family = 4
            src, dst = row["ip.src"], row["ip.dst"]
        elif "ipv6" in chain:
            family = 6
            src, dst = row["ipv6.src"], row["ipv6.dst"]
        else:
            self.non_ip += 1
            return
        if not src or not dst:
            # Too short for tshark to read the addresses: libvigil counts it.
            self.ip_to_device += 1
            if number not in self.bad_frames:
                self.problems.append("frame %d: IP without readable addresses, not listed as bad"
                                     % number)
            return
        src, dst = norm(src), norm(dst)
        if src in self.device:
            outbound = True
        elif dst in self.device:
            outbound = False
        else:
            self.foreign += 1
            return
        self.ip_to_device += 1
        if number in self.bad_frames:
            return
        local, remote = (src, dst) if outbound else (dst, src)

        if family == 4:
            size = to_int(row["ip.len"])
            frag_id = to_int(row["ip.id"])
            later = (to_int(row["ip.frag_offset"]) or 0) > 0
            first = not later and row["ip.flags.mf"] in ("1", "True")
        else:
            size = 40 + to_int(row["ipv6.plen"])
            frag_id = to_int(row["ipv6.fraghdr.ident"])
            later = (to_int(row["ipv6.fraghdr.offset"]) or 0) > 0
            first = not later and row["ipv6.fraghdr.more"] in ("1", "True")

        # RFC 791: an IPv4 datagram is (source, destination, protocol, id);
        # RFC 8200: an IPv6 one (source, destination, identification).
        frag_key = (family, src, dst, frag_id, row["ip.proto"] if family == 4 else None)
        tcp_flags = 0
        if later:
            if frag_key not in self.fragments:
                self.unattributed += 1
                return
            proto, lport, rport = self.fragments[frag_key]
        else:
            transport = transport_of(row)
            if transport == "tcp":
                proto = "tcp"
                sport, dport = to_int(row["tcp.srcport"]), to_int(row["tcp.dstport"])
                tcp_flags = to_int(row["tcp.flags"]) or 0
                lport, rport = (sport, dport) if outbound else (dport, sport)
            elif transport == "udp":
                proto = "udp"
                sport, dport = to_int(row["udp.srcport"]), to_int(row["udp.dstport"])
                lport, rport = (sport, dport) if outbound else (dport, sport)
            elif (transport == "icmp" and family == 4) or (transport == "icmpv6" and family == 6):
                proto = "icmp"
                if family == 4:
                    typ, code = to_int(row["icmp.type"]), to_int(row["icmp.code"])
                    typ = ICMP4_REPLY_TO_REQUEST.get(typ, typ)
                else:
                    typ, code = to_int(row["icmpv6.type"]), to_int(row["icmpv6.code"])
                    typ = ICMP6_REPLY_TO_REQUEST.get(typ, typ)
                lport, rport = typ, code
            else:
                self.problems.append("frame %d: transport %r is no flow, and the frame is not "
                                     "listed as bad" % (number, transport))
                return
            if lport is None or rport is None:
                self.problems.append("frame %d: tshark gave no ports for %s" % (number, proto))
                return
            if first:
                self.fragments[frag_key] = (proto, lport, rport)

        self.learn_listener(proto, family, outbound, local, lport, remote, rport, tcp_flags,
                            later)
        key = (proto, local, remote, lport, rport)
        way = "out" if outbound else "in"
        pf = self.periods[-1][1].setdefault(key, {"bytes_in": 0, "bytes_out": 0, "packets_in": 0,
                                                  "packets_out": 0, "first": self.ts})
        pf["bytes_" + way] += size
        pf["packets_" + way] += 1
        pf["last"] = self.ts
        flow = self.flows[key]
        flow["bytes_" + way] += size
        flow["packets_" + way] += 1
        if tcp_flags & TCP_SYN:
            if tcp_flags & TCP_ACK:
                flow["flags"].add("syn_ack")
            else:
                flow["flags"].add("syn")
                flow["syn_from"] = "local" if outbound else "remote"
        if tcp_flags & TCP_FIN:
            flow["flags"].add("fin")
        if tcp_flags & TCP_RST:
            flow["flags"].add("rst")


    def learn_listener(self, proto, family, outbound, local, lport, remote, rport, tcp_flags,
                       later):
        """vigil-agent's rule for captures: a device port that sent a SYN+ACK
        accepted a connection; a device UDP port that answered a remote which
        spoke first, from the port it spoke to, serves."""
        if later:
            return
        if proto == "tcp" and outbound and tcp_flags & TCP_SYN and tcp_flags & TCP_ACK:
            self.listeners.add(("tcp", family, lport, local))
        elif proto == "udp":
            conv = (family, local, lport, remote, rport)
            first_inbound = self.udp_first.setdefault(conv, not outbound)
            if outbound and first_inbound:
                self.listeners.add(("udp", family, lport, local))


# ---- the vigil side -------------------------------------------------------

def records(path):
    """The length-prefixed reports vigil-agent wrote."""
    with open(path, "rb") as f:
        data = f.read()
    out, i = [], 0
    while i < len(data):
        if i + 4 > len(data):
            raise ValueError("%s: cut record header at byte %d" % (path, i))
        n = struct.unpack(">I", data[i:i + 4])[0]
        if i + 4 + n > len(data):
            raise ValueError("%s: cut record at byte %d" % (path, i))
        out.append(data[i + 4:i + 4 + n])
        i += 4 + n
    return out


def reports_from_cbor(path):
    """Decodes the reports with python3-cbor2 into the shape used below
    (the development fallback and cross-check for `vigil decode`)."""
    import cbor2
    reports = []
    for raw in records(path):
        m = cbor2.loads(raw)
        locals_ = m.get(9, [])
        flows, remotes = [], []
        for f in m.get(10, []):
            kind, remote = f[0], f[1]
            if isinstance(remote, int):
                remote = remotes[remote]
            remotes.append(remote)
            fam_locals = [a for a in locals_ if len(a) == len(remote)]
            flags = set()
            for bit, name in ((3, "syn"), (4, "syn_ack"), (5, "fin"), (6, "rst")):
                if kind >> bit & 1:
                    flags.add(name)
            flows.append({
                "proto": PROTO_NAMES[kind & 3],
                "local": norm(bytes(fam_locals[(kind >> 7) & 7])),
                "remote": norm(bytes(remote)),
                "local_port": f[2], "remote_port": f[3],
                "bytes_in": f[4], "bytes_out": f[5], "packets_in": f[6], "packets_out": f[7],
                "initiator": "remote" if kind >> 2 & 1 else "local",
                "flags": flags,
                "first_seen": f[8], "last_seen": f[8] + f[9],
            })
        counters = {COUNTER_NAMES[k] if k < len(COUNTER_NAMES) else "counter_%d" % k: v
                    for k, v in m.get(13, {}).items()}
        overflow = [{"proto": PROTO_NAMES[code // 2], "direction": "in" if code % 2 == 0 else "out",
                     "packets": packets, "bytes": nbytes} for code, packets, nbytes in m.get(14, [])]
        from decoded import listener_key
        reports.append({"seq": m[3], "boot_id": m[2], "flows": flows,
                        "period_start": m[4], "period_end": m[5], "interval": m[6],
                        "counters": counters if 13 in m else None,
                        "overflow": overflow,
                        "listeners": [listener_key(l) for l in m.get(11, [])]})
    return reports


def reports_from_json(path):
    """Reads `vigil decode` JSON lines into the shape used below."""
    from decoded import reports_from_decode_json
    return reports_from_decode_json(path)


def vigil_flows(reports):
    flows = defaultdict(lambda: {"bytes_in": 0, "bytes_out": 0, "packets_in": 0,
                                 "packets_out": 0, "initiators": set(), "flags": set(),
                                 "records": 0})
    for r in reports:
        for f in r["flows"]:
            key = (f["proto"], f["local"], f["remote"], f["local_port"], f["remote_port"])
            agg = flows[key]
            for k in ("bytes_in", "bytes_out", "packets_in", "packets_out"):
                agg[k] += f[k]
            agg["flags"] |= f["flags"]
            if "syn" in f["flags"]:
                agg["initiators"].add(f["initiator"])
            agg["records"] += 1
    return flows


def fmt_key(key):
    proto, local, remote, lport, rport = key
    return "%-4s %s:%s <-> %s:%s" % (proto, local, lport, remote, rport)


def compare(args):
    meta = {}
    if args.meta:
        with open(args.meta) as f:
            meta = json.load(f)
    bad_frames = {int(k): v for k, v in meta.get("bad_frames", {}).items()}
    reports = reports_from_json(args.decoded) if args.decoded else reports_from_cbor(args.reports)
    if args.tamper:
        # The self-test: one byte more in one flow must be reported.
        next(f for r in reports for f in r["flows"])["bytes_in"] += 1
    oracle = Oracle(args.device_addr, bad_frames, reports[0]["interval"] if reports else None)
    for row in tshark_rows(args.capture):
        oracle.feed(row)
    errors = list(oracle.problems)
    got = vigil_flows(reports)
    want = oracle.flows

    # Counters are since boot, carried by the first report of each period:
    # the last report that has them is the latest word.
    with_counters = [r for r in reports if r["counters"] is not None]
    counters = with_counters[-1]["counters"] if with_counters else {}
    table_full = counters.get("flow_table_full", 0) > 0

    # Flows: the same keys, the same numbers. When the flow table was full,
    # what vigil could not track must be in its overflow counts instead.
    missing = defaultdict(lambda: [0, 0])   # (proto, "in"/"out") -> [packets, bytes]
    for key in sorted(set(want) | set(got), key=lambda k: tuple(str(x) for x in k)):
        w, g = want.get(key), got.get(key)
        if w is None:
            errors.append("only in vigil:  %s  %s" % (fmt_key(key), counts(g)))
            continue
        if g is None:
            if not table_full:
                errors.append("only in tshark: %s  %s" % (fmt_key(key), counts(w)))
            else:
                for way in ("in", "out"):
                    missing[(key[0], way)][0] += w["packets_" + way]
                    missing[(key[0], way)][1] += w["bytes_" + way]
            continue
        if counts(w) != counts(g):
            lost = {k: counts(w)[k] - counts(g)[k] for k in counts(w)}
            if table_full and all(v >= 0 for v in lost.values()):
                for way in ("in", "out"):
                    missing[(key[0], way)][0] += lost["packets_" + way]
                    missing[(key[0], way)][1] += lost["bytes_" + way]
            else:
                errors.append("differs: %s\n    tshark %s\n    vigil  %s" % (
                    fmt_key(key), counts(w), counts(g)))
        if key[0] == "tcp":
            if w["flags"] != g["flags"] and not table_full:
                errors.append("tcp flags differ: %s tshark %s vigil %s" % (
                    fmt_key(key), sorted(w["flags"]), sorted(g["flags"])))
            if w["syn_from"] and "syn" in g["flags"] and g["initiators"] != {w["syn_from"]}:
                errors.append("initiator differs: %s: SYN from %s, vigil says %s" % (
                    fmt_key(key), w["syn_from"], sorted(g["initiators"]) or "no SYN"))
    overflow = defaultdict(lambda: [0, 0])
    for r in reports:
        for o in r["overflow"]:
            overflow[(o["proto"], o["direction"])][0] += o["packets"]
            overflow[(o["proto"], o["direction"])][1] += o["bytes"]
    for pd in sorted(set(missing) | set(overflow)):
        if list(missing.get(pd, [0, 0])) != list(overflow.get(pd, [0, 0])):
            errors.append("overflow %s-%s: untracked by vigil [packets, bytes] = %s, its overflow "
                          "says %s" % (pd[0], pd[1], missing.get(pd, [0, 0]),
                                       overflow.get(pd, [0, 0])))

    # Period by period (when nothing overflowed): the same flows, the same
    # numbers, and first/last seen at the right second of the period.
    if not table_full:
        errors += compare_periods(oracle, reports)

    # Listeners inferred from the capture, as vigil-agent reports them.
    reported = set()
    for r in reports:
        reported |= set(r["listeners"])
    if reported != oracle.listeners:
        errors.append("listeners differ: only from tshark %s, only in vigil %s" % (
            sorted(oracle.listeners - reported), sorted(reported - oracle.listeners)))

    # Reports: one boot, sequence numbers 0, 1, 2... with no gap.
    seqs = [r["seq"] for r in reports]
    if seqs != list(range(len(reports))):
        errors.append("report sequence numbers are %s, expected 0..%d" % (seqs, len(reports) - 1))
    if len({r["boot_id"] for r in reports}) > 1:
        errors.append("reports carry several boot ids")

    expect = dict(meta.get("expect_counters", {}))
    expect["foreign_packet"] = oracle.foreign
    expect["fragment_unattributed"] = oracle.unattributed + expect.get("fragment_unattributed", 0)
    # A report counts itself: the last one with counters says its seq + 1.
    expect["reports"] = with_counters[-1]["seq"] + 1 if with_counters else 0
    if table_full:
        expect["flow_table_full"] = sum(v[0] for v in missing.values())
    for name in PARSE_COUNTERS + MUST_BE_ZERO:
        expect.setdefault(name, 0)
    for name, value in sorted(expect.items()):
        if counters.get(name, 0) != value:
            errors.append("counter %s: expected %d, vigil says %d" % (name, value,
                                                                     counters.get(name, 0)))
    for name, value in sorted(counters.items()):
        if name not in expect and name not in ("listeners_truncated", "flow_split"):
            errors.append("unexpected counter %s = %d" % (name, value))

    if args.agent_log:
        errors += check_agent_summary(args.agent_log, oracle, len(reports))

    packets = sum(w["packets_in"] + w["packets_out"] for w in want.values())
    if errors:
        print("ORACLE MISMATCH for %s (%d frames, %d flows from tshark, %d from vigil):"
              % (args.capture, oracle.frames, len(want), len(got)))
        for e in errors:
            print("  " + e)
        return 1
    print("oracle ok: %s: %d frames, %d flows, %d flow packets, %d foreign, %d non-IP, "
          "%d listeners, %d reports, counters %s" % (
              args.capture, oracle.frames, len(want), packets, oracle.foreign, oracle.non_ip,
              len(oracle.listeners), len(reports),
                                       {k: v for k, v in sorted(counters.items())}))
    return 0


def compare_periods(oracle, reports):
    errors = []
    got = defaultdict(dict)   # period_start -> key -> flow
    for r in reports:
        for f in r["flows"]:
            key = (f["proto"], f["local"], f["remote"], f["local_port"], f["remote_port"])
            if key in got[r["period_start"]]:
                errors.append("period %d: flow %s in two reports" % (r["period_start"],
                                                                     fmt_key(key)))
            got[r["period_start"]][key] = f
    starts = {start for start, flows in oracle.periods if flows}
    for start in sorted(set(got) - starts):
        if got[start]:
            errors.append("vigil has flows in a period starting at %d; tshark none" % start)
    for start, flows in oracle.periods:
        if not flows:
            continue
        have = got.get(start, {})
        for key in sorted(set(flows) | set(have), key=lambda k: tuple(str(x) for x in k)):
            w, g = flows.get(key), have.get(key)
            if w is None or g is None:
                errors.append("period %d: %s only in %s" % (start, fmt_key(key),
                                                            "vigil" if w is None else "tshark"))
                continue
            if counts(w) != counts(g):
                errors.append("period %d: %s tshark %s vigil %s" % (start, fmt_key(key),
                                                                    counts(w), counts(g)))
            if g.get("first_seen") is None:
                continue
            first, last = w["first"] - start, w["last"] - start
            if (g["first_seen"], g["last_seen"]) != (first, last):
                errors.append("period %d: %s seen %d..%d s into the period, vigil says %s..%s"
                              % (start, fmt_key(key), first, last, g["first_seen"],
                                 g["last_seen"]))
    return errors


def counts(flow):
    return {k: flow[k] for k in ("bytes_in", "bytes_out", "packets_in", "packets_out")}


def check_agent_summary(path, oracle, n_reports):
    with open(path) as f:
        text = f.read()
    m = re.search(r"(\d+) packets read, (\d+) inbound, (\d+) outbound, (\d+) foreign, "
                  r"(\d+) non-IP, (\d+) unreadable, (\d+) reports written", text)
    if not m:
        return ["vigil-agent printed no summary line"]
    read, inbound, outbound, foreign, non_ip, unreadable, written = map(int, m.groups())
    errors = []
    for name, got, want in (("packets read", read, oracle.frames),
                            ("foreign", foreign, oracle.foreign),
                            ("non-IP", non_ip, oracle.non_ip),
                            ("inbound+outbound+unreadable", inbound + outbound + unreadable,
                             oracle.ip_to_device),
                            ("reports written", written, n_reports)):
        if got != want:
            errors.append("agent summary %s: %d, tshark says %d" % (name, got, want))
    return errors


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--capture", required=True)
    ap.add_argument("--device-addr", action="append", required=True)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--decoded", help="`vigil decode` output (JSON lines)")
    src.add_argument("--reports", help="vigil-agent output, decoded here with cbor2")
    ap.add_argument("--meta", help="the JSON written beside a crafted capture")
    ap.add_argument("--agent-log", help="vigil-agent's stderr, for its summary line")
    ap.add_argument("--tamper", action="store_true", help=argparse.SUPPRESS)
    return compare(ap.parse_args())


if __name__ == "__main__":
    sys.exit(main())
