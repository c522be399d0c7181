#!/usr/bin/env bash
# Installs every Debian package Vigil needs to build, test and benchmark.
# Each package is listed once; the comment says who needs it.
# Run as root on Debian 12. Does nothing for packages already present.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config clang libclang-rt-14-dev llvm
  # libvigil tools and decoder
  libpcap-dev libcbor-dev libjansson-dev
  # unit tests
  libcmocka-dev valgrind
  # oracle tests: real traffic between namespaces, captures checked against tshark
  iproute2 iputils-ping tcpdump tshark curl netcat-openbsd python3 python3-scapy python3-cbor2
  # end-to-end tests (tests/scan, tests/analyze): the oracle reads policy files
  python3-yaml
  # embedded proof: Cortex-M and RV32 cross builds, the qemu firmware test,
  # the lwIP adapter's host build (make footprint, tests/qemu, agent/port/lwip)
  gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm
  gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf liblwip-dev
  # threat-intelligence engine
  libcurl4-openssl-dev liburcu-dev libmaxminddb-dev libmaxmind-db-writer-perl
  # analyzer pipeline: policy files and the store
  libyaml-dev libsqlite3-dev sqlite3
  # live system: MQTT broker and client library (vigild, vigil-agent --mqtt, live tests)
  mosquitto mosquitto-clients libmosquitto-dev python3-paho-mqtt
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: missing packages: ${missing[*]}" >&2
  echo "deps.sh: run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
