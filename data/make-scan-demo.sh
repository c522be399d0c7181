#!/usr/bin/env bash
# make-scan-demo.sh - regenerates data/scan-demo.pcapng, the capture `vigil
# scan` is demonstrated and tested with: real traffic between two network
# namespaces (tests/oracle/netns_capture.sh, scenario "scan"). The device is
# 192.0.2.1 / 2001:db8::1; it reaches 203.0.113.66 and 2001:db8:bad::66
# (listed in data/feeds/), accepts telnet from 203.0.113.99 (listed), talks
# to its broker 198.51.100.20:8883 and uploads 2 MB to 198.51.100.77:9000.
# Needs root, iproute2, tcpdump, curl, nc and editcap (wireshark-common).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

bash "$here/../tests/oracle/netns_capture.sh" scan "$tmp/scan.pcap" >/dev/null
editcap -F pcapng "$tmp/scan.pcap" "$here/scan-demo.pcapng"
echo "wrote $here/scan-demo.pcapng ($(stat -c %s "$here/scan-demo.pcapng") bytes)"
