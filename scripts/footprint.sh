#!/usr/bin/env bash
# make footprint: what libvigil costs on microcontrollers, measured.
#
# For each target (Cortex-M0+, Cortex-M4F, RV32IMAC) and each option set
# (default; "1 KB report buffer"; minimal) it cross-builds the `vigil` static
# library exactly as an integrator would (top-level CMake project,
# VIGIL_HOST_TOOLS=OFF, MinSizeRel = -Os, the toolchain files of
# cmake/toolchains/) and prints lines `BENCH <name> <value> <unit>`:
#
#   flash_<target>_<opts>  .text + .rodata (+ .data initialisers) of every
#                          object in libvigil.a: the whole library, an upper
#                          bound (a linker with --gc-sections drops what the
#                          firmware does not call). memset/memcpy/memcmp/strlen
#                          come from the C library and are not counted.
#   flash_linked_<target>_<opts>
#                          what a firmware calling the whole API (every
#                          function of vigil.h but vigil_counter_name) keeps of
#                          libvigil when linked with --gc-sections, read from
#                          the linker map: the realistic flash cost.
#   flash_libc_<target>    the C library functions that pulls in (memcpy,
#                          memmove, memset, memcmp, strlen), usually already in
#                          a firmware: newlib-nano on Arm, picolibc on RISC-V.
#   ram_<target>_<opts>    .data + .bss of libvigil.a (its static data) plus
#                          sizeof(vigil_ctx_t) for that option set, the only
#                          RAM libvigil uses besides the stack.
#   ctx_<target>_<opts>    sizeof(vigil_ctx_t) alone.
#   stack_observe_<target>, stack_observe_headers_<target>,
#   stack_encode_<target> (report_encode_part), stack_poll_<target>
#                          worst-case stack depth at default options: each
#                          function's own frame from -fstack-usage, summed
#                          along the deepest path of the call graph gcc writes
#                          with -fcallgraph-info=su (edges to every callee,
#                          inlined ones already folded into the caller's
#                          frame). Calls into the C library (memcpy...) and
#                          through function pointers (the port's
#                          listener_at) are not in the graph: they are named
#                          on a `#` line below the number. A frame reported
#                          "dynamic" or a recursive cycle fails the script.
#   stack_observe_measured_cortex_m3, stack_poll_measured_cortex_m3
#                          the real high-water mark on the shared vectors,
#                          from the qemu firmware (when qemu is installed).
#
# Usage: scripts/footprint.sh [WORKDIR]   (default: build-footprint)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-build-footprint}
mkdir -p "$work"
work=$(cd "$work" && pwd)

# target name | toolchain file | cmake arguments | binutils prefix
targets=(
  "cortex_m0plus|arm-none-eabi.cmake|-DVIGIL_ARM_CPU=cortex-m0plus|arm-none-eabi-"
  "cortex_m4|arm-none-eabi.cmake|-DVIGIL_ARM_CPU=cortex-m4|arm-none-eabi-"
  "rv32imac|riscv32-unknown-elf.cmake||riscv64-unknown-elf-"
)

# Option sets, written as the options header an integrator would pass with
# -DVIGIL_OPTS_FILE. The outbox must hold one report and its 8-byte slot
# header, so a 1 KB outbox allows reports of up to 1016 bytes. (A 512-byte
# maximum would also need a shorter device id, shorter strings and fewer local
# addresses: vigil_opts.h checks that the fixed part of a report fits.)
write_opts() {
  case $1 in
    default) echo "/* vigil_opts.h defaults */" ;;
    buf1k) cat <<'EOF'
/* the defaults (64 IPv4 + 64 IPv6 flows) with a 1 KB report buffer */
#define VIGIL_OUTBOX_SIZE 1024
#define VIGIL_MAX_MESSAGE_SIZE 1016
EOF
    ;;
    minimal) cat <<'EOF'
/* a small sensor: 8 IPv4 + 8 IPv6 flows, 1 KB report buffer, few listeners */
#define VIGIL_MAX_FLOWS_V4 8
#define VIGIL_MAX_FLOWS_V6 8
#define VIGIL_OUTBOX_SIZE 1024
#define VIGIL_MAX_MESSAGE_SIZE 1016
#define VIGIL_MAX_LOCAL_ADDRS_V4 2
#define VIGIL_MAX_LOCAL_ADDRS_V6 3
#define VIGIL_MAX_FRAGMENTS 2
#define VIGIL_MAX_LISTENERS 8
EOF
    ;;
  esac
}
opt_sets=(default buf1k minimal)

# Sums the sections of every object of an archive: "flash data bss".
archive_sizes() {
  "$1size" -A "$2" | awk '
    $1 ~ /^\.(text|rodata|srodata)/ { flash += $2 }
    $1 ~ /^\.(data|sdata)/          { data += $2 }
    $1 ~ /^\.(bss|sbss)/            { bss += $2 }
    END { printf "%d %d %d\n", flash + data, data, bss }'
}

# Links a firmware stub that calls the whole API and sums, from the linker
# map, what libvigil and the C library keep: prints "LIBVIGIL LIBC" bytes.
# Uses $cdefs $cflags of the library's build; $1 binutils prefix, $2 build
# directory, $3 extra link flags.
link_sizes() {
  local prefix=$1 dir=$2 extra=$3
  cat > "$dir/link_probe.c" <<'C'
#include "vigil.h"
vigil_ctx_t footprint_ctx;
static const uint8_t packet[40];
int footprint_main(void);
int footprint_main(void)
{
    vigil_setup_t setup = {0};
    const uint8_t *message;
    size_t length;
    uint32_t seq;
    vigil_config_default(&setup.config);
    setup.device_id = "d";
    if (vigil_init(&footprint_ctx, &setup) != VIGIL_OK ||
        vigil_configure(&footprint_ctx, &setup.config) != VIGIL_OK)
        return 1;
    vigil_observe(&footprint_ctx, VIGIL_DIR_IN, packet, sizeof packet, 1);
    vigil_observe_headers(&footprint_ctx, VIGIL_DIR_OUT, packet, sizeof packet, 100, 1);
    vigil_count(&footprint_ctx, VIGIL_CNT_CAPTURE_DROPPED);
    (void)vigil_poll(&footprint_ctx, 2);
    (void)vigil_flush(&footprint_ctx, 3);
    if (vigil_outbox_count(&footprint_ctx) > 0 &&
        vigil_outbox_get(&footprint_ctx, 0, &message, &length, &seq) == VIGIL_OK)
        (void)vigil_outbox_release(&footprint_ctx, seq);
    return (int)vigil_counter(&footprint_ctx, VIGIL_CNT_REPORTS);
}
C
  eval "${prefix}gcc $cdefs $cflags $extra -I'$root/agent/include' -nostartfiles \
        -Wl,--gc-sections -Wl,-e,footprint_main -Wl,-Map='$dir/link_probe.map' \
        '$dir/link_probe.c' '$dir/agent/libvigil.a' -o '$dir/link_probe.elf'"
  /usr/bin/python3 - "$dir/link_probe.map" <<'PY'
import re, sys
text = open(sys.argv[1]).read().split("Linker script and memory map", 1)[1]
vigil = libc = 0
pending = None
for line in text.splitlines():
    m = re.match(r"^ (\.\S+)\s*$", line)
    if m:  # a long section name stands on its own line, its size on the next
        pending = m.group(1)
        continue
    m = re.match(r"^ (\.\S+)?\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+(\S+)$", line)
    section = (m.group(1) or pending) if m else None
    pending = None
    if not m or not section or not re.match(r"\.(text|rodata|srodata|data|sdata)", section):
        continue
    if "libvigil.a(" in m.group(3):
        vigil += int(m.group(2), 16)
    elif re.search(r"/lib(c|c_nano|gcc)\.a\(", m.group(3)):
        libc += int(m.group(2), 16)
print(vigil, libc)
PY
}

# Worst-case stack of each entry point from the .ci files of one build, and
# the objects' relocations (read with the target's objdump) to tell tail
# calls from calls: a function that ends by jumping to another (ARM b.w,
# R_ARM_THM_JUMP*; RISC-V `tail`, an auipc not through ra) has released its
# frame before the callee makes its own, so that edge does not add the
# caller's frame. An edge with any real call site counts as a call.
stack_depths() {
  local objdump=$1; shift
  local build=$1; shift
  find "$build/agent" -name '*.obj' -exec "$objdump" -dr {} + > "$build/relocs.txt"
  /usr/bin/python3 - "$build" "$build/relocs.txt" "$@" <<'PY'
import re, sys
build, relocs, entries = sys.argv[1], sys.argv[2], sys.argv[3:]
import glob
frames, edges, dynamic = {}, {}, []
node_re = re.compile(r'node: \{ title: "([^"]*)" label: "([^"]*)"')
edge_re = re.compile(r'edge: \{ sourcename: "([^"]*)" targetname: "([^"]*)"')
for ci in glob.glob(build + "/agent/**/*.ci", recursive=True):
    for line in open(ci):
        m = node_re.search(line)
        if m:
            b = re.search(r"\\n(\d+) bytes \(([^)]*)\)", m.group(2))
            if b:
                frames[m.group(1)] = int(b.group(1))
                if "dynamic" in b.group(2):
                    dynamic.append(m.group(1))
            continue
        m = edge_re.search(line)
        if m:
            edges.setdefault(m.group(1), set()).add(m.group(2))
if dynamic:
    sys.exit("footprint: dynamic stack frames in " + ", ".join(dynamic))
def short(n):
    return n.rsplit(":", 1)[-1]

# (caller, callee) -> kinds of site seen: "call" and/or "tail".
sites = {}
fn = None
last_insn = ""
for line in open(relocs):
    m = re.match(r"^[0-9a-f]+ <([^>]+)>:", line)
    if m:
        if not m.group(1).startswith(".L"):   # RISC-V lists local labels too
            fn = m.group(1)
        continue
    m = re.match(r"^\s+[0-9a-f]+:\s+(R_\w+)\s+(\S+)", line)
    if m and fn:
        kind, target = m.group(1), m.group(2)
        if kind.startswith("R_ARM_THM_JUMP") or kind in ("R_ARM_JUMP24",):
            site = "tail"
        elif kind in ("R_ARM_THM_CALL", "R_ARM_CALL"):
            site = "call"
        elif kind in ("R_RISCV_CALL", "R_RISCV_CALL_PLT"):
            site = "call" if re.search(r"\bauipc\s+ra\b|\bjal\s", last_insn) else "tail"
        elif kind == "R_RISCV_JAL":
            site = "tail" if re.search(r"\bj\s", last_insn) else "call"
        else:
            continue
        sites.setdefault((fn, target), set()).add(site)
        continue
    if re.match(r"^\s+[0-9a-f]+:\s", line):
        last_insn = line

def is_tail(caller, callee):
    kinds = sites.get((short(caller), short(callee)))
    return kinds == {"tail"}

memo = {}
def depth(fn, path):
    if fn in path:
        sys.exit("footprint: recursion through " + " -> ".join(map(short, path + [fn])))
    if fn not in frames:                   # C library, builtin or indirect call
        return 0, [fn], {fn}
    if fn in memo:
        return memo[fn]
    best, best_path, unknown = frames[fn], [fn], set()
    for callee in sorted(edges.get(fn, ())):
        d, p, u = depth(callee, path + [fn])
        unknown |= u
        if is_tail(fn, callee):
            if d > best:
                best, best_path = d, ["%s(tail)" % fn] + p
        elif frames[fn] + d > best:
            best, best_path = frames[fn] + d, [fn] + p
    memo[fn] = (best, best_path, unknown)
    return memo[fn]
for entry in entries:
    if entry not in frames:
        sys.exit("footprint: no function %s in the call graph" % entry)
    d, p, unknown = depth(entry, [])
    def label(f):
        tail = f.endswith("(tail)")
        f = f[:-6] if tail else f
        return "%s(%d%s)" % (short(f), frames.get(f, 0), ", tail call" if tail else "")
    path = " > ".join(label(f) for f in p if f.replace("(tail)", "") in frames)
    ext = ", ".join(sorted(short(u).replace("__indirect_call", "function pointer")
                           for u in unknown)) or "none"
    print("%s %d %s | %s" % (entry, d, path, ext))
PY
}

status=0
for t in "${targets[@]}"; do
  IFS='|' read -r name toolchain args prefix <<< "$t"
  if ! command -v "${prefix}gcc" > /dev/null; then
    echo "# $name: ${prefix}gcc not found (make deps); skipped" >&2
    status=1
    continue
  fi
  echo "# $name: $("${prefix}gcc" --version | head -1), -Os (MinSizeRel) $args"
  for opts in "${opt_sets[@]}"; do
    dir=$work/$name-$opts
    mkdir -p "$dir"
    write_opts "$opts" > "$dir/footprint_opts.h"
    flags="-fstack-usage -fcallgraph-info=su"
    [ "$opts" = default ] || flags="$flags -DVIGIL_OPTS_FILE=\\\"$dir/footprint_opts.h\\\""
    # shellcheck disable=SC2086
    if ! cmake -S "$root" -B "$dir" -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchains/$toolchain" \
           $args -DVIGIL_HOST_TOOLS=OFF -DCMAKE_BUILD_TYPE=MinSizeRel \
           -DCMAKE_C_FLAGS="$flags" > "$dir/configure.log" 2>&1 ||
       ! cmake --build "$dir" --target vigil > "$dir/build.log" 2>&1; then
      echo "# $name $opts: build FAILED, see $dir/*.log:" >&2
      grep -E 'warning|error' "$dir"/*.log | head -10 >&2 || true
      status=1
      continue
    fi
    if grep -q 'warning' "$dir/build.log"; then
      echo "# $name $opts: the build has warnings:" >&2
      grep 'warning' "$dir/build.log" >&2
      status=1
    fi
    read -r flash data bss < <(archive_sizes "$prefix" "$dir/agent/libvigil.a")
    # sizeof(vigil_ctx_t) as the target's compiler sees it: the size of an
    # object of that type, read back from the symbol table.
    printf '#include "vigil.h"\nvigil_ctx_t footprint_ctx;\n' > "$dir/ctx_probe.c"
    cflags=$(sed -n 's/^C_FLAGS = //p' "$dir/agent/CMakeFiles/vigil.dir/flags.make")
    cdefs=$(sed -n 's/^C_DEFINES = //p' "$dir/agent/CMakeFiles/vigil.dir/flags.make")
    # shellcheck disable=SC2086
    eval "${prefix}gcc $cdefs $cflags -I'$root/agent/include' -c '$dir/ctx_probe.c' -o '$dir/ctx_probe.o'"
    ctx_hex=$("${prefix}nm" -S "$dir/ctx_probe.o" | awk '$4 == "footprint_ctx" { print $2 }')
    ctx=$((16#${ctx_hex:-0}))
    extra=
    case $prefix in arm-*) extra=--specs=nano.specs ;; esac
    read -r linked libc < <(link_sizes "$prefix" "$dir" "$extra")
    echo "BENCH flash_${name}_${opts} $flash bytes"
    echo "BENCH flash_linked_${name}_${opts} $linked bytes"
    [ "$opts" = default ] && echo "BENCH flash_libc_${name} $libc bytes"
    echo "BENCH ram_${name}_${opts} $((data + bss + ctx)) bytes"
    echo "BENCH ctx_${name}_${opts} $ctx bytes"
    if [ "$opts" = default ]; then
      while read -r entry depth rest; do
        case $entry in
          vigil_observe) key=stack_observe ;;
          vigil_observe_headers) key=stack_observe_headers ;;
          report_encode_part) key=stack_encode ;;
          vigil_poll) key=stack_poll ;;
        esac
        echo "BENCH ${key}_${name} $depth bytes"
        echo "#   $rest" | sed 's/ | / ; not counted: /'
      done < <(stack_depths "${prefix}objdump" "$dir" vigil_observe vigil_observe_headers report_encode_part vigil_poll)
    fi
  done
done
# The static bound beside a measurement: the qemu vector firmware paints the
# stack below each call and reports the deepest byte touched (Cortex-M3, every
# shared test vector, C library calls included).
if command -v arm-none-eabi-gcc > /dev/null && command -v qemu-system-arm > /dev/null; then
  fw=$work/qemu-firmware
  if cmake -S "$root/agent/port/baremetal" -B "$fw" -DCMAKE_BUILD_TYPE=MinSizeRel \
       -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchains/arm-none-eabi.cmake" \
       -DVIGIL_ARM_CPU=cortex-m3 > "$fw.log" 2>&1 &&
     cmake --build "$fw" >> "$fw.log" 2>&1 &&
     timeout 60 qemu-system-arm -M mps2-an385 -nographic -monitor none -serial none \
       -chardev file,id=semihost,path="$fw/out.txt" \
       -semihosting-config enable=on,target=native,chardev=semihost \
       -kernel "$fw/vector_firmware.elf" >> "$fw.log" 2>&1; then
    awk '$1 == "stack" && $2 == "vigil_observe" { print "BENCH stack_observe_measured_cortex_m3", $3, "bytes" }
         $1 == "stack" && $2 == "vigil_poll" { print "BENCH stack_poll_measured_cortex_m3", $3, "bytes" }' \
      "$fw/out.txt"
  else
    echo "# qemu firmware: build or run FAILED, see $fw.log" >&2
    status=1
  fi
fi
exit $status
