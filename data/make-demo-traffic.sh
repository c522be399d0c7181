#!/usr/bin/env bash
# make-demo-traffic.sh - regenerates data/demo-traffic.pcapng, the capture
# `make demo` runs vigil-agent over: real traffic between two network
# namespaces (ping, ping -6, HTTP over IPv4 and IPv6, a UDP service on the
# device, a TCP upload to the device, a fragmented ping), recorded by
# tests/oracle/netns_capture.sh. The device is 192.0.2.1 / 2001:db8::1.
# Needs root, iproute2, tcpdump, curl, nc and editcap (wireshark-common).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

bash "$here/../tests/oracle/netns_capture.sh" demo "$tmp/demo.pcap" >/dev/null
editcap -F pcapng "$tmp/demo.pcap" "$here/demo-traffic.pcapng"
echo "wrote $here/demo-traffic.pcapng ($(stat -c %s "$here/demo-traffic.pcapng") bytes)"
