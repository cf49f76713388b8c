#!/usr/bin/python3
"""`lucidgen info` plans from shapes alone: no weight is made or packed.

  info_plan_lean.py LUCIDGEN

resnet50's packed weights are 102 MB; info (with --layers: every kernel,
arena offset and Winograd error estimate) must stay under 50 MB peak RSS, so
a plan that bound, folded or packed weights would fail here.
"""
import resource
import subprocess
import sys

LIMIT_KB = 50 * 1024

r = subprocess.run([sys.argv[1], "info", "resnet50_a1_in1k", "--layers"], capture_output=True, text=True)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
if r.returncode != 0 or "packed weights" not in r.stdout:
    print(f"NOT OK: lucidgen info failed or printed no plan: exit {r.returncode}\n{r.stdout[-2000:]}{r.stderr}")
    sys.exit(1)
print(f"{'OK' if peak <= LIMIT_KB else 'NOT OK'}: info resnet50_a1_in1k --layers peaked at {peak / 1024:.1f} MB "
      f"(limit {LIMIT_KB / 1024:.0f} MB; its weights are 102 MB)")
sys.exit(0 if peak <= LIMIT_KB else 1)
