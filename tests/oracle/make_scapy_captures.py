#!/usr/bin/python3
"""make_scapy_captures.py - crafted captures for the oracle test.

Usage: make_scapy_captures.py NAME OUT_DIR

Writes OUT_DIR/NAME.pcap (or .pcapng) and OUT_DIR/NAME.json. The JSON says
which addresses are the device's, which link type was used, and the counters
libvigil must show for the malformed packets this script put in on purpose
(each one is made here, so the count is known by construction; the flows are
NOT listed here: the oracle computes them from tshark's reading of the file).

Every address is from the documentation ranges (192.0.2.0/24,
198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32). Nothing is sent anywhere.
"""
import json
import os
import sys

import logging
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)

from scapy.all import (AH, ARP, ESP, ICMP, IP, TCP, UDP, CookedLinux, CookedLinuxV2,  # noqa: E402
                       Dot1AD, Dot1Q, Ether, ICMPv6DestUnreach, ICMPv6EchoReply, ICMPv6PacketTooBig, ICMPv6EchoRequest, IPv6,
                       IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop,
                       IPv6ExtHdrRouting, IPOption_RR, Padding, Raw, wrpcap, wrpcapng)

DEV4, DEV6 = "192.0.2.10", "2001:db8::10"
PEER4 = ["192.0.2.20", "192.0.2.21", "203.0.113.5"]
PEER6 = ["2001:db8::20", "2001:db8::21", "2001:db8:1::5"]
OTHER4 = ("198.51.100.1", "198.51.100.2")   # foreign chatter
OTHER6 = ("2001:db8:2::1", "2001:db8:2::2")
T0 = 1700000000

DEV_MAC, PEER_MAC = "02:00:00:00:00:10", "02:00:00:00:00:20"


class Capture:
    """Packets (IP layer and up) with times; the link layer is added on write."""

    def __init__(self):
        self.items = []       # (time, ip packet or bytes, wire length or None, link override)
        self.expect = {}
        self.bad_frames = {}  # frame number (from 1) -> the counter it must raise
        self.agent_args = []  # extra vigil-agent options this capture needs
        self.device_addrs = [DEV4, DEV6]

    def add(self, t, pkt, wirelen=None, non_ip=None):
        self.items.append((T0 + t, pkt, wirelen, non_ip))

    def bad(self, counter, t, pkt, wirelen=None):
        """A packet libvigil must count under `counter` and not make into a flow."""
        self.expect[counter] = self.expect.get(counter, 0) + 1
        self.add(t, pkt, wirelen)
        self.bad_frames[len(self.items)] = counter

    def frames(self, link):
        """The frames in time order (a stable sort keeps the bad-frame numbers
        right only if the caller added them in order: checked here)."""
        order = sorted(range(len(self.items)), key=lambda i: self.items[i][0])
        if order != list(range(len(self.items))):
            raise SystemExit("make_scapy_captures.py: packets added out of time order")
        out = []
        for t, pkt, wirelen, non_ip in self.items:
            raw = pkt if isinstance(pkt, bytes) else bytes(pkt)
            if non_ip is not None:
                frame = non_ip
            elif link == "ether":
                frame = Ether(src=DEV_MAC, dst=PEER_MAC, type=ethertype(raw)) / Raw(raw)
            elif link == "vlan":
                frame = (Ether(src=DEV_MAC, dst=PEER_MAC) / Dot1AD(vlan=100) /
                         Dot1Q(vlan=200, type=ethertype(raw)) / Raw(raw))
            elif link == "sll":
                frame = CookedLinux(pkttype=0, lladdrtype=1, lladdrlen=6,
                                    src=b"\x02\x00\x00\x00\x00\x10\x00\x00",
                                    proto=ethertype(raw)) / Raw(raw)
            elif link == "sll2":
                frame = CookedLinuxV2(proto=ethertype(raw), ifindex=2, pkttype=0,
                                      lladdrtype=1, lladdrlen=6,
                                      src=b"\x02\x00\x00\x00\x00\x10\x00\x00") / Raw(raw)
            else:  # raw IP
                frame = Raw(raw)
            frame.time = t
            if wirelen is not None:
                frame.wirelen = len(bytes(frame)) - len(raw) + wirelen
            out.append(frame)
        return out


def ethertype(raw):
    return 0x86DD if raw and raw[0] >> 4 == 6 else 0x0800


def cut(pkt, n):
    """The first n bytes of a packet, and its real length (a snaplen cut)."""
    raw = bytes(pkt)
    return raw[:n], len(raw)


def tcp_exchange(c, t, fam, dev_port, peer, peer_port, device_opens, data=200):
    """A whole TCP connection: handshake, data both ways, FIN close."""
    ip = (lambda s, d: IP(src=s, dst=d)) if fam == 4 else (lambda s, d: IPv6(src=s, dst=d))
    dev = DEV4 if fam == 4 else DEV6
    if device_opens:
        a, ap, b, bp = dev, dev_port, peer, peer_port
    else:
        a, ap, b, bp = peer, peer_port, dev, dev_port
    c.add(t, ip(a, b) / TCP(sport=ap, dport=bp, flags="S", seq=100))
    c.add(t, ip(b, a) / TCP(sport=bp, dport=ap, flags="SA", seq=500, ack=101))
    c.add(t + 1, ip(a, b) / TCP(sport=ap, dport=bp, flags="A", seq=101, ack=501))
    c.add(t + 1, ip(a, b) / TCP(sport=ap, dport=bp, flags="PA", seq=101, ack=501) / Raw(b"q" * 30))
    c.add(t + 2, ip(b, a) / TCP(sport=bp, dport=ap, flags="PA", seq=501, ack=131) / Raw(b"r" * data))
    c.add(t + 2, ip(a, b) / TCP(sport=ap, dport=bp, flags="FA", seq=131, ack=501 + data))
    c.add(t + 3, ip(b, a) / TCP(sport=bp, dport=ap, flags="FA", seq=501 + data, ack=132))
    c.add(t + 3, ip(a, b) / TCP(sport=ap, dport=bp, flags="A", seq=132, ack=502 + data))


def ipv6_ext():
    """IPv6 extension headers, IPv6 fragments, AH, ESP, ICMPv6 echo."""
    c = Capture()
    p = PEER6[0]
    c.add(0, IPv6(src=DEV6, dst=p) / IPv6ExtHdrHopByHop() / UDP(sport=41500, dport=7777) / Raw(b"a" * 20))
    c.add(0, IPv6(src=p, dst=DEV6) / IPv6ExtHdrDestOpt() / UDP(sport=7777, dport=41500) / Raw(b"b" * 60))
    c.add(1, IPv6(src=DEV6, dst=p) / IPv6ExtHdrRouting(addresses=[PEER6[1]], segleft=1) /
          TCP(sport=40000, dport=443, flags="S"))
    c.add(1, IPv6(src=p, dst=DEV6) / IPv6ExtHdrHopByHop() / IPv6ExtHdrRouting(addresses=[]) /
          IPv6ExtHdrDestOpt() / TCP(sport=443, dport=40000, flags="SA"))
    # A UDP datagram in three fragments: only the first carries the ports.
    payload = bytes(UDP(sport=7000, dport=7001, len=8 + 2400) / Raw(b"f" * 2400))
    for off, chunk, more in ((0, payload[:1232], 1), (1232, payload[1232:2400], 1),
                             (2400, payload[2400:], 0)):
        c.add(2, IPv6(src=p, dst=DEV6) / IPv6ExtHdrFragment(nh=17, offset=off // 8, m=more, id=0x1234) /
              Raw(chunk))
    # An atomic fragment (offset 0, no M) is a whole datagram.
    c.add(3, IPv6(src=DEV6, dst=p) / IPv6ExtHdrFragment(nh=17, offset=0, m=0, id=0x99) /
          UDP(sport=7002, dport=7003) / Raw(b"z" * 10))
    # A later fragment whose first never came.
    c.bad("fragment_unattributed", 3, IPv6(src=p, dst=DEV6) /
          IPv6ExtHdrFragment(nh=17, offset=100, m=0, id=0x4321) / Raw(b"l" * 40))
    # ICMPv6 echo through AH, and plain echo pairs.
    c.add(4, IPv6(src=DEV6, dst=p) / AH(nh=58, payloadlen=4, spi=1, seq=1, icv=b"\x00" * 12) /
          ICMPv6EchoRequest(id=1, seq=1))
    c.add(4, IPv6(src=p, dst=DEV6) / AH(nh=58, payloadlen=4, spi=2, seq=1, icv=b"\x00" * 12) /
          ICMPv6EchoReply(id=1, seq=1))
    for i in range(3):
        c.add(5 + i, IPv6(src=PEER6[1], dst=DEV6) / ICMPv6EchoRequest(id=2, seq=i) / Raw(b"p" * 56))
        c.add(5 + i, IPv6(src=DEV6, dst=PEER6[1]) / ICMPv6EchoReply(id=2, seq=i) / Raw(b"p" * 56))
    # ESP hides its transport: never a flow.
    c.bad("proto_unsupported", 8, IPv6(src=DEV6, dst=PEER6[2]) / ESP(spi=7, seq=1, data=b"e" * 48))
    c.bad("proto_unsupported", 8, IPv6(src=PEER6[2], dst=DEV6) / ESP(spi=8, seq=1, data=b"e" * 48))
    # Nine destination-options headers: one more than libvigil walks.
    chain = IPv6(src=p, dst=DEV6)
    for _ in range(9):
        chain = chain / IPv6ExtHdrDestOpt()
    c.bad("ipv6_ext_chain_too_long", 9, chain / UDP(sport=1, dport=2))
    # Foreign chatter between two other hosts.
    c.add(9, IPv6(src=OTHER6[0], dst=OTHER6[1]) / UDP(sport=9, dport=9) / Raw(b"o" * 10))
    # ICMPv6 errors quoting a packet: keyed by the outer type and code.
    c.add(10, IPv6(src=DEV6, dst=p) / ICMPv6DestUnreach(code=4) /
          IPv6(src=p, dst=DEV6) / UDP(sport=7777, dport=33434))
    c.add(10, IPv6(src=p, dst=DEV6) / ICMPv6PacketTooBig(mtu=1280) /
          IPv6(src=DEV6, dst=p) / TCP(sport=40000, dport=443, flags="A") / Raw(b"t" * 100))
    return c, "ether", "pcapng"


def ipv4_frag():
    """IPv4 options, fragments (first, middle, last, orphan), ICMP pairs."""
    c = Capture()
    p = PEER4[0]
    c.add(0, IP(src=DEV4, dst=p, options=[IPOption_RR(routers=["0.0.0.0"] * 3)]) /
          UDP(sport=5000, dport=5001) / Raw(b"o" * 40))
    c.add(0, IP(src=p, dst=DEV4, options=[IPOption_RR(routers=["0.0.0.0"] * 2)]) /
          TCP(sport=22, dport=50000, flags="A"))
    # UDP datagram of 3000 bytes in three fragments, in order.
    payload = bytes(UDP(sport=6000, dport=6001, len=8 + 3000) / Raw(b"d" * 3000))
    for off, chunk, mf in ((0, payload[:1480], 1), (1480, payload[1480:2960], 1),
                           (2960, payload[2960:], 0)):
        c.add(1, IP(src=p, dst=DEV4, id=0x2222, proto=17, frag=off // 8,
                    flags="MF" if mf else 0) / Raw(chunk))
    # The same, sent by the device, with the fragments out of order after the first.
    payload = bytes(UDP(sport=6002, dport=6003, len=8 + 2000) / Raw(b"e" * 2000))
    for off, chunk, mf in ((0, payload[:1000], 1), (1000 + 504, payload[1504:], 0),
                           (1000, payload[1000:1504], 1)):
        c.add(2, IP(src=DEV4, dst=PEER4[1], id=0x3333, proto=17, frag=off // 8,
                    flags="MF" if mf else 0) / Raw(chunk))
    # A fragmented ICMP echo and its fragmented reply.
    for src, dst, typ, ident in ((p, DEV4, 8, 0x4444), (DEV4, p, 0, 0x5555)):
        icmp = bytes(ICMP(type=typ, id=9, seq=1) / Raw(b"i" * 2000))
        c.add(3, IP(src=src, dst=dst, id=ident, proto=1, flags="MF") / Raw(icmp[:1480]))
        c.add(3, IP(src=src, dst=dst, id=ident, proto=1, frag=185) / Raw(icmp[1480:]))
    # A later fragment with the id of a followed datagram but another protocol.
    c.bad("fragment_unattributed", 3, IP(src=p, dst=DEV4, id=0x4444, proto=6, frag=185) /
          Raw(b"x" * 24))
    # Later fragments whose first never came.
    c.bad("fragment_unattributed", 4, IP(src=p, dst=DEV4, id=0x6666, proto=17, frag=100) /
          Raw(b"x" * 64))
    c.bad("fragment_unattributed", 4, IP(src=DEV4, dst=p, id=0x7777, proto=6, frag=10,
                                          flags="MF") / Raw(b"x" * 64))
    # ICMP request/reply pairs of several kinds.
    for i in range(4):
        c.add(5 + i, IP(src=DEV4, dst=PEER4[2]) / ICMP(type=8, id=3, seq=i) / Raw(b"p" * 56))
        c.add(5 + i, IP(src=PEER4[2], dst=DEV4) / ICMP(type=0, id=3, seq=i) / Raw(b"p" * 56))
    c.add(9, IP(src=p, dst=DEV4) / ICMP(type=13, id=4, seq=0) / Raw(b"\x00" * 12))
    c.add(9, IP(src=DEV4, dst=p) / ICMP(type=14, id=4, seq=0) / Raw(b"\x00" * 12))
    c.add(10, IP(src=DEV4, dst=p) / ICMP(type=3, code=3) /
          IP(src=p, dst=DEV4) / UDP(sport=5555, dport=9))
    # GRE is not followed.
    c.bad("proto_unsupported", 11, IP(src=DEV4, dst=p, proto=47) / Raw(b"\x00\x00\x08\x00" + b"g" * 20))
    c.add(11, IP(src=OTHER4[0], dst=OTHER4[1]) / ICMP() / Raw(b"o" * 8))
    # Reordered: the last fragment before the first is no flow's (the oracle
    # counts it unattributed itself); the middle one after the first is.
    payload = bytes(UDP(sport=6004, dport=6005, len=8 + 2000) / Raw(b"r" * 2000))
    for off, chunk, mf in ((1504, payload[1504:], 0), (0, payload[:1000], 1),
                           (1000, payload[1000:1504], 1)):
        c.add(12, IP(src=p, dst=DEV4, id=0x8888, proto=17, frag=off // 8,
                     flags="MF" if mf else 0) / Raw(chunk))
    # A datagram whose fragments straddle two report periods.
    payload = bytes(UDP(sport=6006, dport=6007, len=8 + 1600) / Raw(b"s" * 1600))
    c.add(59, IP(src=DEV4, dst=p, id=0x9999, proto=17, flags="MF") / Raw(payload[:800]))
    c.add(61, IP(src=DEV4, dst=p, id=0x9999, proto=17, frag=100) / Raw(payload[800:]))
    return c, "raw", "pcap"


def truncated():
    """Cut and inconsistent packets, and snaplen-cut ones that still count whole."""
    c = Capture()
    p4, p6 = PEER4[0], PEER6[0]
    # Snaplen cuts past the transport header: whole datagrams still count.
    raw, n = cut(IP(src=DEV4, dst=p4) / TCP(sport=41000, dport=80, flags="PA") / Raw(b"w" * 1400), 54)
    c.add(0, raw, wirelen=n)
    raw, n = cut(IP(src=p4, dst=DEV4) / UDP(sport=53, dport=41001) / Raw(b"w" * 900), 28)
    c.add(0, raw, wirelen=n)
    raw, n = cut(IPv6(src=p6, dst=DEV6) / TCP(sport=443, dport=41002, flags="A") / Raw(b"w" * 1200), 60)
    c.add(1, raw, wirelen=n)
    raw, n = cut(IPv6(src=DEV6, dst=p6) / IPv6ExtHdrHopByHop() / UDP(sport=41003, dport=123) /
                 Raw(b"w" * 500), 56)
    c.add(1, raw, wirelen=n)
    # The IP header itself cut by the capture.
    raw, n = cut(IP(src=DEV4, dst=p4) / UDP(sport=1, dport=2) / Raw(b"x" * 100), 16)
    c.bad("ip_truncated", 2, raw, wirelen=n)
    raw, n = cut(IPv6(src=DEV6, dst=p6) / UDP(sport=1, dport=2) / Raw(b"x" * 100), 30)
    c.bad("ip_truncated", 2, raw, wirelen=n)
    # The transport header cut by the capture.
    raw, n = cut(IP(src=DEV4, dst=p4) / TCP(sport=41004, dport=80) / Raw(b"x" * 100), 30)
    c.bad("transport_truncated", 3, raw, wirelen=n)
    raw, n = cut(IPv6(src=p6, dst=DEV6) / UDP(sport=1, dport=2) / Raw(b"x" * 100), 44)
    c.bad("transport_truncated", 3, raw, wirelen=n)
    raw, n = cut(IP(src=p4, dst=DEV4) / ICMP() / Raw(b"x" * 100), 22)
    c.bad("transport_truncated", 3, raw, wirelen=n)
    # A datagram shorter than its transport header claims to need (not a cut).
    c.bad("transport_truncated", 3, IP(src=DEV4, dst=p4, proto=6) / Raw(b"\x00" * 12))
    # Total length larger than what was on the wire.
    c.bad("ipv4_bad_total_length", 4, bytes(IP(src=DEV4, dst=p4, len=400) / UDP(sport=1, dport=2) /
                                            Raw(b"x" * 20)))
    c.bad("ipv4_bad_total_length", 4, bytes(IP(src=p4, dst=DEV4, len=10) / UDP(sport=1, dport=2)))
    c.bad("ipv6_bad_payload_length", 4, bytes(IPv6(src=p6, dst=DEV6, plen=300) / UDP(sport=1, dport=2)))
    c.bad("ipv4_bad_ihl", 5, bytes(IP(src=DEV4, dst=p4, ihl=3) / UDP(sport=1, dport=2)))
    c.bad("tcp_bad_offset", 5, IP(src=DEV4, dst=p4) / TCP(sport=41005, dport=80, dataofs=15))
    c.bad("tcp_bad_offset", 5, IPv6(src=p6, dst=DEV6) / TCP(sport=80, dport=41006, dataofs=2))
    # An extension header running past the datagram.
    hbh = bytes(IPv6(src=p6, dst=DEV6, nh=0, plen=8) / Raw(b"\x11\x05" + b"\x00" * 6))
    c.bad("ipv6_ext_truncated", 6, hbh)
    c.bad("ip_bad_version", 6, b"\x50" + b"\x00" * 39)
    c.bad("ipv6_bad_payload_length", 6, bytes(IPv6(src=p6, dst=DEV6, plen=0) / IPv6ExtHdrHopByHop() /
                                              UDP(sport=1, dport=2)))
    # Good traffic around them: UDP both families, ICMP echo.
    for i in range(3):
        c.add(7 + i, IP(src=DEV4, dst=p4) / UDP(sport=41010, dport=514) / Raw(b"s" * (50 + i)))
        c.add(7 + i, IPv6(src=DEV6, dst=p6) / UDP(sport=41011, dport=514) / Raw(b"s" * (70 + i)))
    c.add(10, IP(src=p4, dst=DEV4) / ICMP(type=8) / Raw(b"e" * 32))
    c.add(10, IP(src=DEV4, dst=p4) / ICMP(type=0) / Raw(b"e" * 32))
    return c, "sll", "pcap"


def tcp_flags():
    """TCP connections both ways, resets, several report periods, VLAN tags, ARP."""
    c = Capture()
    tcp_exchange(c, 0, 4, 51000, PEER4[0], 443, device_opens=True, data=1000)
    tcp_exchange(c, 10, 4, 22, PEER4[1], 52000, device_opens=False)
    tcp_exchange(c, 20, 6, 51001, PEER6[0], 443, device_opens=True)
    tcp_exchange(c, 30, 6, 8080, PEER6[1], 52001, device_opens=False, data=3000)
    # Refused: SYN answered by RST, both ways.
    c.add(40, IP(src=DEV4, dst=PEER4[2]) / TCP(sport=51002, dport=23, flags="S"))
    c.add(40, IP(src=PEER4[2], dst=DEV4) / TCP(sport=23, dport=51002, flags="RA"))
    c.add(41, IPv6(src=PEER6[2], dst=DEV6) / TCP(sport=52002, dport=25, flags="S"))
    c.add(41, IPv6(src=DEV6, dst=PEER6[2]) / TCP(sport=25, dport=52002, flags="RA"))
    # A connection that spans three periods of 60 s, with data in each, and
    # other traffic in between.
    tcp_exchange(c, 50, 4, 51003, PEER4[0], 8883, device_opens=True)

    def more(k):
        c.add(50 + 60 * k, IP(src=DEV4, dst=PEER4[0]) /
              TCP(sport=51003, dport=8883, flags="PA") / Raw(b"k" * (100 * k)))
        c.add(50 + 60 * k, IP(src=PEER4[0], dst=DEV4) / TCP(sport=8883, dport=51003, flags="A"))
    # A mid-stream flow with no SYN seen.
    c.add(100, IP(src=PEER4[1], dst=DEV4) / TCP(sport=993, dport=51004, flags="PA") / Raw(b"m" * 10))
    more(1)
    # UDP the device answers (a listener) and UDP it starts (a client).
    c.add(120, IP(src=PEER4[1], dst=DEV4) / UDP(sport=53000, dport=161) / Raw(b"g" * 40))
    c.add(120, IP(src=DEV4, dst=PEER4[1]) / UDP(sport=161, dport=53000) / Raw(b"r" * 80))
    # Not IP: ARP, between the others.
    arp = Ether(src=PEER_MAC, dst="ff:ff:ff:ff:ff:ff") / Dot1AD(vlan=100) / Dot1Q(vlan=200) / \
        ARP(psrc=PEER4[0], pdst=DEV4)
    c.add(130, b"", non_ip=arp)
    c.add(131, IP(src=OTHER4[0], dst=OTHER4[1]) / TCP(sport=1, dport=2, flags="S"))
    # A short frame padded by Ethernet: the datagram is 40 bytes, not 46.
    c.add(132, IP(src=PEER4[1], dst=DEV4) / TCP(sport=52000, dport=22, flags="A") /
          Padding(b"\x00" * 6))
    more(2)
    more(3)
    return c, "vlan", "pcap"


def many_flows():
    """Many flows sharing few remotes, reported with a 512-byte message limit:
    a period split into several parts, remotes given as back-references."""
    c = Capture()
    c.agent_args = ["--max-message", "512"]
    t = 0
    for i in range(60):
        peer = PEER4[i % 3]
        c.add(t, IP(src=DEV4, dst=peer) / UDP(sport=42000 + i, dport=5000 + i % 7) / Raw(b"u" * i))
        if i % 2:
            c.add(t, IP(src=peer, dst=DEV4) / UDP(sport=5000 + i % 7, dport=42000 + i) / Raw(b"v" * 9))
    for i in range(50):
        peer = PEER6[i % 3]
        c.add(t + 1, IPv6(src=DEV6, dst=peer) / TCP(sport=43000 + i, dport=443, flags="S"))
        c.add(t + 1, IPv6(src=peer, dst=DEV6) / TCP(sport=443, dport=43000 + i, flags="SA"))
    for i in range(12):
        c.add(t + 2, IPv6(src=PEER6[i % 3], dst=DEV6) / ICMPv6EchoRequest(id=i) / Raw(b"e" * i))
        c.add(t + 2, IPv6(src=OTHER6[0], dst=DEV6) / UDP(sport=i, dport=7) / Raw(b"x" * i))
    return c, "sll2", "pcap"


def multi_addr():
    """A device with several addresses per family: each flow must name the
    right local address (an index in the report). A fifth IPv4 address is one
    more than libvigil keeps by default: its packets go to overflow and are
    counted (local_addr_full)."""
    c = Capture()
    v4 = ["192.0.2.%d" % (10 + i) for i in range(5)]
    v6 = ["2001:db8::10", "2001:db8::11", "2001:db8:0:1::10", "fd00::10", "2001:db8:0:2::1",
          "2001:db8:0:3::1"]
    c.device_addrs = v4 + v6
    c.agent_args = ["--interval", "3600"]
    for round_ in range(2):
        for i, a in enumerate(v4[:4]):
            c.add(round_, IP(src=a, dst=PEER4[i % 3]) / UDP(sport=44000 + i, dport=53) / Raw(b"d" * 20))
            c.add(round_, IP(src=PEER4[i % 3], dst=a) / UDP(sport=53, dport=44000 + i) / Raw(b"a" * 60))
        for i, a in enumerate(v6):
            c.add(round_, IPv6(src=PEER6[i % 3], dst=a) / TCP(sport=45000 + i, dport=80, flags="S"))
            c.add(round_, IPv6(src=a, dst=PEER6[i % 3]) / TCP(sport=80, dport=45000 + i, flags="SA"))
        c.expect["local_addr_full"] = c.expect.get("local_addr_full", 0) + 1
        c.add(round_, IP(src=v4[4], dst=PEER4[0]) / UDP(sport=44100, dport=53) / Raw(b"x" * 30))
    return c, "ether", "pcap"


def full_table():
    """A period that fills both flow tables exactly (64 IPv4 and 64 IPv6 flows,
    every remote different): every flow is tracked, and all of the period's
    reports must reach the output, the first part (with the counters) too.
    A realistic device id, model and firmware make the first part larger."""
    c = Capture()
    c.agent_args = ["--device-id", "sensor-7f3a9c2e-hall-b-floor-2", "--model",
                    "Acme IoT gateway GW-200", "--firmware", "gw200-fw 4.2.1"]
    for i in range(64):
        c.add(0, IP(src=DEV4, dst="198.51.100.%d" % (i + 1)) /
              TCP(sport=40000 + i, dport=443, flags="S"))
    for i in range(64):
        c.add(1, IPv6(src=DEV6, dst="2001:db8:%x::%x" % (i + 1, i + 7)) /
              TCP(sport=40000 + i, dport=443, flags="S"))
    return c, "raw", "pcap"


def counter_wrap_write(path):
    """More than 65535 packets of one flow in one period (a 16-bit packet
    counter): libvigil must continue the flow in a second record and still
    report the sums. 66000 small datagrams are written with struct, which is
    much faster than scapy for this many; the second flow interleaved keeps a
    neighbour in the table."""
    import struct

    def ipv4_udp(src, dst, sport, dport, n, ident):
        total = 28 + n
        hdr = struct.pack(">BBHHHBBH4s4s", 0x45, 0, total, ident & 0xffff, 0, 64, 17, 0,
                          bytes(map(int, src.split("."))), bytes(map(int, dst.split("."))))
        return hdr + struct.pack(">HHHH", sport, dport, 8 + n, 0) + b"c" * n

    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101))
        for i in range(66000):
            pkts = [ipv4_udp(DEV4, PEER4[0], 47000, 9000, i % 4, i)]
            if i % 1000 == 0:
                pkts.append(ipv4_udp(PEER4[1], DEV4, 123, 47001, 48, i))
                pkts.append(ipv4_udp(PEER4[0], DEV4, 9000, 47000, 20, i))
            for p in pkts:
                f.write(struct.pack("<IIII", T0 + i // 2000, (i % 2000) * 400, len(p), len(p)))
                f.write(p)


CAPTURES = {"multi_addr": multi_addr, "full_table": full_table, "many_flows": many_flows, "ipv6_ext": ipv6_ext, "ipv4_frag": ipv4_frag, "truncated": truncated,
            "tcp_flags": tcp_flags}
LINKTYPES = {"ether": 1, "vlan": 1, "sll": 113, "sll2": 276, "raw": 101}


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in list(CAPTURES) + ["counter_wrap"]:
        sys.stderr.write("usage: make_scapy_captures.py {%s,counter_wrap} OUT_DIR\n"
                         % ",".join(CAPTURES))
        return 2
    name, out_dir = sys.argv[1], sys.argv[2]
    if name == "counter_wrap":
        path = os.path.join(out_dir, name + ".pcap")
        counter_wrap_write(path)
        meta = {"capture": path, "device_addrs": [DEV4, DEV6], "link": "raw",
                "expect_counters": {}, "bad_frames": {}, "agent_args": []}
        with open(os.path.join(out_dir, name + ".json"), "w") as f:
            json.dump(meta, f, indent=1, sort_keys=True)
        print(path)
        return 0
    cap, link, fmt = CAPTURES[name]()
    frames = cap.frames(link)
    path = os.path.join(out_dir, "%s.%s" % (name, fmt))
    if fmt == "pcapng":
        wrpcapng(path, frames)
    else:
        wrpcap(path, frames, linktype=LINKTYPES[link])
    meta = {"capture": path, "device_addrs": cap.device_addrs, "link": link,
            "expect_counters": cap.expect, "bad_frames": cap.bad_frames,
            "agent_args": cap.agent_args}
    with open(os.path.join(out_dir, name + ".json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
