#!/usr/bin/env bash
# demo-live.sh - Vigil as its users run it: a broker, the analyzer service
# and three devices reporting over MQTT, all on this machine.
#
#  - mosquitto on a free loopback port, with a password per client and an ACL
#    that lets each device write only its own report topic;
#  - vigild with a SQLite database, the demo feeds (data/feeds/) and the demo
#    policy (data/policy.yaml);
#  - two lwIP devices (vigil-lwip-device: lwIP on a tap inside a network
#    namespace of its own, libvigil attached to lwIP's netif): demo-lwip-c2
#    keeps trying an address listed in the C2 feed; demo-lwip-telnet runs a
#    server on the telnet port;
#  - one Linux agent (vigil-agent --mqtt) replaying data/scan-demo.pcapng as
#    device demo-agent: among others, a 2 MB upload above its group's range.
#
# Alerts and recommendations print as vigild raises them (each once). Ctrl-C
# stops everything and removes what the demo created. DEMO_SECONDS=N stops
# it after N seconds instead (tests/live/ uses that). Needs root (network
# namespaces) and the build: scripts/demo-live.sh [BUILD_DIR].
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
vigild="$build/analyzer/vigild"
device="$build/agent/port/lwip/device/vigil-lwip-device"
agent="$build/agent/port/linux/vigil-agent"
vigil="$build/cli/vigil"
for exe in "$vigild" "$device" "$agent" "$vigil"; do
  [ -x "$exe" ] || { echo "demo-live.sh: $exe is missing: run 'make' first" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "demo-live.sh: needs root (network namespaces)" >&2; exit 1; }

# DEMO_WORK=DIR keeps everything (logs, database) in DIR, for tests.
if [ -n "${DEMO_WORK:-}" ]; then
  work=$DEMO_WORK
  mkdir -p "$work"
  export DEMO_KEEP=1
else
  work=$(mktemp -d /tmp/vigil-demo.XXXXXX)
fi
tag=$$
pids=()
namespaces=()

cleanup() {
  trap - INT TERM EXIT
  # Devices first (they flush their last period and wait for its ack), then
  # vigild (it commits and acks), the broker last.
  local i pid
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    pid=${pids[i]}
    kill -TERM "$pid" 2>/dev/null || continue
    for _ in $(seq 80); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  done
  pkill -f "tail -n \\+1 -F $work/vigild.log" 2>/dev/null
  wait 2>/dev/null
  for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null; done
  echo
  echo "== what the store holds ($work/vigil.db$([ -n "${DEMO_KEEP:-}" ] || echo ", removed now"))"
  "$vigil" devices --db "$work/vigil.db" 2>/dev/null
  [ -n "${DEMO_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# --- the broker: one password per client, each device writes only its topic
port=$(free_port)
clients=(vigild demo-lwip-c2 demo-lwip-telnet demo-agent)
: > "$work/passwd"
for c in "${clients[@]}"; do
  head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$work/$c.pass"
  mosquitto_passwd -b "$work/passwd" "$c" "$(cat "$work/$c.pass")" 2>/dev/null
done
chmod 0700 "$work"
chmod 0600 "$work/passwd" "$work"/*.pass
cat > "$work/acl" <<EOF
user vigild
topic read vigil/v1/+/report
topic write vigil/v1/+/ack
topic write vigil/v1/+/config

pattern write vigil/v1/%u/report
pattern read vigil/v1/%u/ack
pattern read vigil/v1/%u/config
EOF
cat > "$work/mosquitto.conf" <<EOF
listener $port 127.0.0.1
allow_anonymous false
password_file $work/passwd
acl_file $work/acl
persistence false
max_queued_messages 1000000
max_inflight_messages 0
EOF
chmod 0644 "$work/mosquitto.conf" "$work/acl"
chmod 0644 "$work/passwd"    # mosquitto drops privileges before reading it
chmod 0755 "$work"
mosquitto -c "$work/mosquitto.conf" 2> "$work/mosquitto.log" &
pids+=($!)
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done

# --- the analyzer
cat > "$work/vigild.conf" <<EOF
mqtt_host 127.0.0.1
mqtt_port $port
mqtt_client_id vigild-demo
mqtt_username vigild
mqtt_password_file $work/vigild.pass
database $work/vigil.db
policy $root/data/policy.yaml
feed $root/data/feeds/c2-blocklist.txt 300
feed csv:dst_ip:$root/data/feeds/scanners.csv 300
ack_interval_ms 200
log_level notice
EOF
"$vigild" --config "$work/vigild.conf" 2> "$work/vigild.log" &
pids+=($!)

# --- two lwIP devices, each in its own namespace behind a tap
lwip_device() {  # NAME INDEX ARGS...
  local name=$1 index=$2; shift 2
  local ns="vigil-demo-$index-$tag"
  ip netns add "$ns" || return 1
  namespaces+=("$ns")
  ip -n "$ns" link set lo up
  ip -n "$ns" tuntap add dev tap0 mode tap
  ip -n "$ns" addr add 192.0.2.1/24 dev tap0
  ip -n "$ns" addr add 2001:db8:1::1/64 dev tap0 nodad
  ip -n "$ns" link set tap0 up
  "$device" --netns "$ns" --tap tap0 --ip4 192.0.2.2/24 --gw4 192.0.2.1 --ip6 2001:db8:1::2/64 \
    --device-id "$name" --interval 5 --connect-every 2 \
    --mqtt "mqtt://127.0.0.1:$port" --mqtt-user "$name" --mqtt-password-file "$work/$name.pass" \
    "$@" 2> "$work/$name.log" &
  pids+=($!)
}
# 203.0.113.66 is in data/feeds/c2-blocklist.txt.
lwip_device demo-lwip-c2 1 --connect tcp:203.0.113.66:443 --connect udp:192.0.2.1:5353 --connect icmp:192.0.2.1
lwip_device demo-lwip-telnet 2 --listen 23 --connect icmp:2001:db8:1::1

# --- the Linux agent, replaying a capture as a device
"$agent" --pcap "$root/data/scan-demo.pcapng" --device-addr 192.0.2.1 --device-addr 2001:db8::1 \
  --device-id demo-agent --interval 60 --mqtt "mqtt://127.0.0.1:$port" \
  --mqtt-user demo-agent --mqtt-password-file "$work/demo-agent.pass" 2> "$work/demo-agent.log" &
pids+=($!)

echo "Vigil live demo: broker 127.0.0.1:$port, vigild, devices demo-lwip-c2, demo-lwip-telnet (lwIP)"
echo "and demo-agent (Linux agent). Findings as they are raised; Ctrl-C stops and cleans up."
echo
# Each finding once: vigild logs every raise, the store merges repeats.
tail -n +1 -F "$work/vigild.log" 2>/dev/null |
  grep --line-buffered -E " (alert|recommendation) " |
  sed -u 's/^[^ ]* vigild [a-z]*: //' |
  { declare -A seen
    while IFS= read -r line; do
      [ -n "${seen[$line]:-}" ] && continue
      seen[$line]=1
      printf '%s\n' "$line"
    done; } &
pids+=($!)

if [ -n "${DEMO_SECONDS:-}" ]; then
  sleep "$DEMO_SECONDS"
else
  while sleep 3600; do :; done
fi
