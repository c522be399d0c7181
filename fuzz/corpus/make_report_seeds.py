#!/usr/bin/python3
"""Seeds for fuzz_report_decode: every report of proto/vectors/*.hex, each
cut short, and a few hand-made reports that exercise reject paths
(python-cbor2). Run with Debian's /usr/bin/python3."""
import glob
import hashlib
import os

import cbor2

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "report")


def main():
    os.makedirs(OUT, exist_ok=True)
    seeds = []
    for path in sorted(glob.glob(os.path.join(HERE, "..", "..", "proto", "vectors", "*.hex"))):
        for line in open(path):
            if line.strip():
                data = bytes.fromhex(line.strip())
                seeds += [data, data[: len(data) // 2]]
    base = {0: 1, 1: "dev", 2: 1, 3: 0, 4: 100, 5: 160, 6: 60}
    v4, v6 = bytes([192, 0, 2, 1]), bytes(range(16))
    seeds += [
        cbor2.dumps(base),
        cbor2.dumps({**base, 0: 2}),
        cbor2.dumps({**base, 9: [v4, v6], 10: [[1, bytes(4), 1, 2, 3, 4, 1, 1, 0, 0],
                                               [0x84, 0, 1, 2, 3, 4, 1, 1, 0, 0],
                                               [2, v6, 128, 0, 1, 1, 1, 1, 5, 1]]}),
        cbor2.dumps({**base, 9: [v4], 10: [[1, 5, 1, 2, 3, 4, 1, 1, 0, 0]]}),
        cbor2.dumps({**base, 11: [[0, 4, 23], [1, 6, 53, v6], [0, 4, 80, b""]]}),
        cbor2.dumps({**base, 12: {4: "0.1.0", 0: "Zephyr", 7: 5}, 13: {0: 1, 99: 2}, 14: [[3, 1, 60]]}),
        cbor2.dumps({**base, 16: [[[[]]]], 7: 2, 8: True, 15: 60}),
    ]
    for seed in seeds:
        with open(os.path.join(OUT, hashlib.sha1(seed).hexdigest()[:16]), "wb") as f:
            f.write(seed)
    print(f"{len(seeds)} seeds in {OUT}")


if __name__ == "__main__":
    main()
