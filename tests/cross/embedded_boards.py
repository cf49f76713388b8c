#!/usr/bin/python3
"""The bare-metal example on an emulated board (label `cross`).

  embedded_boards.py LUCIDGEN BOARD       BOARD: m7 (MPS2 AN500) or m55 (MPS3 AN547)

Runs examples/embedded/run.sh, the one documented command, for one board: both
models (model.lua, resnet8.lua) in fp32 and int8, each generated with its
weights as a const array in flash, built with arm-none-eabi-gcc + newlib and
run under qemu-system-arm -icount shift=0. Requires of every run: the
self-test to PASS, an int8 model's max|diff| to be exactly 0 (its self-test
compares with the generator's integer replay, what x86 computes: bit-exact),
the stack the forward pass used to stay within NAME_STACK_BYTES, the timer
check to find SysTick ticks to be instructions and a count to be printed, an
int8 image to hold the core's dot product (smlad on the M7, vmladava on the
M55), the weights to sit in the board's flash, and the link map to hold no heap, no
stdio, no OpenMP and no double-precision library arithmetic; then the report.
Then the first model with --weights-format asm must assemble for the board's
core (32-bit ARM, where `@` starts a comment) into an aligned .rodata.lucidgen.
The int8/fp32 and M55/M7 ratio goals are printed by run.sh, not required here (they
depend on the device kernels). Without the toolchain or qemu it is skipped
(77), or fails where CI is set.
"""
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from harness import missing_tool, model_cflags, run  # noqa: E402
EXAMPLE = os.path.join(ROOT, "examples", "embedded")
FORBIDDEN = re.compile(r"\b(_?(malloc|free|calloc|realloc)(_r)?|_?\w*printf\w*|GOMP_\w+|omp_\w+|__aeabi_d\w+|"
                       r"__(add|sub|mul|div)df3)\b")
# board -> qemu machine, -mcpu, where its linker script puts the weights (flash: [start, end))
BOARDS = {
    "m7": ("mps2-an500", "cortex-m7", "flash", 0x00000000, 0x00400000),
    "m55": ("mps3-an547", "cortex-m55", "QSPI flash", 0x28000000, 0x28800000),
}
# the int8 dot product an int8 image must contain: the DSP extension's, Helium's
INT8_DOT = {"m7": "smlad", "m55": "vmladava"}
MODELS = ("model", "resnet8")
PRECISIONS = ("fp32", "int8")


def board_log_problems(log, precision):
    """What the board's console says went wrong, as sentences."""
    bad = []
    if "selftest: PASS" not in log:
        bad.append("the self-test did not pass")
    m = re.search(r"^max\|diff\| (\S+)$", log, re.M)
    if precision == "int8" and (not m or float(m.group(1)) != 0.0):
        bad.append(f"int8 max|diff| is {m.group(1) if m else 'missing'}, not exactly 0 (not bit-exact with x86)")
    used = re.search(r"^stack bytes used by the forward pass: (\d+)$", log, re.M)
    bound = re.search(r"^net_STACK_BYTES \(the generator's bound\): (\d+)$", log, re.M)
    if not used or not bound:
        bad.append("no stack measurement")
    elif int(used.group(1)) > int(bound.group(1)):
        bad.append(f"the forward pass used {used.group(1)} bytes of stack, over net_STACK_BYTES {bound.group(1)}")
    if "timer check: ok" not in log or not re.search(r"^instructions per inference \(emulated, not cycles\): \d+$",
                                                     log, re.M):
        bad.append("no instruction count (the timer check did not find SysTick ticks to be instructions)")
    return bad


def dot_problems(build, cpu, dot):
    """An int8 model must compile to the core's dot product (dot: its mnemonic). Read
    from the compiler's assembly: objdump 2.40 does not decode Helium instructions."""
    r = run(["arm-none-eabi-gcc", "-std=c11", *model_cflags(os.path.join(build, "net.json")), "-fopenmp-simd",
             "-mthumb", f"-mcpu={cpu}", "-mfloat-abi=hard", "-S", "-o", "-", os.path.join(build, "net.c")], ok=False)
    n = len(re.findall(rf"^\s+{dot}\S*\s", r.stdout, re.M))
    if n == 0:
        return [f"no {dot} in net.c's code for {cpu}: the int8 kernels do not use the core's dot product"]
    print(f"{os.path.basename(build)}: {n} {dot} in net.c's code for {cpu}")
    return []


def image_problems(build, lo, hi, where):
    """What the linked image gets wrong: weights outside flash, forbidden library calls."""
    bad = []
    elf = os.path.join(build, "app.elf")
    sizes = subprocess.run(["arm-none-eabi-size", "-A", elf], capture_output=True, text=True).stdout
    m = re.search(r"^\.weights\s+(\d+)\s+(\d+)$", sizes, re.M)
    blob = re.search(r"^#define net_BLOB_BYTES (\d+)u$", open(os.path.join(build, "net.h")).read(), re.M)
    if not m or not blob or int(m.group(1)) != int(blob.group(1)) or not lo <= int(m.group(2)) < hi:
        bad.append(f"the weights are not in {where}: .weights " + (f"{m.group(1)} bytes at {int(m.group(2)):#x}"
                                                                   if m else "missing"))
    mapfile = os.path.join(build, "app.map")
    text = open(mapfile).read() if os.path.exists(mapfile) else ""
    if not text:
        bad.append("no link map")
    # what the link pulled from libraries, and what the image defines
    pulled = text.split("Discarded input sections")[0]
    nm = subprocess.run(["arm-none-eabi-nm", elf], capture_output=True, text=True).stdout
    for what, t in (("the link map's archive members", pulled), ("the image's symbols", nm)):
        found = sorted(set(m.group(0) for m in FORBIDDEN.finditer(t)))
        if found:
            bad.append(f"{what} hold {', '.join(found)}")
    return bad


def asm_problems(lucidgen, work, cpu):
    """--weights-format asm must assemble for the core into an aligned .rodata.lucidgen."""
    asm = os.path.join(work, "asm")
    os.makedirs(asm)
    r = subprocess.run([lucidgen, "--config", os.path.join(EXAMPLE, "model.lua"), "--random-init", "--target",
                        "cortex-m", "--weights-format", "asm", "--name", "net", "--quiet", "-o",
                        os.path.join(asm, "net.c")], capture_output=True, text=True)
    obj = os.path.join(asm, "net_weights.o")
    r = r.returncode == 0 and subprocess.run(["arm-none-eabi-gcc", f"-mcpu={cpu}", "-mthumb", "-c", "-Wa,-I" + asm,
                                              os.path.join(asm, "net_weights.S"), "-o", obj],
                                             capture_output=True, text=True)
    sections = r and r.returncode == 0 and subprocess.run(["arm-none-eabi-objdump", "-h", obj], capture_output=True,
                                                          text=True).stdout
    if not sections or not re.search(r"\.rodata\.lucidgen\s+0*(\w+) .* 2\*\*6", sections):
        return [f"--weights-format asm does not assemble for {cpu} into an aligned .rodata.lucidgen"
                + (f": {r.stderr}" if r and r.returncode else "")]
    print(f"--weights-format asm assembles for {cpu}: .rodata.lucidgen, 64-byte aligned")
    return []


def main():
    lucidgen, board = sys.argv[1], sys.argv[2]
    machine, cpu, where, lo, hi = BOARDS[board]
    missing = missing_tool(("arm-none-eabi-gcc", "qemu-system-arm"))
    if missing is not None:
        return missing
    bad = []
    with tempfile.TemporaryDirectory() as work:
        r = subprocess.run([os.path.join(EXAMPLE, "run.sh"), lucidgen, work, board], capture_output=True, text=True,
                           timeout=1200)
        print(r.stdout + r.stderr, end="")
        if r.returncode != 0:
            bad.append(f"run.sh exited {r.returncode}")
        report = r.stdout[r.stdout.find("\n== report: "):]
        if len(re.findall(r"^  (flash: weights|RAM: arena|instructions per inference) .* \d+\.\d\d", report,
                          re.M)) != 3 * len(MODELS):
            bad.append("no memory and instruction report with int8/fp32 ratios for both models")
        for model in MODELS:
            for precision in PRECISIONS:
                build = os.path.join(work, board, f"{model}-{precision}")
                log_path = os.path.join(build, "board.log")
                if not os.path.exists(log_path):
                    bad.append(f"{model}.lua {precision}: not built or not run")
                    continue
                problems = (board_log_problems(open(log_path).read(), precision)
                            + image_problems(build, lo, hi, where)
                            + (dot_problems(build, cpu, INT8_DOT[board]) if precision == "int8" else []))
                print(f"{'NOT OK' if problems else 'OK'} {machine} {model}.lua {precision}"
                      + (": " + "; ".join(problems) if problems else ""))
                bad += [f"{model}.lua {precision}: {p}" for p in problems]
        bad += asm_problems(lucidgen, work, cpu)
    if bad:
        print(f"NOT OK {machine}: " + "; ".join(bad))
        return 1
    print(f"OK {machine}: both models in fp32 and int8 ran from flash with a static arena, passed their self-tests "
          "(int8 bit-exact with x86), stayed within net_STACK_BYTES and counted their instructions; "
          "no malloc/free/printf/OpenMP/double arithmetic linked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
