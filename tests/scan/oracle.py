#!/usr/bin/python3
"""oracle.py - what `vigil scan` must report for a capture, computed here
from the capture, the feed files and the policy file alone.

It never runs vigil and never reads its source: it reads the packets with
scapy (addresses, ports, flags and lengths are taken from the raw IP bytes
with struct), the feeds and the policy with its own small parsers, and
applies the rules as the documentation states them (issue 4, docs/policy.md,
analyzer/continuity.h, analyzer/hygiene.h, analyzer/policy.h,
proto/vigil.cddl, agent/include/vigil.h). What it cannot know exactly (the
order of flows inside one report, which decides the ports and direction an
alert row keeps when several flows share its key) it reports as a set of
allowed values, never as a guess.

Whatever it does not model (fragments, a full flow table, reports split into
parts, a clock going back) makes it refuse the capture with `Unsupported`,
so a test can never pass on a case the oracle got wrong silently.

Usage (for debugging): oracle.py CAPTURE --device-addr A [...] --device-id ID
                       [--intel SPEC ...] [--policy FILE] [--interval S]
                       [--firmware V]
prints the expected findings as JSON lines.
"""
import argparse
import fnmatch
import ipaddress
import json
import logging
import os
import re
import struct
import sys

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)

# The device library's compile-time limits (agent/include/vigil_opts.h) and
# the analyzer's constants this model depends on.
AGENT_VERSION = "0.1.0"            # VIGIL_VERSION, reported in system information
MAX_FLOWS_PER_FAMILY = 64          # VIGIL_MAX_FLOWS_V4 / _V6
MAX_LISTENERS = 32                 # VIGIL_MAX_LISTENERS
SYSINFO_EVERY = 10                 # system information on periods 0, 10, 20...
ONE_PART_FLOWS = 12                # more flows may split a period's report (1024 bytes)
CONTINUITY_TTL = 3600              # analyzer/pipeline.c: initiators remembered this long
DEFAULT_ALERT_WINDOW = 3600
DISTINCT_EXACT_MAX = 256           # beyond this a distinct count is an estimate

# Remotes remote_not_allowed never judges: multicast, limited broadcast,
# link-local (a device's own link), and ICMPv6 neighbour discovery / MLD.
LINK_SCOPE = [ipaddress.ip_network(n) for n in
              ("224.0.0.0/4", "255.255.255.255/32", "169.254.0.0/16", "ff00::/8", "fe80::/10")]
ICMPV6_LINK_TYPES = set(range(130, 138)) | {143}

# Listening services that are insecure and plaintext protocols used outbound
# (issue 4: telnet, ftp, tftp, http, plaintext MQTT, CoAP, Modbus "and the
# like"), with the severity each recommendation carries.
INSECURE_LISTENERS = {
    ("tcp", 23): "high", ("tcp", 2323): "high", ("tcp", 21): "high", ("udp", 69): "high",
    ("tcp", 80): "medium", ("tcp", 8080): "medium", ("tcp", 1883): "high",
    ("udp", 5683): "medium", ("tcp", 502): "high", ("tcp", 20000): "high",
    ("udp", 47808): "medium", ("udp", 161): "medium", ("udp", 1900): "medium",
    ("tcp", 5900): "high", ("tcp", 512): "critical", ("tcp", 513): "critical",
    ("tcp", 514): "critical",
}
PLAINTEXT_OUTBOUND = {
    ("tcp", 23): "high", ("tcp", 21): "medium", ("udp", 69): "medium", ("tcp", 80): "medium",
    ("tcp", 1883): "high", ("udp", 5683): "medium", ("tcp", 110): "medium",
    ("tcp", 143): "medium", ("tcp", 502): "medium",
}

ICMP4_REPLY_TO_REQUEST = {0: 8, 14: 13, 16: 15, 18: 17}
ICMP6_REPLY_TO_REQUEST = {129: 128}
TCP_FIN, TCP_SYN, TCP_RST, TCP_ACK = 0x01, 0x02, 0x04, 0x10


class Unsupported(Exception):
    """The capture needs something this oracle does not model."""


class AnyOf:
    """A field whose value is one of several (the order of flows in a
    report decides which)."""

    def __init__(self, values):
        self.values = set(values)

    def __eq__(self, other):
        if isinstance(other, AnyOf):
            return self.values == other.values
        return other in self.values

    def __hash__(self):
        return hash(frozenset(self.values))

    def __repr__(self):
        return "any of %s" % sorted(self.values, key=repr)


# ---------------------------------------------------------------- addresses

def addr_text(family, raw):
    """Canonical text: dotted quad, RFC 5952 for IPv6 (IPv4-mapped as
    ::ffff:a.b.c.d, as inet_ntop writes it)."""
    if family == 4:
        return str(ipaddress.IPv4Address(raw[:4]))
    a = ipaddress.IPv6Address(raw)
    if a.ipv4_mapped is not None:
        return "::ffff:%s" % a.ipv4_mapped
    return a.compressed


def unmapped(family, raw):
    """An IPv4-mapped IPv6 address is the IPv4 address it maps."""
    if family == 6 and raw[:12] == b"\0" * 10 + b"\xff\xff":
        return 4, raw[12:16]
    return family, raw


def ip_object(family, raw):
    return ipaddress.IPv4Address(raw[:4]) if family == 4 else ipaddress.IPv6Address(raw)


def parse_addr(text):
    a = ipaddress.ip_address(text)
    return (4, a.packed) if a.version == 4 else (6, a.packed)


# ---------------------------------------------------------------- capture

class Packet:
    __slots__ = ("ts", "family", "src", "dst", "proto", "sport", "dport", "flags", "length",
                 "is_ip")


def parse_ip(raw):
    """One IP datagram from its raw bytes, or None when it yields no flow
    (a protocol libvigil does not follow)."""
    p = Packet()
    p.is_ip = True
    version = raw[0] >> 4
    if version == 4:
        ihl = (raw[0] & 0x0F) * 4
        total = struct.unpack("!H", raw[2:4])[0]
        frag = struct.unpack("!H", raw[6:8])[0]
        if frag & 0x3FFF:
            raise Unsupported("IPv4 fragment")
        p.family, p.length = 4, total
        p.src, p.dst = raw[12:16], raw[16:20]
        nh, off = raw[9], ihl
    elif version == 6:
        plen = struct.unpack("!H", raw[4:6])[0]
        p.family, p.length = 6, 40 + plen
        p.src, p.dst = raw[8:24], raw[24:40]
        nh, off = raw[6], 40
        while nh in (0, 43, 60, 51, 44):
            if nh == 44:
                raise Unsupported("IPv6 fragment")
            hdr_len = (raw[off + 1] + 2) * 4 if nh == 51 else (raw[off + 1] + 1) * 8
            nh, off = raw[off], off + hdr_len
    else:
        return None
    t = raw[off:]
    p.flags = 0
    if nh == 6:
        p.proto = "tcp"
        p.sport, p.dport = struct.unpack("!HH", t[0:4])
        p.flags = t[13]
    elif nh == 17:
        p.proto = "udp"
        p.sport, p.dport = struct.unpack("!HH", t[0:4])
    elif (nh == 1 and p.family == 4) or (nh == 58 and p.family == 6):
        p.proto = "icmp"
        table = ICMP4_REPLY_TO_REQUEST if p.family == 4 else ICMP6_REPLY_TO_REQUEST
        p.sport, p.dport = table.get(t[0], t[0]), t[1]
    else:
        return None
    return p


def read_capture(path):
    """Every frame of the capture in file order: a Packet, or a non-IP
    marker that still moves the clock (libvigil's periods follow every
    frame's time)."""
    from scapy.all import IP, IPv6, rdpcap
    out = []
    for frame in rdpcap(path):
        ts = int(frame.time)
        layer = frame.getlayer(IP) or frame.getlayer(IPv6)
        p = parse_ip(bytes(layer)) if layer is not None else None
        if p is None:
            p = Packet()
            p.is_ip = False
        p.ts = ts
        out.append(p)
    return out


# ---------------------------------------------------------------- feeds

class Indicator:
    def __init__(self, net, feed, category, confidence=100):
        self.net, self.feed, self.category, self.confidence = net, feed, category, confidence

    def value(self):
        if self.net.prefixlen == self.net.max_prefixlen:
            return str(self.net.network_address) if self.net.version == 4 else \
                self.net.network_address.compressed
        return self.net.with_prefixlen if self.net.version == 4 else self.net.compressed


def feed_name(path):
    base = os.path.basename(path)
    stem, ext = os.path.splitext(base)
    return stem if stem else base


def parse_net(text):
    net = ipaddress.ip_network(text.strip(), strict=False)
    if net.version == 6 and net.network_address.ipv4_mapped is not None:
        raise Unsupported("IPv4-mapped indicator")
    return net


def csv_fields(line):
    """abuse.ch CSV: comma-separated, optionally double-quoted fields."""
    fields, cur, i, quoted = [], "", 0, False
    while i < len(line):
        c = line[i]
        if quoted:
            if c == '"' and i + 1 < len(line) and line[i + 1] == '"':
                cur += '"'
                i += 1
            elif c == '"':
                quoted = False
            else:
                cur += c
        elif c == '"':
            quoted = True
        elif c == ",":
            fields.append(cur.strip())
            cur = ""
        else:
            cur += c
        i += 1
    fields.append(cur.strip())
    return fields


ADDRESS_COLUMNS = ("dst_ip", "ip", "ip_address", "ipaddress", "address", "indicator")


def load_feed(spec):
    """plain:PATH, csv::PATH or a bare PATH (.csv files are CSV)."""
    if spec.startswith("plain:"):
        fmt, path = "plain", spec[6:]
    elif spec.startswith("csv::"):
        fmt, path = "csv", spec[5:]
    else:
        path = spec
        fmt = "csv" if path.endswith(".csv") else "plain"
    name = feed_name(path)
    out = []
    with open(path, encoding="utf-8") as f:
        lines = [l.strip() for l in f.read().splitlines()]
    if fmt == "plain":
        for l in lines:
            if l and not l.startswith("#"):
                out.append(Indicator(parse_net(l), name, "blocklist"))
        return out
    header, column, category = None, None, None
    for l in lines:
        if not l:
            continue
        if l.startswith("#"):
            fields = csv_fields(l[1:].strip())
            if column is None and len(fields) >= 2:
                header = [x.lower() for x in fields]
            continue
        fields = csv_fields(l)
        if column is None:
            if header is None:
                raise Unsupported("CSV feed without a header")
            column = next(header.index(n) for n in ADDRESS_COLUMNS if n in header)
            category = next((header.index(n) for n in ("malware", "category") if n in header), None)
        cat = fields[category] if category is not None and fields[category] else "blocklist"
        out.append(Indicator(parse_net(fields[column]), name, cat))
    return out


def intel_lookup(indicators, family, raw):
    """Matches of an address, most specific first, then by feed name."""
    family, raw = unmapped(family, raw)
    a = ip_object(family, raw)
    found = [i for i in indicators if i.net.version == a.version and a in i.net]
    return sorted(found, key=lambda i: (-i.net.prefixlen, i.feed))


# ---------------------------------------------------------------- policy

class Range:
    def __init__(self, d):
        self.metric = d["metric"]
        self.window = int(d["window"])
        self.min = d.get("min")
        self.max = d.get("max")
        self.severity = d.get("severity", "medium")
        self.enabled = d.get("enabled", True)


class Group:
    def __init__(self, d, top_hygiene):
        self.name = d["name"]
        members = d.get("members") or {}
        self.ids = members.get("ids") or []
        self.tags = members.get("tags") or []
        hyg = dict(top_hygiene)
        hyg.update(d.get("hygiene") or {})
        self.hygiene = hyg
        rules = d.get("rules") or {}
        self.cidrs = None
        rc = rules.get("remote_cidrs_allowed")
        if rc is not None and rc.get("enabled", True):
            self.cidrs = [ipaddress.ip_network(str(c), strict=False) for c in rc.get("cidrs") or []]
            self.cidrs_severity = rc.get("severity", "medium")
        self.ports = None
        lp = rules.get("listening_ports_allowed")
        if lp is not None and lp.get("enabled", True):
            self.ports = set()
            for p in lp.get("ports") or []:
                if isinstance(p, int):
                    self.ports |= {("tcp", p), ("udp", p)}
                else:
                    proto, num = str(p).split("/")
                    self.ports.add((proto, int(num)))
            self.ports_severity = lp.get("severity", "medium")
        self.ranges = [r for r in (Range(x) for x in rules.get("ranges") or []) if r.enabled]


class Policy:
    def __init__(self, path):
        top_hygiene = {"min_agent_version": "", "min_os_version": "", "min_firmware_version": "",
                       "silent_intervals": 3, "clock_skew_max": 300,
                       "alert_window": DEFAULT_ALERT_WINDOW}
        self.groups = []
        if path:
            import yaml
            with open(path, encoding="utf-8") as f:
                doc = yaml.safe_load(f)
            top_hygiene.update(doc.get("hygiene") or {})
            self.groups = [Group(g, top_hygiene) for g in doc.get("groups") or []]
        self.top_hygiene = top_hygiene

    def group_for(self, device_id, tags=()):
        for g in self.groups:
            if any(fnmatch.fnmatchcase(device_id, pat) for pat in g.ids) or \
                    any(t in g.tags for t in tags):
                return g
        for g in self.groups:
            if g.name == "default":
                return g
        return Group({"name": "default"}, self.top_hygiene)


def version_below(have, minimum):
    """Dotted versions compared numerically, component by component."""
    def parts(v):
        return [(0, int(x), "") if x.isdigit() else (1, 0, x) for x in re.split(r"[.\-]", v)]
    return bool(minimum) and parts(have) < parts(minimum)


# ---------------------------------------------------------------- the device

class Record:
    """One flow in one report."""

    def __init__(self, key, direction, ts):
        self.key = key                  # (family, proto, local, remote, lport, rport)
        self.remote_initiated = direction == "in"
        self.first = self.last = ts
        self.syn = self.synack = False
        self.bytes = {"in": 0, "out": 0}
        self.packets = {"in": 0, "out": 0}

    family = property(lambda self: self.key[0])
    proto = property(lambda self: self.key[1])
    local = property(lambda self: self.key[2])
    remote = property(lambda self: self.key[3])
    lport = property(lambda self: self.key[4])
    rport = property(lambda self: self.key[5])


class Report:
    def __init__(self, seq, start):
        self.seq, self.start, self.end = seq, start, None
        self.records = {}
        self.listeners = []
        self.has_system = False


def run_device(frames, device_addrs, interval):
    """The reports the device library sends for this capture: one per
    period (periods start at the first frame and close at the first frame
    `interval` seconds or more after their start, which opens the next)."""
    addrs = set(device_addrs)
    listeners, conversations = [], {}
    reports = []
    cur = None
    last_ts = None
    for p in frames:
        if last_ts is not None and p.ts < last_ts:
            raise Unsupported("capture time goes back")
        if cur is None:
            cur = Report(0, p.ts)
        elif p.ts - cur.start >= interval:
            cur.end = p.ts
            cur.listeners = list(listeners)
            reports.append(cur)
            cur = Report(len(reports), p.ts)
        last_ts = p.ts
        if not p.is_ip:
            continue
        if (p.family, p.src) in addrs:
            d = "out"
        elif (p.family, p.dst) in addrs:
            d = "in"
        else:
            continue
        local, remote = (p.src, p.dst) if d == "out" else (p.dst, p.src)
        if p.proto == "icmp":
            lport, rport = p.sport, p.dport
        else:
            lport, rport = (p.sport, p.dport) if d == "out" else (p.dport, p.sport)
        learn_listener(listeners, conversations, p, d, local, remote, lport, rport)
        key = (p.family, p.proto, local, remote, lport, rport)
        r = cur.records.get(key)
        if r is None:
            r = cur.records[key] = Record(key, d, p.ts)
        r.last = max(r.last, p.ts)
        r.bytes[d] += p.length
        r.packets[d] += 1
        if p.proto == "tcp" and p.flags & TCP_SYN:
            if p.flags & TCP_ACK:
                r.synack = True
            else:
                r.syn = True
                r.remote_initiated = d == "in"
    if cur is None:
        raise Unsupported("empty capture")
    cur.end = last_ts
    cur.listeners = list(listeners)
    reports.append(cur)
    for i, r in enumerate(reports):
        r.has_system = i % SYSINFO_EVERY == 0
        for fam in (4, 6):
            if sum(1 for k in r.records if k[0] == fam) > MAX_FLOWS_PER_FAMILY:
                raise Unsupported("more flows in a period than the flow table holds")
        if len(r.records) > ONE_PART_FLOWS:
            raise Unsupported("a period with %d flows may be split into parts" % len(r.records))
    if len(listeners) > MAX_LISTENERS:
        raise Unsupported("more listeners than a report carries")
    return reports


def learn_listener(listeners, conversations, p, d, local, remote, lport, rport):
    """A TCP SYN+ACK the device sent marks its port as listening; so does a
    UDP datagram the device sent back to a remote that spoke first."""
    if p.proto == "tcp":
        if d == "out" and p.flags & TCP_SYN and p.flags & TCP_ACK:
            item = ("tcp", p.family, lport, local)
            if item not in listeners:
                listeners.append(item)
    elif p.proto == "udp":
        conv = (p.family, local, remote, lport, rport)
        if conv not in conversations:
            conversations[conv] = d == "in"
        elif d == "out" and conversations[conv]:
            item = ("udp", p.family, lport, local)
            if item not in listeners:
                listeners.append(item)


# ---------------------------------------------------------------- the analyzer

class Row:
    def __init__(self, f):
        self.f = f                       # the finding that created the row
        self.count = f["count"]
        self.time = f["time"]
        self.first_time = f["first_time"]


class Store:
    """Findings deduplicated per (device, type, key): alerts within the
    alert window of the last time, recommendations for as long as they
    stand."""

    def __init__(self):
        self.alerts = {}                 # (device, type, key) -> [Row]
        self.recs = {}                   # (device, type, key) -> Row

    def put_group(self, findings, window):
        """Findings of one report with one (type, key): raised in an order
        the oracle does not know, so the fields a new row keeps from its
        first finding may be any of theirs."""
        first = findings[0]
        k = (first["device"], first["type"], first["key"])
        loose = {}
        if len(findings) > 1:
            for field in ("remote_port", "local_port", "direction", "severity", "message_direction"):
                values = {f[field] for f in findings}
                if len(values) > 1:
                    loose[field] = AnyOf(values)
        for f in sorted(findings, key=lambda f: f["time"]):
            if first["kind"] == "alert":
                rows = self.alerts.setdefault(k, [])
                row = rows[-1] if rows and rows[-1].time >= f["time"] - window else None
                if row is None:
                    g = dict(f)
                    g.update(loose)
                    rows.append(Row(g))
                    continue
            else:
                row = self.recs.get(k)
                if row is None:
                    self.recs[k] = Row(dict(f))
                    continue
                row.f["severity"], row.f["message"] = f["severity"], f["message"]
            row.count += f["count"]
            row.time = max(row.time, f["time"])
            row.first_time = min(row.first_time, f["first_time"])

    def clear(self, device, type_, key):
        self.recs.pop((device, type_, key), None)

    def findings(self):
        out = []
        for rows in self.alerts.values():
            for row in rows:
                out.append(finished(row))
        for row in self.recs.values():
            out.append(finished(row))
        return out


def finished(row):
    f = dict(row.f)
    f["count"], f["time"], f["first_time"] = row.count, row.time, row.first_time
    return f


def finding(kind, type_, severity, device, time, key, **fields):
    f = {"kind": kind, "type": type_, "severity": severity, "device": device, "time": time,
         "first_time": fields.pop("first_time", time), "key": key, "remote_addr": None,
         "remote_port": None, "local_port": None, "proto": None, "direction": None,
         "indicator": None, "count": 1, "message": "", "message_direction": None,
         "value": None}
    f.update(fields)
    return f


def proto_name(proto, family):
    return "icmpv6" if proto == "icmp" and family == 6 else proto


class Window:
    def __init__(self, start, whole):
        self.start, self.whole, self.max_raised = start, whole, False
        self.sum = 0
        self.items = set()
        self.syn_out, self.synack = set(), set()


def metric_value(metric, w):
    if metric == "failed_outbound_tcp":
        return len(w.syn_out - w.synack)
    if metric in ("active_connections", "distinct_remotes", "inbound_attempts"):
        if len(w.items) > DISTINCT_EXACT_MAX:
            raise Unsupported("a distinct count beyond the exact limit")
        return len(w.items)
    return w.sum


def accumulate(metric, w, records):
    if metric == "reports":
        w.sum += 1
        return
    for r in records:
        if metric == "active_connections":
            w.items.add(r.key)
        elif metric == "distinct_remotes":
            w.items.add(unmapped(r.family, r.remote))
        elif metric == "inbound_attempts":
            if r.remote_initiated and ((r.proto == "tcp" and r.syn) or r.proto == "udp"):
                w.items.add(r.key)
        elif metric == "failed_outbound_tcp":
            # A flow failed when, over the window, the device sent its SYN
            # and never saw a SYN-ACK (whatever the periods in between).
            if r.proto == "tcp":
                if r.syn and not r.remote_initiated:
                    w.syn_out.add(r.key)
                if r.synack:
                    w.synack.add(r.key)
        else:
            d = "in" if metric.endswith("_in") else "out"
            w.sum += (r.bytes if metric.startswith("bytes") else r.packets)[d]


class Analyzer:
    def __init__(self, device, policy, indicators):
        self.device, self.policy, self.indicators = device, policy, indicators
        self.group = policy.group_for(device)
        self.window = int(self.group.hygiene.get("alert_window", DEFAULT_ALERT_WINDOW))
        self.store = Store()
        self.memory = {}                 # flow key -> (remote_initiated, last seen)
        self.latest = 0
        self.windows = {}                # (metric, window) -> Window
        self.raised_listeners, self.raised_outbound = set(), set()
        self.outdated = {}

    def put(self, findings):
        groups = {}
        for f in findings:
            groups.setdefault((f["type"], f["key"]), []).append(f)
        for g in groups.values():
            self.store.put_group(g, self.window)

    def repair(self, report):
        """Who opened each flow (analyzer/continuity.h, rules 1 to 4)."""
        self.latest = max(self.latest, report.end)
        listening = {(l[1], l[2], l[3]) for l in report.listeners if l[0] == "tcp"}
        for r in report.records.values():
            known = self.memory.get(r.key)
            if known and self.latest > known[1] and self.latest - known[1] > CONTINUITY_TTL:
                known = None
            if not (r.proto == "tcp" and r.syn):
                if known:
                    r.remote_initiated = known[0]
                elif r.proto == "tcp":
                    # Rule 3: the report carries its listeners (possibly none).
                    r.remote_initiated = (r.family, r.lport, r.local) in listening
            seen = max(r.last, known[1]) if known else r.last
            self.memory[r.key] = (r.remote_initiated, seen)

    def report(self, rep, firmware):
        self.repair(rep)
        records = list(rep.records.values())
        found = []
        for r in records:
            found += self.intel(r)
        found += self.remotes(records)
        found += self.listeners(rep)
        found += self.ranges(rep, records)
        self.put(found)
        self.put(self.hygiene(rep, records, firmware))

    def intel(self, r):
        matches = intel_lookup(self.indicators, r.family, r.remote)
        if not matches:
            return []
        m = matches[0]
        outbound = not r.remote_initiated
        fam, raw = unmapped(r.family, r.remote)
        text = addr_text(fam, raw)
        sev = ("critical" if outbound else "high") if m.confidence >= 80 else \
            ("high" if m.confidence >= 50 else "medium")
        return [finding("alert", "threat_intel", sev, self.device, r.last,
                        "%s:%s" % (proto_name(r.proto, r.family), text), first_time=r.first,
                        remote_addr=text, remote_port=r.rport, local_port=r.lport,
                        proto=proto_name(r.proto, r.family),
                        direction="outbound" if outbound else "inbound",
                        indicator={"value": m.value(), "feed": m.feed, "category": m.category})]

    def remotes(self, records):
        g = self.group
        if g.cidrs is None:
            return []
        out = []
        for r in records:
            fam, raw = unmapped(r.family, r.remote)
            a = ip_object(fam, raw)
            if any(a.version == n.version and a in n for n in g.cidrs):
                continue
            if any(a.version == n.version and a in n for n in LINK_SCOPE):
                continue
            if r.family == 6 and r.proto == "icmp" and r.lport in ICMPV6_LINK_TYPES:
                continue
            text = addr_text(fam, raw)
            direction = "inbound" if r.remote_initiated else "outbound"
            out.append(finding("alert", "remote_not_allowed", g.cidrs_severity, self.device, r.last,
                               "%s:%s" % (proto_name(r.proto, r.family), text), first_time=r.first,
                               remote_addr=text, remote_port=r.rport, local_port=r.lport,
                               proto=proto_name(r.proto, r.family), direction=direction,
                               message_direction="remote-initiated" if r.remote_initiated
                               else "device-initiated"))
        return out

    def listeners(self, rep):
        g = self.group
        if g.ports is None:
            return []
        out = []
        for proto, family, port, local in rep.listeners:
            if (proto, port) in g.ports:
                continue
            out.append(finding("alert", "listener_not_allowed", g.ports_severity, self.device,
                               rep.end, "%s:%d" % (proto, port), proto=proto, local_port=port))
        return out

    def ranges(self, rep, records):
        out = []
        for rng in self.group.ranges:
            k = (rng.metric, rng.window)
            start = rep.start - rep.start % rng.window
            w = self.windows.get(k)
            if w is None:
                w = self.windows[k] = Window(start, start == rep.start)
            elif start < w.start:
                continue                 # late: in no window
            elif start > w.start:
                out += self.judge(rng, w, closing=True)
                w = self.windows[k] = Window(start, True)
            accumulate(rng.metric, w, records)
        return out

    def judge(self, rng, w, closing):
        value = metric_value(rng.metric, w)
        out = []
        common = dict(first_time=w.start, value=value)
        if closing and rng.min is not None and w.whole and value < rng.min:
            out.append(finding("alert", "range_" + rng.metric, rng.severity, self.device,
                               w.start + rng.window, "%ds:min" % rng.window, **common))
        if rng.max is not None and not w.max_raised and value > rng.max:
            out.append(finding("alert", "range_" + rng.metric, rng.severity, self.device,
                               w.start + rng.window, "%ds:max" % rng.window, **common))
            w.max_raised = True
        return out

    def flush(self):
        out = []
        for rng in self.group.ranges:
            w = self.windows.get((rng.metric, rng.window))
            if w is not None:
                out += self.judge(rng, w, closing=False)
        self.put(out)

    def hygiene(self, rep, records, firmware):
        out = []
        present = set()
        for proto, family, port, local in rep.listeners:
            sev = INSECURE_LISTENERS.get((proto, port))
            key = "%s:%d" % (proto, port)
            if sev is None or key in present:
                continue
            present.add(key)
            if key not in self.raised_listeners:
                self.raised_listeners.add(key)
                out.append(finding("recommendation", "insecure_listener", sev, self.device,
                                   rep.end, key))
        for key in sorted(self.raised_listeners - present):
            self.store.clear(self.device, "insecure_listener", key)
            self.raised_listeners.discard(key)
        for r in records:
            if r.remote_initiated or r.proto == "icmp":
                continue
            sev = PLAINTEXT_OUTBOUND.get((r.proto, r.rport))
            key = "%s:%d" % (r.proto, r.rport)
            if sev is None or key in self.raised_outbound:
                continue
            self.raised_outbound.add(key)
            out.append(finding("recommendation", "plaintext_outbound", sev, self.device,
                               AnyOf({x.last for x in records if not x.remote_initiated and
                                      x.proto == r.proto and x.rport == r.rport}), key))
        if rep.has_system:
            h = self.group.hygiene
            versions = (("outdated_agent", AGENT_VERSION, h.get("min_agent_version", "")),
                        ("outdated_firmware", firmware, h.get("min_firmware_version", "")))
            for type_, have, minimum in versions:
                if have is None:
                    continue
                below = version_below(have, str(minimum))
                if below and not self.outdated.get(type_):
                    out.append(finding("recommendation", type_, "medium", self.device, rep.end, ""))
                elif not below and self.outdated.get(type_):
                    self.store.clear(self.device, type_, "")
                self.outdated[type_] = below
        return out


def expected(capture, device_addrs, device_id, intel_specs=(), policy_path=None, interval=60,
             firmware=None, order=None):
    """The findings `vigil scan` must print, each a dict of the JSON keys
    (values may be AnyOf) plus `value` (a range alert's metric value).
    `order` (a list of sequence numbers) analyses the device's reports in
    that order instead, as `vigil analyze` would a reordered file."""
    frames = read_capture(capture)
    reports = run_device(frames, [parse_addr(a) for a in device_addrs], interval)
    if order is not None:
        reports = [reports[i] for i in order]
    indicators = []
    for spec in intel_specs:
        indicators += load_feed(spec)
    a = Analyzer(device_id, Policy(policy_path), indicators)
    for rep in reports:
        a.report(rep, firmware)
    a.flush()
    out = a.store.findings()
    for f in out:
        if isinstance(f["time"], AnyOf) and len(f["time"].values) == 1:
            f["time"] = next(iter(f["time"].values))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("capture")
    ap.add_argument("--device-addr", action="append", required=True)
    ap.add_argument("--device-id", required=True)
    ap.add_argument("--intel", action="append", default=[])
    ap.add_argument("--policy")
    ap.add_argument("--interval", type=int, default=60)
    ap.add_argument("--firmware")
    o = ap.parse_args()
    for f in expected(o.capture, o.device_addr, o.device_id, o.intel, o.policy, o.interval,
                      o.firmware):
        print(json.dumps(f, default=repr, sort_keys=True))


if __name__ == "__main__":
    sys.exit(main())
