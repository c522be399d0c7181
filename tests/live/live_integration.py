#!/usr/bin/python3
"""live_integration: the live demo's set-up (scripts/demo-live.sh: mosquitto
with per-device credentials and ACL, vigild, two lwIP devices in network
namespaces, the Linux agent), bounded in time, checked from both sides:

- the findings in the store are exactly the expected set (type, device, key);
- every report a device made was published, acknowledged and stored exactly
  once: the devices' own counters equal the store's report counts;
- a spoofed report (a device publishing another device's report on its own
  topic) is rejected by vigild and stored nowhere.

Needs root (network namespaces): exits 77 (skipped) otherwise.
Usage: live_integration.py BUILD_DIR SOURCE_DIR"""
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

build, source = sys.argv[1], sys.argv[2]
VIGIL = os.path.join(build, "cli", "vigil")
AGENT = os.path.join(build, "agent", "port", "linux", "vigil-agent")


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


if os.geteuid() != 0 or subprocess.run(["ip", "netns", "list"], capture_output=True).returncode != 0:
    print("skipped: needs root and network namespaces")
    sys.exit(77)

work = tempfile.mkdtemp(prefix="vigil-live-")
os.chmod(work, 0o755)    # mosquitto reads its password file as user mosquitto
demo = None
try:
    env = dict(os.environ, DEMO_SECONDS="25", DEMO_WORK=os.path.join(work, "demo"))
    demo = subprocess.Popen(["bash", os.path.join(source, "scripts", "demo-live.sh"), build], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    demo_dir = env["DEMO_WORK"]

    # A report of device "demo-lwip-telnet", published by demo-agent on its own topic.
    spoof_out = os.path.join(work, "spoof.bin")
    subprocess.run([AGENT, "--pcap", os.path.join(source, "data", "scan-demo.pcapng"), "--device-addr", "192.0.2.1",
                    "--device-id", "demo-lwip-telnet", "--out", spoof_out], check=True, capture_output=True)
    with open(spoof_out, "rb") as f:
        blob = f.read()
    (length,) = struct.unpack(">I", blob[:4])
    spoof = os.path.join(work, "spoof.cbor")
    with open(spoof, "wb") as f:
        f.write(blob[4:4 + length])

    port = None
    for _ in range(100):
        conf = os.path.join(demo_dir, "vigild.conf")
        if os.path.exists(conf) and os.path.exists(os.path.join(demo_dir, "vigild.log")):
            m = re.search(r"mqtt_port (\d+)", open(conf).read())
            if m and "connected to" in open(os.path.join(demo_dir, "vigild.log")).read():
                port = int(m.group(1))
                break
        time.sleep(0.2)
    if port is None:
        log = os.path.join(demo_dir, "vigild.log")
        fail("vigild did not connect:\n" + (open(log).read() if os.path.exists(log) else "(no log)"))
    password = open(os.path.join(demo_dir, "demo-agent.pass")).read().strip()
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-u", "demo-agent", "-P", password,
                    "-q", "1", "-t", "vigil/v1/demo-agent/report", "-f", spoof], check=True, timeout=10)
    # The ACL keeps demo-agent off another device's topic: the broker drops it.
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-u", "demo-agent", "-P", password,
                    "-q", "1", "-t", "vigil/v1/demo-lwip-telnet/report", "-f", spoof], timeout=10)

    output = demo.communicate(timeout=120)[0]
    if demo.returncode != 0:
        fail("demo-live.sh exited %d:\n%s" % (demo.returncode, output))
    db = os.path.join(demo_dir, "vigil.db")

    def query(*args):
        r = subprocess.run([VIGIL] + list(args) + ["--db", db, "--json"], capture_output=True, text=True)
        if r.returncode != 0:
            fail("vigil %s: %s" % (" ".join(args), r.stderr))
        return [json.loads(line) for line in r.stdout.splitlines()]

    # --- the findings: exactly these (type, device, key-ish) rows
    found = set()
    for a in query("alerts") + query("recommendations"):
        where = a["remote_addr"] or (a["proto"] and "%s/%s" % (a["proto"], a["local_port"])) or ""
        found.add((a["kind"], a["type"], a["device"], where))
    expected = {
        ("alert", "threat_intel", "demo-agent", "203.0.113.66"),
        ("alert", "threat_intel", "demo-agent", "2001:db8:bad::66"),
        ("alert", "threat_intel", "demo-agent", "203.0.113.99"),
        ("alert", "remote_not_allowed", "demo-agent", "203.0.113.66"),
        ("alert", "remote_not_allowed", "demo-agent", "2001:db8:bad::66"),
        ("alert", "remote_not_allowed", "demo-agent", "203.0.113.99"),
        ("alert", "remote_not_allowed", "demo-agent", "198.51.100.77"),
        ("alert", "listener_not_allowed", "demo-agent", "tcp/23"),
        ("alert", "range_bytes_out", "demo-agent", ""),
        ("recommendation", "insecure_listener", "demo-agent", ""),
        ("recommendation", "plaintext_outbound", "demo-agent", ""),
        ("alert", "threat_intel", "demo-lwip-c2", "203.0.113.66"),
        ("alert", "remote_not_allowed", "demo-lwip-c2", "203.0.113.66"),
        ("alert", "listener_not_allowed", "demo-lwip-telnet", "tcp/23"),
        ("recommendation", "insecure_listener", "demo-lwip-telnet", ""),
    }
    if found != expected:
        fail("findings differ:\n  missing: %s\n  extra: %s" % (sorted(expected - found), sorted(found - expected)))

    # --- every report made was stored exactly once
    stored = {d["id"]: d["reports"] for d in query("devices")}
    if set(stored) != {"demo-agent", "demo-lwip-c2", "demo-lwip-telnet"}:
        fail("devices in the store: %s" % sorted(stored))
    for device in stored:
        log = open(os.path.join(demo_dir, device + ".log")).read()
        m = re.search(r"(\d+) reports made, (\d+) published, \d+ re-sent, (\d+) acknowledged, (\d+) still held, "
                      r"(\d+) dropped", log)
        if not m:
            fail("%s: no summary in its log:\n%s" % (device, log))
        made, published, acked, held, dropped = map(int, m.groups())
        if not (made == published == acked == stored[device]) or held or dropped:
            fail("%s: made %d, published %d, acknowledged %d, held %d, dropped %d; stored %d" %
                 (device, made, published, acked, held, dropped, stored[device]))

    # --- the spoofed report: rejected, counted, nowhere in the store
    vlog = open(os.path.join(demo_dir, "vigild.log")).read()
    m = re.search(r"rejected_topic_mismatch (\d+)", vlog)
    if not m or int(m.group(1)) != 1:
        fail("vigild did not count one spoofed report:\n" + vlog[-2000:])
    print("live_integration: %d findings as expected; reports stored once: %s; spoofed report rejected"
          % (len(found), ", ".join("%s %d" % kv for kv in sorted(stored.items()))))
finally:
    if demo and demo.poll() is None:
        # SIGTERM runs the demo's own clean-up (devices, vigild, broker, namespaces).
        demo.terminate()
        try:
            demo.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, 9)
    subprocess.run(["bash", "-c", "for ns in $(ip netns list | awk '/^vigil-demo-/{print $1}'); do "
                    "ip netns del $ns; done"], capture_output=True)
    shutil.rmtree(work, ignore_errors=True)
