#!/usr/bin/python3
"""live_broker_restart: the broker dies in the middle of a run and comes back
without persistence (everything it held is gone). A Linux agent captures
live on the loopback interface (root) and reports every second to vigild;
the broker is SIGKILLed and restarted on the same port. Both reconnect, the
agent re-sends what vigild had not acknowledged, and at the end every report
the agent made is stored exactly once - or, if its outbox overflowed while
the broker was away, the agent's drop counter equals the difference exactly.

Usage: live_broker_restart.py BUILD_DIR SOURCE_DIR (exit 77 without root)."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

build, source = sys.argv[1], sys.argv[2]
VIGIL = os.path.join(build, "cli", "vigil")
VIGILD = os.path.join(build, "analyzer", "vigild")
AGENT = os.path.join(build, "agent", "port", "linux", "vigil-agent")
procs = []


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def wait_for(cond, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return
        time.sleep(0.05)
    fail("timed out waiting for " + what)


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
        return True
    except OSError:
        return False


if os.geteuid() != 0:
    print("skipped: needs root (live capture)")
    sys.exit(77)

tmp = tempfile.mkdtemp(prefix="vigil-brk-")
try:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = os.path.join(tmp, "mosquitto.conf")
    with open(conf, "w") as f:
        f.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"
                "max_queued_messages 1000000\nmax_inflight_messages 0\n" % port)

    def start_broker():
        p = subprocess.Popen(["/usr/sbin/mosquitto", "-c", conf], stdout=subprocess.DEVNULL,
                             stderr=open(os.path.join(tmp, "mosquitto.log"), "a"))
        procs.append(p)
        wait_for(lambda: port_open(port), 10, "mosquitto")
        return p

    broker = start_broker()
    db = os.path.join(tmp, "vigil.db")
    vconf = os.path.join(tmp, "vigild.conf")
    with open(vconf, "w") as f:
        f.write("mqtt_host 127.0.0.1\nmqtt_port %d\nmqtt_client_id vigild-brk\ndatabase %s\n"
                "ack_interval_ms 100\nbatch_ms 20\nlog_level info\ndevice_report_interval 1\n" % (port, db))
    vlog = os.path.join(tmp, "vigild.log")
    vigild = subprocess.Popen([VIGILD, "--config", vconf], stdout=subprocess.DEVNULL, stderr=open(vlog, "w"))
    procs.append(vigild)
    wait_for(lambda: "subscribed to" in open(vlog).read(), 10, "vigild subscribed")

    # Traffic on lo for the agent to see, and the agent itself.
    pinger = subprocess.Popen(["ping", "-q", "-i", "0.2", "127.0.0.1"], stdout=subprocess.DEVNULL)
    procs.append(pinger)
    alog = os.path.join(tmp, "agent.log")
    agent = subprocess.Popen([AGENT, "--iface", "lo", "--device-addr", "127.0.0.1", "--device-id", "brk-device",
                              "--interval", "1", "--resend", "2", "--mqtt", "mqtt://127.0.0.1:%d" % port],
                             stdout=subprocess.DEVNULL, stderr=open(alog, "w"))
    procs.append(agent)
    time.sleep(4)

    broker.kill()
    broker.wait()
    time.sleep(2.5)      # the agent keeps making reports meanwhile
    broker = start_broker()
    time.sleep(6)        # reconnects, re-sends, acks

    agent.send_signal(signal.SIGTERM)
    agent.wait(30)
    pinger.kill()
    vigild.send_signal(signal.SIGTERM)
    vigild.wait(30)

    log = open(alog).read()
    m = re.search(r"(\d+) reports made, (\d+) published, (\d+) re-sent, (\d+) acknowledged, (\d+) still held, "
                  r"(\d+) dropped; .* (\d+) connections, (\d+) lost", log)
    if not m:
        fail("no summary in the agent's log:\n" + log)
    made, published, resent, acked, held, dropped, connections, lost = map(int, m.groups())
    if lost < 1 or connections < 2:
        fail("the agent did not see the broker go and come back (%d connections, %d lost):\n%s"
             % (connections, lost, log))
    r = subprocess.run([VIGIL, "devices", "--db", db, "--json"], capture_output=True, text=True)
    devices = [json.loads(l) for l in r.stdout.splitlines()]
    stored = sum(d["reports"] for d in devices if d["id"] == "brk-device")
    if held != 0:
        fail("%d reports still held by the agent at the end:\n%s" % (held, log))
    if stored != made - dropped:
        fail("made %d, dropped %d, but %d stored" % (made, dropped, stored))
    counters = [l for l in open(vlog).read().splitlines() if "counters:" in l]
    print("live_broker_restart: %d reports made, %d re-sent across the restart, %d dropped, %d stored once "
          "(vigild: %s)" % (made, resent, dropped, stored,
                            re.search(r"duplicates \d+", counters[-1]).group(0) if counters else "?"))
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    shutil.rmtree(tmp, ignore_errors=True)
