#!/usr/bin/python3
"""Generates every seeded variant (the ones users named) with random weights
and compiles the generated C, one after another, reporting each.

  generate_seeded.py LUCIDGEN [--family F] [--max-params N] [--compile] [--selftest]

--max-params keeps CI to the small models; the slow label runs them all.
With --selftest the model is also linked into a classifier and its golden
self-test run.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("lucidgen")
    ap.add_argument("--family")
    ap.add_argument("--max-params", type=float, default=float("inf"))
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--selftest", action="store_true")
    a = ap.parse_args()
    rows = json.loads(subprocess.run([a.lucidgen, "list", "--json"], capture_output=True, text=True, check=True).stdout)
    rows = [r for r in rows if r.get("seeded") and (not a.family or r["family"] == a.family)
            and (r.get("params") or 0) <= a.max_params]
    failed = 0
    for r in rows:
        t0 = time.time()
        with tempfile.TemporaryDirectory() as d:
            if a.selftest:
                exe = os.path.join(d, "model")
                p = subprocess.run([a.lucidgen, "build", r["name"], "--random-init", "--quiet", "-o", exe],
                                   capture_output=True, text=True)
                if p.returncode == 0:
                    p = subprocess.run([exe, "--selftest"], capture_output=True, text=True)
            else:
                c = os.path.join(d, "model.c")
                p = subprocess.run([a.lucidgen, r["name"], "--random-init", "--quiet", "-o", c], capture_output=True,
                                   text=True)
                if p.returncode == 0 and a.compile:
                    p = subprocess.run(["cc", "-std=c11", "-O1", "-fopenmp", "-march=native", "-Wall", "-Wextra",
                                        "-Werror", "-c", c, "-o", os.path.join(d, "model.o")], capture_output=True,
                                       text=True)
        ok = p.returncode == 0
        failed += not ok
        detail = "" if ok else ": " + (p.stderr or p.stdout).strip()[:2000]
        print(f"{'OK' if ok else 'NOT OK'} {r['name']} ({(r.get('params') or 0) / 1e6:.1f} M params, "
              f"{time.time() - t0:.1f} s){detail}", flush=True)
    print(f"{len(rows) - failed} passed, {failed} failed")
    return 1 if failed or not rows else 0


if __name__ == "__main__":
    sys.exit(main())
