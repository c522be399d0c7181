#!/usr/bin/python3
"""Writes the capture the wire-size benchmark runs on: one hour of what a
connected sensor typically exchanges (see TRAFFIC below), as seen on its own
link, once over IPv4 and once over IPv6. Deterministic (fixed seed), so the
figure only moves when the encoder does. Run with Debian's /usr/bin/python3.

usage: make_iot_capture.py ipv4|ipv6 OUT.pcap"""
import random
import sys

from scapy.all import ICMP, IP, TCP, UDP, Ether, ICMPv6EchoReply, ICMPv6EchoRequest, IPv6, Raw, wrpcap

T0 = 1700000000
HOUR = 3600
TRAFFIC = """
- MQTT over TLS to the broker: one long connection, a publish every 10 s and
  a keep-alive ping every 30 s
- DNS lookups every 5 minutes from a fresh source port, two resolvers
- NTP every 10 minutes
- an HTTPS firmware check every 15 minutes to one of three CDN addresses
- CoAP telemetry to a collector every 20 s
- inbound scans from the internet every 2 minutes on 23, 22, 80, 8080 or
  1883, answered with RST
- ICMP echo from the monitoring host every minute
"""


class Capture:
    def __init__(self, family):
        self.v6 = family == "ipv6"
        self.dev = "2001:db8:10::20" if self.v6 else "192.0.2.20"
        self.packets = []

    def addr(self, n):
        return f"2001:db8:{n >> 8:x}::{n & 0xff:x}" if self.v6 else f"198.51.{n >> 8}.{n & 0xff}"

    def ip(self, src, dst):
        return IPv6(src=src, dst=dst) if self.v6 else IP(src=src, dst=dst)

    def send(self, t, src, dst, l4):
        # Fixed MACs: scapy would otherwise look routes up for every packet.
        p = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02", type=0x86dd if self.v6 else 0x0800) / self.ip(src, dst) / l4
        p.time = t
        self.packets.append(p)

    def tcp_connection(self, t, remote, lport, rport, request, response, inbound=False):
        d, r = self.dev, remote
        cli, srv, cport, sport = (r, d, rport, lport) if inbound else (d, r, lport, rport)
        self.send(t, cli, srv, TCP(sport=cport, dport=sport, flags="S"))
        self.send(t, srv, cli, TCP(sport=sport, dport=cport, flags="SA"))
        self.send(t, cli, srv, TCP(sport=cport, dport=sport, flags="A"))
        self.send(t + 0.1, cli, srv, TCP(sport=cport, dport=sport, flags="PA") / Raw(b"c" * request))
        for off in range(0, response, 1400):
            self.send(t + 0.2, srv, cli, TCP(sport=sport, dport=cport, flags="A") / Raw(b"s" * min(1400, response - off)))
        self.send(t + 0.3, cli, srv, TCP(sport=cport, dport=sport, flags="A"))
        self.send(t + 0.4, cli, srv, TCP(sport=cport, dport=sport, flags="FA"))
        self.send(t + 0.4, srv, cli, TCP(sport=sport, dport=cport, flags="FA"))
        self.send(t + 0.5, cli, srv, TCP(sport=cport, dport=sport, flags="A"))


def build(family, rng):
    c = Capture(family)
    broker, cdn = c.addr(0x0101), [c.addr(0x0201 + i) for i in range(3)]
    resolvers, ntp = [c.addr(0x0301), c.addr(0x0302)], c.addr(0x0401)
    collector, monitor = c.addr(0x0501), c.addr(0x0601)
    c.tcp_connection(T0, broker, 50001, 8883, 300, 200)   # MQTT connect and TLS
    for t in range(T0 + 10, T0 + HOUR, 10):
        c.send(t, c.dev, broker, TCP(sport=50001, dport=8883, flags="PA") / Raw(b"p" * 120))
        c.send(t + 0.05, broker, c.dev, TCP(sport=8883, dport=50001, flags="A"))
        if t % 30 == 0:
            c.send(t + 0.1, c.dev, broker, TCP(sport=50001, dport=8883, flags="PA") / Raw(b"k" * 31))
            c.send(t + 0.15, broker, c.dev, TCP(sport=8883, dport=50001, flags="PA") / Raw(b"k" * 31))
    for t in range(T0 + 5, T0 + HOUR, 300):
        port = rng.randrange(32768, 61000)
        for resolver in resolvers:
            c.send(t, c.dev, resolver, UDP(sport=port, dport=53) / Raw(b"q" * 35))
            c.send(t + 0.02, resolver, c.dev, UDP(sport=53, dport=port) / Raw(b"a" * 90))
    for t in range(T0 + 7, T0 + HOUR, 600):
        c.send(t, c.dev, ntp, UDP(sport=123, dport=123) / Raw(b"n" * 48))
        c.send(t + 0.03, ntp, c.dev, UDP(sport=123, dport=123) / Raw(b"n" * 48))
    for t in range(T0 + 60, T0 + HOUR, 900):
        c.tcp_connection(t, rng.choice(cdn), rng.randrange(32768, 61000), 443, 517, 5200)
    for t in range(T0 + 3, T0 + HOUR, 20):
        c.send(t, c.dev, collector, UDP(sport=5683, dport=5683) / Raw(b"t" * 64))
        c.send(t + 0.04, collector, c.dev, UDP(sport=5683, dport=5683) / Raw(b"a" * 8))
    for t in range(T0 + 30, T0 + HOUR, 120):
        scanner = c.addr(0x7000 + rng.randrange(0, 0x0fff))
        port = rng.choice([23, 22, 80, 8080, 1883])
        sport = rng.randrange(1024, 65535)
        c.send(t, scanner, c.dev, TCP(sport=sport, dport=port, flags="S"))
        c.send(t + 0.01, c.dev, scanner, TCP(sport=port, dport=sport, flags="RA"))
    for t in range(T0 + 15, T0 + HOUR, 60):
        if c.v6:
            c.send(t, monitor, c.dev, ICMPv6EchoRequest(id=1, seq=t & 0xffff))
            c.send(t + 0.001, c.dev, monitor, ICMPv6EchoReply(id=1, seq=t & 0xffff))
        else:
            c.send(t, monitor, c.dev, ICMP(type=8, id=1, seq=t & 0xffff))
            c.send(t + 0.001, c.dev, monitor, ICMP(type=0, id=1, seq=t & 0xffff))
    c.packets.sort(key=lambda p: p.time)
    return c


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("ipv4", "ipv6"):
        print(__doc__, file=sys.stderr)
        return 2
    capture = build(sys.argv[1], random.Random(20261124))
    wrpcap(sys.argv[2], capture.packets)
    print(capture.dev)
    return 0


if __name__ == "__main__":
    sys.exit(main())
