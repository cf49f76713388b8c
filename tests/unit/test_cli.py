#!/usr/bin/python3
"""The lucidgen command line as a user meets it: error lines, exit codes,
listing, info, and user configs run in the sandbox.

  test_cli.py LUCIDGEN [--skip CASE]...   every case (but the skipped ones);
                                          prints OK / NOT OK per case
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
import harness  # noqa: E402

LUCIDGEN = sys.argv[1]
SKIP = {sys.argv[i + 1] for i in range(2, len(sys.argv) - 1) if sys.argv[i] == "--skip"}
case = harness.Cases()
one_line_error = harness.one_line_error


def run(*args, timeout=300, **kw):
    return harness.run([LUCIDGEN, *args], ok=False, timeout=timeout, **kw)


@case
def unknown_variant_suggests_names():
    return one_line_error(run("info", "convnext_tinny"), 2, "unknown variant 'convnext_tinny'", "did you mean",
                          "convnext_tiny")


@case
def invalid_option_values_name_the_option():
    problems = []
    for opt, val in [("--size", "0"), ("--size", "-3"), ("--batch", "0"), ("--in-chans", "0"), ("--num-classes", "-1"),
                     ("--size", "12y4"), ("--target", "sse9"), ("--max-threads", "0"), ("--max-threads", "257")]:
        r = run("resnet18_a1_in1k", "--random-init", opt, val, "-o", "/tmp/never_written.c")
        problems += one_line_error(r, 2, opt if opt != "--target" else "sse9")
    return problems + (["/tmp/never_written.c was written"] if os.path.exists("/tmp/never_written.c") else [])


@case
def embedded_option_values_name_the_option():
    problems = []
    for opt, val, needle in [("--weights-format", "elf", "--weights-format"), ("--weights-section", "bad name", "section"),
                             ("--byte-order", "middle", "--byte-order"), ("--arena-pools", "a:1K,,b", "--arena-pools"),
                             ("--arena-pools", "a,b:1K", "only the last pool"), ("--arena-pools", "a:1K,a", "twice"),
                             ("--arena-pools", ",".join(f"p{i}:1K" for i in range(9)), "at most 8"),
                             ("--target", "avx2", None)]:
        args = ["resnet18_a1_in1k", "--random-init", opt, val, "-o", "/tmp/never_written.c"]
        if needle is None:  # a target of fixed byte order
            args += ["--byte-order", "big"]
            needle = "only --target generic"
        problems += one_line_error(run(*args), 2, needle)
    return problems + (["/tmp/never_written.c was written"] if os.path.exists("/tmp/never_written.c") else [])


@case
def max_threads_sizes_the_winograd_scratch():
    # resnet18 for AVX2: its 56x56 Winograd layers have 8 tasks, a slot of
    # 1.1 MB each by default; 2 threads need 2
    arena = {}
    for extra in ((), ("--max-threads", "2")):
        r = run("info", "resnet18_a1_in1k", "--target", "avx2", "--json", *extra)
        if r.returncode != 0:
            return [f"info {' '.join(extra)}: exit {r.returncode}: {r.stderr.strip()}"]
        arena[extra] = json.loads(r.stdout)["totals"]["arena_bytes"]
    print(f"  arena: default {arena[()]}, --max-threads 2 {arena[('--max-threads', '2')]}")
    if not arena[("--max-threads", "2")] < arena[()] / 2:
        return [f"--max-threads 2 left the arena at {arena[('--max-threads', '2')]} of {arena[()]} bytes"]
    return []


@case
def unknown_option_is_exit_2():
    return one_line_error(run("resnet18_a1_in1k", "--frobnicate"), 2, "--frobnicate")


@case
def list_json_has_every_seeded_variant_with_facts():
    rows = json.loads(run("list", "--json").stdout)
    # which tags are seeded is test_registry.lua's to pin; the two listings must agree on them
    seeded = {r["name"] for r in rows if r.get("seeded")}
    marked = {l.split()[0] for l in run("list").stdout.splitlines()[1:] if l.split()[1:2] == ["*"]}
    problems = [] if seeded and seeded == marked else [f"list marks {sorted(marked ^ seeded)} unlike list --json"]
    names = {r["name"] for r in rows}
    for want in ["resnext50_32x4d_a1h_in1k", "resnext101_32x8d_tv_in1k", "resnext50d_32x4d_bt_in1k", "resnet50d_ra2_in1k",
                 "wide_resnet50_2_racm_in1k", "convnext_tiny_dinov3_lvd1689m", "resnetv2_50x1_bit_goog_in21k"]:
        if want not in names:
            problems.append(f"missing {want}")
    for r in rows:
        for field in ["hub_repo", "num_classes", "input_size", "crop_pct", "interpolation", "mean", "std", "license",
                      "config"]:
            if field not in r:
                problems.append(f"{r['name']} lacks {field}")
                break
    return problems


@case
def bare_architecture_resolves_to_timm_default():
    r = run("info", "resnet50", "--json")
    v = json.loads(r.stdout)
    return [] if v["name"] == "resnet50_a1_in1k" and v["resolved_from"] == "resnet50" else [f"got {v['name']}"]


@case
def bit_distilled_and_teacher_tags_resolve_to_their_architectures():
    want = {
        "resnetv2_50x1_bit_goog_distilled_in1k": ([3, 4, 6, 3], 2048, 1000, [224, 224]),
        "resnetv2_152x2_bit_goog_teacher_in21k_ft_in1k": ([3, 8, 36, 3], 4096, 1000, [224, 224]),
        "resnetv2_152x2_bit_goog_teacher_in21k_ft_in1k_384": ([3, 8, 36, 3], 4096, 1000, [384, 384]),
        "resnetv2_101x3_bit_goog_in21k": ([3, 4, 23, 3], 6144, 21843, [224, 224]),
    }
    problems = []
    for name, (layers, feats, nc, size) in want.items():
        v = json.loads(run("info", name, "--json").stdout)
        got = (v["config"]["layers"], v["config"]["num_features"], v["num_classes"], v["input_size"])
        if got != (layers, feats, nc, size):
            problems.append(f"{name}: {got}")
    return problems


@case
def info_warns_about_noncommercial_license():
    r = run("info", "convnextv2_atto_fcmae_ft_in1k")
    return [] if "WARNING" in r.stdout and "non-commercial" in r.stdout.lower() else ["no license warning in info"]


@case
def user_config_generates_a_resnext():
    with tempfile.TemporaryDirectory() as d:
        cfg = os.path.join(d, "my_resnext.lua")
        open(cfg, "w").write("return { layers = {1, 1, 1, 1}, cardinality = 4, base_width = 8, num_classes = 10,"
                             " stem_type = 'deep', avg_down = true, name = 'tiny_resnext' }\n")
        r = run("--config", cfg, "--random-init", "--size", "64", "-o", os.path.join(d, "m.c"), "--quiet")
        if r.returncode != 0:
            return [f"exit {r.returncode}: {r.stderr.strip()}"]
        h = open(os.path.join(d, "m.h")).read()
        return [] if "tiny_resnext_NUM_CLASSES 10" in h else ["header lacks tiny_resnext_NUM_CLASSES 10"]


@case
def user_config_in_channels_sets_the_model_input():
    with tempfile.TemporaryDirectory() as d:
        cfg = os.path.join(d, "grey.lua")
        open(cfg, "w").write("return { block = 'basic', layers = {1, 1, 1, 1}, in_channels = 1,"
                             " mean = {0.5}, std = {0.25} }\n")
        r = run("info", "--config", cfg, "--json")
        if r.returncode != 0:
            return [f"exit {r.returncode}: {r.stderr.strip()}"]
        got = json.loads(r.stdout)["model"]["in_chans"]
        return [] if got == 1 else [f"model in_chans {got}, want the config's in_channels 1"]


@case
def user_config_rules_name_the_field():
    problems = []
    bad = {"layers = {3, 4, 6}": "layers", "layers = {3,4,6,3}, cardinality = 0": "cardinality",
           "layers = {3,4,6,3}, stem_type = 'wide'": "stem_type", "layers = {3,4,6,3}, base_width = -1": "base_width"}
    with tempfile.TemporaryDirectory() as d:
        for body, field in bad.items():
            cfg = os.path.join(d, "bad.lua")
            text = "return { " + body + (", cardinality = 32, base_width = 4" if "cardinality" not in body and
                                        "base_width" not in body else (", base_width = 4" if "base_width" not in body
                                                                        else ", cardinality = 32")) + " }"
            open(cfg, "w").write(text)
            problems += one_line_error(run("--config", cfg, "--random-init", "-o", os.path.join(d, "m.c")), 2, field)
    return problems


@case
def hostile_configs_are_contained():
    problems = []
    hostile = {
        "return os.execute('touch /tmp/lucidgen_pwned')": "os",
        "return io.open('/etc/passwd'):read('a')": "io",
        "return load('return 1')()": "load",
        "return require('os')": "require",
        "while true do end": "instruction limit",
        "local t = {} for i = 1, 1e9 do t[i] = ('x'):rep(1000) end return t": "memory",
    }
    with tempfile.TemporaryDirectory() as d:
        for body, what in hostile.items():
            cfg = os.path.join(d, "evil.lua")
            open(cfg, "w").write(body)
            r = run("--config", cfg, "--random-init", "-o", os.path.join(d, "m.c"))
            if r.returncode != 2 or len(r.stderr.strip().splitlines()) != 1:
                problems.append(f"{what}: exit {r.returncode}: {r.stderr.strip()!r}")
    if os.path.exists("/tmp/lucidgen_pwned"):
        problems.append("the config ran os.execute")
    return problems


def run_config(d, body, *extra, timeout=30):
    cfg = os.path.join(d, "cfg.lua")
    with open(cfg, "w") as f:
        f.write(body)
    return run("--config", cfg, "--random-init", "-o", os.path.join(d, "m.c"), *extra, timeout=timeout)


@case
def config_instruction_limit_holds_against_pcall():
    problems = []
    with tempfile.TemporaryDirectory() as d:
        for body in ["while true do pcall(function() while true do end end) end",
                     "while true do pcall(pcall, function() while true do end end) end",
                     "local function f() pcall(f) while true do end end while true do pcall(f) end",
                     "xpcall(function() while true do end end, function() while true do end end)"]:
            problems += one_line_error(run_config(d, body), 2)
    return problems


@case
def config_shared_or_cyclic_subtables_are_refused():
    problems = []
    with tempfile.TemporaryDirectory() as d:
        # ~150 bytes that expanded into 3.9 GB when copied out of the sandbox
        body = ("local a={} for i=1,2000 do a[i]=i end local b={} for i=1,2000 do b[i]=a end "
                "local c={} for i=1,2000 do c[i]=b end return {layers=c}")
        problems += one_line_error(run_config(d, body), 2, "shared or cyclic")
        problems += one_line_error(run_config(d, "local t = {} t.t = t return t"), 2, "shared or cyclic")
        body = "local t = {} for i = 1, 150000 do t[i] = i end return {layers = t}"
        problems += one_line_error(run_config(d, body), 2, "100000")
    return problems


@case
def config_that_is_a_directory_or_endless_says_so():
    with tempfile.TemporaryDirectory() as d:
        problems = one_line_error(run("--config", d, "--random-init", "-o", os.path.join(d, "m.c")), 2,
                                  "is a directory")
        problems += one_line_error(run("--config", "/dev/zero", "--random-init", "-o", os.path.join(d, "m.c"),
                                       timeout=30), 2, "/dev/zero", "not a regular file")
        big = os.path.join(d, "big.lua")
        with open(big, "w") as f:
            f.write("-- " + "x" * (1 << 20) + "\nreturn {}\n")
        problems += one_line_error(run("--config", big, "--random-init", "-o", os.path.join(d, "m.c")), 2,
                                   "big.lua", "larger than 1 MiB")
    return problems


@case
def weights_or_config_that_is_a_fifo_is_refused_without_blocking():
    problems = []
    with tempfile.TemporaryDirectory() as d:
        for opt in ("--weights", "--config"):
            fifo = os.path.join(d, opt[2:] + ".fifo")
            os.mkfifo(fifo)
            args = ["resnet18_a1_in1k", "--weights", fifo] if opt == "--weights" else ["--config", fifo, "--random-init"]
            problems += one_line_error(run(*args, "-o", os.path.join(d, "m.c"), timeout=20), 2, fifo,
                                       "not a regular file")
    return problems


@case
def oversized_models_are_refused_up_front_naming_the_limit():
    problems = []
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "m.c")
        for opt, val, limit in [("--batch", "100000", "1024"), ("--in-chans", "100000", "1024"),
                                ("--size", "100000", "4096"), ("--num-classes", "1000000000", "100000"),
                                ("--error-inputs", "1025", "1024")]:
            problems += one_line_error(run("resnet50_a1_in1k", "--random-init", opt, val, "-o", out, timeout=30), 2,
                                       opt, limit)
        # each option within its limit, together more than any machine has
        problems += one_line_error(run("resnet50_a1_in1k", "--random-init", "--batch", "1024", "--size", "4096",
                                       "-o", out, timeout=30), 2, "--batch or --size", "64.0 GiB")
        problems += one_line_error(run("info", "resnet50_a1_in1k", "--size", "4096", timeout=30), 2, "memory")
        base = "cardinality = 1, base_width = 64, block = 'basic'"
        problems += one_line_error(run_config(d, "return { layers = {1e6, 1, 1, 1}, " + base + " }"), 2,
                                   "'layers'", "at most 100")
        problems += one_line_error(run_config(d, "return { layers = {1, 1, 1, 1}, channels = {16384, 16384, 16384, "
                                              "16384}, " + base + " }"), 2, "weights", "16.0 GiB")
        problems += one_line_error(run_config(d, "return { layers = {1, 1, 1, 1}, input_size = {9000, 9000}, "
                                              + base + " }"), 2, "'input_size'", "4096")
        if os.listdir(d) != ["cfg.lua"]:
            problems.append(f"files written: {sorted(os.listdir(d))}")
    return problems


@case
def name_of_a_runtime_header_still_builds():
    # --name lg_blob once gave the model header the runtime's LG_BLOB_H guard
    with tempfile.TemporaryDirectory() as d:
        exe = os.path.join(d, "m")
        r = run("build", "resnet18_a1_in1k", "--random-init", "--size", "32", "--name", "lg_blob", "-o", exe,
                "--quiet")
        if r.returncode != 0:
            return [f"build --name lg_blob: exit {r.returncode}: {r.stderr.strip()[-300:]!r}"]
        r = subprocess.run([exe, "--selftest"], capture_output=True, text=True, timeout=120)
        return [] if r.returncode == 0 else [f"selftest: exit {r.returncode}: {r.stdout}{r.stderr}"]


@case
def output_name_that_would_inject_lines_into_the_c_is_refused():
    # the -o file name is pasted into #include "OUT.h" and .incbin "OUT.bin"
    problems = []
    with tempfile.TemporaryDirectory() as d:
        for name in ('x"\n#error injected\n".c', "back\\slash.c", "tab\there.c"):
            r = run("resnet18_a1_in1k", "--random-init", "--size", "32", "--quiet", "-o", os.path.join(d, name))
            problems += one_line_error(r, 2, "-o", "quotes, backslashes or control characters")
        left = os.listdir(d)
    return problems + ([f"written: {left}"] if left else [])


@case
def build_output_named_like_sources_empty_or_with_control_characters_is_refused():
    """`build -o model.c` linked an executable named model.c (weights model.c.bin);
    `-o ''` said only "cannot write : No such file or directory"; a newline in the
    name was taken."""
    problems = []
    with tempfile.TemporaryDirectory() as d:
        for name, needles in (("model.c", ("-o", "model.c", "not C sources", "lucidgen resnet18_a1_in1k -o")),
                              ("model.h", ("model.h", "not C sources")), ("", ("-o ''", "name the executable")),
                              ("nl\nx", ("nl?x'", "control characters"))):
            r = run("build", "resnet18_a1_in1k", "--random-init", "--size", "32", "--quiet", "-o",
                    os.path.join(d, name) if name else "")
            problems += one_line_error(r, 2, *needles, what=f"build -o {name!r}: ")
        left = os.listdir(d)
    return problems + ([f"written: {left}"] if left else [])


@case
def output_name_with_nothing_before_dot_c_is_refused():
    # "-o DIR/.c" wrote the hidden set .c, .h, .bin, .json into DIR
    with tempfile.TemporaryDirectory() as d:
        r = run("resnet18_a1_in1k", "--random-init", "--size", "32", "--quiet", "-o", os.path.join(d, ".c"))
        problems = one_line_error(r, 2, "-o", "the name before .c is empty")
        left = os.listdir(d)
    return problems + ([f"written: {left}"] if left else [])


@case
def classifier_data_named_like_an_output_of_o_is_refused():
    # the set wrote the file twice and failed at the second rename: "No such file or directory"
    problems = []
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "m.c")
        for data, fmt in ((out, "bin"), (os.path.join(d, ".", "m.h"), "bin"), (os.path.join(d, "m_weights.c"), "c")):
            r = run("resnet18_a1_in1k", "--random-init", "--size", "32", "--quiet", "-o", out, "--classifier-data", data,
                    "--weights-format", fmt)
            problems += one_line_error(r, 2, "--classifier-data", "also one of -o's outputs")
        left = os.listdir(d)
    return problems + ([f"written: {left}"] if left else [])


@case
def weights_path_and_prefix_cannot_end_the_generated_comments():
    # both are quoted in the header comments of OUT.c and OUT.h: "*/" and a newline would end them
    with tempfile.TemporaryDirectory() as d:
        sub = os.path.join(d, "x*")
        os.mkdir(sub)
        w = os.path.join(sub, "\n#error from the weights path\n.safetensors")
        write_safetensors(w, {"fc.bias": [1000]})
        out = os.path.join(d, "m.c")
        r = run("resnet18_a1_in1k", "--weights", w, "--no-strict", "--prefix", "*/\n#error from the prefix\n/*",
                "--size", "32", "--quiet", "--target", "generic", "-o", out)
        if r.returncode != 0:
            return [f"exit {r.returncode}: {r.stderr.strip()}"]
        problems = []
        for src in ("m.c", "m.h"):
            c = subprocess.run(["cc", "-std=c11", "-fopenmp-simd", "-fsyntax-only", "-I", d, os.path.join(d, src)],
                               capture_output=True, text=True)
            if c.returncode != 0 or "#error" in c.stderr:
                problems.append(f"{src} does not compile: {c.stderr.strip()[:300]}")
        return problems


@case
def arena_pool_sizes_and_names_are_validated_in_one_place():
    problems = []
    for spec, needles in [("a:99999999999999999999", ["'a'", "at most"]), ("a:17592186044416M", ["'a'", "at most"]),
                          ("a:0,b", ["'a'", "at least 1"]), ("A:1K,a", ["'A' and 'a'", "POOL_A_BYTES"]),
                          ("int:1K,b", ["'int'", "C keyword"]), ("a:1K,_Bool", ["'_Bool'", "C keyword"])]:
        r = run("resnet18_a1_in1k", "--random-init", "--size", "32", "--target", "generic", "--arena-pools", spec,
                "-o", "/tmp/never_written.c")
        problems += one_line_error(r, 2, "--arena-pools", *needles)
    return problems + (["/tmp/never_written.c was written"] if os.path.exists("/tmp/never_written.c") else [])


@case
def name_lg_the_runtimes_prefix_is_refused():
    problems = []
    for name in ("lg", "LG"):
        r = run("resnet18_a1_in1k", "--random-init", "--size", "32", "--name", name, "-o", "/tmp/never_written.c")
        problems += one_line_error(r, 2, f"--name {name}", "lg_")
    return problems + (["/tmp/never_written.c was written"] if os.path.exists("/tmp/never_written.c") else [])


@case
def bench_refuses_out_of_range_options_before_preparing_a_model():
    """bench/run.py --threads 0 (or --runs 0, --wait-idle -5) built weights,
    classifiers and ONNX files for minutes, then failed in the timing rounds."""
    bench = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "bench", "run.py")
    problems = []
    for args, needles in ((("--threads", "0"), ("--threads 0", "1 to")), (("--threads", "1,x"), ("--threads", "1,x")),
                          (("--runs", "0"), ("--runs 0",)), (("--wait-idle", "-5"), ("--wait-idle -5",)),
                          (("--repeat", "101"), ("--repeat 101", "1 to 100")), (("--batch", "0"), ("--batch 0",))):
        r = harness.run([sys.executable, bench, *args, "--lucidgen", LUCIDGEN], ok=False, timeout=60)
        problems += one_line_error(r, 2, *needles, what=f"bench {' '.join(args)}: ")
        if "preparing" in r.stdout:
            problems.append(f"bench {' '.join(args)}: started preparing a model")
    return problems


@case
def a_name_c_reserves_or_too_long_is_refused():
    """--name _Model (C reserves _ and a capital) and a 5000-character name were
    taken: the first is undefined behaviour in C, the second took 14 s to emit."""
    problems = []
    for name, needles in (("_Model", ("--name '_Model'", "reserves")), ("__m", ("--name '__m'", "reserves")),
                          ("a" * 5000, ("--name", "5000 characters", "64")), ("1m", ("not a C identifier",))):
        r = run("resnet18_a1_in1k", "--random-init", "--size", "32", "--name", name, "-o", "/tmp/never_written.c")
        problems += one_line_error(r, 2, *needles, what=f"--name {name[:10]}: ")
    r = run("resnet18_a1_in1k", "--random-init", "--size", "32", "--name", "_m" + "x" * 62, "--quiet", "-o",
            "/tmp/lg_name_ok.c")
    for ext in (".c", ".h", ".bin", ".json"):
        if os.path.exists("/tmp/lg_name_ok" + ext):
            os.unlink("/tmp/lg_name_ok" + ext)
    problems += [] if r.returncode == 0 else [f"--name _mxx..x (64 characters): exit {r.returncode}: {r.stderr.strip()}"]
    return problems + (["/tmp/never_written.c was written"] if os.path.exists("/tmp/never_written.c") else [])


@case
def extra_arguments_and_repeated_options_are_refused():
    problems = []
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "m")
        cfg = os.path.join(d, "tiny.lua")
        with open(cfg, "w") as f:
            f.write("return { block = 'basic', layers = {1, 1, 1, 1}, name = 'tiny' }\n")
        for args, needle in [
            (["build", "resnet18_a1_in1k", "resnet50_a1_in1k", "--random-init", "--size", "32", "-o", out],
             "'resnet50_a1_in1k'"),
            (["resnet18_a1_in1k", "extra", "--random-init", "--size", "32", "-o", out + ".c"], "'extra'"),
            (["--config", cfg, "resnet18_a1_in1k", "--random-init", "--size", "32", "-o", out + ".c"],
             "'resnet18_a1_in1k'"),
            (["info", "resnet18_a1_in1k", "resnet50"], "'resnet50'"),
            (["list", "resnets"], "'resnets'"),
            (["resnet18_a1_in1k", "--random-init", "--size", "32", "-o", out + ".c", "-o", out + "2.c"], "-o"),
            (["resnet18_a1_in1k", "--random-init=1", "--random-init=2", "--size", "32", "-o", out + ".c"],
             "--random-init"),
            (["resnet18_a1_in1k", "--random-init", "--size=32", "--size", "64", "-o", out + ".c"], "--size"),
        ]:
            problems += one_line_error(run(*args, "--quiet"), 2, needle)
        left = sorted(n for n in os.listdir(d) if n != "tiny.lua")
    return problems + ([f"written: {left}"] if left else [])


@case
def omp_num_threads_past_the_limit_is_refused():
    # libgomp crashed (SIGSEGV) starting 100000 threads
    with tempfile.TemporaryDirectory() as d:
        r = run("resnet18_a1_in1k", "--random-init", "--size", "32", "-o", os.path.join(d, "m.c"),
                env=dict(os.environ, OMP_NUM_THREADS="100000"))
        return one_line_error(r, 2, "OMP_NUM_THREADS", "100000", "per processor") + (
            [f"written: {os.listdir(d)}"] if os.listdir(d) else [])


@case
def a_signal_leaves_no_temporaries_behind():
    # SIGTERM while the blob is being written: the temporaries go, nothing is committed
    import signal
    import time
    with tempfile.TemporaryDirectory() as d:
        p = subprocess.Popen([LUCIDGEN, "resnet50_a1_in1k", "--random-init", "--quiet", "--target", "generic",
                              "-o", os.path.join(d, "m.c")], stderr=subprocess.PIPE, text=True)
        t0 = time.time()
        while p.poll() is None and not any(".tmp." in n for n in os.listdir(d)) and time.time() - t0 < 120:
            time.sleep(0.01)
        seen = os.listdir(d)
        p.send_signal(signal.SIGTERM)
        p.wait(60)
        left = os.listdir(d)
    if not any(".tmp." in n for n in seen):
        return [f"no temporary appeared before the run ended (exit {p.returncode}): {seen}"]
    return [] if p.returncode == -signal.SIGTERM and not left else [f"exit {p.returncode}, left {left}"]


@case
def cache_list_and_verify_of_no_cache_say_so():
    # `cache verify` of a mistyped --cache-dir said "0 problems" and exit 0; an error
    # other than a problem found (an unreadable folder) was exit 1 with nothing said
    problems = []
    for sub in ("list", "verify"):
        r = run("cache", sub, "--cache-dir", "/nonexistent/lucidgen-cache")
        problems += [f"cache {sub}: {p}" for p in one_line_error(r, 2, "no hub cache at /nonexistent/lucidgen-cache")]
    return problems


def held_lock_holds_the_commit(d, lock_dir, args, outputs):
    """Runs lucidgen ARGS while this process holds lock_dir's flock: nothing of
    `outputs` may appear until it is released; then the run must finish."""
    import fcntl
    import time
    problems = []
    lock = os.open(lock_dir, os.O_RDONLY)
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        p = subprocess.Popen([LUCIDGEN, *args], stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 120
        stem = os.path.basename(outputs[0])[:-2]  # its .json is written last
        while p.poll() is None and time.time() < deadline and not any(
                n.startswith(stem + ".json.tmp.") or n == stem + ".json" for n in os.listdir(d)):
            time.sleep(0.05)
        time.sleep(1)
        early = [o for o in outputs if os.path.exists(o)]
        if p.poll() is not None or early:
            problems.append(f"committed while {lock_dir} was locked: exit {p.poll()}, written {early}")
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        os.close(lock)
    _, err = p.communicate(timeout=120)
    missing = [o for o in outputs if not os.path.isfile(o)]
    if p.returncode != 0 or missing:
        problems.append(f"after the lock was released: exit {p.returncode}, missing {missing}: {err.strip()}")
    return problems


@case
def a_run_waits_for_the_locks_on_its_output_directories():
    """Deterministic where two racing runs are not: while someone holds a
    directory's flock, a run's set stays under temporary names, and that is
    every directory it writes into (--classifier-data's too, which was not
    locked); "d" and "./d" are one directory, locked once."""
    problems = []
    with tempfile.TemporaryDirectory() as d:
        cfg = os.path.join(d, "tiny.lua")
        open(cfg, "w").write("return { block = 'basic', layers = {1, 1, 1, 1}, num_classes = 10, name = 'tiny' }\n")
        other = os.path.join(d, "data")
        os.mkdir(other)
        base = ["--config", cfg, "--random-init", "--size", "32", "--quiet", "-o"]
        out = os.path.join(d, "m.c")
        problems += held_lock_holds_the_commit(d, d, base + [out], [out])
        out, data = os.path.join(d, "n.c"), os.path.join(other, "cd.c")
        problems += held_lock_holds_the_commit(d, other, base + [out, "--classifier-data", data], [out, data])
        r = run(*base, out, "--classifier-data", os.path.join(d, ".", "cd.c"), timeout=120)
        if r.returncode != 0:
            problems.append(f"-o D/m.c --classifier-data D/./cd.c: exit {r.returncode}: {r.stderr.strip()}")
        left = sorted(n for n in os.listdir(d) if n not in ("tiny.lua", "data", "cd.c") and n[0] not in "mn")
        left += sorted(n for n in os.listdir(d) if n[0] in "mn" and ".tmp." in n or ".old." in n)
    return problems + ([f"left {left}"] if left else [])


@case
def two_runs_writing_one_output_set_leave_one_runs_set():
    # each commit holds a lock on the directory: the set is whole, from one run
    problems = []
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "m.c")
        for _ in range(3):
            runs = [subprocess.Popen([LUCIDGEN, "resnet18_a1_in1k", f"--random-init={seed}", "--size", "32", "--quiet",
                                      "--target", "generic", "--name", "m", "-o", out], stderr=subprocess.PIPE)
                    for seed in (1, 2)]
            codes = [r.wait(300) for r in runs]
            h = open(os.path.join(d, "m.h")).read()
            sha = json.load(open(os.path.join(d, "m.json")))["blob_sha256"]
            with open(os.path.join(d, "m.bin"), "rb") as f:
                blob_sha = f.read(512)[32:96].decode()
            if codes != [0, 0] or f'"{sha}"' not in h or blob_sha != sha:
                problems.append(f"exits {codes}; m.json {sha}, m.bin {blob_sha}, m.h has it: {sha in h}")
        left = sorted(n for n in os.listdir(d) if n not in ("m.c", "m.h", "m.bin", "m.json"))
    return problems + ([f"left {left}"] if left else [])


@case
def weights_and_random_init_exclude_each_other():
    return one_line_error(run("resnet18_a1_in1k", "--random-init", "--weights", "/etc/hostname", "-o", "/tmp/x.c"), 2,
                          "--weights")


@case
def embed_weights_outside_build_says_where_it_applies():
    return one_line_error(run("resnet18_a1_in1k", "--random-init", "--embed-weights", "-o", "/tmp/never_written.c"), 2,
                          "lucidgen build")


@case
def classifier_data_says_why_published_accuracy_does_not_apply():
    problems = []
    with tempfile.TemporaryDirectory() as d:
        data = os.path.join(d, "data.c")
        r = run("resnet18_a1_in1k", "--random-init", "--size", "32", "--quiet", "-o", os.path.join(d, "m.c"),
                "--classifier-data", data)
        text = open(data).read() if os.path.exists(data) else ""
        for want in ("lg_model_labels[]", '"n01440764\\ttench, Tinca tinca\\n"', "lg_model_published_acc1 = -1",
                     'lg_model_published_note[] = "random-init weights"'):
            if want not in text:
                problems.append(f"exit {r.returncode}: {data} lacks {want}: {r.stderr.strip()}")
        problems += one_line_error(run("build", "resnet18_a1_in1k", "--random-init", "-o", os.path.join(d, "x"),
                                       "--classifier-data", data), 2, "--classifier-data")
    return problems


def digests(paths):
    import hashlib
    return {p: hashlib.sha256(open(p, "rb").read()).hexdigest() if os.path.isfile(p) else None for p in paths}


@case
def output_that_is_a_directory_or_in_none_fails_before_generating():
    with tempfile.TemporaryDirectory() as d:
        os.mkdir(os.path.join(d, "x.c"))
        problems = one_line_error(run("resnet18_a1_in1k", "--random-init", "-o", os.path.join(d, "x.c")), 2,
                                  "x.c is a directory")
        left = sorted(os.listdir(d))
        problems += [] if left == ["x.c"] else [f"left behind: {left}"]
        return problems + one_line_error(run("resnet18_a1_in1k", "--random-init", "-o", os.path.join(d, "no", "x.c")),
                                         2, "does not exist")


@case
def failure_after_the_blob_keeps_the_previous_output_set():
    # x.json turns into a directory between two runs: the second run writes its
    # blob, then cannot place x.json, and must leave the first run's set as it was.
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "x.c")
        r = run("resnet18_a1_in1k", "--random-init", "--size", "32", "--quiet", "-o", out)
        if r.returncode != 0:
            return [f"first run: exit {r.returncode}: {r.stderr.strip()}"]
        os.remove(os.path.join(d, "x.json"))
        os.mkdir(os.path.join(d, "x.json"))
        kept = [os.path.join(d, "x." + ext) for ext in ("c", "h", "bin")]
        before = digests(kept)
        problems = one_line_error(run("resnet18_a1_in1k", "--random-init=1", "--size", "32", "-o", out, "--quiet"), 2,
                                  "x.json: it is a directory")
        if digests(kept) != before:
            problems.append("the previous x.c/x.h/x.bin changed")
        left = sorted(os.listdir(d))
        return problems + ([] if left == ["x.bin", "x.c", "x.h", "x.json"] else [f"left behind: {left}"])


@case
def cross_build_without_the_targets_image_libraries_says_what_to_install():
    # the cross toolchain has no libjpeg/libpng of its own; .ci/install-deps must not
    # add them (multiarch libc6:arm64 beside the cross sysroot hangs qemu-aarch64 guests)
    import shutil
    if not shutil.which("aarch64-linux-gnu-gcc"):
        return [] if not os.environ.get("CI") else ["aarch64-linux-gnu-gcc is not installed"]
    with tempfile.TemporaryDirectory() as d:
        exe = os.path.join(d, "cls")
        r = run("build", "resnet18_a1_in1k", "--random-init", "--size", "32", "--target", "neon", "--quiet", "-o", exe,
                env=dict(os.environ, CC="aarch64-linux-gnu-gcc"))
        if r.returncode == 0:
            return []  # this machine has the arm64 libraries: the build works
        problems = one_line_error(r, 2, "aarch64-linux-gnu-gcc", "libjpeg62-turbo-dev:arm64", "libpng-dev:arm64")
        left = os.listdir(d)
    return problems + ([f"left {left}"] if left else [])


@case
def build_into_a_path_with_a_comma_or_a_leading_dash():
    # the assembler's include path went in as -Wa,-I<dir>, which -Wa splits at commas
    with tempfile.TemporaryDirectory() as d:
        cfg = os.path.join(d, "tiny.lua")
        open(cfg, "w").write("return { block = 'basic', layers = {1, 1, 1, 1}, num_classes = 10, name = 'tiny' }\n")
        os.mkdir(os.path.join(d, "a,b"))
        problems = []
        # and an executable whose name starts with '-' (its sources were read as options)
        for exe in (os.path.join("a,b", "net"), "-net"):
            r = run("build", "--config", cfg, "--random-init", "--size", "32", "--quiet", "--embed-weights", "-o", exe,
                    cwd=d)
            if r.returncode != 0:
                problems.append(f"-o {exe}: exit {r.returncode}: {r.stderr.strip()[-400:]}")
                continue
            r = subprocess.run([os.path.join(d, exe), "--selftest"], capture_output=True, text=True, timeout=120)
            if r.returncode != 0:
                problems.append(f"-o {exe}: selftest: exit {r.returncode}: {r.stdout}{r.stderr}")
        return problems


@case
def failed_build_keeps_the_previous_classifier():
    with tempfile.TemporaryDirectory() as d:
        cfg = os.path.join(d, "tiny.lua")  # few layers: a fast compile
        open(cfg, "w").write("return { block = 'basic', layers = {1, 1, 1, 1}, num_classes = 10, name = 'tiny' }\n")
        exe = os.path.join(d, "net")
        r = run("build", "--config", cfg, "--random-init", "--size", "32", "--quiet", "-o", exe)
        if r.returncode != 0:
            return [f"first build: exit {r.returncode}: {r.stderr.strip()}"]
        kept = [exe, exe + ".bin", os.path.join(exe + ".build", "model.c")]
        before = digests(kept)
        r = run("build", "--config", cfg, "--random-init=1", "--size", "32", "--quiet", "-o", exe,
                env=dict(os.environ, CC="false"))
        problems = one_line_error(r, 2, "compiling", exe + ".build.failed")
        if digests(kept) != before:
            problems.append("the previous net/net.bin/net.build changed")
        if not os.path.isfile(os.path.join(exe + ".build.failed", "model.c")):
            problems.append("the failed build's sources are not in net.build.failed")
        left = sorted(os.listdir(d))
        if left != ["net", "net.bin", "net.build", "net.build.failed", "tiny.lua"]:
            problems.append(f"left behind: {left}")
        r = subprocess.run([exe, "--selftest"], capture_output=True, text=True)
        return problems + ([] if r.returncode == 0 else [f"previous classifier: {r.stdout}{r.stderr}"])


@case
def cc_is_split_at_blanks_and_one_that_cannot_run_is_named():
    """CC="ccache gcc" or "gcc -m32" (as make and CMake take it) was run as one
    program name, an empty CC as the program '', and either failed after
    generating with "No such file or directory" and no compiler named."""
    problems = []
    with tempfile.TemporaryDirectory() as d:
        cfg = os.path.join(d, "tiny.lua")
        open(cfg, "w").write("return { block = 'basic', layers = {1, 1, 1, 1}, num_classes = 10, name = 'tiny' }\n")
        exe = os.path.join(d, "net")
        for cc in ("/nonexistent/cc -O1", "no-such-compiler-lucidgen"):
            r = run("build", "--config", cfg, "--random-init", "--size", "32", "--quiet", "-o", exe,
                    env=dict(os.environ, CC=cc))
            problems += [f"CC={cc!r}: {p}" for p in one_line_error(r, 2, "cannot run the C compiler", cc, "CC")]
            left = sorted(os.listdir(d))
            if left != ["tiny.lua"]:
                problems.append(f"CC={cc!r}: left behind: {left}")
        for cc in ("cc -O1", ""):
            r = run("build", "--config", cfg, "--random-init", "--size", "32", "-o", exe, env=dict(os.environ, CC=cc))
            if r.returncode != 0:
                problems.append(f"CC={cc!r}: exit {r.returncode}: {r.stderr.strip()}")
            elif cc and f"with {cc}\n" not in r.stderr:
                problems.append(f"CC={cc!r}: the compiler is not named as given: {r.stderr.strip()}")
    return problems


def write_safetensors(path, tensors):
    """tensors: name -> shape (zeros, F32), without torch."""
    import struct
    header, offset = {}, 0
    for name, shape in sorted(tensors.items()):
        n = 4
        for d in shape:
            n *= d
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    text = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + bytes(offset))


@case
def nested_checkpoint_error_suggests_the_prefix():
    with tempfile.TemporaryDirectory() as d:
        w = os.path.join(d, "w.safetensors")
        write_safetensors(w, {"backbone.fc.bias": [1000], "backbone.conv1.weight": [64, 3, 7, 7]})
        problems = one_line_error(run("resnet18_a1_in1k", "--weights", w, "-o", os.path.join(d, "m.c")), 2,
                                  "--prefix backbone.")
        write_safetensors(w, {"fc.bias": [1000], "head.fc.weight": [10, 512]})
        r = run("resnet18_a1_in1k", "--weights", w, "-o", os.path.join(d, "m.c"))
        problems += one_line_error(r, 2, "--no-strict", "head.fc.weight")
        if "--prefix" in r.stderr:
            problems.append("a prefix is suggested where none would help: " + r.stderr.strip())
    return problems


@case
def numerics_options_name_the_option_and_what_works():
    problems = []
    for args, needles in [
        (["--weights-dtype", "fp8"], ["--weights-dtype 'fp8'", "f32, bf16, f16 or int8"]),
        (["--precision", "fp16"], ["--precision 'fp16'", "fp32, bf16 or int8"]),
        (["--precision", "bf16", "--weights-dtype", "int8"], ["--precision bf16", "int8", "--precision fp32"]),
        (["--target", "avx512bf16"], ["--target avx512bf16", "--precision bf16", "--target avx512"]),
        (["--error-inputs", "0"], ["--error-inputs"]),
        (["--target", "generic", "--byte-order", "big", "--weights-dtype", "f16"], ["--weights-dtype f16",
                                                                                   "--byte-order big"]),
    ]:
        r = run("resnet18_a1_in1k", "--random-init", "-o", "/tmp/never_written.c", *args)
        problems += one_line_error(r, 2, *needles)
    return problems + (["/tmp/never_written.c was written"] if os.path.exists("/tmp/never_written.c") else [])


@case
def f16_weights_past_the_f16_range_name_the_layer():
    import struct
    with tempfile.TemporaryDirectory() as d:
        w = os.path.join(d, "w.safetensors")
        header = {"fc.weight": {"dtype": "F32", "shape": [1000, 512], "data_offsets": [0, 4 * 512000]}}
        text = json.dumps(header).encode()
        with open(w, "wb") as f:
            f.write(struct.pack("<Q", len(text)) + text + struct.pack("<f", 1e5) + bytes(4 * 511999))
        r = run("resnet18_a1_in1k", "--weights", w, "--no-strict", "--quiet", "--size", "32", "--weights-dtype", "f16",
                "-o", os.path.join(d, "m.c"))
        problems = one_line_error(r, 2, "fc:", "65504", "--weights-dtype bf16")
        return problems + (["m.c was written"] if os.path.exists(os.path.join(d, "m.c")) else [])


@case
def reduced_model_states_its_numerics_and_measured_error():
    """int8 weights: a quarter of the weight bytes, the error measured on 32 inputs by default,
    stated in the header and OUT.json, and a self-test tolerance for the precision."""
    with tempfile.TemporaryDirectory() as d:
        out = {}
        for dtype in ("f32", "int8"):
            r = run("convnextv2_atto_fcmae_ft_in1k", "--random-init", "--size", "64", "--weights-dtype", dtype,
                    "-o", os.path.join(d, dtype + ".c"))
            if r.returncode != 0:
                return [f"{dtype}: exit {r.returncode}: {r.stderr.strip()}"]
            out[dtype] = (open(os.path.join(d, dtype + ".h")).read(), json.load(open(os.path.join(d, dtype + ".json"))),
                          r.stderr)
        problems = []
        h, report, log = out["int8"]
        err = report["precision"]["error"]
        if err["inputs"] != 32 or err["rows"] != 32 or not (0 < err["max_rel"] < 0.2) or "top1" not in err:
            problems.append(f"OUT.json error: {err}")
        for want in ('convnextv2_atto_fcmae_ft_in1k_WEIGHTS_DTYPE "int8"', '_PRECISION "fp32"', "_SELFTEST_TOL 0.0001f",
                     "measured against fp32:", "over 32 inputs, top-1 agrees"):
            if want not in h:
                problems.append(f"header lacks {want!r}")
        if "int8 weights, fp32 compute vs fp32: max rel" not in log or "top-1 agrees" not in log:
            problems.append(f"no error line in the log: {log.strip()}")
        f32, int8 = out["f32"][1]["totals"]["weight_bytes"], report["totals"]["weight_bytes"]
        if not 0.25 < int8 / f32 < 0.3:
            problems.append(f"int8 weights take {int8} bytes, f32 {f32}")
        if "error" in out["f32"][1]["precision"] or 'WEIGHTS_DTYPE "f32"' not in out["f32"][0]:
            problems.append("the f32 model claims a measured error or lacks its dtype")
        return problems


@case
def info_gives_the_weight_bytes_of_the_dtype():
    problems = []
    for dtype, name in (("bf16", "bf16 weights"), ("int8", "int8 weights")):
        r = run("info", "resnet50_a1_in1k", "--weights-dtype", dtype, "--keep-head-f32")
        if f"numerics         {name}, fp32 compute, head f32" not in r.stdout:
            problems.append(f"info --weights-dtype {dtype}: {r.stdout[-300:]}")
    j = json.loads(run("info", "resnet50_a1_in1k", "--weights-dtype", "bf16", "--json").stdout)
    if not 51e6 < j["totals"]["weight_bytes"] < 52e6:  # 25.6M weights of 2 bytes + f32 biases
        problems.append(f"bf16 weight bytes {j['totals']['weight_bytes']}")
    return problems


@case
def help_and_version():
    problems = []
    for args in (["--help"], ["build", "--help"], ["info", "--help"]):
        r = run(*args)
        if r.returncode != 0 or "usage:" not in r.stdout:
            problems.append(f"{args}: exit {r.returncode}")
    r = run("--version")
    return problems + ([] if r.stdout.startswith("lucidgen ") else ["--version"])


if __name__ == "__main__":
    sys.exit(case.main(skip=SKIP))
