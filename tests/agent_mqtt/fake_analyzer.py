#!/usr/bin/python3
"""fake_analyzer.py - the analyzer's side of proto/mqtt.md, for vigil-agent's
live tests: subscribes to vigil/v1/+/report (QoS 1), keeps every report once
by (device, boot, seq), counts copies, and acknowledges per proto/transport.cddl
the highest sequence held without a gap from the lowest.

It never trusts a report: a payload that is not a CBOR map with the device,
boot and seq keys is counted as bad, never acknowledged.

Usage: fake_analyzer.py PORT WORKDIR [--mode ack|noack|otherboot] [--ack-delay S]
Writes WORKDIR/ready once subscribed, WORKDIR/progress (unique count) as
reports arrive, and WORKDIR/analyzer.json on SIGTERM.
"""
import argparse
import json
import os
import signal
import threading
import time

import cbor2
import paho.mqtt.client as mqtt

ap = argparse.ArgumentParser()
ap.add_argument("port", type=int)
ap.add_argument("workdir")
ap.add_argument("--mode", choices=["ack", "noack", "otherboot"], default="ack")
ap.add_argument("--ack-delay", type=float, default=0.0)
args = ap.parse_args()

lock = threading.Lock()
reports = {}        # (device, boot, seq) -> payload hex
copies = 0
bad = 0
acks_sent = 0
stop = threading.Event()


def write_atomic(name, text):
    tmp = os.path.join(args.workdir, name + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, os.path.join(args.workdir, name))


def contiguous_top(device, boot):
    seqs = sorted(s for (d, b, s) in reports if d == device and b == boot)
    top = seqs[0]
    for s in seqs[1:]:
        if s != top + 1:
            break
        top = s
    return top


def send_ack(client, device, boot, seq):
    global acks_sent
    if args.mode == "otherboot":
        boot = boot ^ 0x5A5A5A5A
    client.publish("vigil/v1/%s/ack" % device, cbor2.dumps({0: 1, 1: boot, 2: seq}), qos=1)
    with lock:
        acks_sent += 1


def on_connect(client, userdata, flags, rc):
    # Clean session: a restarted broker forgot us, so subscribe every time.
    client.subscribe("vigil/v1/+/report", 1)


def on_subscribe(client, userdata, mid, granted):
    write_atomic("ready", "1\n")


def on_message(client, userdata, msg):
    global copies, bad
    device = msg.topic.split("/")[2]
    try:
        r = cbor2.loads(msg.payload)
        key = (r[1], r[2], r[3])
        if key[0] != device:
            raise ValueError("device id differs from the topic's")
    except Exception:
        with lock:
            bad += 1
        return
    with lock:
        copies += 1
        reports.setdefault(key, msg.payload.hex())
        top = contiguous_top(device, key[1])
        n = len(reports)
    write_atomic("progress", "%d\n" % n)
    if args.mode == "noack":
        return
    if args.ack_delay > 0:
        threading.Timer(args.ack_delay, send_ack, (client, device, key[1], top)).start()
    else:
        send_ack(client, device, key[1], top)


def on_term(signum, frame):
    stop.set()


signal.signal(signal.SIGTERM, on_term)
signal.signal(signal.SIGINT, on_term)
client = mqtt.Client(client_id="fake-analyzer-%d" % os.getpid(), clean_session=True)
client.on_connect = on_connect
client.on_subscribe = on_subscribe
client.on_message = on_message
client.reconnect_delay_set(min_delay=1, max_delay=2)
client.connect_async("127.0.0.1", args.port)
client.loop_start()
while not stop.is_set():
    time.sleep(0.05)
client.loop_stop()
with lock:
    out = {
        "unique": len(reports),
        "copies": copies,
        "bad": bad,
        "acks_sent": acks_sent,
        "reports": [
            {"device": d, "boot": b, "seq": s, "hex": h}
            for (d, b, s), h in sorted(reports.items())
        ],
    }
write_atomic("analyzer.json", json.dumps(out))
