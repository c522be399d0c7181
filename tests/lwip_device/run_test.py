#!/usr/bin/python3
"""Live test of vigil-lwip-device (ctest label live; needs root).

It makes a network namespace with a tap interface whose kernel side is the
"host" (192.0.2.1, 2001:db8:1::1, running peer.py, answering pings), starts
vigil-lwip-device on that tap (lwIP at 192.0.2.2, 2001:db8:1::2) with
--out FILE, lets its workload run, stops it with SIGTERM, decodes the
reports with `vigil decode` and checks them against what the workload does
and what the peer counted:

- TCP connections to the peer (IPv4, IPv6): locally initiated, the payload
  the peer received inside the reported bytes, headers plausible;
- UDP to the peer: locally initiated, exactly one flow per family whose
  packets match the datagrams the peer received and whose bytes are
  packets x (IP + UDP + payload);
- ICMP / ICMPv6 echo: locally initiated, replies counted in, bytes exact;
- the peer's connections to --listen: remote-initiated, echoed;
- listening_ports: the TCP port for IPv4 and IPv6, and no UDP socket (the
  UDP clients are connected PCBs, not listeners);
- system information names lwIP 2.x; sequence numbers without gaps; exit 0.

Mode "mqtt" runs the same workload with --mqtt instead of --out: a
mosquitto on a free loopback port of the host's namespace, the fake analyzer
of tests/agent_mqtt acknowledging, and the device started in the host's
namespace with --netns (its tap and lwIP in the test's namespace, its MQTT
connection on the host's sockets). The reports the analyzer received are
checked as above, and every one must have been acknowledged (exit 0).

The namespace (and with it the tap) is removed at the end, on failure and
on SIGINT/SIGTERM too. Exit 77 (skipped) without root or /dev/net/tun, and
in mode mqtt without mosquitto or python3-paho-mqtt.

usage: run_test.py file|mqtt VIGIL_LWIP_DEVICE VIGIL_CLI SOURCE_DIR WORKDIR
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = 77

HOST4, DEV4 = "192.0.2.1", "192.0.2.2"
HOST6, DEV6 = "2001:db8:1::1", "2001:db8:1::2"
TAP = "vtap0"
PEER_TCP, PEER_UDP, LISTEN = 7000, 7001, 8080
RUN_S = 5.5
INTERVAL = 2
DEVICE_ID = "lwip-test-1"

# The workload's fixed sizes (agent/port/lwip/device/workload.h).
TCP_MESSAGE, UDP_PAYLOAD, ICMP_PAYLOAD = 100, 48, 32
IP_HDR = {"4": 20, "6": 40}

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL: " + what, file=sys.stderr)
    return cond


def run(*cmd, **kw):
    return subprocess.run(list(cmd), check=True, capture_output=True, text=True, **kw)


def skip(why):
    print("SKIPPED: " + why, file=sys.stderr)
    sys.exit(SKIP)


def remove_netns(ns):
    subprocess.run(["ip", "-n", ns, "link", "del", TAP], capture_output=True)
    subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def remove_stale_namespaces():
    """Namespaces left by a run that was killed (SIGKILL skips cleanup)."""
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        name = line.split()[0] if line.split() else ""
        if name.startswith("vigil-lwip-"):
            pid = name.rsplit("-", 1)[-1]
            if pid.isdigit() and not os.path.exists("/proc/" + pid):
                remove_netns(name)


def make_netns(ns):
    run("ip", "netns", "add", ns)
    run("ip", "-n", ns, "link", "set", "lo", "up")
    run("ip", "-n", ns, "tuntap", "add", "dev", TAP, "mode", "tap")
    run("ip", "-n", ns, "addr", "add", HOST4 + "/24", "dev", TAP)
    run("ip", "-n", ns, "addr", "add", HOST6 + "/64", "dev", TAP, "nodad")
    run("ip", "-n", ns, "link", "set", TAP, "up")


def flow_family(f):
    return "6" if ":" in f["local_addr"] else "4"


def aggregate(reports):
    """Flows by key over all reports: summed counts, first report's initiator."""
    flows = {}
    for r in reports:
        for f in r["flows"]:
            key = (f["proto"], f["local_addr"], f["remote_addr"], f["local_port"],
                   f["remote_port"])
            a = flows.get(key)
            if a is None:
                flows[key] = dict(f)
                continue
            for k in ("bytes_in", "bytes_out", "packets_in", "packets_out"):
                a[k] += f[k]
    return flows


def check_reports(reports, peer, started, stopped):
    check(len(reports) >= 2, "at least two reports (got %d)" % len(reports))
    if not reports:
        return
    check([r["seq"] for r in reports] == list(range(len(reports))),
          "sequence numbers 0..n-1 without gaps")
    check(all(r["device_id"] == DEVICE_ID for r in reports), "every report carries the device id")
    check(len({r["boot_id"] for r in reports}) == 1, "one boot id")
    check(reports[0]["period_start"] >= int(started) - 1 and
          reports[-1]["period_end"] <= int(stopped) + 1,
          "periods lie within the run (device clock is wall time)")
    check(reports[-1]["period_end"] >= int(stopped) - 1,
          "the last report covers the period closed by SIGTERM")

    system = reports[0].get("system") or {}
    check(system.get("stack_name") == "lwIP", "system information names lwIP: %r" % system)
    check(str(system.get("stack_version", "")).startswith("2."),
          "system information carries lwIP's version: %r" % system.get("stack_version"))

    for r in reports:
        lp = r["listening_ports"]
        tcp = {(l["family"], l["port"]) for l in lp if l["proto"] == "tcp"}
        check((4, LISTEN) in tcp and (6, LISTEN) in tcp,
              "report %d lists TCP %d for IPv4 and IPv6: %r" % (r["seq"], LISTEN, lp))
        check(not [l for l in lp if l["proto"] == "udp"],
              "report %d lists no UDP listener (the UDP clients are connected): %r"
              % (r["seq"], lp))
        check(DEV4 in r["local_addrs"] or DEV6 in r["local_addrs"] or not r["flows"],
              "report %d names the device's addresses" % r["seq"])

    flows = aggregate(reports)
    for fam, dev, host in (("4", DEV4, HOST4), ("6", DEV6, HOST6)):
        ip = IP_HDR[fam]

        # TCP clients: one flow per connection, each opened by the device.
        tcp = [f for k, f in flows.items()
               if k[0] == "tcp" and k[1] == dev and k[2] == host and k[4] == PEER_TCP]
        check(len(tcp) >= 3, "IPv%s: at least 3 TCP connections to the peer (got %d)"
              % (fam, len(tcp)))
        check(all(f["initiator"] == "local" for f in tcp),
              "IPv%s: TCP connections to the peer are locally initiated: %r" % (fam, tcp))
        complete = [f for f in tcp if f["packets_out"] >= 3 and f["packets_in"] >= 2]
        check(len(complete) >= 2, "IPv%s: at least 2 complete TCP exchanges" % fam)
        pkts = sum(f["packets_out"] for f in tcp)
        payload_max = sum(f["bytes_out"] for f in tcp) - (ip + 20) * pkts
        payload_min = payload_max - 12 * pkts  # TCP options lwIP may add (SYN: MSS, WS)
        received = peer["tcp_bytes"][fam]
        check(received >= TCP_MESSAGE * 2, "IPv%s: the peer received TCP data (%d)"
              % (fam, received))
        # A connection opened just before SIGTERM may send after the last report.
        check(received - TCP_MESSAGE <= payload_max and payload_min <= received,
              "IPv%s: reported TCP bytes out fit the %d payload bytes the peer received "
              "(payload between %d and %d)" % (fam, received, payload_min, payload_max))

        # UDP: one connected PCB per target, so one flow.
        udp = [f for k, f in flows.items()
               if k[0] == "udp" and k[1] == dev and k[2] == host and k[4] == PEER_UDP]
        check(len(udp) == 1, "IPv%s: one UDP flow to the peer (got %d)" % (fam, len(udp)))
        for f in udp:
            check(f["initiator"] == "local", "IPv%s: UDP flow locally initiated" % fam)
            check(f["packets_out"] >= 3 and f["packets_out"] == peer["udp_datagrams"][fam],
                  "IPv%s: UDP packets out (%d) equal the datagrams the peer got (%d)"
                  % (fam, f["packets_out"], peer["udp_datagrams"][fam]))
            check(f["bytes_out"] == f["packets_out"] * (ip + 8 + UDP_PAYLOAD),
                  "IPv%s: UDP bytes out = packets x %d" % (fam, ip + 8 + UDP_PAYLOAD))
            check(f["packets_in"] == 0, "IPv%s: the peer sent no UDP back" % fam)

        # ICMP echo: keyed by the request type (8 / 128), code 0.
        proto, req = ("icmp", 8) if fam == "4" else ("icmpv6", 128)
        echo = flows.get((proto, dev, host, req, 0))
        if check(echo is not None, "IPv%s: an ICMP echo flow to the peer" % fam):
            size = ip + 8 + ICMP_PAYLOAD
            check(echo["initiator"] == "local", "IPv%s: echo locally initiated" % fam)
            check(echo["packets_out"] >= 3, "IPv%s: at least 3 echo requests" % fam)
            check(echo["packets_out"] - 1 <= echo["packets_in"] <= echo["packets_out"],
                  "IPv%s: the peer answered the echo requests (%d out, %d in)"
                  % (fam, echo["packets_out"], echo["packets_in"]))
            check(echo["bytes_out"] == echo["packets_out"] * size and
                  echo["bytes_in"] == echo["packets_in"] * size,
                  "IPv%s: echo bytes = packets x %d: %r" % (fam, size, echo))

        # The peer's connection to --listen.
        inbound = [f for k, f in flows.items()
                   if k[0] == "tcp" and k[1] == dev and k[2] == host and k[3] == LISTEN]
        check(len(inbound) == 1, "IPv%s: one inbound connection to %d (got %d)"
              % (fam, LISTEN, len(inbound)))
        echoed = peer["inbound_echo"][fam] or 0
        check(echoed > 0, "IPv%s: the device echoed the peer's message (%r)"
              % (fam, peer["inbound_echo"][fam]))
        for f in inbound:
            check(f["initiator"] == "remote", "IPv%s: inbound connection remote-initiated" % fam)
            check(f["bytes_in"] >= echoed + 3 * (ip + 20) and f["bytes_out"] >= echoed + 2 * (ip + 20),
                  "IPv%s: inbound bytes carry the %d-byte message both ways: %r"
                  % (fam, echoed, f))


def wait_for(path, proc, seconds, what):
    deadline = time.monotonic() + seconds
    while not os.path.exists(path):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("%s did not start" % what)
        time.sleep(0.05)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_broker(work, procs):
    """mosquitto on a free loopback port of this (the host's) namespace."""
    port = free_port()
    conf = os.path.join(work, "mosquitto.conf")
    with open(conf, "w") as f:
        f.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n" % port)
    log = open(os.path.join(work, "mosquitto.log"), "w")
    broker = subprocess.Popen(["mosquitto", "-c", conf], stdout=log, stderr=log)
    procs.append(broker)
    deadline = time.monotonic() + 5
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return port
        except OSError:
            if broker.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("mosquitto did not start on port %d" % port)
            time.sleep(0.05)


def records_from_analyzer(analyzer_json, out):
    """The reports the fake analyzer kept, as a file `vigil decode` reads."""
    with open(analyzer_json) as f:
        got = json.load(f)
    with open(out, "wb") as f:
        for r in got["reports"]:
            payload = bytes.fromhex(r["hex"])
            f.write(len(payload).to_bytes(4, "big") + payload)
    return got


def main():
    if len(sys.argv) != 6 or sys.argv[1] not in ("file", "mqtt"):
        sys.exit(__doc__)
    mode, device, cli, source, work = sys.argv[1:6]
    if os.geteuid() != 0:
        skip("needs root (network namespaces and a tap interface)")
    if not os.path.exists("/dev/net/tun"):
        skip("no /dev/net/tun")
    if subprocess.run(["ip", "netns", "list"], capture_output=True).returncode != 0:
        skip("'ip netns' does not work here")
    if mode == "mqtt":
        if not shutil.which("mosquitto"):
            skip("mosquitto is not installed")
        try:
            import cbor2  # noqa: F401  (the fake analyzer needs both)
            import paho.mqtt.client  # noqa: F401
        except ImportError:
            skip("python3-paho-mqtt or python3-cbor2 is not installed")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work, exist_ok=True)
    out = os.path.join(work, "reports.bin")
    peer_json = os.path.join(work, "peer.json")

    remove_stale_namespaces()
    ns = "vigil-lwip-%d" % os.getpid()
    procs = []

    def on_signal(sig, _frame):
        raise SystemExit("interrupted by signal %d" % sig)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        make_netns(ns)
        peer = subprocess.Popen(["ip", "netns", "exec", ns, "/usr/bin/python3",
                                 os.path.join(HERE, "peer.py"), str(PEER_TCP), str(PEER_UDP),
                                 DEV4, DEV6, str(LISTEN), "2.0", peer_json])
        procs.append(peer)
        wait_for(peer_json + ".ready", peer, 10, "the peer")

        if mode == "file":
            launch = ["ip", "netns", "exec", ns, device]  # exec: the device's own pid
            sink = ["--out", out]
        else:
            port = start_broker(work, procs)
            analyzer_dir = os.path.join(work, "analyzer")
            os.makedirs(analyzer_dir)
            analyzer = subprocess.Popen(
                ["/usr/bin/python3", os.path.join(source, "tests", "agent_mqtt", "fake_analyzer.py"),
                 str(port), analyzer_dir],
                stdout=open(os.path.join(work, "analyzer.log"), "w"), stderr=subprocess.STDOUT)
            procs.append(analyzer)
            wait_for(os.path.join(analyzer_dir, "ready"), analyzer, 10, "the fake analyzer")
            launch = [device, "--netns", ns]
            sink = ["--mqtt", "mqtt://127.0.0.1:%d" % port]

        started = time.time()
        dev = subprocess.Popen(launch + ["--tap", TAP,
                                "--ip4", DEV4 + "/24", "--ip6", DEV6 + "/64",
                                "--device-id", DEVICE_ID, "--interval", str(INTERVAL),
                                "--listen", str(LISTEN),
                                "--connect", "tcp:%s:%d" % (HOST4, PEER_TCP),
                                "--connect", "tcp:[%s]:%d" % (HOST6, PEER_TCP),
                                "--connect", "udp:%s:%d" % (HOST4, PEER_UDP),
                                "--connect", "udp:[%s]:%d" % (HOST6, PEER_UDP),
                                "--connect", "icmp:" + HOST4,
                                "--connect", "icmp:" + HOST6] + sink,
                               stderr=subprocess.PIPE, text=True)
        procs.append(dev)
        time.sleep(RUN_S)
        check(dev.poll() is None, "the device is still running after %.1f s" % RUN_S)
        dev.send_signal(signal.SIGTERM)
        try:
            _, err = dev.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            dev.kill()
            _, err = dev.communicate()
            check(False, "the device stopped within 10 s of SIGTERM")
        stopped = time.time()
        sys.stderr.write(err)
        check(dev.returncode == 0, "the device exits 0 after SIGTERM (got %d)%s"
              % (dev.returncode, " (mqtt: 0 means every report acknowledged)"
                 if mode == "mqtt" else ""))
        if mode == "mqtt":
            analyzer.send_signal(signal.SIGTERM)
            analyzer.wait(timeout=10)
            got = records_from_analyzer(os.path.join(analyzer_dir, "analyzer.json"), out)
            check(got["bad"] == 0, "the analyzer got no malformed report")
            check(got["unique"] >= 2, "the analyzer stored the reports (%d)" % got["unique"])

        time.sleep(0.5)  # let the peer read what is still in its sockets
        peer.send_signal(signal.SIGTERM)
        peer.wait(timeout=10)
        with open(peer_json) as f:
            peer_counts = json.load(f)
        print("peer counted: %s" % json.dumps(peer_counts), file=sys.stderr)

        decoded = subprocess.run([cli, "decode", out], capture_output=True, text=True)
        check(decoded.returncode == 0, "vigil decode exits 0: %s" % decoded.stderr.strip())
        reports = [json.loads(line) for line in decoded.stdout.splitlines() if line.strip()]
        check_reports(reports, peer_counts, started, stopped)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        remove_netns(ns)
        left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        if ns in left.split():
            print("FAIL: namespace %s could not be removed" % ns, file=sys.stderr)
            failures.append("cleanup")

    if failures:
        print("%d check(s) failed; reports kept in %s" % (len(failures), out), file=sys.stderr)
        sys.exit(1)
    print("lwip_device: all checks passed (%d reports)" % len(reports))


if __name__ == "__main__":
    main()
