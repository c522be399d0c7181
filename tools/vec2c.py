#!/usr/bin/python3
"""vec2c.py - turns shared test vectors (proto/vectors/NAME.vec) into C data
for firmware that has no file system (agent/port/baremetal/vector_firmware.c).

    vec2c.py -o vectors.c A.vec B.vec ...

Every line of a vector becomes one step, in order, so that the firmware does
exactly what tests/encoder/vector_runner.c does with the same file; the
types are declared in agent/port/baremetal/vector_data.h. The output is
generated at build time into the build directory: never commit it.

A line the host runner would reject is an error here too (exit 2, naming
the file and line), so a broken vector fails the build, not the device.
"""
import argparse
import os
import sys

MAX_PACKET = 4096      # vector_runner.c: static uint8_t packet[4096]
MAX_STRINGS = 6        # vector_runner.c: MAX_STRINGS
MAX_STRING_LEN = 127   # vector_runner.c: char sysinfo_strings[][128]
MAX_LISTENERS = 128    # vector_runner.c: MAX_LISTENERS
SYSINFO_STRINGS = ("os_name", "os_version", "stack_name", "stack_version",
                   "device_model", "firmware_version")


class VecError(Exception):
    pass


def u32(word):
    if not word.isdigit() or int(word) > 0xFFFFFFFF:
        raise VecError("bad number %r" % word)
    return int(word)


def hexbytes(word, limit):
    if len(word) % 2:
        raise VecError("odd hex length")
    try:
        data = bytes.fromhex(word)
    except ValueError:
        raise VecError("bad hex")
    if len(data) > limit:
        raise VecError("more than %d bytes" % limit)
    return data


def c_string(s):
    out = '"'
    for b in (s if isinstance(s, bytes) else s.encode("utf-8")):
        ch = chr(b)
        if ch in '"\\' or b < 0x20 or b >= 0x7F or ch == "?":
            out += "\\%03o" % b
        else:
            out += ch
    return out + '"'


class Converter:
    def __init__(self):
        self.blob = bytearray()  # every packet of every vector, back to back
        self.decls = []          # C definitions emitted before the vector table
        self.vectors = []        # (name, steps symbol, step count)
        self.serial = 0

    def symbol(self, kind):
        self.serial += 1
        return "%s_%d" % (kind, self.serial)

    def add_bytes(self, data):
        offset = len(self.blob)
        self.blob += data
        return offset, len(data)

    def convert(self, path):
        name = os.path.basename(path)[:-4] if path.endswith(".vec") else os.path.basename(path)
        steps = []
        sysinfo = {}
        strings_used = 0
        listeners = 0
        initialised = False
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                try:
                    words = line.split("#", 1)[0].split()[:16]
                    if not words:
                        continue
                    op, n = words[0], len(words)
                    if op == "setup":
                        if n != 6 or initialised:
                            raise VecError("bad setup line")
                        sym = self.symbol("setup")
                        self.decls.append(
                            "static const vec_setup_t %s = {%s, %uu, %uu, %uu, %uu};"
                            % (sym, c_string(words[1]), u32(words[2]), u32(words[3]),
                               u32(words[4]), u32(words[5])))
                        steps.append("{VEC_SETUP, 0, 0, 0, 0, &%s}" % sym)
                        initialised = True
                    elif op == "sysinfo":
                        for kv in words[1:]:
                            if "=" not in kv:
                                raise VecError("bad sysinfo field")
                            key, value = kv.split("=", 1)
                            if key == "boot_time":
                                sysinfo[key] = u32(value)
                                continue
                            if strings_used >= MAX_STRINGS or key not in SYSINFO_STRINGS:
                                raise VecError("bad sysinfo field")
                            strings_used += 1
                            sysinfo[key] = value.encode("utf-8")[:MAX_STRING_LEN]
                        sym = self.symbol("sysinfo")
                        fields = [c_string(sysinfo[k]) if k in sysinfo else "NULL"
                                  for k in SYSINFO_STRINGS]
                        fields.append("%uu" % sysinfo.get("boot_time", 0))
                        self.decls.append("static const vigil_sysinfo_t %s = {%s};"
                                          % (sym, ", ".join(fields)))
                        steps.append("{VEC_SYSINFO, 0, 0, 0, 0, &%s}" % sym)
                    elif op == "listener":
                        if n < 4 or n > 5 or listeners == MAX_LISTENERS:
                            raise VecError("bad listener line")
                        family, port = u32(words[2]), u32(words[3])
                        if family not in (4, 6) or port > 65535:
                            raise VecError("bad listener line")
                        addr = b""
                        if n == 5:
                            addr = hexbytes(words[4], 16)
                            if len(addr) != (4 if family == 4 else 16):
                                raise VecError("bad listener address")
                        listeners += 1
                        proto = "VIGIL_PROTO_UDP" if words[1] == "udp" else "VIGIL_PROTO_TCP"
                        sym = self.symbol("listener")
                        addr_c = ", ".join("0x%02x" % b for b in addr.ljust(16, b"\0"))
                        self.decls.append("static const vigil_listener_t %s = {%s, %u, %u, {%s}};"
                                          % (sym, proto, family, port, addr_c))
                        steps.append("{VEC_LISTENER, 0, 0, 0, 0, &%s}" % sym)
                    elif not initialised:
                        raise VecError("first line must be setup")
                    elif op in ("in", "out") and n == 3:
                        now = u32(words[1])
                        off, size = self.add_bytes(hexbytes(words[2], MAX_PACKET))
                        steps.append("{VEC_%s, %uu, %uu, %uu, %uu, NULL}"
                                     % (op.upper(), now, size, off, size))
                    elif op == "headers" and n == 5:
                        now, length = u32(words[2]), u32(words[3])
                        off, size = self.add_bytes(hexbytes(words[4], MAX_PACKET))
                        kind = "VEC_HEADERS_IN" if words[1] == "in" else "VEC_HEADERS_OUT"
                        steps.append("{%s, %uu, %uu, %uu, %uu, NULL}"
                                     % (kind, now, length, off, size))
                    elif op in ("poll", "flush") and n == 2:
                        steps.append("{VEC_%s, %uu, 0, 0, 0, NULL}" % (op.upper(), u32(words[1])))
                    else:
                        raise VecError("unknown step")
                except VecError as e:
                    raise VecError("%s:%d: %s" % (path, lineno, e))
        if not initialised:
            raise VecError("%s: no setup line" % path)
        sym = self.symbol("steps")
        self.decls.append("static const vec_step_t %s[] = {\n    %s\n};"
                          % (sym, ",\n    ".join(steps)))
        self.vectors.append((name, sym, len(steps)))

    def write(self, out):
        out.write("/* Generated by tools/vec2c.py from the shared test vectors: do not edit,"
                  " do not commit. */\n")
        out.write('#include "vector_data.h"\n\n')
        out.write("const uint8_t vec_bytes[%d] = {" % max(1, len(self.blob)))
        for i, b in enumerate(self.blob or b"\0"):
            out.write(("\n    " if i % 16 == 0 else " ") + "0x%02x," % b)
        out.write("\n};\n\n")
        for d in self.decls:
            out.write(d + "\n")
        out.write("\nconst vec_vector_t vec_vectors[] = {\n")
        for name, sym, count in self.vectors:
            out.write("    {%s, %s, %uu},\n" % (c_string(name), sym, count))
        out.write("};\n")
        out.write("const size_t vec_vector_count = %d;\n" % len(self.vectors))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("vectors", nargs="+")
    args = ap.parse_args()
    conv = Converter()
    try:
        for path in sorted(args.vectors, key=os.path.basename):
            conv.convert(path)
    except (VecError, OSError, UnicodeDecodeError) as e:
        print("vec2c: %s" % e, file=sys.stderr)
        return 2
    tmp = args.output + ".tmp"
    with open(tmp, "w", encoding="ascii") as out:
        conv.write(out)
    os.replace(tmp, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
