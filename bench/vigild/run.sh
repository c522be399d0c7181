#!/usr/bin/env bash
# vigild's ingest throughput: reports/s from many device connections through
# mosquitto to one vigild with SQLite, each counted only when vigild's ack
# covers it; then the same messages through a fresh broker to a subscriber
# that only counts. Prints BENCH lines; asserts nothing about speed.
# Environment: DEVICES (2000), REPORTS (25 per device), CLIENTS (16).
set -euo pipefail
build=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
devices=${DEVICES:-2000}
reports=${REPORTS:-25}
clients=${CLIENTS:-16}
tmp=$(mktemp -d)
broker_pid=
vigild_pid=
cleanup() {
  [ -n "$vigild_pid" ] && kill "$vigild_pid" 2>/dev/null || true
  [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

start_broker() {
  port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat >"$tmp/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 1000000
max_inflight_messages 0
CONF
  /usr/sbin/mosquitto -c "$tmp/mosquitto.conf" >"$tmp/mosquitto-$1.log" 2>&1 &
  broker_pid=$!
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "run.sh: mosquitto did not start" >&2
  exit 1
}

stop_broker() {
  kill "$broker_pid"
  wait "$broker_pid" 2>/dev/null || true
  broker_pid=
}

value() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }

# 1. through vigild
start_broker ingest
cat >"$tmp/vigild.conf" <<CONF
mqtt_host 127.0.0.1
mqtt_port $port
mqtt_client_id vigild-bench
database $tmp/vigil.db
policy $root/data/policy.yaml
feed $root/data/feeds/c2-blocklist.txt
feed csv:dst_ip:$root/data/feeds/scanners.csv
log_level warning
CONF
"$build/analyzer/vigild" --config "$tmp/vigild.conf" 2>"$tmp/vigild.log" &
vigild_pid=$!
for _ in $(seq 100); do
  grep -q "connected to" "$tmp/vigild.log" 2>/dev/null && break
  sleep 0.05
done
sleep 0.3
"$build/bench/vigild/bench_ingest" ingest 127.0.0.1 "$port" "$devices" "$reports" "$clients" >"$tmp/ingest.out" || true
kill -TERM "$vigild_pid"
wait "$vigild_pid" || true
vigild_pid=
stop_broker
cat "$tmp/ingest.out"
counters=$(grep "counters:" "$tmp/vigild.log" | tail -1 | sed 's/.*counters: //')
echo "vigild $counters"
stored=$(echo "$counters" | awk '{ for (i = 1; i < NF; i += 2) if ($i == "stored") print $(i + 1) }')
resent=$(echo "$counters" | awk '{ for (i = 1; i < NF; i += 2) if ($i == "duplicates") print $(i + 1) }')
if grep -q "Outgoing messages are being dropped" "$tmp/mosquitto-ingest.log"; then
  echo "mosquitto dropped messages (see its log)"
fi

# 2. the same messages to a plain counting subscriber, on a fresh broker
start_broker plain
"$build/bench/vigild/bench_ingest" plain 127.0.0.1 "$port" "$devices" "$reports" "$clients" >"$tmp/plain.out" || true
stop_broker
cat "$tmp/plain.out"

sent=$(value sent "$tmp/ingest.out")
acked=$(value counted "$tmp/ingest.out")
ingest=$(value per_s "$tmp/ingest.out")
plain=$(value per_s "$tmp/plain.out")
lost_ack=$((sent - acked))
lost_store=$((sent - ${stored:-0}))
lost=$(( lost_ack > lost_store ? lost_ack : lost_store ))
echo "context: sent $sent, acked $acked, stored by vigild $stored, re-sends seen by vigild $resent"
echo "BENCH ingest_reports_per_s $ingest reports/s"
echo "BENCH mosquitto_only_reports_per_s $plain reports/s"
echo "BENCH ingest_vs_mosquitto $(awk -v a="$ingest" -v b="$plain" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }') ratio"
echo "BENCH ingest_lost $lost reports"
