#!/usr/bin/python3
"""The CMake package's build-time generation, driven through real projects.

  regenerate LUCIDGEN SOURCE_DIR GENERATOR
      a project with two models (lucidgen_add_model, add_subdirectory of the
      source tree) builds both in parallel; a second build generates nothing;
      touching the lucidgen binary regenerates both, touching the weights file
      only the model that reads it, changing an option only the model that has
      it, and configuring again with the same options nothing.
  cross-host LUCIDGEN SOURCE_DIR
      a project configured with a toolchain file (CMAKE_CROSSCOMPILING) and the
      source tree: lucidgen is not built, LUCIDGEN_EXECUTABLE generates, a model
      without TARGET is refused at configure time, the classifier's code gets
      the target's ISA flags (avx2) and, its blob embedded, passes its
      self-test.
  cross-aarch64 BUILD_DIR
      lucidgen installed for this host, a project cross-compiled for aarch64
      (aarch64-linux-gnu-gcc): the package's lucidgen generates on the host,
      the model (TARGET generic, EMBED_WEIGHTS) is compiled for aarch64 and
      passes its self-test under qemu-aarch64. Skipped (77) without that toolchain.
"""
import json
import os
import re
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "parity"))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from harness import run  # noqa: E402


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def regenerated(build_output):
    return sorted(set(re.findall(r"lucidgen: generating (\w+) \(", build_output)))


def regenerate(lucidgen, source_dir, generator):
    import torch
    import ref_convnext
    import safetensors_io

    with tempfile.TemporaryDirectory() as d:
        # A copy of lucidgen, so touching it leaves the real build alone.
        gen = os.path.join(d, "bin", "lucidgen")
        os.makedirs(os.path.dirname(gen))
        shutil.copy2(lucidgen, gen)
        info = json.loads(run([gen, "info", "convnext_atto_d2_in1k", "--json"]).stdout)
        weights = os.path.join(d, "app", "a.safetensors")
        os.makedirs(os.path.dirname(weights))
        safetensors_io.save(ref_convnext.init_state(info["config"], 1000, 3, torch.Generator().manual_seed(0)), weights)
        write(os.path.join(d, "app", "CMakeLists.txt"), f"""
cmake_minimum_required(VERSION 3.20)
project(regenerate C)
add_subdirectory({source_dir} lucidgen EXCLUDE_FROM_ALL)
set(B_SIZE 64 CACHE STRING "input size of model b")
lucidgen_add_model(a VARIANT convnext_atto_d2_in1k WEIGHTS a.safetensors SIZE 64 TARGET generic)
lucidgen_add_model(b VARIANT convnextv2_atto_fcmae_ft_in1k RANDOM_INIT 0 SIZE ${{B_SIZE}} TARGET generic)
""")
        build = os.path.join(d, "build")
        report = {m: os.path.join(build, "lucidgen", m, m + ".json") for m in ("a", "b")}

        def configure(*extra):
            run(["cmake", "-S", os.path.join(d, "app"), "-B", build, "-G", generator, f"-DLUCIDGEN_EXECUTABLE={gen}"]
                + list(extra))

        def step(what, want):
            before = {m: os.stat(p).st_mtime_ns if os.path.exists(p) else 0 for m, p in report.items()}
            r = run(["cmake", "--build", build, "-j2"])
            got = regenerated(r.stdout)
            rewritten = sorted(m for m, p in report.items() if os.stat(p).st_mtime_ns != before[m])
            ok = got == want and rewritten == want
            print(f"{'OK' if ok else 'NOT OK'} {generator}: {what}: regenerated {got or 'nothing'} "
                  f"(reports rewritten: {rewritten or 'none'}; expected {want or 'nothing'})")
            if not ok:
                print(r.stdout)
            time.sleep(1.1)  # later touches get a later time stamp, whatever the file system's resolution
            return ok

        def touch(path):
            os.utime(path)

        configure()
        results = [step("first build (two models, -j2)", ["a", "b"]),
                   step("second build", [])]
        touch(gen)
        results.append(step("lucidgen touched", ["a", "b"]))
        touch(weights)
        results.append(step("a's weights touched", ["a"]))
        configure("-DB_SIZE=72")
        results.append(step("b's SIZE changed", ["b"]))
        configure("-DB_SIZE=72")
        results.append(step("configured again, same options", []))
        return 0 if all(results) else 1


def cross_host(lucidgen, source_dir):
    with tempfile.TemporaryDirectory() as d:
        toolchain = os.path.join(d, "toolchain.cmake")
        write(toolchain, "set(CMAKE_SYSTEM_NAME Linux)\nset(CMAKE_SYSTEM_PROCESSOR x86_64)\n"
                         "set(CMAKE_C_COMPILER cc)\n")
        app = os.path.join(d, "app")

        def project(target_line, seed="RANDOM_INIT 0"):
            write(os.path.join(app, "CMakeLists.txt"), f"""
cmake_minimum_required(VERSION 3.20)
project(cross C)
add_subdirectory({source_dir} lucidgen)
lucidgen_add_classifier(cls VARIANT resnet18_a1_in1k {seed} SIZE 64 EMBED_WEIGHTS {target_line})
""")
        build = os.path.join(d, "build")
        base = ["cmake", "-S", app, "-B", build, f"-DCMAKE_TOOLCHAIN_FILE={toolchain}",
                "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON"]
        checks = []
        project("TARGET avx2 OPTIONS -o /tmp/elsewhere.c")
        r = run(base + [f"-DLUCIDGEN_EXECUTABLE={lucidgen}"], ok=False)
        checks.append(("OPTIONS -o is refused at configure time", r.returncode != 0 and "OPTIONS -o" in r.stderr,
                       r.stderr.strip()[-300:]))
        shutil.rmtree(build)
        project("TARGET avx2", seed="RANDOM_INIT")
        r = run(base + [f"-DLUCIDGEN_EXECUTABLE={lucidgen}"], ok=False)
        options = os.path.join(build, "lucidgen", "cls_model", "cls_model.options")
        recorded = open(options).read() if os.path.exists(options) else ""
        checks.append(("RANDOM_INIT without a seed is seed 0, as --random-init",
                       r.returncode == 0 and "--random-init=0" in recorded, r.stderr.strip()[-300:] + recorded))
        shutil.rmtree(build)
        project("")
        r = run(base + [f"-DLUCIDGEN_EXECUTABLE={lucidgen}"], ok=False)
        checks.append(("a model without TARGET is refused", r.returncode != 0 and "cross-compiling, so give TARGET" in r.stderr,
                       r.stderr.strip()[-300:]))
        shutil.rmtree(build)
        project("TARGET avx2")
        r = run(base, ok=False)
        checks.append(("no LUCIDGEN_EXECUTABLE: configure says what to set",
                       r.returncode != 0 and "set LUCIDGEN_EXECUTABLE" in r.stderr, r.stderr.strip()[-300:]))
        shutil.rmtree(build)
        run(base + [f"-DLUCIDGEN_EXECUTABLE={lucidgen}"])
        r = run(["cmake", "--build", build, "-j2"])
        checks.append(("the generator is not built", not os.path.exists(os.path.join(build, "lucidgen", "lucidgen")),
                       "found build/lucidgen/lucidgen"))
        cflags = open(os.path.join(build, "lucidgen", "cls_model", "cls_model.cflags")).read().split()
        checks.append(("the model's response file holds avx2's flags", cflags == ["-O3", "-ffp-contract=fast", "-mavx2", "-mfma", "-mf16c"], str(cflags)))
        commands = json.load(open(os.path.join(build, "compile_commands.json")))
        using = sorted(os.path.basename(c["file"]) for c in commands if "cls_model.cflags" in c["command"])
        checks.append(("the model library and the classifier main compile with them",
                       using == ["cls_lg_classifier.c", "cls_lg_profile.c", "cls_model.c", "cls_model_blob.c", "cls_model_data.c"], str(using)))
        r = run([os.path.join(build, "cls"), "--selftest"], ok=False, cwd="/")
        checks.append(("the classifier, blob embedded, passes its self-test",
                       r.returncode == 0 and not os.path.exists(os.path.join(build, "cls.bin")), r.stdout + r.stderr))
        for what, ok, detail in checks:
            print(f"{'OK' if ok else 'NOT OK'} cross-host: {what}" + ("" if ok else f": {detail}"))
        return 0 if all(ok for _, ok, _ in checks) else 1


def cross_aarch64(build_dir):
    cc, qemu = shutil.which("aarch64-linux-gnu-gcc"), shutil.which("qemu-aarch64")
    if not cc or not qemu:
        print("SKIPPED: needs aarch64-linux-gnu-gcc and qemu-aarch64 (Debian gcc-aarch64-linux-gnu, qemu-user)")
        return 77
    with tempfile.TemporaryDirectory() as d:
        prefix = os.path.join(d, "host")
        run(["cmake", "--install", build_dir, "--prefix", prefix])
        write(os.path.join(d, "toolchain.cmake"), """
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
""")
        # The model only: the host package's runtime library is built for the host.
        write(os.path.join(d, "app", "CMakeLists.txt"), """
cmake_minimum_required(VERSION 3.20)
project(aarch64_app C)
find_package(lucidgen CONFIG REQUIRED)
lucidgen_add_model(net VARIANT resnet18_a1_in1k RANDOM_INIT 0 SIZE 64 TARGET generic EMBED_WEIGHTS)
add_executable(selftest selftest.c)
target_link_libraries(selftest PRIVATE net)
""")
        write(os.path.join(d, "app", "selftest.c"), """
#include "net.h"
#include <stdio.h>
#include <stdlib.h>
/* the blob the library embeds (EMBED_WEIGHTS); its payload starts after the 512-byte header */
extern const unsigned char net_embedded_blob[], net_embedded_blob_end[];
int main(void) {
  if (net_embedded_blob_end - net_embedded_blob != net_BLOB_BYTES) return 2;
  float *out = malloc(sizeof(float) * net_OUT_FLOATS), err, mag;
  int rc = net_selftest(aligned_alloc(64, (net_ARENA_BYTES + 63) / 64 * 64), net_embedded_blob + 512, out, &err, &mag);
  printf("selftest %s: %s, max|diff| %.3g\\n", net_VARIANT, rc ? "FAIL" : "PASS", (double)err);
  return rc;
}
""")
        build = os.path.join(d, "build")
        run(["cmake", "-S", os.path.join(d, "app"), "-B", build, f"-DCMAKE_PREFIX_PATH={prefix}",
             f"-DCMAKE_TOOLCHAIN_FILE={os.path.join(d, 'toolchain.cmake')}"])
        run(["cmake", "--build", build, "-j2"])
        # qemu-aarch64 runs aarch64 code only: a host binary would fail here
        r = run([qemu, "-L", "/usr/aarch64-linux-gnu", os.path.join(build, "selftest")], ok=False)
        ok = r.returncode == 0 and "PASS" in r.stdout
        print(f"{'OK' if ok else 'NOT OK'} cross-aarch64: generated on the host by {prefix}/bin/lucidgen, "
              f"compiled for aarch64, under qemu: {r.stdout.strip()}{r.stderr.strip()}")
        return 0 if ok else 1


if __name__ == "__main__":
    mode, rest = sys.argv[1], sys.argv[2:]
    if mode == "regenerate":
        sys.exit(regenerate(*rest))
    if mode == "cross-host":
        sys.exit(cross_host(*rest))
    if mode == "cross-aarch64":
        sys.exit(cross_aarch64(*rest))
    sys.exit(f"unknown mode {mode}")
