#!/usr/bin/env bash
# live_test.sh - vigil-agent --mqtt against a real mosquitto on a free
# loopback port and fake_analyzer.py (paho-mqtt) as the analyzer. One case
# per run, each under ~30 s:
#   all_acked       every report of data/demo-traffic.pcapng arrives exactly
#                   once, byte for byte as --out writes it; exit 0
#   resend          no acks: re-sent after --resend, exit 1 after --ack-timeout
#   broker_restart  mosquitto killed and restarted mid-run on the same port:
#                   reconnect, re-send, no report lost
#   config          a retained config changes the interval; a malformed one is
#                   rejected, counted (config_rejected in the reports), and the
#                   running configuration stays
#   other_boot      acks for another boot id release nothing
#   signal          SIGINT/SIGTERM: the period is flushed and acknowledged
#                   within a few seconds, with a summary (live on lo as root,
#                   and a replay)
#   tls_auth        mqtts:// with a CA file and a user name + password file;
#                   a wrong password and an unknown CA are refused
#   usage           --mqtt option errors (no broker needed)
# It starts and kills its own broker and analyzer; nothing else is touched.
#
# Usage: live_test.sh CASE VIGIL_AGENT REPO_ROOT WORK_DIR
set -euo pipefail
case_name=${1:?usage: live_test.sh CASE VIGIL_AGENT REPO_ROOT WORK_DIR}
agent=${2:?}
root=${3:?}
work=${4:?}
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
capture=$root/data/demo-traffic.pcapng
addrs=(--device-addr 192.0.2.1 --device-addr 2001:db8::1)   # the device in demo-traffic

command -v mosquitto >/dev/null || { echo "SKIP: mosquitto not installed"; exit 77; }
"$py" -c 'import paho.mqtt.client, cbor2' 2>/dev/null ||
  { echo "SKIP: python3-paho-mqtt or python3-cbor2 missing"; exit 77; }

rm -rf "$work"
mkdir -p "$work"
broker_pid= analyzer_pid= agent_pid=
cleanup() {
  local p
  for p in $agent_pid $analyzer_pid $broker_pid; do kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

failed=0
ok() { echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }
check() { if eval "$2"; then ok "$1"; else fail "$1 ($2)"; fi; }

port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/mosquitto.conf" <<EOF
listener $port 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 1000000
EOF

start_broker() {
  mosquitto -c "$work/mosquitto.conf" >>"$work/mosquitto.log" 2>&1 &
  broker_pid=$!
  local i
  for i in $(seq 100); do
    if "$py" -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then
      return 0
    fi
    sleep 0.05
  done
  echo "mosquitto did not start on port $port:"; cat "$work/mosquitto.log"; exit 1
}

kill_broker() {
  kill -KILL "$broker_pid" 2>/dev/null || true
  wait "$broker_pid" 2>/dev/null || true
  broker_pid=
}

# start_analyzer ARGS...: returns once it is subscribed.
start_analyzer() {
  rm -f "$work/ready" "$work/progress" "$work/analyzer.json"
  "$py" "$here/fake_analyzer.py" "$port" "$work" "$@" >"$work/analyzer.log" 2>&1 &
  analyzer_pid=$!
  local i
  for i in $(seq 100); do
    [ -f "$work/ready" ] && return 0
    sleep 0.05
  done
  echo "the fake analyzer did not subscribe:"; cat "$work/analyzer.log"; exit 1
}

stop_analyzer() {
  kill -TERM "$analyzer_pid"
  wait "$analyzer_pid" || true
  analyzer_pid=
  [ -f "$work/analyzer.json" ] || { echo "no analyzer.json:"; cat "$work/analyzer.log"; exit 1; }
}

# field EXPR: evaluates a Python expression over the analyzer's JSON (a).
field() {
  "$py" - "$work/analyzer.json" "$1" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))
PY
}

# summary_num PATTERN: the number before PATTERN in the agent's mqtt summary.
summary_num() {
  grep -Eo "[0-9]+ $1" "$work/agent.err" | tail -1 | grep -Eo '^[0-9]+' || echo -1
}

# reference ID ARGS...: how many reports --out writes for the same run.
reference() {
  local id=$1
  shift
  "$agent" "$@" --device-id "$id" --out "$work/ref-$id.bin" 2>/dev/null
  "$py" - "$work/ref-$id.bin" <<'PY'
import sys
d = open(sys.argv[1], "rb").read()
n = i = 0
while i < len(d):
    i += 4 + int.from_bytes(d[i:i + 4], "big")
    n += 1
print(n)
PY
}

run_agent() {
  local rc=0
  "$agent" "$@" >"$work/agent.out" 2>"$work/agent.err" || rc=$?
  echo "$rc"
}

case "$case_name" in
all_acked)
  start_broker
  start_analyzer --mode ack
  want=$(reference dev-all --pcap "$capture" "${addrs[@]}" --interval 1)
  rc=$(run_agent --pcap "$capture" "${addrs[@]}" --interval 1 --device-id dev-all \
         --mqtt "mqtt://127.0.0.1:$port" --ack-timeout 10)
  stop_analyzer
  check "exit 0 when every report is acknowledged" '[ "$rc" -eq 0 ]'
  check "more than one report to check ($want)" '[ "$want" -gt 1 ]'
  check "the analyzer holds all $want reports" '[ "$(field "a[\"unique\"]")" -eq "$want" ]'
  check "each arrived exactly once" '[ "$(field "a[\"copies\"]")" -eq "$want" ]'
  check "the summary says all acknowledged" 'grep -q "all $want reports acknowledged" "$work/agent.err"'
  check "nothing re-sent" '[ "$(summary_num "re-sent")" -eq 0 ]'
  check "the reports are byte for byte those of --out" '"$py" - "$work/analyzer.json" "$work/ref-dev-all.bin" <<'"'"'PY'"'"'
import json, sys
a = json.load(open(sys.argv[1]))
d = open(sys.argv[2], "rb").read()
ref, i = [], 0
while i < len(d):
    n = int.from_bytes(d[i:i + 4], "big")
    ref.append(d[i + 4:i + 4 + n].hex())
    i += 4 + n
sys.exit(0 if [r["hex"] for r in a["reports"]] == ref else 1)
PY'
  ;;

resend)
  start_broker
  start_analyzer --mode noack
  want=$(reference dev-resend --pcap "$capture" "${addrs[@]}" --interval 1)
  rc=$(run_agent --pcap "$capture" "${addrs[@]}" --interval 1 --device-id dev-resend \
         --mqtt "mqtt://127.0.0.1:$port" --resend 1 --ack-timeout 4)
  stop_analyzer
  check "exit 1 when acks never come" '[ "$rc" -eq 1 ]'
  check "the summary says how many were not acknowledged" \
    'grep -q "$want reports not acknowledged ($want still held, 0 dropped)" "$work/agent.err"'
  check "every report arrived" '[ "$(field "a[\"unique\"]")" -eq "$want" ]'
  check "reports were re-sent (copies > unique)" \
    '[ "$(field "a[\"copies\"]")" -gt "$(field "a[\"unique\"]")" ]'
  check "the agent counted re-sends" '[ "$(summary_num "re-sent")" -ge "$want" ]'
  check "--ack-timeout was kept (no more than ~4 re-sends each)" \
    '[ "$(field "a[\"copies\"]")" -le $((want * 7)) ]'
  ;;

broker_restart)
  # A longer capture: 120 s of UDP from the device, one packet every 0.25 s.
  "$py" - "$work/long.pcap" <<'PY'
import struct, sys
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101))
    for i in range(480):
        payload = b"x" * (20 + i % 50)
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 28 + len(payload), i, 0, 64, 17, 0,
                         bytes([192, 0, 2, 10]), bytes([198, 51, 100, 1 + i % 7]))
        p = ip + struct.pack(">HHHH", 40000 + i % 11, 53, 8 + len(payload), 0) + payload
        ts = 1700000000 * 4 + i
        f.write(struct.pack("<IIII", ts // 4, (ts % 4) * 250000, len(p), len(p)))
        f.write(p)
PY
  start_broker
  start_analyzer --mode ack --ack-delay 0.2
  want=$(reference dev-restart --pcap "$work/long.pcap" --device-addr 192.0.2.10 --interval 1)
  "$agent" --pcap "$work/long.pcap" --device-addr 192.0.2.10 --interval 1 \
    --device-id dev-restart --mqtt "mqtt://127.0.0.1:$port" --resend 3 --ack-timeout 20 \
    >"$work/agent.out" 2>"$work/agent.err" &
  agent_pid=$!
  for i in $(seq 200); do
    [ "$(cat "$work/progress" 2>/dev/null || echo 0)" -ge 15 ] && break
    sleep 0.05
  done
  before=$(cat "$work/progress" 2>/dev/null || echo 0)
  kill_broker
  sleep 1
  start_broker
  rc=0
  wait "$agent_pid" || rc=$?
  agent_pid=
  stop_analyzer
  check "the broker went down mid-run ($before of $want reports in)" \
    '[ "$before" -ge 15 ] && [ "$before" -lt "$want" ]'
  check "exit 0: every report acknowledged in the end" '[ "$rc" -eq 0 ]'
  check "the connection loss was seen" '[ "$(summary_num "lost")" -ge 1 ]'
  check "the agent reconnected" '[ "$(summary_num "connections")" -ge 2 ]'
  check "unacknowledged reports were re-sent" '[ "$(summary_num "re-sent")" -ge 1 ]'
  check "no report lost: the analyzer holds all $want" '[ "$(field "a[\"unique\"]")" -eq "$want" ]'
  check "none dropped from the outbox" '[ "$(summary_num "dropped")" -eq 0 ]'
  check "sequences 0..$((want - 1)) without a gap" \
    '[ "$(field "[r[\"seq\"] for r in a[\"reports\"]] == list(range($want))")" = True ]'
  ;;

config)
  start_broker
  start_analyzer --mode ack
  # A valid retained configuration: the interval goes from 60 (the default) to 1.
  "$py" - "$port" <<'PY'
import sys, cbor2, paho.mqtt.publish as publish
port = int(sys.argv[1])
publish.single("vigil/v1/dev-cfg/config", cbor2.dumps({0: 1, 1: 1}), qos=1, retain=True,
               hostname="127.0.0.1", port=port)
# Malformed: report_interval_s 0 is out of range (1..3600).
publish.single("vigil/v1/dev-badcfg/config", cbor2.dumps({0: 1, 1: 0}), qos=1, retain=True,
               hostname="127.0.0.1", port=port)
PY
  want=$(reference dev-cfg --pcap "$capture" "${addrs[@]}" --interval 1)
  rc=$(run_agent --pcap "$capture" "${addrs[@]}" --device-id dev-cfg \
         --mqtt "mqtt://127.0.0.1:$port" --ack-timeout 10)
  cp "$work/agent.err" "$work/agent-cfg.err"
  check "exit 0 with the configuration applied" '[ "$rc" -eq 0 ]'
  check "the summary counts it applied" 'grep -q "configurations: 1 applied, 0 rejected" "$work/agent.err"'
  rc=$(run_agent --pcap "$capture" "${addrs[@]}" --device-id dev-badcfg --interval 1 \
         --mqtt "mqtt://127.0.0.1:$port" --ack-timeout 10)
  check "exit 0 with the malformed configuration rejected" '[ "$rc" -eq 0 ]'
  check "the summary counts it rejected" 'grep -q "configurations: 0 applied, 1 rejected" "$work/agent.err"'
  check "the rejection is logged with its reason" 'grep -q "configuration rejected.*report_interval_s 0 out of range" "$work/agent.err"'
  stop_analyzer
  check "with interval 1 the capture gives $want reports, not 1" \
    '[ "$(field "len([r for r in a[\"reports\"] if r[\"device\"] == \"dev-cfg\"])")" -eq "$want" ] && [ "$want" -gt 1 ]'
  check "every report carries interval 1" '"$py" - "$work/analyzer.json" <<'"'"'PY'"'"'
import cbor2, json, sys
a = json.load(open(sys.argv[1]))
rs = [cbor2.loads(bytes.fromhex(r["hex"])) for r in a["reports"] if r["device"] == "dev-cfg"]
sys.exit(0 if rs and all(r[6] == 1 for r in rs) else 1)
PY'
  check "config_rejected is in the reports' counters; the interval stays 1" '"$py" - "$work/analyzer.json" <<'"'"'PY'"'"'
import cbor2, json, sys
a = json.load(open(sys.argv[1]))
rs = [cbor2.loads(bytes.fromhex(r["hex"])) for r in a["reports"] if r["device"] == "dev-badcfg"]
ok = rs and rs[-1].get(13, {}).get(17) == 1 and all(r[6] == 1 for r in rs)
sys.exit(0 if ok else 1)
PY'
  ;;

other_boot)
  start_broker
  start_analyzer --mode otherboot
  want=$(reference dev-boot --pcap "$capture" "${addrs[@]}" --interval 1)
  rc=$(run_agent --pcap "$capture" "${addrs[@]}" --interval 1 --device-id dev-boot \
         --mqtt "mqtt://127.0.0.1:$port" --resend 30 --ack-timeout 3)
  stop_analyzer
  check "exit 1: acks of another boot release nothing" '[ "$rc" -eq 1 ]'
  check "the analyzer sent acks" '[ "$(field "a[\"acks_sent\"]")" -ge 1 ]'
  check "the agent ignored every one" '[ "$(summary_num "of another boot ignored")" -eq "$(field "a[\"acks_sent\"]")" ]'
  check "none was taken as this boot's" 'grep -q "acks: 0 of this boot" "$work/agent.err"'
  check "all $want reports still held" 'grep -q "0 acknowledged, $want still held" "$work/agent.err"'
  ;;

signal)
  if [ "$(id -u)" -ne 0 ]; then echo "SKIP: live capture needs root"; exit 77; fi
  start_broker
  start_analyzer --mode ack
  # --interval 60: no period closes by itself, so the one report is the flush.
  "$agent" --iface lo --device-id dev-live --interval 60 --mqtt "mqtt://127.0.0.1:$port" \
    >"$work/agent.out" 2>"$work/agent.err" &
  agent_pid=$!
  sleep 1.5
  kill -INT "$agent_pid"
  t0=$(date +%s%N)
  rc=0
  wait "$agent_pid" || rc=$?
  agent_pid=
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  made=$(summary_num "reports made")
  check "live, SIGINT: exit 0 with every report acknowledged" \
    '[ "$rc" -eq 0 ] && grep -q "all $made reports acknowledged" "$work/agent.err"'
  check "live, SIGINT: the open period was flushed into one report ($made)" '[ "$made" -eq 1 ]'
  check "live, SIGINT: the analyzer holds it" '[ "$(cat "$work/progress")" -eq 1 ]'
  check "live, SIGINT: prompt exit (${ms} ms)" '[ "$ms" -lt 3000 ]'
  # The broker gone: the agent tries for a few seconds, then says what is held.
  "$agent" --iface lo --device-id dev-live2 --interval 1 --mqtt "mqtt://127.0.0.1:$port" \
    >"$work/agent.out" 2>"$work/agent.err" &
  agent_pid=$!
  sleep 1.5
  kill_broker
  sleep 1
  kill -TERM "$agent_pid"
  t0=$(date +%s%N)
  rc=0
  wait "$agent_pid" || rc=$?
  agent_pid=
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  check "live, SIGTERM without a broker: exit 1, saying how many are held" \
    '[ "$rc" -eq 1 ] && grep -Eq "[1-9][0-9]* reports not acknowledged \([1-9][0-9]* still held" "$work/agent.err"'
  check "live, SIGTERM without a broker: gave up after a few seconds (${ms} ms)" \
    '[ "$ms" -ge 3500 ] && [ "$ms" -lt 9000 ]'
  stop_analyzer
  ;;

tls_auth)
  command -v openssl >/dev/null && command -v mosquitto_passwd >/dev/null ||
    { echo "SKIP: openssl or mosquitto_passwd missing"; exit 77; }
  t=$work/tls
  mkdir -p "$t"
  {
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=vigil test CA" \
      -keyout "$t/ca.key" -out "$t/ca.crt"
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$t/server.key" \
      -out "$t/server.csr"
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$t/san.ext"
    openssl x509 -req -in "$t/server.csr" -CA "$t/ca.crt" -CAkey "$t/ca.key" \
      -CAcreateserial -days 2 -extfile "$t/san.ext" -out "$t/server.crt"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=other CA" \
      -keyout "$t/other.key" -out "$t/other.crt"
  } >"$t/openssl.log" 2>&1
  mosquitto_passwd -b -c "$t/passwd" dev-tls 's3cret with spaces' >/dev/null
  chmod 0600 "$t/passwd" "$t"/*.key
  tls_port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # The analyzer keeps the plain anonymous listener; devices use TLS and a password.
  cat >"$work/mosquitto.conf" <<CONF
per_listener_settings true
persistence false
max_queued_messages 1000000
listener $port 127.0.0.1
allow_anonymous true
listener $tls_port 127.0.0.1
allow_anonymous false
password_file $t/passwd
cafile $t/ca.crt
certfile $t/server.crt
keyfile $t/server.key
CONF
  # As root, mosquitto would switch to its own user, who cannot read these.
  if [ "$(id -u)" -eq 0 ]; then echo "user root" >>"$work/mosquitto.conf"; fi
  start_broker
  start_analyzer --mode ack
  printf 's3cret with spaces\n' >"$t/good-password"
  printf 'wrong\n' >"$t/bad-password"
  want=$(reference dev-tls --pcap "$capture" "${addrs[@]}" --interval 1)
  tls=(--pcap "$capture" "${addrs[@]}" --interval 1 --device-id dev-tls
       --mqtt "mqtts://127.0.0.1:$tls_port" --mqtt-user dev-tls)
  rc=$(run_agent "${tls[@]}" --mqtt-password-file "$t/good-password" \
         --mqtt-cafile "$t/ca.crt" --ack-timeout 10)
  check "mqtts with the right CA and password: exit 0, all acknowledged" \
    '[ "$rc" -eq 0 ] && grep -q "all $want reports acknowledged" "$work/agent.err"'
  check "the password is not in the log" '! grep -q "s3cret" "$work/agent.err"'
  rc=$(run_agent "${tls[@]}" --mqtt-password-file "$t/bad-password" \
         --mqtt-cafile "$t/ca.crt" --ack-timeout 2)
  check "a wrong password: refused by the broker, exit 1" \
    '[ "$rc" -eq 1 ] && grep -q "broker refused the connection" "$work/agent.err"'
  rc=$(run_agent "${tls[@]}" --mqtt-password-file "$t/good-password" \
         --mqtt-cafile "$t/other.crt" --ack-timeout 2)
  check "a server certificate of an unknown CA: no connection, exit 1" \
    '[ "$rc" -eq 1 ] && grep -q "not reached within 2 s" "$work/agent.err" && ! grep -q "connected (connection" "$work/agent.err"'
  check "the reason is logged" 'grep -qi "certificate verify failed" "$work/agent.err"'
  stop_analyzer
  check "the analyzer got the $want reports once" \
    '[ "$(field "a[\"unique\"]")" -eq "$want" ] && [ "$(field "a[\"copies\"]")" -eq "$want" ]'
  ;;

usage)
  expect_usage() {
    local name=$1 pattern=$2 rc=0
    shift 2
    # Bounded: a refused option must never leave the agent waiting (one CI
    # run timed out here once; this names the case instead of 60 s of silence).
    timeout 20 "$agent" "$@" >"$work/agent.out" 2>"$work/agent.err" || rc=$?
    [ "$rc" -ne 124 ] || echo "HUNG $name: $(cat "$work/agent.err")"
    check "$name" '[ "$rc" -eq 2 ] && grep -Eq -e "$pattern" "$work/agent.err"'
  }
  base=(--pcap "$capture" "${addrs[@]}" --device-id dev-usage)
  expect_usage "--out and --mqtt together" "exactly one of --out" "${base[@]}" --out /dev/null --mqtt mqtt://127.0.0.1:1
  expect_usage "an mqtt option without --mqtt" "need --mqtt" "${base[@]}" --out /dev/null --resend 5
  expect_usage "an unknown URL scheme" "must start with mqtt://" "${base[@]}" --mqtt http://127.0.0.1
  expect_usage "a bad port" "bad port" "${base[@]}" --mqtt mqtt://127.0.0.1:99999
  expect_usage "no host" "no host" "${base[@]}" --mqtt mqtt://:1883
  expect_usage "a missing password file" "password file .*No such file" "${base[@]}" \
    --mqtt mqtt://127.0.0.1:1 --mqtt-user u --mqtt-password-file "$work/none"
  : >"$work/empty-password"
  expect_usage "an empty password file" "password file .*empty" "${base[@]}" \
    --mqtt mqtt://127.0.0.1:1 --mqtt-user u --mqtt-password-file "$work/empty-password"
  expect_usage "a password without a user" "needs a user name" "${base[@]}" \
    --mqtt mqtt://127.0.0.1:1 --mqtt-password-file "$work/empty-password"
  expect_usage "TLS files on mqtt://" "use mqtts://" "${base[@]}" \
    --mqtt mqtt://127.0.0.1:1 --mqtt-cafile /etc/hostname
  expect_usage "a certificate without its key" "go together" "${base[@]}" \
    --mqtt mqtts://127.0.0.1:1 --mqtt-cert /etc/hostname
  expect_usage "a device id with a topic wildcard" "cannot name an MQTT topic" \
    --pcap "$capture" "${addrs[@]}" --device-id "dev+x" --mqtt mqtt://127.0.0.1:1
  expect_usage "--resend 0" "resend must be" "${base[@]}" --mqtt mqtt://127.0.0.1:1 --resend 0
  # No broker at all: exits 1 after --ack-timeout, saying so.
  rc=$(run_agent "${base[@]}" --mqtt "mqtt://127.0.0.1:$port" --ack-timeout 1)
  check "no broker: exit 1, not reached" '[ "$rc" -eq 1 ] && grep -q "not reached within 1 s" "$work/agent.err"'
  ;;

*)
  echo "unknown case $case_name"
  exit 2
  ;;
esac

[ "$failed" -eq 0 ] || { echo "--- agent stderr"; cat "$work/agent.err"; exit 1; }
