#!/usr/bin/python3
"""Builds this tree a second way in a sub-build and runs tests there, so CI
exercises more than the configuration it was given.

  subbuild.py clang    SRC BUILD LUCIDGEN
      configure with clang, build the C unit tests, run them; then have the
      given lucidgen build a classifier with CC=clang for --target avx512
      (clang 14 once crashed compiling runtime/lg_labels.c for it) and run
      its self-test when this CPU has AVX-512.
  subbuild.py sanitize SRC BUILD
      configure with -DLUCIDGEN_SANITIZE=ON (ASan + UBSan, same compiler as
      the parent), build lucidgen and the C tests, run a subset that stays in
      the CI budget: the C unit tests, the hub client's fetch tests, the CLI
      fetch path, one parity case, and the CLI tests (without the one that
      only checks registry facts of three big models, 100+ s under ASan).

BUILD is kept between runs (incremental). Prints OK / NOT OK per step and
"N passed, N failed".
"""
import os
import subprocess
import sys
import tempfile

C_UNIT_TARGETS = ["test_preprocess", "unit_safetensors", "unit_json", "lg_sha256_vectors"]
C_UNIT_TESTS = r"^(unit_preprocess|unit_safetensors|unit_json|fetch\.sha256_matches_fips_vectors)$"
SANITIZE_TESTS = (C_UNIT_TESTS[:-2] + r"|fetch\..*|parity_resnet18_tiny_5x3_input)$")
SANITIZE_EXCLUDE = r"^fetch\.cli_(offline|unknown|unreachable|leaves)"  # same code paths as the ones kept
CLI_SKIP = ["bit_distilled_and_teacher_tags_resolve_to_their_architectures"]

steps = []


def step(name, cmd, env=None, timeout=900):
    """Runs cmd; records and prints OK / NOT OK with the tail of its output."""
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
        ok, out = r.returncode == 0, r.stdout + r.stderr
    except subprocess.TimeoutExpired as e:
        ok, out = False, f"timed out after {timeout} s\n{e.stdout or ''}{e.stderr or ''}"
    steps.append(ok)
    print(("OK     " if ok else "NOT OK ") + name, flush=True)
    if not ok:
        print("  " + "\n  ".join(out.strip().splitlines()[-40:]), flush=True)
    return ok


def configure_and_build(src, build, cmake_args, targets):
    return (step("configure " + " ".join(cmake_args),
                 ["cmake", "-S", src, "-B", build, "-DCMAKE_BUILD_TYPE=Release"] + cmake_args) and
            step("build " + " ".join(targets), ["cmake", "--build", build, "-j2", "--target"] + targets))


def ctest(build, regex, exclude=None):
    cmd = ["ctest", "--test-dir", build, "-R", regex, "-j2", "--output-on-failure"]
    return step(f"ctest -R '{regex}'" + (f" -E '{exclude}'" if exclude else ""),
                cmd + (["-E", exclude] if exclude else []))


def clang(src, build, lucidgen):
    if configure_and_build(src, build, ["-DCMAKE_C_COMPILER=clang"], C_UNIT_TARGETS):
        ctest(build, C_UNIT_TESTS)
    with tempfile.TemporaryDirectory() as d:
        exe = os.path.join(d, "classifier")
        built = step("CC=clang lucidgen build --target avx512",
                     [lucidgen, "build", "resnet18_a1_in1k", "--random-init", "--size", "32", "--target", "avx512",
                      "--quiet", "-o", exe], env=dict(os.environ, CC="clang"))
        if built and "avx512f" in open("/proc/cpuinfo").read():
            step("the avx512 classifier's self-test", [exe, "--selftest"])


def sanitize(src, build):
    targets = ["lucidgen", "lg_hub_client", "lg_preprocess_dump"] + C_UNIT_TARGETS
    compiler = os.environ.get("LG_PARENT_C_COMPILER")
    args = ["-DLUCIDGEN_SANITIZE=ON"] + ([f"-DCMAKE_C_COMPILER={compiler}"] if compiler else [])
    if not configure_and_build(src, build, args, targets):
        return
    ctest(build, SANITIZE_TESTS, SANITIZE_EXCLUDE)
    cli = [sys.executable, os.path.join(src, "tests", "unit", "test_cli.py"), os.path.join(build, "lucidgen")]
    step("test_cli.py with the sanitized lucidgen", cli + [a for c in CLI_SKIP for a in ("--skip", c)])


def main():
    mode, src, build = sys.argv[1], os.path.abspath(sys.argv[2]), os.path.abspath(sys.argv[3])
    if mode == "clang":
        clang(src, build, sys.argv[4])
    elif mode == "sanitize":
        sanitize(src, build)
    else:
        print(__doc__)
        return 2
    failed = steps.count(False)
    print(f"{len(steps) - failed} passed, {failed} failed")
    return 1 if failed or not steps else 0


if __name__ == "__main__":
    sys.exit(main())
