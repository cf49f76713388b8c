#!/usr/bin/python3
"""Checks variants/*.lua (through generator/registry.lua) against timm's metadata.

timm_variants.json holds, for every pretrained tag of our families, the facts read
from timm (pretrained_cfg, model args, parameter counts, results tables). This
script asks the registry for every tag and compares field by field, printing each
difference as `name: field: registry X, timm Y`.

Run from the repo root: /usr/bin/python3 tests/unit/check_registry_vs_json.py [JSON]
(default JSON: ../shared/reference/timm_variants.json). Exits 77 (CTest: skipped)
when the JSON is not there.
"""
import json
import os
import re
import subprocess
import sys

SKIP = 77

# Dumps every registry variant as one JSON object per line. Lua has no JSON
# library; this encoder covers what a variant holds (strings, numbers,
# booleans, arrays, string-keyed tables).
DUMP_LUA = r"""
local registry = require("registry")
local function enc(v)
  local t = type(v)
  if t == "nil" then return "null" end
  if t == "boolean" then return tostring(v) end
  if t == "number" then return math.type(v) == "integer" and tostring(v) or string.format("%.17g", v) end
  if t == "string" then return (string.format("%q", v):gsub("\\\n", "\\n")) end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  if #keys == #v then
    local out = {}
    for i = 1, #v do out[i] = enc(v[i]) end
    return "[" .. table.concat(out, ",") .. "]"
  end
  table.sort(keys)
  local out = {}
  for _, k in ipairs(keys) do out[#out + 1] = string.format("%q", k) .. ":" .. enc(v[k]) end
  return "{" .. table.concat(out, ",") .. "}"
end
for _, v in ipairs(registry.list()) do print(enc(v)) end
"""

LABELS = {1000: "imagenet-1k", 21841: "imagenet-22k", 21843: "imagenet-21k-goog"}
PERMISSIVE = {"apache-2.0", "bsd-3-clause", "mit"}


def registry_variants(repo_root):
    env = dict(os.environ, LUA_PATH="generator/?.lua;./?.lua")
    out = subprocess.run(["lua5.4", "-e", DUMP_LUA], cwd=repo_root, env=env, check=True,
                         capture_output=True, text=True).stdout
    return {v["name"]: v for v in map(json.loads, out.splitlines())}


def expected_config(e):
    """The registry config timm's model args imply for one JSON entry."""
    a = e["arch"]
    if a["family"] == "resnet":
        card = a.get("cardinality", 1)
        c = {"family": "resnet", "block": a["block"], "layers": a["layers"], "channels": [64, 128, 256, 512],
             "cardinality": card, "stem_width": a["stem_width"], "avg_down": a["avg_down"],
             "num_features": a["num_features"], "in_channels": 3}
        # timm gives the stage-1 bottleneck width; base_width is per group
        c["base_width"] = a["bottleneck_width_stage1"] // card if a["block"] == "bottleneck" else 64
        if a["stem_type"] is not None:
            c["stem_type"] = a["stem_type"]
        return c
    if a["family"] == "resnetv2_bit":
        eps = float(re.fullmatch(r"StdConv2d\(eps=(.*)\)", a["conv"]).group(1))
        groups = int(re.fullmatch(r"GroupNorm\((\d+)\)", a["norm"]).group(1))
        return {"family": "resnetv2", "layers": a["layers"], "channels": a["stage_chs"], "stem_chs": a["stem_chs"],
                "num_features": a["num_features"], "preact": a["preact"], "std_conv_eps": eps, "gn_groups": groups,
                "width_factor": int(re.search(r"x(\d+)_bit$", e["architecture"]).group(1)),
                "in_channels": 3}
    return {"family": "convnext",
            "depths": a["depths"], "dims": a["dims"], "conv_mlp": a["conv_mlp"], "use_grn": a["use_grn"],
            "layer_scale": a["layer_scale"], "head_norm_first": a["head_norm_first"],
            "num_features": a["num_features"], "in_channels": 3}


def compare(e, v):
    want = {
        "timm_name": e["timm_name"], "arch": e["architecture"], "hub_repo": e["hf_hub_id"],
        "num_classes": e["num_classes"], "input_size": e["input_size"][1:],
        "test_input_size": e["test_input_size"][1:] if e["test_input_size"] else None,
        "crop_pct": e["crop_pct"], "crop_mode": e["crop_mode"], "interpolation": e["interpolation"],
        "mean": e["mean"], "std": e["std"], "license": e["license"], "first_conv": e["first_conv"],
        "classifier": e["classifier"], "params": e["backbone_params"], "acc1": e.get("acc@1"),
        "acc5": e.get("acc@5"), "seeded": e["seeded"], "labels": LABELS.get(e["num_classes"]),
    }
    diffs = [(k, v.get(k), w) for k, w in want.items() if v.get(k) != w]
    for k, w in expected_config(e).items():
        if v["config"].get(k) != w:
            diffs.append(("config." + k, v["config"].get(k), w))
    if (v.get("license_warning") is None) != (e["license"] in PERMISSIVE):
        diffs.append(("license_warning", v.get("license_warning"), "a warning iff license is not permissive"))
    return diffs


def main():
    repo_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(repo_root, "..", "shared", "reference",
                                                               "timm_variants.json")
    if not os.path.exists(path):
        print(f"SKIPPED: {path} not found (it sits beside the clone as ../shared in CI)")
        return SKIP
    timm = {e["name"]: e for e in json.load(open(path))}
    reg = registry_variants(repo_root)

    problems = []
    for name in sorted(set(timm) - set(reg)):
        problems.append(f"{name}: in timm, missing from variants/")
    for name in sorted(set(reg) - set(timm)):
        problems.append(f"{name}: in variants/, unknown to timm")
    for name in sorted(set(timm) & set(reg)):
        for field, got, want in compare(timm[name], reg[name]):
            problems.append(f"{name}: {field}: registry {got!r}, timm {want!r}")

    for p in problems:
        print("NOT OK  " + p)
    print(f"{len(timm)} timm tags, {len(reg)} registry variants, {len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
