#!/usr/bin/env bash
# cli_test.sh - vigil-agent's command line: usage errors, capture files that
# are missing, of an unknown link type, cut or corrupted (never a crash),
# output to stdout, and (as root) a short live capture on loopback that
# stops cleanly on SIGINT.
#
# Usage: cli_test.sh VIGIL_AGENT WORK_DIR
set -euo pipefail
agent=${1:?usage: cli_test.sh VIGIL_AGENT WORK_DIR}
work=${2:?}
rm -rf "$work"
mkdir -p "$work"
py=/usr/bin/python3
failed=0 passed=0
live_pid=
cleanup() { if [ -n "$live_pid" ]; then kill "$live_pid" 2>/dev/null || true; fi; }
trap cleanup EXIT

ok() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }

# expect_exit NAME CODE PATTERN ARGS...: exit code CODE and PATTERN on stderr.
expect_exit() {
  local name=$1 code=$2 pattern=$3 rc=0
  shift 3
  "$agent" "$@" >"$work/stdout" 2>"$work/stderr" || rc=$?
  if [ "$rc" -eq "$code" ] && grep -Eq -e "$pattern" "$work/stderr"; then
    ok "$name"
  else
    fail "$name: exit $rc (want $code), stderr: $(head -c 300 "$work/stderr")"
  fi
}

# A classic pcap of n raw-IPv4 UDP packets from 192.0.2.10, link type given.
"$py" - "$work" <<'PY'
import random, struct, sys
work = sys.argv[1]
def pcap(path, linktype, packets):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, linktype))
        for i, p in enumerate(packets):
            f.write(struct.pack("<IIII", 1700000000 + i, 0, len(p), len(p)))
            f.write(p)
def udp(i, n):
    total = 28 + n
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, total, i, 0, 64, 17, 0,
                     bytes([192, 0, 2, 10]), bytes([192, 0, 2, 20 + i % 3]))
    return ip + struct.pack(">HHHH", 40000 + i, 53, 8 + n, 0) + b"q" * n
good = [udp(i, 10 * i) for i in range(20)]
pcap(work + "/good.pcap", 101, good)
pcap(work + "/empty.pcap", 101, [])
pcap(work + "/wifi.pcap", 105, good[:1])
data = open(work + "/good.pcap", "rb").read()
open(work + "/cut.pcap", "wb").write(data[:len(data) - 7])
open(work + "/garbage.pcap", "wb").write(b"\xd4\xc3\xb2\xa1" + bytes(range(256)) * 3)
rnd = random.Random(2026)
for k in range(150):
    b = bytearray(data)
    for _ in range(rnd.randint(1, 12)):
        b[rnd.randrange(24, len(b))] = rnd.randrange(256)
    if k % 5 == 0:   # also corrupt record lengths
        b[24 + 8 + rnd.randrange(8)] = rnd.randrange(256)
    open("%s/fuzz%03d.pcap" % (work, k), "wb").write(bytes(b))
PY

base=(--device-id cli-test --device-addr 192.0.2.10)
expect_exit "no arguments is a usage error" 2 "exactly one of" --out "$work/o"
expect_exit "pcap without a device address" 2 "at least one --device-addr" --pcap "$work/good.pcap" --device-id x --out "$work/o"
expect_exit "both --pcap and --iface" 2 "exactly one of" --pcap "$work/good.pcap" --iface lo "${base[@]}" --out "$work/o"
expect_exit "bad address" 2 "not an IPv4/IPv6 address" --pcap "$work/good.pcap" --device-addr 192.0.2.300 --device-id x --out "$work/o"
expect_exit "interval out of range" 2 "--interval" --pcap "$work/good.pcap" "${base[@]}" --interval 0 --out "$work/o"
expect_exit "max message too small" 2 "--max-message" --pcap "$work/good.pcap" "${base[@]}" --max-message 100 --out "$work/o"
expect_exit "unknown option" 2 "unknown" --pcap "$work/good.pcap" "${base[@]}" --out "$work/o" --bogus
expect_exit "missing capture" 2 "No such file" --pcap "$work/missing.pcap" "${base[@]}" --out "$work/o"
expect_exit "garbage capture" 2 "good.pcap|garbage.pcap" --pcap "$work/garbage.pcap" "${base[@]}" --out "$work/o"
expect_exit "unsupported link type" 2 "unsupported link type 105" --pcap "$work/wifi.pcap" "${base[@]}" --out "$work/o"
expect_exit "unwritable output" 2 "$work/no/such/dir" --pcap "$work/good.pcap" "${base[@]}" --out "$work/no/such/dir/o"
expect_exit "good capture" 0 "20 packets read, 0 inbound, 20 outbound, 0 foreign, 0 non-IP, 0 unreadable, 1 reports written" \
  --pcap "$work/good.pcap" "${base[@]}" --out "$work/good.bin"
expect_exit "empty capture gives one report" 0 "0 packets read.*1 reports written" \
  --pcap "$work/empty.pcap" "${base[@]}" --out "$work/empty.bin"
expect_exit "cut capture: error, reports of what was read" 1 "capture unreadable after 19 packets.*" \
  --pcap "$work/cut.pcap" "${base[@]}" --out "$work/cut.bin"
grep -q "19 packets read.*1 reports written" "$work/stderr" && ok "cut capture: summary" || fail "cut capture: summary"
expect_exit "full disk is an error" 1 "0 reports written" \
  --pcap "$work/good.pcap" "${base[@]}" --interval 1 --out /dev/full

# Same capture, same device id: the same bytes (boot id from the device id).
"$agent" --pcap "$work/good.pcap" "${base[@]}" --out "$work/good2.bin" 2>/dev/null
cmp -s "$work/good.bin" "$work/good2.bin" && ok "pcap output is reproducible" || fail "pcap output is reproducible"
"$agent" --pcap "$work/good.pcap" "${base[@]}" --out - 2>/dev/null >"$work/stdout.bin"
cmp -s "$work/good.bin" "$work/stdout.bin" && ok "--out - writes stdout" || fail "--out - writes stdout"

# Every record well formed: a 4-byte length, then that many bytes of CBOR map.
check_records() {
  "$py" - "$1" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
i = n = 0
while i < len(d):
    assert i + 4 <= len(d), "cut length"
    k = struct.unpack(">I", d[i:i + 4])[0]
    assert 0 < k <= 65535 and i + 4 + k <= len(d), "bad record length %d" % k
    assert d[i + 4] >> 5 == 5, "record is not a CBOR map"
    i += 4 + k
    n += 1
assert n >= 1, "no record"
PY
}
for f in good empty cut; do
  check_records "$work/$f.bin" && ok "records of $f are well formed" || fail "records of $f are well formed"
done

# Corrupted captures: any of 0, 1, 2, never a signal; output stays well formed.
crashes=0
for f in "$work"/fuzz*.pcap; do
  rc=0
  "$agent" --pcap "$f" "${base[@]}" --out "$work/fuzz.bin" >/dev/null 2>"$work/fuzz.err" || rc=$?
  if [ "$rc" -gt 2 ]; then
    crashes=$((crashes + 1)); echo "  $f: exit $rc: $(head -c 200 "$work/fuzz.err")"
  elif [ "$rc" -ne 2 ] && ! check_records "$work/fuzz.bin" 2>/dev/null; then
    crashes=$((crashes + 1)); echo "  $f: malformed output"
  fi
done
[ "$crashes" -eq 0 ] && ok "150 corrupted captures: no crash" || fail "$crashes corrupted captures crashed"

# Live on loopback (root only): --duration, then SIGINT, each a clean exit 0.
if [ "$(id -u)" -eq 0 ]; then
  rc=0
  ( sleep 0.5; ping -q -c 3 -i 0.2 127.0.0.1 >/dev/null 2>&1 || true ) &
  "$agent" --iface lo --device-id live-test --duration 2 --interval 1 --out "$work/live.bin" \
    2>"$work/live.err" || rc=$?
  wait
  if [ "$rc" -eq 0 ] && grep -q "reports written" "$work/live.err" && check_records "$work/live.bin"; then
    ok "live --duration"
  else
    fail "live --duration: exit $rc: $(cat "$work/live.err")"
  fi
  "$agent" --iface lo --device-id live-test --out "$work/live2.bin" 2>"$work/live2.err" &
  live_pid=$!
  sleep 1
  kill -INT "$live_pid"
  rc=0
  wait "$live_pid" || rc=$?
  live_pid=
  if [ "$rc" -eq 0 ] && check_records "$work/live2.bin"; then
    ok "live stops cleanly on SIGINT"
  else
    fail "live SIGINT: exit $rc: $(cat "$work/live2.err")"
  fi
else
  echo "skip live tests: not root"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
