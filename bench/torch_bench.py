#!/usr/bin/python3
"""Times one eager PyTorch model; run.py starts it as a subprocess per thread count.

A process of its own so that the OpenBLAS variables run.py drops from its
environment and torch.set_num_threads apply to this timing alone.

Reads the work directory run.py prepared (info.json, state.pt, input.f32, and
calibration.f32 for --int8), builds torch_models.timing_model (with --int8:
torch_models.int8_model), writes its output for input.f32 to --output
and prints one JSON line: min and median (element N/2 of the sorted times, as the
generated classifier's --bench does) in ms over --runs after --warmup runs, the
model's description and the backend facts (torch version, oneDNN, BLAS library).
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_models  # noqa: E402


def loaded_blas():
    """The BLAS shared objects this process mapped, e.g. /usr/lib/.../blas/libblas.so.3.11.0."""
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1]
            if "blas" in os.path.basename(path) and ".so" in path:
                libs.add(os.path.realpath(path))
    return sorted(libs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True, help="directory with info.json, state.pt, input.f32")
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--runs", type=int, required=True)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--output", required=True)
    ap.add_argument("--int8", action="store_true", help="PyTorch's own int8 (onednn) instead of fp32")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    info = json.load(open(os.path.join(a.work, "info.json")))
    model = info["model"]
    state = torch.load(os.path.join(a.work, "state.pt"))
    shape = [model["batch"], model["in_chans"], model["size"][0], model["size"][1]]
    x = torch.from_numpy(np.fromfile(os.path.join(a.work, "input.f32"), dtype=np.float32).reshape(shape))
    if a.int8:
        try:
            forward, note = torch_models.int8_model(info["family"], info["config"], state, model["num_classes"],
                                                    torch_models.calibration_set(a.work, shape))
        except KeyError as e:
            print(e.args[0], file=sys.stderr)
            return 2
    else:
        forward, note = torch_models.timing_model(info["family"], info["config"], state, model["num_classes"])

    times = []
    with torch.inference_mode():
        for _ in range(a.warmup):
            out = forward(x)
        for _ in range(a.runs):
            t0 = time.perf_counter()
            out = forward(x)
            times.append(time.perf_counter() - t0)
    out.contiguous().numpy().astype(np.float32).tofile(a.output)
    print(json.dumps({
        "min_ms": min(times) * 1e3, "median_ms": sorted(times)[len(times) // 2] * 1e3, "runs": a.runs,
        "threads": torch.get_num_threads(), "model": note, "torch": torch.__version__,
        "mkldnn": torch.backends.mkldnn.is_available(), "blas": loaded_blas(),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
