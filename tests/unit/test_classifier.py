#!/usr/bin/python3
"""A classifier built by `lucidgen build` against what a user hands it:
FIFOs, devices and oversized files as inputs, thread counts past the
machine, weights that are damaged, temporaries someone planted a symlink at,
and signals. One small model (a config of a few layers, 32x32) is built
once; each case is named after the behaviour it pins and prints what
differs.

  test_classifier.py LUCIDGEN [--skip CASE]...
"""
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import harness  # noqa: E402
from harness import one_line_error  # noqa: E402

LUCIDGEN = sys.argv[1]
SKIP = {sys.argv[i + 1] for i in range(2, len(sys.argv) - 1) if sys.argv[i] == "--skip"}
case = harness.Cases()
D = tempfile.mkdtemp(prefix="lg_classifier_")
EXE = os.path.join(D, "net")
IMAGE = os.path.join(D, "a.ppm")


def run(*args, timeout=120, env=None, cwd=None):
    return harness.run([EXE, *args], ok=False, timeout=timeout, env=env, cwd=cwd)


def path(*parts):
    return os.path.join(D, *parts)


@case
def fifos_given_as_inputs_are_refused_without_blocking():
    os.makedirs(path("fifoset", "0"))
    with open(path("fifoset", "0", "a.ppm"), "wb") as f:
        f.write(open(IMAGE, "rb").read())
    for p in ("in.png", "w.bin", "list.csv", "raw.f32", os.path.join("fifoset", "0", "b.png")):
        os.mkfifo(path(p))
    problems = []
    for args in (["in.png"], ["--weights", "w.bin", IMAGE], ["--eval-list", "list.csv"], ["--eval", "fifoset"],
                 ["--input-raw", "raw.f32"]):
        r = run(*[path(a) if not a.startswith("-") and a != IMAGE else a for a in args], timeout=20)
        problems += one_line_error(r, 2, "not a regular file", what=f"{' '.join(args)}: ")
    return problems


@case
def threads_past_four_per_processor_are_refused():
    cores = os.cpu_count()
    problems = one_line_error(run("--threads", "100000", IMAGE), 2, "--threads 100000", str(4 * cores))
    problems += one_line_error(run(IMAGE, env=dict(os.environ, OMP_NUM_THREADS="100000")), 2, "OMP_NUM_THREADS",
                               str(4 * cores))
    r = run("--threads", str(4 * cores), IMAGE)
    return problems + ([] if r.returncode == 0 else [f"--threads {4 * cores}: exit {r.returncode}: {r.stderr}"])


def max_rss_mib(cmd):
    """Exit code and peak resident memory (MiB) of cmd, run in a process of its own."""
    probe = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True); "
             "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)")
    out = subprocess.run([sys.executable, "-c", probe] + cmd, capture_output=True, text=True, timeout=300).stdout
    code, mib = out.split()
    return int(code), int(mib)


@case
def refused_image_files_cost_neither_reading_nor_memory():
    big = path("big.png")
    with open(big, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
    os.truncate(big, 300 << 20)  # sparse: no disk
    problems = one_line_error(run(big), 2, "big.png", "larger than 256 MiB")
    problems += one_line_error(run("/dev/zero"), 2, "/dev/zero", "not a regular file")
    os.makedirs(path("zeros", "0"))
    for i in range(8):
        os.symlink("/dev/zero", path("zeros", "0", f"z{i}.jpg"))
    code, mib = max_rss_mib([EXE, "--eval", path("zeros")])
    if code != 2 or mib > 100:
        problems.append(f"--eval over links to /dev/zero: exit {code}, peak memory {mib} MiB (want exit 2, < 100 MiB)")
    return problems


def tampered_blob(name, offset, data):
    blob = bytearray(open(EXE + ".bin", "rb").read())
    blob[offset:offset + len(data)] = data
    p = path(name)
    with open(p, "wb") as f:
        f.write(blob)
    return p, len(blob)


@case
def nan_weights_are_an_error_naming_the_blob_not_a_nan_probability():
    size = os.path.getsize(EXE + ".bin")
    bad, _ = tampered_blob("nan.bin", 512, b"\xff\xff\xff\x7f" * ((size - 512) // 4))
    problems = []
    for extra in ([], ["--output-raw", path("rows.f32")]):
        r = run("--weights", bad, IMAGE, *extra)
        problems += one_line_error(r, 2, "nan.bin", "a.ppm", "not finite", "--verify", what=f"{extra}: ")
        if "nan" in r.stdout.lower():
            problems.append(f"{extra}: printed {r.stdout.strip()!r}")
    if os.path.exists(path("rows.f32")):
        problems.append("--output-raw wrote rows of NaN")
    return problems


@case
def damaged_blob_header_fields_are_named_as_such():
    problems = []
    bad, size = tampered_blob("hdr.bin", 12, b"\0\0\0\0")  # the header-size field
    r = run("--weights", bad, IMAGE)
    problems += one_line_error(r, 2, "hdr.bin", "damaged header", "header size 0")
    bad, _ = tampered_blob("bom.bin", 288, b"\0\0\0\0")  # the byte-order mark
    r = run("--weights", bad, IMAGE)
    problems += one_line_error(r, 2, "bom.bin", "byte-order mark")
    return problems + ([f"a zeroed mark read as the other byte order: {r.stderr.strip()}"] if "endian" in r.stderr
                       else [])


@case
def a_repeated_option_or_images_beside_input_raw_are_refused():
    """Both were dropped silently: the last --output-raw (or --weights, --topk)
    won, and the images given with --input-raw were never classified."""
    with open(path("zeros.f32"), "wb") as f:
        f.write(bytes(4 * 3 * 32 * 32))
    problems = []
    for args, needles in (((*("--output-raw", path("o1.f32")), "--output-raw", path("o2.f32"), IMAGE),
                           ("--output-raw is given twice",)),
                          (("--weights", EXE + ".bin", "--weights", EXE + ".bin", IMAGE), ("--weights is given twice",)),
                          (("--topk", "3", "--topk", "2", IMAGE), ("--topk is given twice",)),
                          (("--input-raw", path("zeros.f32"), IMAGE), ("--input-raw", IMAGE))):
        problems += one_line_error(run(*args), 2, *needles, what=f"{' '.join(args[:4])}: ")
    written = [n for n in ("o1.f32", "o2.f32") if os.path.exists(path(n))]
    return problems + ([f"written anyway: {written}"] if written else [])


@case
def a_mode_that_runs_alone_refuses_what_it_would_ignore():
    """--peak, --selftest and --profile ran and dropped the rest silently: `--peak
    a.ppm` never read a.ppm, `--profile 2 --output-raw F` wrote no F; an
    --output-raw or --debug-dump with nothing to classify wrote nothing either."""
    zeros = path("zeros.f32")
    with open(zeros, "wb") as f:
        f.write(bytes(4 * 3 * 32 * 32))
    out, dump = path("never.f32"), path("never_dump")
    problems = []
    for args, needles in ((("--peak", IMAGE), ("--peak runs alone", IMAGE)),
                          (("--peak", "--bench", "2"), ("--peak runs alone", "--bench")),
                          (("--selftest", IMAGE), ("--selftest runs alone", IMAGE)),
                          (("--selftest", "--input-raw", zeros), ("--selftest runs alone", "--input-raw")),
                          (("--selftest", "--profile", "2"), ("--selftest runs alone", "--profile")),
                          (("--profile", "2", IMAGE), ("--profile", IMAGE)),
                          (("--profile", "2", "--input-raw", zeros, "--output-raw", out), ("--profile", "--output-raw")),
                          (("--profile", "2", "--bench", "2"), ("--profile", "--bench")),
                          (("--bench", "2", "--output-raw", out), ("--output-raw", "--input-raw")),
                          (("--debug-dump", dump), ("--debug-dump", "--input-raw")),
                          (("--bench", "99999999999"), ("--bench", "1 to 1000000")),
                          (("--eval", path("."), "--profile", "2"), ("--eval runs alone", "--profile")),
                          (("--eval", path("."), IMAGE), ("--eval runs alone", IMAGE))):
        problems += one_line_error(run(*args), 2, *needles, what=f"{' '.join(args)}: ")
    written = [p for p in (out, dump) if os.path.exists(p)]
    for args in (("--selftest", "--verify"), ("--profile", "1", "--input-raw", zeros), ("--bench", "1", IMAGE)):
        r = run(*args)
        if r.returncode != 0:
            problems.append(f"{' '.join(args)}: exit {r.returncode}: {r.stderr.strip()}")
    return problems + ([f"written anyway: {written}"] if written else [])


@case
def an_unwritable_eval_report_fails_before_the_run_and_a_failed_run_writes_none():
    """The report was opened after every image had been run: a directory or a
    missing folder as --eval-report cost a whole evaluation before failing."""
    problems = []
    for report in (path("set"), path("nowhere", "r.json")):
        r = run("--eval", path("set"), "--eval-report", report)
        problems += one_line_error(r, 2, "cannot write report", report, what=f"{report}: ")
        if "top-1" in r.stdout:
            problems.append(f"{report}: the evaluation ran before the report failed: {r.stdout.strip()!r}")
    os.makedirs(path("badset", "0"))
    with open(path("badset", "0", "a.ppm"), "wb") as f:
        f.write(open(IMAGE, "rb").read())
    with open(path("badset", "0", "b.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n not a png")
    r = run("--eval", path("badset"), "--eval-report", path("bad.json"))
    problems += one_line_error(r, 2, "b.png", what="a set with a broken image: ")
    left = [n for n in os.listdir(D) if n.startswith("bad.json")]
    return problems + ([f"a failed run left {left}"] if left else [])


@case
def a_symlink_planted_at_a_temporary_name_is_not_followed():
    """The temporary of --eval-report and --output-raw was OUT.tmp.PID, opened
    with fopen("wb"): `sh -c 'ln -s VICTIM OUT.tmp.$$; exec EXE ...'` plants
    the link under the PID the classifier then runs as."""
    problems = []
    victim = path("victim.txt")
    for opt, out, rest in (("--eval-report", path("report.json"), ["--eval", path("set")]),
                           ("--output-raw", path("rows.f32"), [IMAGE])):
        with open(victim, "w") as f:
            f.write("precious\n")
        cmd = ["sh", "-c", 'ln -s "$1" "$2.tmp.$$" && shift 2 && exec "$@"', "sh", victim, out, EXE, opt, out] + rest
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            problems.append(f"{opt}: exit {r.returncode}: {r.stderr.strip()}")
        if open(victim, "rb").read() != b"precious\n":
            problems.append(f"{opt}: the write went through the planted symlink into {victim}")
        if not os.path.isfile(out) or os.path.islink(out):
            problems.append(f"{opt}: {out} is not a regular file")
        for name in os.listdir(D):
            if name.startswith(os.path.basename(out) + ".tmp."):
                os.remove(path(name))
    return problems


@case
def a_signal_leaves_no_output_raw_temporary():
    images = ["a.ppm"] * 20000  # a run long enough to be interrupted
    rows = path("interrupted.f32")
    proc = subprocess.Popen([EXE, "--threads", "1", "--output-raw", rows] + images, cwd=D, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    tmp = []
    deadline = time.time() + 60
    while not tmp and proc.poll() is None and time.time() < deadline:
        tmp = [n for n in os.listdir(D) if n.startswith("interrupted.f32.tmp.")]
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    left = sorted(n for n in os.listdir(D) if n.startswith("interrupted.f32"))
    problems = [] if tmp else ["no temporary appeared before the run ended"]
    if proc.returncode != -signal.SIGTERM:
        problems.append(f"exit {proc.returncode}, want death by SIGTERM ({-signal.SIGTERM})")
    return problems + ([f"left behind: {left}"] if left else [])


def main():
    try:
        cfg = path("tiny.lua")
        with open(cfg, "w") as f:
            f.write("return { block = 'basic', layers = {1, 1, 1, 1}, channels = {8, 8, 8, 8}, name = 'tiny' }\n")
        r = subprocess.run([LUCIDGEN, "build", "--config", cfg, "--random-init", "--size", "32", "--quiet", "-o", EXE],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print(f"NOT OK build: exit {r.returncode}: {r.stderr}")
            return 1
        with open(IMAGE, "wb") as f:
            f.write(b"P6 4 3 255\n" + bytes(range(36)))
        os.makedirs(path("set", "0"))
        with open(path("set", "0", "a.ppm"), "wb") as f:
            f.write(open(IMAGE, "rb").read())
        return case.main(skip=SKIP)
    finally:
        subprocess.run(["rm", "-rf", D])


if __name__ == "__main__":
    sys.exit(main())
