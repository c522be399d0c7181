#!/usr/bin/python3
"""Turns the packets of every proto/vectors/*.vec into seed inputs for
fuzz_observe (format in fuzz/fuzz_observe.c): one seed per vector, plus one
seed per packet so the fuzzer starts from each protocol shape."""
import glob
import hashlib
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(HERE, "..", "..", "proto", "vectors")
OUT = os.path.join(HERE, "observe")


def record(direction, data, declared=None, advance=0, poll=False):
    op = (1 if direction == "out" else 0) | (2 if poll else 0) | (advance << 3)
    if declared is None:
        return struct.pack(">BH", op, len(data)) + data
    return struct.pack(">BHH", op | 4, len(data), declared) + data


def main():
    os.makedirs(OUT, exist_ok=True)
    seeds = []
    for vec in sorted(glob.glob(os.path.join(VECTORS, "*.vec"))):
        whole = bytearray([0x05])
        last = None
        for line in open(vec):
            words = line.split("#")[0].split()
            if not words:
                continue
            if words[0] in ("in", "out"):
                now, data = int(words[1]), bytes.fromhex(words[2])
                advance = 0 if last is None else min(31, max(0, now - last))
                last = now
                rec = record(words[0], data, advance=advance)
                whole += rec
                seeds.append(bytes([0x05]) + rec)
            elif words[0] == "headers":
                data = bytes.fromhex(words[4])
                rec = record(words[1], data, declared=int(words[3]))
                whole += rec
                seeds.append(bytes([0x05]) + rec)
        seeds.append(bytes(whole))
    for seed in seeds:
        name = hashlib.sha1(seed).hexdigest()[:16]
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(seed)
    print(f"{len(seeds)} seeds in {OUT}")


if __name__ == "__main__":
    main()
