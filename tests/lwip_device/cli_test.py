#!/usr/bin/python3
"""vigil-lwip-device's command line against bad usage (no root, no network):
each case must exit 2 with a message naming the problem, before touching
any tap or namespace.

usage: cli_test.py VIGIL_LWIP_DEVICE
"""
import subprocess
import sys

BASE = ["--tap", "vtap0", "--device-id", "d1", "--ip4", "192.0.2.2/24", "--out", "/dev/null"]


def without(opt):
    i = BASE.index(opt)
    return BASE[:i] + BASE[i + 2:]


CASES = [
    (without("--tap"), "--tap NAME is required"),
    (without("--device-id"), "--device-id is required"),
    (without("--out"), "exactly one of --out FILE"),
    (BASE + ["--mqtt", "mqtt://127.0.0.1:1"], "exactly one of --out FILE"),
    (BASE + ["--resend", "5"], "need --mqtt URL"),
    (without("--ip4"), "give --ip4 and/or --ip6"),
    (BASE + ["--ip4", "192.0.2.2"], "expected A.B.C.D/LEN"),
    (BASE + ["--ip4", "192.0.2.2/33"], "expected A.B.C.D/LEN"),
    (BASE + ["--ip4", "1/24"], "expected A.B.C.D/LEN"),
    (BASE + ["--gw4", "gateway"], "--gw4 'gateway'"),
    (BASE + ["--ip6", "2001:db8::2/48"], "give /64"),
    (BASE + ["--ip6", "fe80::2/64"], "global unicast"),
    (BASE + ["--ip6", "not-an-address/64"], "expected an IPv6 address"),
    (BASE + ["--interval", "0"], "--interval must be"),
    (BASE + ["--interval", "3601"], "--interval must be"),
    (BASE + ["--listen", "65536"], "--listen must be"),
    (BASE + ["--connect", "tcp:192.0.2.1"], "missing :PORT"),
    (BASE + ["--connect", "ftp:192.0.2.1:21"], "expected tcp:ADDR:PORT"),
    (BASE + ["--connect", "udp:[2001:db8::1]:53"], "is IPv6 but the device has no such"),
    (BASE + ["--connect-every", "0"], "--connect-every must be"),
    (BASE + ["--tap", "a-name-longer-than-15"], "--tap NAME is required"),
    (BASE + ["--boot-id", "-1"], "--boot-id must be"),
    (BASE + ["--bogus"], "unknown or incomplete option"),
    (BASE + ["extra"], "unexpected argument"),
    (BASE + ["--connect=tcp:192.0.2.1:1"] * 17, "at most 16 --connect"),
]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    failed = 0
    for args, expect in CASES:
        r = subprocess.run([sys.argv[1]] + args, capture_output=True, text=True, timeout=10)
        if r.returncode != 2 or expect not in r.stderr:
            failed += 1
            print("FAIL %r: exit %d, stderr %r (want exit 2 and %r)"
                  % (args, r.returncode, r.stderr.strip(), expect))
        else:
            print("ok   %s" % expect)
    # Valid options, but no such tap here: refused before lwIP starts.
    r = subprocess.run([sys.argv[1]] + BASE[:1] + ["vigil-no-such0"] + BASE[2:],
                       capture_output=True, text=True, timeout=10)
    if r.returncode != 2 or "no interface vigil-no-such0" not in r.stderr:
        failed += 1
        print("FAIL missing tap: exit %d, stderr %r" % (r.returncode, r.stderr.strip()))
    else:
        print("ok   no interface vigil-no-such0")
    r = subprocess.run([sys.argv[1], "--help"], capture_output=True, text=True, timeout=10)
    if r.returncode != 0 or "--connect SPEC" not in r.stdout:
        failed += 1
        print("FAIL --help: exit %d" % r.returncode)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
