#!/usr/bin/python3
"""lucidgen's generated C against PyTorch and ONNX Runtime, same model, same weights, one run.

  /usr/bin/python3 bench/run.py --save     # the default models at 224 (+ resnet50 batch 8); threads 1 and 2
  /usr/bin/python3 bench/run.py --quick    # resnet18 only
  /usr/bin/python3 bench/run.py --models resnet34,convnext_nano@160:b4 --threads 2 --runs 20
  /usr/bin/python3 bench/run.py --save --repeat 3   # each ratio with its range over 3 rounds

Per model (at the variant's default input size unless @HxW or --size):
  1. `lucidgen info VARIANT --json` gives the config; the family's functional
     reference (tests/parity/ref_<family>.py) makes random weights under timm's
     key names; they go to a safetensors file and `lucidgen build --weights`.
  2. The reference's output on one random input is the yardstick: each engine's
     output on that input is compared with it (max|diff| / max|ref|, cosine),
     so the three timings are of the same computation.
  3. For every thread count, each engine is timed in turn: the classifier's own
     `--bench N`, the fastest eager PyTorch model (torch_models.py) in a
     subprocess without OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE, and ONNX Runtime
     (onnxruntime-node, ort_bench.mjs) on the model exported by torch.onnx.
  4. The classifier's --peak (an FMA microbenchmark) gives the machine's fp32
     peak per thread count, so every engine's GFLOP/s is also a % of peak, and
     its --profile, at every thread count, the per-kernel-kind breakdown of
     lucidgen's time (per layer in the saved .profile.md).
  5. --numerics adds, per model, classifiers built with reduced precision
     (int8/f16/bf16 weights, bf16 compute): each is timed beside the fp32 one,
     and its error against the fp32 PyTorch output (max rel, cosine) and the
     generator's own measurement (top-1/top-5 agreement on its 32 inputs) go
     next to its speed, with its speed over our fp32 and over the best peer.
     int8 compute's peers are int8: PyTorch's onednn int8 and ONNX Runtime on
     a QDQ model of it (qdq_onnx.py), calibrated on lucidgen's calibration inputs.
  6. --repeat N times the whole table N times, round after round; each cell
     keeps its fastest round and the spread of the rounds beside it.
Ratios are engine time / lucidgen time on the minimum latency: > 1 means
lucidgen is faster. Timing never fails the run; a model whose lucidgen build
fails is skipped with the reason, an engine that fails leaves its cell empty.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import torch

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
sys.path.insert(0, BENCH)
sys.path.insert(0, os.path.join(REPO, "tests", "parity"))
import qdq_onnx  # noqa: E402
import safetensors_io  # noqa: E402
import torch_models  # noqa: E402

# VARIANT[@HxW][:bBATCH]; the default set: the five families at 224, resnet18, and
# one throughput row at batch 8
DEFAULT_MODELS = ["resnet50_a1_in1k", "resnext50_32x4d_a1h_in1k", "convnext_tiny_fb_in1k",
                  "convnextv2_atto_fcmae_ft_in1k", "resnetv2_50x1_bit_goog_in21k_ft_in1k@224", "resnet18_a1_in1k",
                  "resnet50_a1_in1k:b8"]
QUICK_MODELS = ["resnet18_a1_in1k"]
# lucidgen's speed goals, best peer / lucidgen at 1 and 2 threads (batch 1, and
# resnet50's batch-8 row); the table says met or missed and the chart marks each
TARGETS = {"resnet50_a1_in1k": 1.3, "resnet18_a1_in1k": 1.3, "resnext50_32x4d_a1h_in1k": 1.3,
           "resnetv2_50x1_bit_goog_in21k_ft_in1k": 1.3, "convnext_tiny_fb_in1k": 1.3,
           "convnextv2_atto_fcmae_ft_in1k": 1.8, "resnet50_a1_in1k:b8": 1.2}
# --numerics names -> lucidgen options (the fp32 build is always there: the yardstick)
NUMERICS = {
    "int8": ["--precision", "int8", "--calibrate", "{work}/calibration.f32"],
    "bf16": ["--precision", "bf16"],
    "int8w": ["--weights-dtype", "int8"],
    "f16": ["--weights-dtype", "f16"],
    "bf16w": ["--weights-dtype", "bf16"],
}
NUMERICS_LABEL = {"int8": "int8 compute", "bf16": "bf16 compute", "int8w": "int8 weights", "f16": "f16 weights",
                  "bf16w": "bf16 weights"}
# the peers of an int8 build are int8 too: PyTorch's onednn int8 (torch_bench.py --int8) and
# ONNX Runtime on a QDQ model of PyTorch's int8 model, its scales (qdq_onnx.py). All three
# calibrate on the first 12 of the 16 inputs of calibration.f32 (lucidgen measures on the last 4).
CALIBRATION_INPUTS = 16
OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
# Same computation, different summation order: fp32 differences of 1e-4 relative are expected.
MATCH_REL, MATCH_COS = 1e-3, 0.9999
BUSY_CORES = 0.25  # CPU use by other processes, in cores, past which a row's timings are suspect
TIMEOUT = 3600


def run(cmd, env=None):
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=TIMEOUT)


def summary(text):
    """A tool's closing line, with the first earlier line naming an error (a compiler's, say)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return "(no message)"
    first_error = next((ln for ln in lines if "error" in ln.lower()), lines[-1])
    return lines[-1] if first_error == lines[-1] else f"{lines[-1]} [first error: {first_error}]"


def find_lucidgen():
    for path in [os.path.join(REPO, "build", "lucidgen")] + sorted(
            os.path.join(REPO, d, "lucidgen") for d in os.listdir(REPO) if d.startswith("build-")):
        if os.access(path, os.X_OK):
            return path
    return None


def compare(got_path, want_path):
    """(max|got - want| / max|want|, cosine) in float64 of two float32 files."""
    got, want = (np.fromfile(p, dtype=np.float32).astype(np.float64) for p in (got_path, want_path))
    if got.size != want.size:
        return float("inf"), 0.0
    rel = float(np.max(np.abs(got - want)) / (np.max(np.abs(want)) or 1.0))
    cos = float(np.dot(got, want) / (np.linalg.norm(got) * np.linalg.norm(want) + 1e-300))
    return rel, cos


# ---- environment facts ------------------------------------------------------

def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def compiler_version():
    cc = os.environ.get("CC", "cc")
    try:
        return f"{cc}: {run([cc, '--version']).stdout.splitlines()[0]}"
    except (OSError, IndexError):
        return f"{cc}: unknown"


def others_busy_cores(seconds=0.5):
    """Cores' worth of CPU that other processes use while this harness sleeps.

    The load average would count this benchmark's own runs; /proc/stat sampled
    over an idle second of ours does not.
    """
    def sample():
        with open("/proc/stat") as f:
            v = [int(n) for n in f.readline().split()[1:]]
        idle = v[3] + v[4]  # idle + iowait
        return sum(v) - idle, sum(v)

    busy0, total0 = sample()
    time.sleep(seconds)
    busy1, total1 = sample()
    return (os.cpu_count() or 1) * (busy1 - busy0) / max(1, total1 - total0)


def quiet_moment(wait):
    """others_busy_cores(), after waiting up to `wait` seconds for it to drop below BUSY_CORES."""
    deadline = time.monotonic() + wait
    busy = others_busy_cores()
    while busy >= BUSY_CORES and time.monotonic() < deadline:
        busy = others_busy_cores()
    return busy


def ort_version():
    try:
        with open(os.path.join(BENCH, "node_modules", "onnxruntime-node", "package.json")) as f:
            return json.load(f)["version"]
    except OSError:
        return None


def ensure_onnxruntime_node():
    """Installs bench/package-lock.json's onnxruntime-node once; None or the reason it is missing."""
    if ort_version():
        return None
    if not shutil.which("npm") or not shutil.which("node"):
        return "node/npm not found (apt-get install nodejs npm)"
    print("installing onnxruntime-node into bench/node_modules (npm ci) ...", flush=True)
    # The package's postinstall only fetches optional CUDA providers; the CPU one ships inside it.
    env = dict(os.environ, ONNXRUNTIME_NODE_INSTALL="skip")
    r = run(["npm", "ci", "--prefix", BENCH, "--no-audit", "--no-fund"], env=env)
    if r.returncode != 0 or not ort_version():
        return f"npm ci failed: {summary(r.stderr)}"
    return None


def lucidgen_build_facts(exe):
    """Target, ISA and compile line from the generated model.c header of a built classifier."""
    facts = {}
    try:
        with open(exe + ".build/model.c") as f:
            head = f.read(4000)
    except OSError:
        return facts
    for key in ("Target", "Build"):
        m = re.search(rf"^ \* {key}:\s+(.*)$", head, re.M)
        if m:
            facts[key.lower()] = m.group(1).strip()
    return facts


# ---- one model ----------------------------------------------------------------

class Skip(Exception):
    pass


def parse_spec(a, spec):
    """VARIANT[@HxW][:bBATCH] -> (variant, size or None, batch); --size/--batch are the defaults."""
    rest, _, batch = spec.partition(":b")
    variant, _, size = rest.partition("@")
    return variant, size or a.size, int(batch) if batch else a.batch


def prepare(a, spec, work):
    """Writes info.json, state.pt, weights.safetensors, input.f32, ref.f32; builds the classifier."""
    variant, size, batch = parse_spec(a, spec)
    opts = ["--batch", str(batch)] + (["--size", size] if size else [])
    r = run([a.lucidgen, "info", variant, "--json"] + opts)
    if r.returncode != 0:
        raise Skip(f"lucidgen info failed: {summary(r.stderr)}")
    info = json.loads(r.stdout)
    family, cfg, model = info["family"], info["config"], info["model"]
    try:
        ref = torch_models.reference(family)
    except KeyError as e:
        raise Skip(str(e.args[0]))
    nc, size = model["num_classes"], model["size"]
    gen = torch.Generator().manual_seed(a.seed)
    state = ref.init_state(cfg, nc, model["in_chans"], gen)
    x = torch.randn(batch, model["in_chans"], size[0], size[1], generator=gen)
    with torch.no_grad():
        want = ref.forward(cfg, state, x, nc)[0]

    with open(os.path.join(work, "info.json"), "w") as f:
        json.dump(info, f)
    torch.save(state, os.path.join(work, "state.pt"))
    safetensors_io.save(state, os.path.join(work, "weights.safetensors"))
    x.numpy().astype(np.float32).tofile(os.path.join(work, "input.f32"))
    # int8's calibration set, the same for lucidgen, PyTorch and ONNX Runtime; not the timed input
    torch.randn([CALIBRATION_INPUTS] + list(x.shape), generator=gen).numpy().astype(np.float32).tofile(
        os.path.join(work, "calibration.f32"))
    want.numpy().astype(np.float32).tofile(os.path.join(work, "ref.f32"))

    exe = os.path.join(work, "classifier")
    r = run([a.lucidgen, "build", variant, "--weights", os.path.join(work, "weights.safetensors"),
             "--target", a.target, "--quiet", "-o", exe] + opts)
    if r.returncode != 0:
        raise Skip(f"lucidgen build failed: {summary(r.stderr)}")
    return info, state, x, exe


def build_numerics(a, variant_spec, work, numerics):
    """A classifier of the same weights with reduced precision: (exe, the generator's measured error) or Skip."""
    variant, size, batch = parse_spec(a, variant_spec)
    opts = ["--batch", str(batch)] + (["--size", size] if size else [])
    exe = os.path.join(work, "classifier_" + numerics)
    # native would refuse --precision bf16 on a CPU without AVX512-BF16: the emulation is no speed to report
    r = run([a.lucidgen, "build", variant, "--weights", os.path.join(work, "weights.safetensors"),
             "--target", a.target, "--quiet", "-o", exe] + opts + [o.format(work=work) for o in NUMERICS[numerics]])
    if r.returncode != 0:
        raise Skip(f"lucidgen build ({NUMERICS_LABEL[numerics]}) failed: {summary(r.stderr)}")
    with open(exe + ".build/model.json") as f:
        return exe, json.load(f)["precision"]["error"]


def export_onnx(info, state, x, path):
    """None, or why the export failed."""
    fn, _ = torch_models.export_model(info["family"], info["config"], state, info["model"]["num_classes"])

    class Wrapped(torch.nn.Module):
        def forward(self, t):
            return fn(t)

    module = fn if isinstance(fn, torch.nn.Module) else Wrapped()
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TracerWarnings about the references' Python control flow
            torch.onnx.export(module.eval(), (x,), path, opset_version=17, input_names=["input"],
                              output_names=["output"], do_constant_folding=True)
    except ModuleNotFoundError as e:
        return f"torch.onnx.export needs '{e.name}': apt-get install python3-onnx"
    except Exception as e:  # an exporter limitation must not stop the other engines
        return f"torch.onnx.export failed: {type(e).__name__}: {summary(str(e))}"
    return None


def time_lucidgen(a, exe, threads):
    r = run([exe, "--bench", str(a.runs), "--threads", str(threads)])
    m = re.search(r"min ([\d.]+) ms, median ([\d.]+) ms", r.stdout)
    if r.returncode != 0 or not m:
        return None, f"lucidgen --bench failed: {summary(r.stderr or r.stdout)}"
    return {"min_ms": float(m.group(1)), "median_ms": float(m.group(2))}, None


def measure_peak(exe, threads):
    """The classifier's FMA microbenchmark: fp32 GFLOP/s of `threads` threads, or None."""
    r = run([exe, "--peak", "--threads", str(threads)])
    m = re.search(r"peak: ([\d.]+) GFLOP/s", r.stdout)
    return float(m.group(1)) if r.returncode == 0 and m else None


def profile(a, exe, threads):
    """EXE --profile at `threads`: {"layers": [(layer, kind, ms, % peak)], "kinds": {kind: (ms, share, GFLOP/s,
    % peak)}}, or None."""
    r = run([exe, "--profile", str(a.runs), "--threads", str(threads)])
    if r.returncode != 0 or "by kernel kind:" not in r.stdout:
        return None
    per_layer, per_kind = r.stdout.split("by kernel kind:", 1)
    layers, kinds = [], {}
    for line in per_layer.splitlines():
        f = line.split()
        if len(f) >= 6 and re.fullmatch(r"[\d.]+", f[0]):
            layers.append((" ".join(f[5:]), f[4], float(f[0]), f[3]))
    for line in per_kind.splitlines():
        f = line.split()
        if len(f) >= 5 and f[4] != "all":
            kinds[f[4]] = (float(f[0]), f[1], float(f[2]), f[3])
    return {"layers": layers, "kinds": kinds}


def time_torch(a, threads, work, int8=False):
    env = {k: v for k, v in os.environ.items() if k not in OPENBLAS_VARS}
    r = run([sys.executable, os.path.join(BENCH, "torch_bench.py"), "--work", work, "--threads", str(threads),
             "--runs", str(a.runs), "--warmup", str(a.warmup), "--output",
             os.path.join(work, "torch_int8.f32" if int8 else "torch.f32")] + (["--int8"] if int8 else []), env=env)
    if r.returncode != 0:
        return None, f"PyTorch{' int8' if int8 else ''} failed: {summary(r.stderr)}"
    return json.loads(r.stdout.strip().splitlines()[-1]), None


def export_qdq_onnx(info, state, work, shape, path):
    """None, or why ONNX Runtime has no int8 model: PyTorch's int8 model (its scales) written as QDQ ONNX."""
    model = info["model"]
    try:
        quantized, _ = torch_models.int8_model(info["family"], info["config"], state, model["num_classes"],
                                               torch_models.calibration_set(work, shape))
    except KeyError as e:
        return f"{e.args[0]} (ONNX Runtime's QDQ model is written from PyTorch's int8 model)"
    qdq_onnx.write_qdq_resnet(quantized, shape, path)
    return None


def time_ort(a, threads, work, onnx_path, shape, int8=False):
    r = run(["node", os.path.join(BENCH, "ort_bench.mjs"), "--model", onnx_path,
             "--input", os.path.join(work, "input.f32"), "--shape", ",".join(map(str, shape)),
             "--threads", str(threads), "--runs", str(a.runs), "--warmup", str(a.warmup),
             "--output", os.path.join(work, "ort_int8.f32" if int8 else "ort.f32")])
    if r.returncode != 0:
        return None, f"ONNX Runtime{' int8' if int8 else ''} failed: {summary(r.stderr)}"
    return json.loads(r.stdout.strip().splitlines()[-1]), None


def bench_model(a, variant, work, ort_problem, report):
    """Builds one model's engines and adds its rows, each with the cells the rounds will time."""
    info, state, x, exe = prepare(a, variant, work)
    node_problem = ort_problem  # onnxruntime-node missing; the fp32 export's failure is added below
    model = info["model"]
    shape = [model["batch"], model["in_chans"], model["size"][0], model["size"][1]]
    name = f"{info['name']} {shape[2]}x{shape[3]}" + (f" batch {shape[0]}" if shape[0] > 1 else "")
    report["facts"].setdefault("lucidgen", lucidgen_build_facts(exe))
    for t in a.threads:
        if t not in report["peak"]:
            report["peak"][t] = measure_peak(exe, t)
    report["profiles"][name] = {t: profile(a, exe, t) for t in a.threads}

    onnx_path = os.path.join(work, "model.onnx")
    if ort_problem is None:
        ort_problem = export_onnx(info, state, x, onnx_path)
        if ort_problem:
            note(report, f"{name}: ONNX Runtime", None, ort_problem)

    want = os.path.join(work, "ref.f32")
    out = os.path.join(work, "lucidgen.f32")
    r = run([exe, "--input-raw", os.path.join(work, "input.f32"), "--output-raw", out])
    report["checks"].append({"model": name, "engine": "lucidgen", "out": out if r.returncode == 0 else None,
                             "want": want})

    fp32_rows = {}
    peerless = "int8" in a.numerics and torch_models.int8_peer_problem(info["family"], info["config"], state,
                                                                         model["num_classes"])
    for t in a.threads:
        row = fp32_rows[t] = {"model": name, "batch": shape[0], "threads": t, "busy": 0.0, "macs": model["macs"],
                              "lucidgen": None, "pytorch": None, "ort": None,
                              "target": TARGETS.get(info["name"] if shape[0] == 1 else f"{info['name']}:b{shape[0]}")}
        report["rows"].append(row)
        cell(report, f"{name} threads {t}: lucidgen", row, "lucidgen", lambda t=t: time_lucidgen(a, exe, t))
        cell(report, f"{name} threads {t}: PyTorch ", row, "pytorch", lambda t=t: time_torch(a, t, work))
        if ort_problem is None:
            cell(report, f"{name} threads {t}: ORT     ", row, "ort",
                 lambda t=t: time_ort(a, t, work, onnx_path, shape))
    report["checks"].append({"model": name, "engine": "PyTorch", "out": os.path.join(work, "torch.f32"),
                             "want": want, "row": fp32_rows[a.threads[0]], "key": "pytorch"})
    if ort_problem is None:
        report["checks"].append({"model": name, "engine": "ONNX Runtime", "out": os.path.join(work, "ort.f32"),
                                 "want": want, "row": fp32_rows[a.threads[0]], "key": "ort"})

    for numerics in a.numerics:
        try:
            nexe, measured = build_numerics(a, variant, work, numerics)
        except Skip as e:
            note(report, f"{name} {NUMERICS_LABEL[numerics]}", None, str(e))
            continue
        nout = os.path.join(work, f"lucidgen_{numerics}.f32")
        r = run([nexe, "--input-raw", os.path.join(work, "input.f32"), "--output-raw", nout])
        rel, cos = compare(nout, want) if r.returncode == 0 else (None, None)
        qdq_path, qdq_problem = os.path.join(work, "model_int8.onnx"), node_problem
        if numerics == "int8" and peerless:
            report["int8_missing"].append(f"{name}: no int8 peer timed: {peerless}")
        elif numerics == "int8":
            qdq_problem = qdq_problem or export_qdq_onnx(info, state, work, shape, qdq_path)
            if qdq_problem:
                note(report, f"{name}: ONNX Runtime int8", None, qdq_problem)
                report["int8_missing"].append(f"{name}: ONNX Runtime int8 not timed: {qdq_problem}")
        for t in a.threads:
            row = {"model": name, "numerics": NUMERICS_LABEL[numerics], "threads": t, "busy": 0.0,
                   "lucidgen": None, "base": fp32_rows[t], "peers": [], "rel": rel, "cos": cos, "measured": measured}
            report["numerics_rows"].append(row)
            cell(report, f"{name} threads {t}: lucidgen {NUMERICS_LABEL[numerics]}", row, "lucidgen",
                 lambda t=t: time_lucidgen(a, nexe, t))
            if numerics == "int8" and not peerless:  # int8 against int8 peers
                int8_peers(a, report, name, t, work, shape, row, None if qdq_problem else qdq_path)


def int8_peers(a, report, name, threads, work, shape, lg_row, qdq_path):
    """Rows of the int8 peer table: PyTorch's onednn int8 and ONNX Runtime on the QDQ model (when qdq_path),
    each with its error against the fp32 reference once timed."""
    engines = [("PyTorch onednn int8", "torch_int8.f32", lambda: time_torch(a, threads, work, int8=True))]
    if qdq_path:
        engines.append(("ONNX Runtime int8 (QDQ)", "ort_int8.f32",
                        lambda: time_ort(a, threads, work, qdq_path, shape, int8=True)))
    for engine, out, fn in engines:
        row = {"model": name, "threads": threads, "busy": 0.0, "engine": engine, "timing": None, "lucidgen": lg_row,
               "out": os.path.join(work, out), "want": os.path.join(work, "ref.f32")}
        report["int8_peer_rows"].append(row)
        lg_row["peers"].append(row)
        cell(report, f"{name} threads {threads}: {engine}", row, "timing", fn)


def cell(report, label, row, key, fn):
    """One engine's latency on one row: fn() -> (timing or None, why) is called once per round."""
    report["cells"].append((label, row, key, fn))


def time_rounds(a, report):
    """Every cell of the table, round after round (--repeat): a cell keeps each round's min and median."""
    for k in range(a.repeat):
        if a.repeat > 1:
            print(f"round {k + 1} of {a.repeat}", flush=True)
        for label, row, key, fn in report["cells"]:
            busy = quiet_moment(a.wait_idle)
            try:
                timing, why = fn()
            except subprocess.TimeoutExpired as e:
                timing, why = None, f"timed out after {TIMEOUT} s: {' '.join(map(str, e.cmd[:2]))}"
            note(report, label, timing, why)
            row["busy"] = max(row["busy"], busy)
            rounds = row.setdefault("rounds", {}).setdefault(key, [])
            rounds.append(timing)
            row[key] = combine(rounds)


def combine(rounds):
    """A cell over its rounds: the fastest min, the median of the medians, and each round's min (None for a
    round that failed) for the spread; None if every round failed."""
    done = [t for t in rounds if t]
    if not done:
        return None
    best = min(done, key=lambda t: t["min_ms"])
    return dict(best, median_ms=float(np.median([t["median_ms"] for t in done])),
                round_mins=[t["min_ms"] if t else None for t in rounds])


def finish(report):
    """After the rounds: the outputs the engines wrote against the reference, and the facts PyTorch reported."""
    for c in report["checks"]:
        timed = c["row"][c["key"]] if "row" in c else True
        if not timed or not c["out"] or not os.path.exists(c["out"]):
            c["rel"] = c["cos"] = None
            continue
        c["rel"], c["cos"] = compare(c["out"], c["want"])
    for r in report["int8_peer_rows"]:
        r["rel"], r["cos"] = compare(r["out"], r["want"]) if r["timing"] else (None, None)
    for r in report["rows"]:
        if r["pytorch"]:
            report["facts"]["torch"] = {k: r["pytorch"][k] for k in ("torch", "mkldnn", "blas")}
            report["torch_models"][r["model"]] = r["pytorch"]["model"]


# ---- report -----------------------------------------------------------------

def note(report, what, timing, why):
    """Prints one progress line; a failure is also kept for the report."""
    print(f"  {what} {fmt_ms(timing) or why}", flush=True)
    if timing is None:
        report["failures"].append(f"{what.strip()}: {why}")


def spread(t):
    """How far the slowest round's min is above the fastest's, in %, or None for one round."""
    mins = [m for m in (t or {}).get("round_mins", []) if m]
    return 100 * (max(mins) / min(mins) - 1) if len(mins) > 1 else None


def fmt_ms(t):
    if not t:
        return None
    s = spread(t)
    return f"{t['min_ms']:.2f} / {t['median_ms']:.2f}" + (f" ±{s:.0f}%" if s is not None else "")


def ratio(t, base):
    """t's min over base's min; with rounds, also the lowest and highest ratio of one round's mins."""
    if not t or not base:
        return "-"
    text = f"{t['min_ms'] / base['min_ms']:.2f}"
    per_round = [x / y for x, y in zip(t.get("round_mins", []), base.get("round_mins", [])) if x and y]
    return text + (f" ({min(per_round):.2f}-{max(per_round):.2f})" if len(per_round) > 1 else "")


def fastest(timings):
    """The fastest of these timings, its round_mins the fastest of each round; None if none."""
    done = [t for t in timings if t]
    if not done:
        return None
    best = dict(min(done, key=lambda t: t["min_ms"]))
    rounds = [[m for m in ms if m] for ms in zip(*[t.get("round_mins", []) for t in done])]
    best["round_mins"] = [min(ms) if ms else None for ms in rounds]
    return best


def best_peer(r):
    """The faster of PyTorch and ORT on this row (per round too), or None."""
    return fastest([r["pytorch"], r["ort"]])


def numerics_peer(r):
    """What a reduced-precision row is compared with: its int8 peers for int8 compute (None without one),
    else the fp32 peers."""
    if r["numerics"] == NUMERICS_LABEL["int8"]:
        return fastest([p["timing"] for p in r["peers"]])
    return best_peer(r["base"])


def best_ratio(r):
    return ratio(best_peer(r), r["lucidgen"])


def target_cell(r):
    """The row's target and whether this run meets it."""
    if not r.get("target"):
        return "-"
    peer = best_peer(r)
    if not peer or not r["lucidgen"]:
        return f"{r['target']:.2f}"
    met = peer["min_ms"] / r["lucidgen"]["min_ms"] >= r["target"]
    return f"{r['target']:.2f} {'met' if met else 'missed'}"


def pct_peak(r, engine, peak):
    t = r[engine]
    if not t or not peak:
        return "-"
    return f"{100 * 2 * r['macs'] / (t['min_ms'] * 1e-3) / 1e9 / peak:.0f}%"


def render(report):
    f = report["facts"]
    lines = [f"# lucidgen benchmark {f['date']}", ""]
    lines.append(f"- machine: {f['cpu']}, {f['cores']} cores; load average at start {f['load_start']}, "
                 f"at end {f.get('load_end', '?')}")
    lg = f.get("lucidgen", {})
    lines.append(f"- lucidgen: {f['lucidgen_path']}, target {lg.get('target', '?')}; {f['compiler']}")
    if lg.get("build"):
        lines.append(f"  - compile: `{lg['build']}`")
    tf = f.get("torch")
    if tf:
        env = ", ".join(f"{k}={v}" for k, v in f["openblas_env"].items()) or "none set"
        lines.append(f"- PyTorch {tf['torch']}: oneDNN (mkldnn) available {tf['mkldnn']}; "
                     f"BLAS {', '.join(tf['blas']) or 'none loaded'}; OpenBLAS variables in this shell: {env} "
                     f"(removed for the PyTorch process)")
    lines.append(f"- ONNX Runtime: onnxruntime-node {f.get('ort') or 'not available'} "
                 f"(node {f['node']}), CPU provider, graphOptimizationLevel all "
                 "less Pad_Fusion (it folds a zero Pad into MaxPool, which pads with -inf: wrong for BiT's stem)")
    rounds = (f"; {f['repeat']} rounds of the whole table, one after the other: a cell's min is the fastest "
              "round's, its median the median of the rounds', ±x% how far the slowest round's min is above the "
              "fastest's, and a ratio's (low-high) the range of that ratio within one round"
              if f["repeat"] > 1 else "")
    lines.append(f"- each cell: min / median ms over {f['runs']} runs after warm-up; "
                 f"ratios = engine min / lucidgen min (> 1: lucidgen faster){rounds}")
    peaks = ", ".join(f"{t} thread{'s' if t > 1 else ''} {p:.1f}" for t, p in sorted(report["peak"].items()) if p)
    lines.append(f"- fp32 FMA peak (the classifier's --peak microbenchmark), GFLOP/s: {peaks or 'not measured'}; "
                 "% peak = the engine's 2 x MACs / min latency over the peak of that thread count")
    lines += ["", "| model | batch | threads | busy | lucidgen ms | PyTorch ms | ORT ms | best peer / lucidgen | "
              "target | PyTorch/lucidgen | ORT/lucidgen | lucidgen % peak | PyTorch % peak | ORT % peak |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|"]
    for r in report["rows"]:
        peak = report["peak"].get(r["threads"])
        lines.append(f"| {r['model']} | {r['batch']} | {r['threads']} | {r['busy']:.2f} | "
                     f"{fmt_ms(r['lucidgen']) or '-'} | {fmt_ms(r['pytorch']) or '-'} | {fmt_ms(r['ort']) or '-'} | "
                     f"**{best_ratio(r)}** | {target_cell(r)} | {ratio(r['pytorch'], r['lucidgen'])} | "
                     f"{ratio(r['ort'], r['lucidgen'])} | "
                     f"{pct_peak(r, 'lucidgen', peak)} | {pct_peak(r, 'pytorch', peak)} | {pct_peak(r, 'ort', peak)} |")
    if report["numerics_rows"]:
        lines += ["", "Reduced precision: the same weights and input; error against the fp32 PyTorch output "
                  "(max rel, cosine) and the generator's own measurement (on its held-out inputs, 32 synthetic ones or "
                  "int8's last 4 calibration inputs: best class and set of 5 best agreeing with fp32); ratios on min "
                  "latency (> 1: this build is faster); the peers of "
                  "int8 compute are int8 (the table after this one)", "",
                  "| model | numerics | threads | busy | lucidgen ms | our fp32 / this | best peer / this | "
                  "max rel | cosine | top-1 | top-5 |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in report["numerics_rows"]:
            m = r["measured"] or {}
            top1, top5 = (f"{m[k]}/{m['rows']}" if k in m else "-" for k in ("top1", "top5"))
            rel = "-" if r["rel"] is None else f"{r['rel']:.1e}"
            cos = "-" if r["cos"] is None else f"{r['cos']:.6f}"
            lines.append(f"| {r['model']} | {r['numerics']} | {r['threads']} | {r['busy']:.2f} | "
                         f"{fmt_ms(r['lucidgen']) or '-'} | **{ratio(r['base']['lucidgen'], r['lucidgen'])}** | "
                         f"{ratio(numerics_peer(r), r['lucidgen'])} | {rel} | {cos} | {top1} | {top5} |")
    if report["int8_peer_rows"] or report["int8_missing"]:
        lines += ["", "int8 peers: PyTorch on its onednn engine (torchvision's quantizable ResNet, fused, calibrated "
                  "on the inputs lucidgen's --calibrate chose its scales on) and ONNX Runtime on a QDQ model written "
                  "from that PyTorch model with its scales (bench/qdq_onnx.py; ORT fuses it into QLinearConv); "
                  "error against the fp32 PyTorch output on the timed input", "",
                  "| model | threads | busy | engine | ms | this / lucidgen int8 | max rel | cosine |",
                  "|---|---:|---:|---|---:|---:|---:|---:|"]
        for r in report["int8_peer_rows"]:
            rel = "-" if r["rel"] is None else f"{r['rel']:.1e}"
            cos = "-" if r["cos"] is None else f"{r['cos']:.6f}"
            lines.append(f"| {r['model']} | {r['threads']} | {r['busy']:.2f} | {r['engine']} | "
                         f"{fmt_ms(r['timing']) or '-'} | **{ratio(r['timing'], r['lucidgen']['lucidgen'])}** | {rel} | {cos} |")
        lines += [""] + [f"- {m}" for m in report["int8_missing"]] if report["int8_missing"] else []
    if report["profiles"]:
        lines += ["", "Where lucidgen's time goes (EXE --profile, fastest run per layer, summed per kernel kind): "
                  "ms, share of the model, GFLOP/s, % of peak; per layer at every thread count in the .profile.md "
                  "saved beside this", ""]
        kinds = sorted({k for ps in report["profiles"].values() for p in ps.values() if p for k in p["kinds"]})
        lines += ["| model | threads | " + " | ".join(kinds) + " |", "|---|---:|" + "---:|" * len(kinds)]
        for name, ps in report["profiles"].items():
            for t, p in ps.items():
                prof = p["kinds"] if p else {}
                cells = [(f"{prof[k][0]:.2f} ms, {prof[k][1]}, {prof[k][2]:.0f}, {prof[k][3]}" if k in prof
                          else "-") for k in kinds]
                lines.append(f"| {name} | {t} | " + " | ".join(cells) + " |")
    busiest = max((r["busy"] for r in report["rows"]), default=0.0)
    if busiest >= BUSY_CORES:
        lines += ["", f"Warning: other processes used up to {busiest:.1f} of the {f['cores']} cores before a row: "
                  "they shared the cores with the timed runs, so multi-thread rows and medians are unreliable; "
                  "rerun on a quiet machine."]
    if report["checks"]:
        lines += ["", "Same computation? Each engine's output vs the functional PyTorch reference "
                  f"(flagged past {MATCH_REL:g} relative or cosine below {MATCH_COS}):", "",
                  "| model | engine | max rel diff | cosine | |", "|---|---|---:|---:|---|"]
        for c in report["checks"]:
            name, engine, rel, cos = c["model"], c["engine"], c["rel"], c["cos"]
            if rel is None:
                lines.append(f"| {name} | {engine} | - | - | no output |")
            else:
                ok = rel <= MATCH_REL and cos >= MATCH_COS
                lines.append(f"| {name} | {engine} | {rel:.2e} | {cos:.8f} | {'ok' if ok else 'MISMATCH'} |")
    if report["torch_models"]:
        lines += ["", "PyTorch model timed:"]
        lines += [f"- {name}: {what}" for name, what in report["torch_models"].items()]
    if report["failures"]:
        lines += ["", "Engine failures:"] + [f"- {s}" for s in report["failures"]]
    if report["skipped"]:
        lines += ["", "Skipped:"] + [f"- {s}" for s in report["skipped"]]
    return "\n".join(lines) + "\n"


def csv_text(report):
    """One line per row: the numbers of the markdown table, for spreadsheets and plots."""
    out = ["model,batch,threads,busy,macs,lucidgen_min_ms,lucidgen_median_ms,lucidgen_spread_pct,pytorch_min_ms,"
           "ort_min_ms,best_peer_over_lucidgen,target,peak_gflops,numerics,fp32_over_this,max_rel,cosine"]
    def ms(t):
        return f"{t['min_ms']:.3f}" if t else ""

    def over(t, base):
        return f"{t['min_ms'] / base['min_ms']:.3f}" if t and base else ""

    def pct(t):
        s = spread(t)
        return "" if s is None else f"{s:.1f}"

    for r in report["rows"]:
        peer = best_peer(r)
        peak = report["peak"].get(r["threads"])
        out.append(",".join([r["model"], str(r["batch"]), str(r["threads"]), f"{r['busy']:.2f}", str(r["macs"]),
                             ms(r["lucidgen"]), f"{r['lucidgen']['median_ms']:.3f}" if r["lucidgen"] else "",
                             pct(r["lucidgen"]), ms(r["pytorch"]), ms(r["ort"]), over(peer, r["lucidgen"]),
                             f"{r['target']:.2f}" if r.get("target") else "",
                             f"{peak:.1f}" if peak else "", "fp32", "", "", ""]))
    for r in report["numerics_rows"]:
        base = r["base"]
        out.append(",".join([r["model"], str(base["batch"]), str(r["threads"]), f"{r['busy']:.2f}", str(base["macs"]),
                             ms(r["lucidgen"]), f"{r['lucidgen']['median_ms']:.3f}" if r["lucidgen"] else "",
                             pct(r["lucidgen"]), ms(base["pytorch"]), ms(base["ort"]),
                             over(numerics_peer(r), r["lucidgen"]), "", "", r["numerics"],
                             over(base["lucidgen"], r["lucidgen"]),
                             "" if r["rel"] is None else f"{r['rel']:.3g}", "" if r["cos"] is None else f"{r['cos']:.8f}"]))
    return "\n".join(out) + "\n"


def chart_png(report, path):
    """Bars of best peer / lucidgen per model, one per thread count, drawn with PIL."""
    from PIL import Image, ImageDraw
    rows = [r for r in report["rows"] if r["lucidgen"] and best_peer(r)]
    threads = sorted({r["threads"] for r in rows})
    def label(r):
        return r["model"] + (f" b{r['batch']}" if r["batch"] > 1 else "")

    models = list(dict.fromkeys(label(r) for r in rows))
    values = {(label(r), r["threads"]): best_peer(r)["min_ms"] / r["lucidgen"]["min_ms"] for r in rows}
    targets = {label(r): r["target"] for r in rows if r.get("target")}
    top = max([2.0] + [v for v in values.values()])
    w, h, left, bottom, right, up = 1000, 120 + 46 * len(models), 330, 50, 30, 40
    img = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(img)
    d.text((left, 10), "best of PyTorch and ONNX Runtime / lucidgen (min latency; > 1: lucidgen faster)", fill="black")
    colors = ["#2b6cb0", "#dd6b20", "#38a169", "#805ad5"]
    scale = (w - left - right) / top
    for k in range(0, int(top * 4) + 1):
        x = left + k * 0.25 * scale
        d.line([(x, up), (x, h - bottom)], fill="#e2e8f0" if k % 4 else "#a0aec0")
        if k % 2 == 0:
            d.text((x - 8, h - bottom + 6), f"{k * 0.25:.1f}", fill="black")
    x1 = left + scale
    d.line([(x1, up), (x1, h - bottom)], fill="black", width=2)
    for i, m in enumerate(models):
        y = up + 10 + i * 46
        d.text((10, y + 8), m[:52], fill="black")
        bars = [(j, values[(m, t)]) for j, t in enumerate(threads) if (m, t) in values]
        for j, v in bars:
            y0 = y + j * (36 // len(threads))
            d.rectangle([left, y0, left + v * scale, y0 + 36 // len(threads) - 3], fill=colors[j % len(colors)])
        if m in targets:  # the target across the model's bars, under their labels
            xt = left + targets[m] * scale
            d.line([(xt, y - 3), (xt, y + 36)], fill="#c53030", width=3)
        for j, v in bars:
            y0 = y + j * (36 // len(threads))
            label = f"{v:.2f}"
            d.rectangle([left + v * scale + 3, y0, left + v * scale + 5 + 7 * len(label), y0 + 11], fill="white")
            d.text((left + v * scale + 4, y0), label, fill="black")
    for j, t in enumerate(threads):
        d.rectangle([left + 200 * j, h - 18, left + 200 * j + 12, h - 6], fill=colors[j % len(colors)])
        d.text((left + 200 * j + 18, h - 19), f"{t} thread{'s' if t > 1 else ''}", fill="black")
    if targets:
        xl = left + 200 * len(threads)
        d.line([(xl + 6, h - 20), (xl + 6, h - 4)], fill="#c53030", width=3)
        d.text((xl + 18, h - 19), "target", fill="black")
    img.save(path)


def profile_text(report):
    """Per layer, lucidgen's fastest time and share of the FMA peak at every thread count side by side, and the
    speedup over 1 thread."""
    lines = [f"# lucidgen per-layer profile {report['facts']['date']}", "",
             "EXE --profile: the fastest of --runs runs per layer, ms, and its 2 x MACs / time over the FMA peak "
             "its own microbenchmark measured at that thread count (Winograd layers can pass 100%); the sum of the "
             "layers is not a pass's time (a pass also waits at each layer's barrier and its layers are not each "
             "at their fastest)."]
    for name, ps in report["profiles"].items():
        threads = [t for t, p in ps.items() if p]
        if not threads:
            continue
        layers = ps[threads[0]]["layers"]
        lines += ["", f"## {name}", "",
                  "| layer | kind | " + " | ".join(f"{t} thr ms" for t in threads) +
                  "".join(f" | {t} thr % peak" for t in threads) +
                  "".join(f" | {t} thr speedup" for t in threads[1:]) + " |",
                  "|---|---|" + "---:|" * (3 * len(threads) - 1)]
        per = {t: ps[t]["layers"] for t in threads}
        sums = {t: sum(row[2] for row in per[t]) for t in threads}
        for i, (layer, kind, *_) in enumerate(layers):
            ms = [per[t][i][2] if i < len(per[t]) else None for t in threads]
            peak = [per[t][i][3] if i < len(per[t]) else "-" for t in threads]
            speed = [f"{ms[0] / m:.2f}" if m and ms[0] else "-" for m in ms[1:]]
            lines.append(f"| {layer} | {kind} | " + " | ".join(f"{m:.3f}" if m is not None else "-" for m in ms) +
                         "".join(f" | {x}" for x in peak) + "".join(f" | {x}" for x in speed) + " |")
        lines.append("| sum | | " + " | ".join(f"{sums[t]:.3f}" for t in threads) + " |" * len(threads) +
                     "".join(f" | {sums[threads[0]] / sums[t]:.2f}" for t in threads[1:]) + " |")
    return "\n".join(lines) + "\n"


def save(report, text, date):
    """bench/results/<date>.md, .profile.md, .csv and .png (written to temporaries, then renamed)."""
    out_dir = os.path.join(BENCH, "results")
    os.makedirs(out_dir, exist_ok=True)
    base = os.path.join(out_dir, date)
    if os.path.exists(base + ".md"):
        base = os.path.join(out_dir, f"{date}-{datetime.datetime.now():%H%M%S}")
    with open(base + ".md.tmp", "w") as f:
        f.write(text + f"\n![ratios]({os.path.basename(base)}.png)\n")
    with open(base + ".csv.tmp", "w") as f:
        f.write(csv_text(report))
    with open(base + ".profile.md.tmp", "w") as f:
        f.write(profile_text(report))
    chart_png(report, base + ".png.tmp.png")
    os.replace(base + ".csv.tmp", base + ".csv")
    os.replace(base + ".profile.md.tmp", base + ".profile.md")
    os.replace(base + ".png.tmp.png", base + ".png")
    os.replace(base + ".md.tmp", base + ".md")
    return base + ".md"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", help="comma-separated VARIANT[@HxW][:bBATCH] "
                    f"(default {','.join(DEFAULT_MODELS)})")
    ap.add_argument("--quick", action="store_true", help=f"only {','.join(QUICK_MODELS)}")
    ap.add_argument("--batch", type=int, default=1, help="batch size (default 1)")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    ap.add_argument("--size", help="input HxW for every model (default: each variant's own)")
    ap.add_argument("--runs", type=int, default=10, help="timed runs per engine and thread count (default 10)")
    ap.add_argument("--repeat", type=int, default=1, metavar="N",
                    help="time the whole table N times, round after round: each cell's fastest round, and the "
                    "spread of the rounds beside it (default 1)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed runs before them for PyTorch and ORT (default 2; "
                    "the classifier's --bench does 1)")
    ap.add_argument("--target", default="native", help="lucidgen --target (default native)")
    ap.add_argument("--seed", type=int, default=0, help="weights and input seed (default 0)")
    ap.add_argument("--lucidgen", default=find_lucidgen(), help="lucidgen binary (default build/lucidgen, build-*/)")
    ap.add_argument("--work", help="keep the weights, classifiers and ONNX files here (default: a temporary "
                    "directory, removed afterwards)")
    ap.add_argument("--wait-idle", type=float, default=0, metavar="S",
                    help="before each engine, wait up to S seconds for other processes to go quiet (default 0)")
    ap.add_argument("--save", action="store_true", help="also write bench/results/<date>.md, .csv and .png")
    ap.add_argument("--numerics", default="", help="comma-separated reduced-precision builds to time beside fp32: "
                    f"{', '.join(NUMERICS)} (int8 = --precision int8 against PyTorch's onednn int8, bf16 = "
                    "--precision bf16, int8w/f16/bf16w = those weights with fp32 compute)")
    a = ap.parse_args()
    if not a.lucidgen or not os.access(a.lucidgen, os.X_OK):
        print("bench: no lucidgen binary; build one (cmake --build build --target lucidgen) or pass --lucidgen",
              file=sys.stderr)
        return 2
    a.lucidgen = os.path.abspath(a.lucidgen)
    try:
        a.threads = [int(t) for t in a.threads.split(",")]
    except ValueError:
        print(f"bench: --threads takes comma-separated integers (e.g. 1,2), got '{a.threads}'", file=sys.stderr)
        return 2
    # checked before the first model is prepared: `--threads 0` or `--runs 0`
    # went on for minutes of builds and failed in the timing rounds
    for name, values, lo, hi in (("--threads", a.threads, 1, 4 * (os.cpu_count() or 1)), ("--repeat", [a.repeat], 1, 100),
                                 ("--runs", [a.runs], 1, 10000), ("--warmup", [a.warmup], 0, 1000),
                                 ("--batch", [a.batch], 1, 1024), ("--wait-idle", [a.wait_idle], 0, 3600),
                                 ("--seed", [a.seed], 0, 2 ** 31 - 1)):
        for v in values:
            if not lo <= v <= hi:
                print(f"bench: {name} {v:g} is out of range; use {lo} to {hi}", file=sys.stderr)
                return 2
    a.numerics = [n for n in a.numerics.split(",") if n]
    for n in a.numerics:
        if n not in NUMERICS:
            print(f"bench: unknown --numerics '{n}'; use {', '.join(NUMERICS)}", file=sys.stderr)
            return 2
    models = QUICK_MODELS if a.quick else (a.models.split(",") if a.models else DEFAULT_MODELS)

    ort_problem = ensure_onnxruntime_node()
    if ort_problem:
        print(f"bench: ONNX Runtime column skipped: {ort_problem}", flush=True)
    date = datetime.date.today().isoformat()
    report = {"rows": [], "numerics_rows": [], "int8_peer_rows": [], "int8_missing": [], "checks": [], "skipped": [],
              "failures": [], "torch_models": {}, "peak": {}, "cells": [],
              "profiles": {}, "facts": {
        "date": date, "cpu": cpu_model(), "cores": os.cpu_count(),
        "load_start": " ".join(f"{v:.2f}" for v in os.getloadavg()), "lucidgen_path": a.lucidgen,
        "compiler": compiler_version(), "ort": ort_version(), "runs": a.runs, "repeat": a.repeat,
        "node": run(["node", "--version"]).stdout.strip() if shutil.which("node") else "none",
        "openblas_env": {k: os.environ[k] for k in OPENBLAS_VARS if k in os.environ}}}
    if max(a.threads) > (os.cpu_count() or 1):
        print(f"bench: more threads than the {os.cpu_count()} cores; those rows measure oversubscription", flush=True)

    root = a.work or tempfile.mkdtemp(prefix="lucidgen-bench-")
    try:
        for variant in models:
            work = os.path.join(root, variant.replace("@", "_").replace(":", "_"))
            os.makedirs(work, exist_ok=True)
            print(f"{variant}: preparing weights, classifier and ONNX model ...", flush=True)
            try:
                bench_model(a, variant, work, ort_problem, report)
            except Skip as e:
                print(f"  skipped {variant}: {e}", flush=True)
                report["skipped"].append(f"{variant}: {e}")
            except subprocess.TimeoutExpired as e:
                report["skipped"].append(f"{variant}: timed out after {TIMEOUT} s: {' '.join(e.cmd[:2])}")
        time_rounds(a, report)
        finish(report)
    finally:
        if not a.work:
            shutil.rmtree(root, ignore_errors=True)
    report["facts"]["load_end"] = " ".join(f"{v:.2f}" for v in os.getloadavg())

    text = render(report)
    print()
    print(text, end="")
    # a table with no lucidgen time in it is a failed run, whatever else it holds
    if not any(r["lucidgen"] for r in report["rows"]):
        print("bench: lucidgen timed no model (see Skipped and the failures above); nothing saved", file=sys.stderr)
        return 1
    if a.save:
        print(f"saved {save(report, text, date)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
