#!/usr/bin/env bash
# demo.sh - what `make demo` runs. As root (network namespaces), the live
# system: a broker, vigild and three devices reporting over MQTT, findings
# printed as they are raised, until Ctrl-C (scripts/demo-live.sh). Without
# root, the same analysis offline over a capture (scripts/demo-scan.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" -eq 0 ] && ip netns list >/dev/null 2>&1; then
  exec bash "$here/demo-live.sh" "$@"
fi
echo "demo.sh: not root, so no network namespaces: showing the offline scan instead" >&2
exec bash "$here/demo-scan.sh" "$@"
