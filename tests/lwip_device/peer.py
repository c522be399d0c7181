#!/usr/bin/python3
"""The host side of the lwIP device test, run inside the test's network
namespace: a TCP server and a UDP sink on one port each (IPv4 and IPv6,
counting what the device sends), and, once, connections to the device's
--listen port over both families (the device must report them as
remote-initiated). The kernel answers the device's pings.

On SIGTERM it writes what it counted as JSON to the file given and exits.
It never sends anything unasked except those inbound connections, so the
test can tie every byte the device reports to this peer.

usage: peer.py TCP_PORT UDP_PORT DEVICE_V4 DEVICE_V6 DEVICE_PORT INBOUND_AFTER_S OUT_JSON
"""
import json
import selectors
import signal
import socket
import sys
import time


def dual_stack(kind, port):
    s = socket.socket(socket.AF_INET6, kind)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", port))
    return s


def family_of(addr):
    """'4' for an IPv4 peer (seen as ::ffff:a.b.c.d on a dual-stack socket)."""
    return "4" if addr.startswith("::ffff:") or "." in addr else "6"


def inbound(addr, port, message):
    """Connects to the device, sends message, reads the echo back."""
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(3)
        s.connect((addr, port))
        s.sendall(message)
        got = b""
        while len(got) < len(message):
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
        return got


def main():
    if len(sys.argv) != 8:
        sys.exit(__doc__)
    tcp_port, udp_port = int(sys.argv[1]), int(sys.argv[2])
    dev4, dev6, dev_port = sys.argv[3], sys.argv[4], int(sys.argv[5])
    inbound_after, out_path = float(sys.argv[6]), sys.argv[7]

    counts = {
        "tcp_connections": {"4": 0, "6": 0},
        "tcp_bytes": {"4": 0, "6": 0},
        "udp_datagrams": {"4": 0, "6": 0},
        "udp_bytes": {"4": 0, "6": 0},
        "inbound_echo": {"4": None, "6": None},
    }
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))

    sel = selectors.DefaultSelector()
    server = dual_stack(socket.SOCK_STREAM, tcp_port)
    server.listen(64)
    server.setblocking(False)
    sel.register(server, selectors.EVENT_READ, "accept")
    udp = dual_stack(socket.SOCK_DGRAM, udp_port)
    udp.setblocking(False)
    sel.register(udp, selectors.EVENT_READ, "udp")
    # Ready: the test waits for this file before starting the device.
    with open(out_path + ".ready", "w") as f:
        f.write("ready\n")

    started = time.monotonic()
    inbound_done = False
    while not stop:
        for key, _ in sel.select(timeout=0.2):
            if key.data == "accept":
                try:
                    conn, peer = server.accept()
                except BlockingIOError:
                    continue
                conn.setblocking(False)
                fam = family_of(peer[0])
                counts["tcp_connections"][fam] += 1
                sel.register(conn, selectors.EVENT_READ, ("conn", fam))
            elif key.data == "udp":
                try:
                    data, peer = udp.recvfrom(65536)
                except BlockingIOError:
                    continue
                fam = family_of(peer[0])
                counts["udp_datagrams"][fam] += 1
                counts["udp_bytes"][fam] += len(data)
            else:
                conn, fam = key.fileobj, key.data[1]
                try:
                    data = conn.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if data:
                    counts["tcp_bytes"][fam] += len(data)
                else:
                    sel.unregister(conn)
                    conn.close()
        if not inbound_done and time.monotonic() - started >= inbound_after:
            inbound_done = True
            for fam, addr in (("4", dev4), ("6", dev6)):
                message = ("inbound over IPv%s\n" % fam).encode() * 4
                try:
                    got = inbound(addr, dev_port, message)
                    counts["inbound_echo"][fam] = len(got) if got == message else -1
                except OSError as e:
                    print("peer: inbound IPv%s to %s:%d failed: %s" % (fam, addr, dev_port, e),
                          file=sys.stderr)
                    counts["inbound_echo"][fam] = 0

    with open(out_path, "w") as f:
        json.dump(counts, f)


if __name__ == "__main__":
    main()
