"""What the Python tests share (a script puts tests/ on sys.path and imports it):
running a command, compiling generated C with the flags its generator names, and
a registry of cases that each return their problems."""
import json
import os
import shutil
import subprocess
import sys


def run(cmd, ok=True, timeout=None, **kw):
    """Runs cmd with its output captured as text. ok: a non-zero exit prints the
    command and its output and ends the test (exit 1); else the result comes back
    whatever the exit, a timeout as exit -9 with "(timeout)" in stderr."""
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    except subprocess.TimeoutExpired:
        r = subprocess.CompletedProcess(cmd, -9, "", f"(killed after {timeout} s)\n(timeout)\n")
    if ok and r.returncode != 0:
        print("NOT OK: " + " ".join(cmd) + f" (exit {r.returncode})\n" + r.stdout + r.stderr)
        sys.exit(1)
    return r


def missing_tool(tools):
    """None when every tool is on PATH; else the exit status for the first missing
    one: 1 where CI is set (.ci/install-deps must install it), 77 (skipped) elsewhere."""
    for tool in tools:
        if not shutil.which(tool):
            if os.environ.get("CI"):
                print(f"NOT OK: {tool} not installed; in CI (CI is set) .ci/install-deps must install it")
                return 1
            print(f"SKIPPED: {tool} not installed (.ci/install-deps installs it)")
            return 77
    return None


def model_cflags(json_path):
    """The flags generated C is compiled with: OUT.json's cflags (optimization, the
    FP contraction that decides FMA numerics, the target's ISA)."""
    with open(json_path) as f:
        return json.load(f)["cflags"]


def compile_model(cc, sources, exe, json_path, flags=(), ok=True):
    """cc -std=c11 <OUT.json's cflags> flags sources -o exe -lm."""
    return run([cc, "-std=c11", *model_cflags(json_path), *flags, *sources, "-o", exe, "-lm"], ok=ok)


def one_line_error(r, code, *needles, what=""):
    """Problems with a refusal: exit `code`, one line on stderr, holding each needle."""
    lines = r.stderr.strip().splitlines()
    problems = []
    if r.returncode != code:
        problems.append(f"{what}exit {r.returncode}, want {code}")
    if len(lines) != 1:
        problems.append(f"{what}{len(lines)} stderr lines, want 1: {r.stderr!r}")
    for n in needles:
        if n not in r.stderr:
            problems.append(f"{what}stderr lacks {n!r}: {r.stderr.strip()!r}")
    return problems


class Cases:
    """A registry of test cases: `case = Cases()`, then `@case` on functions that
    return a list of problems (empty: OK), then `sys.exit(case.main())`."""

    def __init__(self):
        self.fns = []

    def __call__(self, fn):
        self.fns.append(fn)
        return fn

    def main(self, skip=()):
        """Runs every case not in skip, prints OK / NOT OK with the problems; the exit status."""
        unknown = set(skip) - {fn.__name__ for fn in self.fns}
        if unknown:
            print(f"NOT OK --skip names no case: {sorted(unknown)}")
            return 1
        cases = [fn for fn in self.fns if fn.__name__ not in skip]
        failed = 0
        for fn in cases:
            problems = fn()
            print(("NOT OK " if problems else "OK ") + fn.__name__ + "".join("\n  " + p for p in problems))
            failed += bool(problems)
        print(f"{len(cases) - failed} passed, {failed} failed")
        return 1 if failed else 0
