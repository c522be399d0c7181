#!/usr/bin/env bash
# netns_capture.sh - records real traffic between two network namespaces.
#
# Usage: netns_capture.sh SCENARIO OUT.pcap
#   SCENARIO: icmp | tcp | udp | demo | scan
#
# Creates two namespaces joined by a veth pair: the "device" (192.0.2.1,
# 2001:db8::1) and its "peer" (192.0.2.2, 2001:db8::2), documentation
# addresses only. Runs the scenario's traffic between them while tcpdump
# records inside the device namespace, then removes everything it made, on
# any exit. No traffic can leave: the namespaces have no other link and no
# route out. The scan scenario gives the peer more documentation addresses
# (198.51.100.0/24, 203.0.113.0/24, 2001:db8:bad::/48), each routed over the
# same veth, so that one capture holds a device talking to several "hosts". Needs root, iproute2, tcpdump, ping, curl, nc, /usr/bin/python3.
# Prints the device addresses, one per line, on stdout.
set -euo pipefail

scenario=${1:?usage: netns_capture.sh SCENARIO OUT.pcap}
out=${2:?usage: netns_capture.sh SCENARIO OUT.pcap}
here=$(cd "$(dirname "$0")" && pwd)

DEV4=192.0.2.1 PEER4=192.0.2.2 DEV6=2001:db8::1 PEER6=2001:db8::2
ns_dev=vigil-dev-$$ ns_peer=vigil-peer-$$
if_dev=vgd$$ if_peer=vgp$$
work=$(mktemp -d)
tcpdump_pid=

cleanup() {
  set +e
  if [ -n "$tcpdump_pid" ] && kill -0 "$tcpdump_pid" 2>/dev/null; then
    kill -TERM "$tcpdump_pid"; wait "$tcpdump_pid" 2>/dev/null
  fi
  # Only processes this script started live in these namespaces.
  for ns in "$ns_dev" "$ns_peer"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null; done
  done
  sleep 0.1
  for ns in "$ns_dev" "$ns_peer"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_dev() { ip netns exec "$ns_dev" "$@"; }
in_peer() { ip netns exec "$ns_peer" "$@"; }

ip netns add "$ns_dev"
ip netns add "$ns_peer"
ip link add "$if_dev" netns "$ns_dev" type veth peer name "$if_peer" netns "$ns_peer"
for ns in "$ns_dev" "$ns_peer"; do ip -n "$ns" link set lo up; done
ip -n "$ns_dev" addr add "$DEV4/24" dev "$if_dev"
ip -n "$ns_dev" addr add "$DEV6/64" dev "$if_dev" nodad
ip -n "$ns_peer" addr add "$PEER4/24" dev "$if_peer"
ip -n "$ns_peer" addr add "$PEER6/64" dev "$if_peer" nodad
ip -n "$ns_dev" link set "$if_dev" up
ip -n "$ns_peer" link set "$if_peer" up

# Waits until a TCP or UDP port listens in a namespace.
wait_listen() { # ns proto port
  for _ in $(seq 100); do
    ip netns exec "$1" ss -Hln"${2:0:1}" "sport = :$3" | grep -q . && return 0
    sleep 0.05
  done
  echo "netns_capture.sh: nothing listens on $2 port $3 in $1" >&2; return 1
}

# A UDP echo server: answers every datagram from the port it came to.
udp_echo() { # ns port
  ip netns exec "$1" /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", int(sys.argv[1])))
while True:
    data, peer = s.recvfrom(65535)
    s.sendto(data.upper(), peer)
' "$2" &
  wait_listen "$1" udp "$2"
}

# Sends n datagrams and reads each answer (nc -u would not end by itself).
udp_client() { # ns addr port count size
  ip netns exec "$1" /usr/bin/python3 -c '
import socket, sys
addr, port, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.settimeout(2)
for i in range(count):
    s.sendto(b"v" * size, (addr, port))
    s.recvfrom(65535)
' "$2" "$3" "$4" "$5"
}

http_server() { # ns port
  mkdir -p "$work/www"
  head -c 300000 /dev/zero | tr '\0' 'w' > "$work/www/big.bin"
  echo "vigil oracle" > "$work/www/index.html"
  ip netns exec "$1" /usr/bin/python3 -m http.server --bind :: --directory "$work/www" "$2" \
    >/dev/null 2>&1 &
  wait_listen "$1" tcp "$2"
}

fetch() { # ns url
  ip netns exec "$1" curl --noproxy '*' -sS -g -o /dev/null --max-time 10 "$2"
}

# TCP: n bytes from the client namespace to a one-shot nc listener.
tcp_push() { # server_ns client_ns addr port bytes
  local family=-4
  case "$3" in *:*) family=-6 ;; esac
  ip netns exec "$1" nc "$family" -l "$4" >/dev/null &
  local server=$!
  wait_listen "$1" tcp "$4"
  head -c "$5" /dev/zero | ip netns exec "$2" nc -N -w 5 "$3" "$4"
  wait "$server" || true
}

# Start recording in the device namespace, and wait until tcpdump listens.
iface=$if_dev
[ "$scenario" = udp ] && iface=any   # Linux cooked v2 link type
snaplen=262144
case "$scenario" in tcp|scan) snaplen=200 ;; esac # headers only: whole datagrams must still count
# (ip netns exec execs tcpdump, so $! is tcpdump itself. A background job of a
# script ignores SIGINT, so it is stopped with SIGTERM, which it also handles.)
ip netns exec "$ns_dev" tcpdump -Z root -i "$iface" -s "$snaplen" --immediate-mode -U -n -w "$out" 2>"$work/tcpdump.log" &
tcpdump_pid=$!
for _ in $(seq 100); do
  grep -q "listening on" "$work/tcpdump.log" && break
  sleep 0.05
done
grep -q "listening on" "$work/tcpdump.log" || { cat "$work/tcpdump.log" >&2; exit 1; }

case "$scenario" in
  icmp)
    in_dev ping -q -c 3 -i 0.2 "$PEER4" >/dev/null
    in_dev ping -q -6 -c 3 -i 0.2 "$PEER6" >/dev/null
    in_peer ping -q -c 2 -i 0.2 "$DEV4" >/dev/null
    in_dev ping -q -c 2 -i 0.2 -s 3000 "$PEER4" >/dev/null      # IPv4 fragments
    in_dev ping -q -6 -c 2 -i 0.2 -s 3000 "$PEER6" >/dev/null   # IPv6 fragments
    ;;
  tcp)
    http_server "$ns_peer" 8000
    fetch "$ns_dev" "http://$PEER4:8000/"
    fetch "$ns_dev" "http://[$PEER6]:8000/big.bin"
    fetch "$ns_dev" "http://$PEER4:8000/big.bin"
    tcp_push "$ns_peer" "$ns_dev" "$PEER4" 9000 400000      # device uploads
    tcp_push "$ns_peer" "$ns_dev" "$PEER6" 9002 24000000    # past a 24-bit byte counter
    tcp_push "$ns_dev" "$ns_peer" "$DEV6" 9001 200000       # device accepts
    ;;
  udp)
    udp_echo "$ns_peer" 9999
    udp_echo "$ns_dev" 5683
    udp_client "$ns_dev" "$PEER4" 9999 5 100
    udp_client "$ns_dev" "$PEER6" 9999 5 300
    udp_client "$ns_peer" "$DEV4" 5683 3 40
    udp_client "$ns_peer" "$DEV6" 5683 3 1400
    udp_client "$ns_dev" "$PEER4" 9999 2 4000              # fragmented UDP
    ;;
  demo)
    http_server "$ns_peer" 8000
    udp_echo "$ns_dev" 5683
    in_dev ping -q -c 2 -i 0.2 "$PEER4" >/dev/null
    in_dev ping -q -6 -c 2 -i 0.2 "$PEER6" >/dev/null
    fetch "$ns_dev" "http://$PEER4:8000/"
    fetch "$ns_dev" "http://[$PEER6]:8000/"
    udp_client "$ns_peer" "$DEV4" 5683 3 60
    udp_client "$ns_peer" "$DEV6" 5683 2 120
    tcp_push "$ns_dev" "$ns_peer" "$DEV4" 9001 50000
    in_peer ping -q -c 1 -s 2000 "$DEV4" >/dev/null
    ;;
  scan)
    # The traffic `vigil scan` is shown with (data/scan-demo.pcapng): a
    # device reaching a command-and-control address of the sample feed over
    # IPv4 and IPv6, accepting telnet from a listed scanner, using its allowed
    # broker, and uploading 2 MB to a host outside its allowlist.
    for a in 198.51.100.20 198.51.100.77 203.0.113.66 203.0.113.99; do
      ip -n "$ns_peer" addr add "$a/32" dev "$if_peer"
    done
    ip -n "$ns_peer" addr add 2001:db8:bad::66/128 dev "$if_peer" nodad
    ip -n "$ns_dev" route add 198.51.100.0/24 via "$PEER4"
    ip -n "$ns_dev" route add 203.0.113.0/24 via "$PEER4"
    ip -n "$ns_dev" route add 2001:db8:bad::/48 via "$PEER6"
    ip -n "$ns_peer" route add 192.0.2.0/24 dev "$if_peer" src 203.0.113.99 metric 10 2>/dev/null || true
    http_server "$ns_peer" 443
    http_server "$ns_peer" 80
    udp_echo "$ns_dev" 5683
    fetch "$ns_dev" "http://203.0.113.66:443/"                  # C2 on the feed, outbound
    fetch "$ns_dev" "http://[2001:db8:bad::66]:80/"              # the same over IPv6
    tcp_push "$ns_peer" "$ns_dev" 198.51.100.20 8883 3000        # allowed broker
    tcp_push "$ns_peer" "$ns_dev" 198.51.100.77 9000 2000000     # outside the allowlist
    # A listed scanner opens the device's telnet port.
    ip netns exec "$ns_dev" nc -4 -l 23 >/dev/null &
    wait_listen "$ns_dev" tcp 23
    printf 'root\r\n' | ip netns exec "$ns_peer" nc -N -w 3 -s 203.0.113.99 "$DEV4" 23 || true
    udp_client "$ns_peer" "$DEV4" 5683 2 40                      # CoAP from the LAN
    ;;
  *)
    echo "netns_capture.sh: unknown scenario '$scenario'" >&2; exit 2 ;;
esac

sleep 0.2   # let the last packets reach tcpdump
kill -TERM "$tcpdump_pid"
wait "$tcpdump_pid" || true
tcpdump_pid=
[ -s "$out" ] || { echo "netns_capture.sh: $out is empty" >&2; exit 1; }
printf '%s\n%s\n' "$DEV4" "$DEV6"
