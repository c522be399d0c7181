#!/usr/bin/python3
"""Writes the .vec inputs of the shared test vectors (see tests/encoder/vector_runner.c
for the format). Packets are built with scapy; run with Debian's /usr/bin/python3.
The .hex files are what libvigil encodes for them and the .json files what
`vigil decode` prints: proto/vectors/regenerate.sh makes both."""
import os
import sys

from scapy.all import (AH, ESP, ICMP, IP, TCP, UDP, ICMPv6EchoReply, ICMPv6EchoRequest,
                       IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop,
                       IPv6ExtHdrRouting, Raw, fragment)

T0 = 1700000000
HERE = os.path.dirname(os.path.abspath(__file__))


class Vector:
    def __init__(self, name, comment):
        self.name = name
        self.lines = [f"# {comment}"]

    def add(self, line):
        self.lines.append(line)

    def pkt(self, direction, now, packet):
        self.add(f"{direction} {now} {bytes(packet).hex()}")

    def raw(self, direction, now, data):
        self.add(f"{direction} {now} {data.hex()}")

    def write(self):
        with open(os.path.join(HERE, self.name + ".vec"), "w") as f:
            f.write("\n".join(self.lines) + "\n")


DEV4, DEV6 = "192.0.2.1", "2001:db8::1"


def tcp_session(v, t, local, remote, lport, rport, outbound=True, data=(300, 1200), v6=False):
    """A whole TCP connection: handshake, one request and answer, FIN both ways."""
    L3 = (lambda s, d: IPv6(src=s, dst=d)) if v6 else (lambda s, d: IP(src=s, dst=d))
    cli, srv = (local, remote) if outbound else (remote, local)
    cport, sport = (lport, rport) if outbound else (rport, lport)
    to_srv = "out" if outbound else "in"
    to_cli = "in" if outbound else "out"
    v.pkt(to_srv, t, L3(cli, srv) / TCP(sport=cport, dport=sport, flags="S", seq=1000))
    v.pkt(to_cli, t, L3(srv, cli) / TCP(sport=sport, dport=cport, flags="SA", seq=5000, ack=1001))
    v.pkt(to_srv, t, L3(cli, srv) / TCP(sport=cport, dport=sport, flags="A", seq=1001, ack=5001))
    v.pkt(to_srv, t + 1, L3(cli, srv) / TCP(sport=cport, dport=sport, flags="PA") / Raw(b"q" * data[0]))
    v.pkt(to_cli, t + 1, L3(srv, cli) / TCP(sport=sport, dport=cport, flags="PA") / Raw(b"r" * data[1]))
    v.pkt(to_srv, t + 2, L3(cli, srv) / TCP(sport=cport, dport=sport, flags="FA"))
    v.pkt(to_cli, t + 2, L3(srv, cli) / TCP(sport=sport, dport=cport, flags="FA"))
    v.pkt(to_srv, t + 2, L3(cli, srv) / TCP(sport=cport, dport=sport, flags="A"))


def ipv4_basic():
    v = Vector("ipv4_basic", "IPv4 TCP out and in, UDP DNS, ICMP echo sharing a remote, listeners, system information")
    v.add(f"setup sensor-0001 305419896 {T0} 60 1024")
    v.add("sysinfo os_name=Zephyr os_version=3.6.0 stack_name=lwIP stack_version=2.1.3 "
          "device_model=VG-THERMO-2 firmware_version=1.4.2 boot_time=" + str(T0 - 120))
    v.add("listener tcp 4 23")
    v.add("listener udp 4 5683 c0000201")
    tcp_session(v, T0 + 1, DEV4, "192.0.2.10", 49152, 443)
    v.pkt("out", T0 + 3, IP(src=DEV4, dst="192.0.2.53") / UDP(sport=40000, dport=53) / Raw(b"d" * 30))
    v.pkt("in", T0 + 3, IP(src="192.0.2.53", dst=DEV4) / UDP(sport=53, dport=40000) / Raw(b"a" * 62))
    for i in range(3):
        v.pkt("out", T0 + 4 + i, IP(src=DEV4, dst="192.0.2.10") / ICMP(type=8, id=7, seq=i) / Raw(b"p" * 56))
        v.pkt("in", T0 + 4 + i, IP(src="192.0.2.10", dst=DEV4) / ICMP(type=0, id=7, seq=i) / Raw(b"p" * 56))
    tcp_session(v, T0 + 10, DEV4, "198.51.100.7", 23, 51000, outbound=False, data=(20, 80))
    v.add(f"flush {T0 + 60}")
    v.write()


def ipv6_ext():
    v = Vector("ipv6_ext", "IPv6 with extension headers, fragments, AH and ESP, a headers-only packet")
    v.add(f"setup gw-v6 1 {T0} 300 1024")
    tcp_session(v, T0, DEV6, "2001:db8:1::10", 50000, 8883, v6=True)
    v.pkt("out", T0 + 1, IPv6(src=DEV6, dst="2001:db8:1::53") / IPv6ExtHdrHopByHop() /
          UDP(sport=41000, dport=53) / Raw(b"d" * 40))
    v.pkt("in", T0 + 1, IPv6(src="2001:db8:1::53", dst=DEV6) / IPv6ExtHdrDestOpt() /
          IPv6ExtHdrRouting(addresses=[]) / UDP(sport=53, dport=41000) / Raw(b"a" * 90))
    v.pkt("out", T0 + 2, IPv6(src=DEV6, dst="2001:db8:1::10") / ICMPv6EchoRequest(id=1, seq=1))
    v.pkt("in", T0 + 2, IPv6(src="2001:db8:1::10", dst=DEV6) / ICMPv6EchoReply(id=1, seq=1))
    v.pkt("in", T0 + 3, IPv6(src="2001:db8:2::7", dst=DEV6, nh=51) /
          AH(nh=6, payloadlen=4, spi=0x100, seq=1, icv=b"\0" * 12) / TCP(sport=40001, dport=443, flags="S"))
    v.pkt("in", T0 + 3, IPv6(src="2001:db8:2::7", dst=DEV6) / ESP(spi=0x200, seq=1, data=b"x" * 24))
    big = IPv6(src=DEV6, dst="2001:db8:1::99") / IPv6ExtHdrFragment(id=0xabcdef) / UDP(sport=42000, dport=9000) / Raw(b"z" * 3000)
    for frag in __import__("scapy.layers.inet6", fromlist=["fragment6"]).fragment6(big, 1280):
        v.pkt("out", T0 + 4, frag)
    # The capture kept only the first 80 bytes of a 1440-byte datagram.
    long_one = bytes(IPv6(src="2001:db8:1::10", dst=DEV6) / TCP(sport=8883, dport=50001, flags="A") / Raw(b"L" * 1380))
    v.add(f"headers in {T0 + 5} {len(long_one)} {long_one[:80].hex()}")
    v.add(f"flush {T0 + 300}")
    v.write()


def split_parts():
    v = Vector("split_parts", "a period of 60 IPv4 and 20 IPv6 flows split over 512-byte messages")
    v.add(f"setup splitter 99 {T0} 60 512")
    for i in range(60):
        remote = f"203.0.113.{i % 30 + 1}"
        v.pkt("out", T0 + i % 50, IP(src=DEV4, dst=remote) / UDP(sport=30000 + i, dport=5000 + i % 7) / Raw(b"u" * (i + 1)))
    for i in range(20):
        v.pkt("in", T0 + i, IPv6(src=f"2001:db8:9::{i % 5 + 1}", dst=DEV6) / TCP(sport=443, dport=60000 + i, flags="SA"))
    v.add(f"flush {T0 + 60}")
    v.write()


def fragments_and_errors():
    v = Vector("fragments_and_errors", "IPv4 fragments, an orphan fragment and malformed packets counted by reason")
    v.add(f"setup frag-dev 5 {T0} 60 1024")
    big = IP(src=DEV4, dst="192.0.2.77", id=4242) / UDP(sport=7000, dport=7001) / Raw(b"F" * 3000)
    for frag in fragment(big, fragsize=1200):
        v.pkt("out", T0 + 1, frag)
    orphan = IP(src="192.0.2.78", dst=DEV4, id=999, frag=100, proto=17) / Raw(b"o" * 100)
    v.pkt("in", T0 + 2, orphan)
    good = bytes(IP(src="192.0.2.79", dst=DEV4) / TCP(sport=80, dport=50000, flags="A"))
    v.raw("in", T0 + 3, good[:12])                          # ip_truncated
    v.raw("in", T0 + 3, bytes([0x55]) + good[1:])           # ip_bad_version
    v.raw("in", T0 + 3, bytes([0x44]) + good[1:])           # ipv4_bad_ihl
    v.raw("in", T0 + 3, good[:2] + b"\x01\x00" + good[4:])  # ipv4_bad_total_length
    v.raw("in", T0 + 3, bytes(IP(src="192.0.2.79", dst=DEV4) / UDP(sport=1, dport=2))[:24] )  # ipv4_bad_total_length (cut)
    v.pkt("in", T0 + 3, IP(src="192.0.2.79", dst=DEV4, proto=6) / Raw(b"\0" * 10))  # transport_truncated
    v.pkt("in", T0 + 3, IP(src="192.0.2.79", dst=DEV4) / TCP(sport=80, dport=50000, dataofs=3))  # tcp_bad_offset
    v.pkt("in", T0 + 3, IP(src="192.0.2.79", dst=DEV4, proto=47) / Raw(b"gre!"))  # proto_unsupported
    v.pkt("in", T0 + 4, IP(src="192.0.2.79", dst=DEV4, options=b"\x94\x04\x00\x00") / TCP(sport=80, dport=50000, flags="A"))
    v.add(f"flush {T0 + 60}")
    v.write()


def periods():
    v = Vector("periods", "three periods by poll: flows, an empty heartbeat period, system information in the first")
    v.add(f"setup ticker 77 {T0} 10 1024")
    v.add("sysinfo os_name=FreeRTOS os_version=10.5.1 stack_name=FreeRTOS+TCP stack_version=4.0.0")
    v.pkt("out", T0 + 1, IP(src=DEV4, dst="192.0.2.5") / UDP(sport=5000, dport=123) / Raw(b"n" * 48))
    v.pkt("in", T0 + 1, IP(src="192.0.2.5", dst=DEV4) / UDP(sport=123, dport=5000) / Raw(b"n" * 48))
    v.add(f"poll {T0 + 5}")
    v.add(f"poll {T0 + 10}")
    v.add(f"poll {T0 + 15}")
    v.add(f"poll {T0 + 20}")
    v.pkt("out", T0 + 21, IP(src=DEV4, dst="192.0.2.5") / UDP(sport=5000, dport=123) / Raw(b"n" * 48))
    v.add(f"poll {T0 + 30}")
    v.write()


def overflow():
    v = Vector("overflow", "70 new TCP flows fill a 64-flow table: the rest is counted as overflow")
    v.add(f"setup crowded 3 {T0} 60 1024")
    for i in range(70):
        v.pkt("in", T0 + 1, IP(src=f"198.51.100.{i + 1}", dst=DEV4) / TCP(sport=40000 + i, dport=80, flags="S"))
    for i in range(70):
        v.pkt("out", T0 + 2, IP(src=DEV4, dst=f"198.51.100.{i + 1}") / TCP(sport=80, dport=40000 + i, flags="SA"))
    v.add(f"flush {T0 + 60}")
    v.write()


def main():
    for make in (ipv4_basic, ipv6_ext, split_parts, fragments_and_errors, periods, overflow):
        make()
    return 0


if __name__ == "__main__":
    sys.exit(main())
