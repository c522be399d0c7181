"""decoded.py - reads `vigil decode --full` JSON lines (one report per line) into
the shape compare.py and scripts/demo.sh use:

  {"seq", "boot_id", "period_start", "period_end", "part",
   "flows": [{"proto": "tcp"|"udp"|"icmp", "local", "remote", "local_port",
              "remote_port", "bytes_in", "bytes_out", "packets_in",
              "packets_out", "initiator": "local"|"remote", "flags": set}],
   "counters": {name: value} or None (absent in this report),
   "overflow": [{"proto", "direction", "packets", "bytes"}],
   "listeners": [{"proto", "family", "port", "addr"}], "system": dict or None}

Addresses are normalised with ipaddress, so "2001:db8:0::1" and
"2001:db8::1" are one key.
"""
import ipaddress
import json

PROTO_NAMES = {0: "tcp", 1: "udp", 2: "icmp"}
FLAG_BITS = ((3, "syn"), (4, "syn_ack"), (5, "fin"), (6, "rst"))


def _norm(addr):
    return ipaddress.ip_address(addr).compressed


def _proto(value):
    if isinstance(value, int):
        return PROTO_NAMES[value]
    value = value.lower()
    return "icmp" if value in ("icmp", "icmpv6", "icmp6") else value


def _flags(f):
    value = f.get("tcp_flags", f.get("flags"))
    names = set()
    if isinstance(value, dict):
        names = {k for k, v in value.items() if v}
    elif isinstance(value, list):
        names = set(value)
    elif isinstance(value, str):
        names = set(value.replace(",", " ").replace("|", " ").split())
    elif "kind" in f:
        names = {name for bit, name in FLAG_BITS if f["kind"] >> bit & 1}
    out = set()
    for n in names:
        n = n.lower().replace("-", "_").replace("+", "_").replace("synack", "syn_ack")
        out.add(n)
    return out


def _flow(f, local_addrs, period_start):
    proto = _proto(f["proto"]) if "proto" in f else PROTO_NAMES[f["kind"] & 3]
    remote = f.get("remote_addr", f.get("remote"))
    local = f.get("local_addr", f.get("local"))
    if local is None:
        remote_len = 4 if ":" not in str(remote) else 16
        family = [a for a in local_addrs if (":" in a) == (remote_len == 16)]
        local = family[f.get("local_index", (f.get("kind", 0) >> 7) & 7)]
    initiator = f.get("initiator")
    if initiator is None and "kind" in f:
        initiator = "remote" if f["kind"] >> 2 & 1 else "local"
    return {
        "proto": proto, "local": _norm(local), "remote": _norm(remote),
        "local_port": f["local_port"], "remote_port": f["remote_port"],
        "bytes_in": f["bytes_in"], "bytes_out": f["bytes_out"],
        "packets_in": f["packets_in"], "packets_out": f["packets_out"],
        "initiator": initiator, "flags": _flags(f),
        # `vigil decode --full` prints absolute times; here they are seconds
        # into the period, as in the report itself.
        "first_seen": f["first_seen"] - period_start if "first_seen" in f else None,
        "last_seen": f["last_seen"] - period_start if "last_seen" in f else None,
    }


def _overflow(o):
    if isinstance(o, list):
        code, packets, nbytes = o
        return {"proto": PROTO_NAMES[code // 2], "direction": "in" if code % 2 == 0 else "out",
                "packets": packets, "bytes": nbytes}
    if "code" in o and "proto" not in o:
        code = o["code"]
        return {"proto": PROTO_NAMES[code // 2], "direction": "in" if code % 2 == 0 else "out",
                "packets": o["packets"], "bytes": o["bytes"]}
    direction = o.get("direction", o.get("dir"))
    return {"proto": _proto(o["proto"]), "direction": direction, "packets": o["packets"],
            "bytes": o["bytes"]}


def listener_key(l):
    """(proto, family, port, addr or None for any) of a listener, from a
    JSON object or a [proto, family, port, addr] array."""
    if isinstance(l, dict):
        proto, family, port = l["proto"], l["family"], l["port"]
        addr = l.get("addr", l.get("address"))
    else:
        proto, family, port = l[0], l[1], l[2]
        addr = l[3] if len(l) > 3 else None
    if isinstance(proto, int):
        proto = PROTO_NAMES[proto]
    if isinstance(addr, (bytes, bytearray)):
        addr = ipaddress.ip_address(bytes(addr)).compressed if addr else None
    elif addr in ("", "*", "any"):
        addr = None
    elif addr is not None:
        addr = _norm(addr)
    if addr is not None and ipaddress.ip_address(addr).is_unspecified:
        addr = None
    return (proto.lower(), int(family), int(port), addr)


def report_from_json(r):
    local_addrs = [_norm(a) for a in r.get("local_addrs", r.get("local_addresses", []))]
    return {
        "seq": r["seq"], "boot_id": r["boot_id"], "device_id": r.get("device_id"),
        "period_start": r.get("period_start"), "period_end": r.get("period_end"),
        "interval": r.get("interval"), "part": r.get("part", 0), "more": r.get("more", False),
        "flows": [_flow(f, local_addrs, r["period_start"]) for f in r.get("flows", [])],
        # Counters travel in the first report of a period; `vigil decode`
        # prints {} for the others (a report with counters counts itself).
        "counters": r.get("counters") or None,
        "overflow": [_overflow(o) for o in r.get("overflow", [])],
        "listeners": [listener_key(l) for l in r.get("listening_ports", r.get("listeners", []))],
        "system": r.get("system"),
        "local_addrs": local_addrs,
    }


def reports_from_decode_json(path):
    reports = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                reports.append(report_from_json(json.loads(line)))
            except (KeyError, ValueError, TypeError, IndexError) as e:
                raise SystemExit("%s:%d: not a report as `vigil decode` prints it (%s: %s)"
                                 % (path, n, type(e).__name__, e))
    return reports
