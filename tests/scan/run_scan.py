#!/usr/bin/python3
"""run_scan.py - one end-to-end scan test: builds a scenario's capture
(captures.py), runs `vigil scan --json` and `vigil scan` (table) on it, and
compares what vigil printed with what the oracle (oracle.py, which never runs
vigil) says it must print: nothing missing, nothing extra, every field
equal, the exit code right, one table line per finding.

Usage: run_scan.py SCENARIO VIGIL SOURCE_DIR
       run_scan.py errors VIGIL SOURCE_DIR      (bad input: exit 2)
Exit 0 when vigil is right, 1 with a readable diff when it is not.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import captures  # noqa: E402
import oracle  # noqa: E402

FIELDS = ("kind", "type", "severity", "device", "time", "remote_addr", "remote_port",
          "local_port", "proto", "direction", "indicator", "count")
JSON_KEYS = ["kind", "type", "severity", "device", "time", "remote_addr", "remote_port",
             "local_port", "proto", "direction", "indicator", "count", "message"]


def scan_args(vigil, s):
    args = [vigil, "scan", "--pcap", s.capture, "--device-id", s.device_id]
    for a in s.device_addrs:
        args += ["--device-addr", a]
    for spec in s.intel:
        args += ["--intel", spec]
    if s.policy:
        args += ["--policy", s.policy]
    if s.interval != 60:
        args += ["--interval", str(s.interval)]
    if s.firmware:
        args += ["--firmware", s.firmware]
    return args


SANITIZER_WORDS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


class SanitizerError(Exception):
    """A sanitizer build reported an error (its exit code may look like 1)."""


def run(args, env=None):
    p = subprocess.run(args, capture_output=True, text=True, timeout=60, env=env)
    if any(w in p.stderr for w in SANITIZER_WORDS):
        raise SanitizerError("%s\n%s" % (" ".join(args), p.stderr))
    return p.returncode, p.stdout, p.stderr


# The key of a printed finding: its (type, key) as the store keeps it. The
# JSON carries remote endpoints; the rest is named in the message.
KEY_PATTERNS = {
    "listener_not_allowed": (r"listens on (tcp|udp)/(\d+),", "{0}:{1}"),
    "insecure_listener": (r"listens on (tcp|udp) port (\d+) ", "{0}:{1}"),
    "plaintext_outbound": (r" port (\d+)\. Remediation", "{proto}:{0}"),
}
PLAINTEXT_PROTO = {"tftp": "udp", "CoAP without DTLS": "udp"}


def key_of(line):
    t = line["type"]
    msg = line["message"]
    if t in ("threat_intel", "remote_not_allowed"):
        return "%s:%s" % (line["proto"], line["remote_addr"])
    if t.startswith("range_"):
        m = re.search(r"in the (\d+) s window from .*, (above|below) the", msg)
        if not m:
            return None
        return "%ss:%s" % (m.group(1), "max" if m.group(2) == "above" else "min")
    if t.startswith("outdated_"):
        return ""
    if t in KEY_PATTERNS:
        pattern, form = KEY_PATTERNS[t]
        m = re.search(pattern, msg)
        if not m:
            return None
        if t == "plaintext_outbound":
            svc = re.search(r" sends (.*) in plaintext ", msg)
            proto = PLAINTEXT_PROTO.get(svc.group(1) if svc else "", "tcp")
            return form.format(*m.groups(), proto=proto)
        return form.format(*m.groups())
    return None


def show(f):
    return ", ".join("%s=%r" % (k, f.get(k)) for k in FIELDS + ("value",) if f.get(k) is not None)


def compare(expected, actual_lines):
    """Returns the list of differences (empty when vigil is right)."""
    problems = []
    actual = []
    for n, text in enumerate(actual_lines, 1):
        try:
            line = json.loads(text)
        except ValueError as e:
            problems.append("line %d is not JSON (%s): %s" % (n, e, text))
            continue
        if list(line) != JSON_KEYS:
            problems.append("line %d has keys %s, not %s" % (n, list(line), JSON_KEYS))
        k = key_of(line)
        if k is None:
            problems.append("line %d: cannot tell its key from the message: %s" % (n, text))
            continue
        line["key"] = k
        if line["type"].startswith("range_"):
            m = re.search(r" was (about )?(\d+) in the ", line["message"])
            line["value"] = int(m.group(2)) if m else None
        if line["type"] == "remote_not_allowed":
            m = re.search(r"\((device|remote)-initiated\)", line["message"])
            line["message_direction"] = m.group(0)[1:-1] if m else None
        actual.append(line)

    def ident(f):
        return (f["kind"], f["type"], f["key"])

    exp_by, act_by = {}, {}
    for f in expected:
        exp_by.setdefault(ident(f), []).append(f)
    for f in actual:
        act_by.setdefault(ident(f), []).append(f)
    for k in sorted(set(exp_by) | set(act_by), key=repr):
        es = sorted(exp_by.get(k, []), key=lambda f: repr(f["time"]))
        acts = sorted(act_by.get(k, []), key=lambda f: f["time"])
        for e, a in zip(es, acts):
            for field in FIELDS + ("value", "message_direction"):
                if field in ("value", "message_direction") and e.get(field) is None:
                    continue
                if not e.get(field) == a.get(field):   # AnyOf on the left
                    problems.append("DIFFERENT %s %s: %s expected %r, vigil printed %r"
                                    % (k[1], k[2] or "-", field, e.get(field), a.get(field)))
        for e in es[len(acts):]:
            problems.append("MISSING   %s" % show(e))
        for a in acts[len(es):]:
            problems.append("EXTRA     %s\n          message: %s" % (show(a), a["message"]))
    return problems


def check_table(table, expected_count, json_lines):
    """The table: a header, then one line per finding (in the JSON order)
    with at most an indicator line and a remediation line under it."""
    problems = []
    lines = table.splitlines()
    rows = [l for l in lines if re.match(r"^(ALERT|RECOMMENDATION) ", l)]
    if len(rows) != expected_count:
        problems.append("table has %d finding lines, expected %d" % (len(rows), expected_count))
    if expected_count and (not lines or not lines[0].startswith("KIND ")):
        problems.append("table does not start with its header")
    if not expected_count and lines:
        problems.append("table prints %d lines for no finding" % len(lines))
    for row, text in zip(rows, json_lines):
        j = json.loads(text)
        cols = row.split()
        if cols[2] != j["type"] or cols[3] != j["device"]:
            problems.append("table line %r does not match JSON line %r" % (row, text))
    extra = [l for l in lines[1:] if l not in rows and not re.match(r"^\s+(indicator |remediation: )", l)]
    if extra:
        problems.append("table lines that are neither findings nor their details: %r" % extra)
    return problems


def check_scenario(name, vigil, src):
    with tempfile.TemporaryDirectory(prefix="vigil-scan-") as d:
        s = captures.SCENARIOS[name](d, src)
        try:
            exp = oracle.expected(s.capture, s.device_addrs, s.device_id, s.intel, s.policy,
                                  s.interval, s.firmware)
        except oracle.Unsupported as e:
            print("FAIL %s: the oracle cannot model this capture: %s" % (name, e))
            return 1
        keys = {(f["type"], f["key"]) for f in exp}
        vacuous = [m for m in s.must if m not in keys] + [m for m in s.must_not if m in keys]
        if vacuous:
            print("FAIL %s: the scenario does not exercise what it claims (oracle): %s" % (name, vacuous))
            return 1

        args = scan_args(vigil, s)
        rc, out, err = run(args + ["--json"])
        lines = [l for l in out.splitlines() if l.strip()]
        problems = compare(exp, lines)
        want_rc = 1 if exp else 0
        if rc != want_rc:
            problems.append("exit code %d, expected %d" % (rc, want_rc))
        trc, table, _ = run(args)
        if trc != rc:
            problems.append("table run exit code %d, JSON run %d" % (trc, rc))
        problems += check_table(table, len(exp), lines)
        if problems:
            print("FAIL %s: vigil scan differs from the oracle" % name)
            print("  command: %s --json" % " ".join(args))
            for p in problems:
                print("  " + p)
            print("  --- expected (oracle) ---")
            for f in sorted(exp, key=lambda f: (f["type"], f["key"])):
                print("  " + show(f) + ", key=%r" % f["key"])
            print("  --- vigil stdout ---")
            for l in lines:
                print("  " + l)
            print("  --- vigil stderr ---")
            print("  " + err.replace("\n", "\n  "))
            return 1
        print("ok   %s: %d findings, exactly as the oracle expects (exit %d)" % (name, len(exp), rc))
        return 0


def check_errors(vigil, src):
    """Input vigil cannot use: exit 2 and a reason on stderr, nothing on stdout."""
    failures = 0
    with tempfile.TemporaryDirectory(prefix="vigil-scan-") as d:
        s = captures.clean(d, src)
        good = scan_args(vigil, s)
        bad_policy = captures.write(d, "bad.yaml", "version: 1\ngroups:\n  - name: x\n    rules:\n"
                                    "      remote_cidrs_allowed: { cidrs: [198.51.100.0/33] }\n")
        bad_feed = captures.write(d, "bad-feed.txt", "203.0.113.1\nnot-an-address\n")
        not_pcap = captures.write(d, "not.pcap", "this is not a capture\n")
        cases = [
            ("missing capture", [vigil, "scan", "--pcap", os.path.join(d, "none.pcap"),
                                 "--device-addr", captures.DEV4], "none.pcap"),
            ("not a capture", [vigil, "scan", "--pcap", not_pcap, "--device-addr", captures.DEV4],
             "not.pcap"),
            ("no device address", [vigil, "scan", "--pcap", s.capture], "--device-addr"),
            ("bad device address", [vigil, "scan", "--pcap", s.capture, "--device-addr", "192.0.2.300"],
             "192.0.2.300"),
            ("broken policy", good + ["--policy", bad_policy], "bad.yaml:5:"),
            ("missing policy", good + ["--policy", os.path.join(d, "none.yaml")], "none.yaml"),
            ("broken feed", good + ["--intel", bad_feed], "bad-feed"),
            ("missing feed", good + ["--intel", os.path.join(d, "none.txt")], "none"),
            ("unknown option", good + ["--frobnicate"], "--frobnicate"),
        ]
        for what, args, needle in cases:
            rc, out, err = run(args + ["--json"])
            if rc != 2 or out.strip() or needle not in err:
                print("FAIL errors: %s: exit %d (expected 2), stdout %r, stderr %r (should name %r)"
                      % (what, rc, out, err, needle))
                failures += 1
            else:
                print("ok   errors: %s: exit 2, %s" % (what, err.strip().splitlines()[0]))
    return 1 if failures else 0


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    name, vigil, src = sys.argv[1:]
    try:
        if name == "errors":
            return check_errors(vigil, src)
        return check_scenario(name, vigil, src)
    except SanitizerError as e:
        print("FAIL %s: sanitizer error:\n%s" % (name, e))
        return 1


if __name__ == "__main__":
    sys.exit(main())
