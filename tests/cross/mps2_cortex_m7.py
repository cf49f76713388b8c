#!/usr/bin/python3
"""The bare-metal example on an emulated Cortex-M7 (label `cross`).

  mps2_cortex_m7.py LUCIDGEN

Runs examples/embedded/run.sh, the one documented command: generate the model
for --target cortex-m with its weights as a const array in flash, build it with
arm-none-eabi-gcc + newlib for the MPS2 AN500 board, print the flash/RAM report
and run it under qemu-system-arm. Requires the board's self-test to PASS (exit
0), the stack the forward pass used to stay within NAME_STACK_BYTES, the weights
to sit in flash, and the link map to hold no heap, no stdio, no OpenMP and no
double-precision library arithmetic (the FPU is single precision). Then the
same model with --weights-format asm must assemble for 32-bit ARM (where `@`
starts a comment) into an aligned .rodata.lucidgen. Without the toolchain or
qemu it is skipped (77), or fails where CI is set.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FORBIDDEN = re.compile(r"\b(_?(malloc|free|calloc|realloc)(_r)?|_?\w*printf\w*|GOMP_\w+|omp_\w+|__aeabi_d\w+|"
                       r"__(add|sub|mul|div)df3)\b")


def main():
    lucidgen = sys.argv[1]
    for tool in ("arm-none-eabi-gcc", "qemu-system-arm"):
        if not shutil.which(tool):
            if os.environ.get("CI"):
                print(f"NOT OK: {tool} not installed; in CI (CI is set) .ci/install-deps must install it")
                return 1
            print(f"SKIPPED: {tool} not installed (.ci/install-deps installs it)")
            return 77
    with tempfile.TemporaryDirectory() as work:
        r = subprocess.run([os.path.join(ROOT, "examples", "embedded", "run.sh"), lucidgen, work],
                           capture_output=True, text=True, timeout=600)
        print(r.stdout + r.stderr, end="")
        bad = []
        if r.returncode != 0 or "selftest: PASS" not in r.stdout:
            bad.append(f"the board did not pass its self-test (exit {r.returncode})")
        if not re.search(r"^flash \d+ bytes, RAM \d+ bytes$", r.stdout, re.M):
            bad.append("no flash/RAM report")
        m = re.search(r"^\.weights\s+(\d+)\s+(\d+)$", r.stdout, re.M)
        if not m or int(m.group(2)) >= 0x20000000 or int(m.group(1)) == 0:
            bad.append("the weights are not in flash")
        mapfile = os.path.join(work, "app.map")
        text = open(mapfile).read() if os.path.exists(mapfile) else ""
        # what the link pulled from libraries, and what the image defines
        pulled = text.split("Discarded input sections")[0]
        nm = subprocess.run(["arm-none-eabi-nm", os.path.join(work, "app.elf")], capture_output=True, text=True).stdout
        for where, t in (("the link map's archive members", pulled), ("the image's symbols", nm)):
            found = sorted(set(m.group(0) for m in FORBIDDEN.finditer(t)))
            if found:
                bad.append(f"{where} hold {', '.join(found)}")
        if not text:
            bad.append("no link map")
        asm = os.path.join(work, "asm")
        os.makedirs(asm)
        r = subprocess.run([lucidgen, "--config", os.path.join(ROOT, "examples", "embedded", "model.lua"),
                            "--random-init", "--target", "cortex-m", "--weights-format", "asm", "--name", "net",
                            "--quiet", "-o", os.path.join(asm, "net.c")], capture_output=True, text=True)
        obj = os.path.join(asm, "net_weights.o")
        r = r.returncode == 0 and subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m7", "-mthumb", "-c", "-Wa,-I" + asm,
                                                  os.path.join(asm, "net_weights.S"), "-o", obj],
                                                 capture_output=True, text=True)
        sections = r and r.returncode == 0 and subprocess.run(["arm-none-eabi-objdump", "-h", obj], capture_output=True,
                                                              text=True).stdout
        if not sections or not re.search(r"\.rodata\.lucidgen\s+0*(\w+) .* 2\*\*6", sections):
            bad.append("--weights-format asm does not assemble for 32-bit ARM into an aligned .rodata.lucidgen"
                       + (f": {r.stderr}" if r and r.returncode else ""))
        else:
            print("--weights-format asm assembles for Cortex-M7: .rodata.lucidgen, 64-byte aligned")
    if bad:
        print("NOT OK mps2-an500: " + "; ".join(bad))
        return 1
    print("OK mps2-an500: a Cortex-M7 ran the model from flash with a static arena and passed its self-test; "
          "no malloc/free/printf/OpenMP/double arithmetic linked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
