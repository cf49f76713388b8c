#!/usr/bin/python3
"""The product path end to end: `lucidgen VARIANT -o model.c` with no --weights
downloads model.safetensors of timm/<arch>.<tag> from a fake hub on 127.0.0.1
(HF_ENDPOINT), through the huggingface_hub cache, and generates from it.

  test_cli_fetch.py LUCIDGEN CASE
"""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import harness  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "parity"))
import torch  # noqa: E402

import ref_resnet  # noqa: E402
import safetensors_io  # noqa: E402
from fake_hub import FakeHub, Repo  # noqa: E402

VARIANT, REPO = "resnet18_a1_in1k", "timm/resnet18.a1_in1k"
CFG = {"block": "basic", "layers": [2, 2, 2, 2], "channels": [64, 128, 256, 512], "cardinality": 1, "base_width": 64,
       "stem_width": 64, "avg_down": False}


def checkpoint(tmp):
    path = os.path.join(tmp, "w.safetensors")
    safetensors_io.save(ref_resnet.init_state(CFG, 1000, 3, torch.Generator().manual_seed(0)), path)
    return open(path, "rb").read()


def run(lucidgen, args, env):
    return harness.run([lucidgen] + args, ok=False, env=env, timeout=600)


def leaves_no_temporary_files(lucidgen):
    """Runs a case of this script under a fresh TMPDIR, which must end empty
    (each run used to leave ~400 MB in /tmp/lg_cli_fetch_*)."""
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run([sys.executable, __file__, lucidgen, "offline_miss_is_one_line_exit_2"],
                           capture_output=True, text=True, env=dict(os.environ, TMPDIR=d), timeout=600)
        left = os.listdir(d)
    problems = [] if r.returncode == 0 else [f"inner case failed: {r.stdout}{r.stderr}"]
    return problems + ([f"left behind in TMPDIR: {left}"] if left else [])


def main():
    lucidgen, case = sys.argv[1], sys.argv[2]
    if case == "leaves_no_temporary_files":
        problems = leaves_no_temporary_files(lucidgen)
        print(("NOT OK " if problems else "OK ") + case + ("".join("\n  " + p for p in problems)))
        return 1 if problems else 0
    tmp = tempfile.mkdtemp(prefix="lg_cli_fetch_")
    hub = FakeHub()
    hub.add_repo(Repo(REPO, {"model.safetensors": checkpoint(tmp)}))
    hub.start()
    env = dict(os.environ, HF_ENDPOINT=hub.endpoint, HF_HUB_CACHE=os.path.join(tmp, "hub"), LUCIDGEN_RETRY_BASE_MS="1")
    env.pop("HF_HUB_OFFLINE", None)
    out = os.path.join(tmp, "model.c")
    problems = []
    try:
        if case == "generates_from_a_hub_download":
            r = run(lucidgen, [VARIANT, "-o", out, "--quiet"], env)
            if r.returncode != 0:
                problems.append(f"generation failed: exit {r.returncode}: {r.stderr.strip()}")
            elif f"Weights:   {tmp}/hub/models--timm--resnet18.a1_in1k/snapshots/" not in open(out).read():
                problems.append("model.c does not name the snapshot it was generated from")
            r = run(lucidgen, ["cache", "list"], env)
            if REPO not in r.stdout:
                problems.append(f"cache list does not show {REPO}: {r.stdout!r}")
        elif case == "offline_generation_uses_the_cache_only":
            r = run(lucidgen, ["fetch", VARIANT, "--quiet"], env)
            hub.stop()
            hub = None
            r2 = run(lucidgen, [VARIANT, "-o", out, "--quiet"], dict(env, HF_HUB_OFFLINE="1"))
            if r.returncode != 0 or r2.returncode != 0:
                problems.append(f"fetch exit {r.returncode} ({r.stderr.strip()}), offline generate exit {r2.returncode} ({r2.stderr.strip()})")
            r3 = run(lucidgen, ["cache", "path", VARIANT], env)
            if r3.returncode != 0 or r.stdout.strip() != r3.stdout.strip():
                problems.append(f"cache path {r3.stdout.strip()!r} != fetch path {r.stdout.strip()!r}")
        elif case == "offline_miss_is_one_line_exit_2":
            r = run(lucidgen, [VARIANT, "-o", out, "--offline"], env)
            lines = r.stderr.strip().splitlines()
            if r.returncode != 2 or len(lines) != 1 or "models--timm--resnet18.a1_in1k" not in lines[0] or os.path.exists(out):
                problems.append(f"want exit 2, one line naming the cache path, no output; got exit {r.returncode}: {r.stderr!r}")
        elif case == "unknown_repo_on_hub_is_exit_2":
            r = run(lucidgen, ["resnet34_a1_in1k", "-o", out], env)
            if r.returncode != 2 or "timm/resnet34.a1_in1k" not in r.stderr or os.path.exists(out):
                problems.append(f"want exit 2 naming timm/resnet34.a1_in1k; got exit {r.returncode}: {r.stderr!r}")
        elif case == "unreachable_hub_is_exit_1":
            r = run(lucidgen, [VARIANT, "-o", out], dict(env, HF_ENDPOINT="http://127.0.0.1:9"))
            if r.returncode != 1 or os.path.exists(out):
                problems.append(f"want exit 1 and no output; got exit {r.returncode}: {r.stderr!r}")
        else:
            problems.append("unknown case " + case)
    finally:
        if hub:
            hub.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(("NOT OK " if problems else "OK ") + case + ("".join("\n  " + p for p in problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
