#!/usr/bin/python3
"""Checks variants/*.lua (through generator/registry.lua) against timm's metadata.

timm_variants.json holds, for every pretrained tag of our families, the facts read
from timm (pretrained_cfg, model args, parameter counts, results tables). This
script asks the registry for every tag and compares field by field -- every
field that changes the numbers a model computes: architecture, head,
preprocessing (crop_pct, crop_mode, interpolation, mean, std) and the eps of
every norm, both the registry's config (ln_eps, gn_eps, std_conv_eps) and the
eps each norm node of the built graph really carries -- printing each
difference as `name: field: registry X, timm Y`.

  /usr/bin/python3 tests/unit/check_registry_vs_json.py LUA_UNIT [JSON]
(LUA_UNIT: tests/unit/lua_unit_main.c's runner)
(default JSON: ../shared/reference/timm_variants.json). When the JSON is not
there it exits 77 (CTest: skipped), or 1 when the environment has CI set: in CI
the check must run.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

SKIP = 77

# Dumps every registry variant as one JSON object per line (run by lua_unit, with
# the generator's own JSON encoder).
DUMP_LUA = r"""
local registry = require("registry")
local json = require("json")
-- the eps each norm of the graph the variant builds uses, per op
local graph = require("graph")
for _, v in ipairs(registry.list()) do
  local g = graph.new({ variant = v.name })
  registry.family(v.family).build(g, v.config,
    { num_classes = v.num_classes, in_chans = v.config.in_channels, size = v.input_size, batch = 1 })
  local seen, eps = {}, {}
  for _, node in ipairs(g.nodes) do
    for op, e in pairs({ [node.op] = node.attrs.eps, std_conv = node.attrs.std_eps }) do
      if e and not seen[op .. e] then
        seen[op .. e] = true
        eps[op] = eps[op] or {}
        table.insert(eps[op], e)
      end
    end
  end
  for _, list in pairs(eps) do table.sort(list) end
  v.graph_eps = eps
  print(json.encode(v))
end
"""

LABELS = {1000: "imagenet-1k", 21841: "imagenet-22k", 21843: "imagenet-21k-goog"}

# Norm eps the JSON does not spell out: timm's module defaults, which none of
# our architectures' model args override (timm/models/*.py, timm/layers/*.py).
TIMM_BN_EPS = 1e-5    # resnet.py: nn.BatchNorm2d
TIMM_GN_EPS = 1e-5    # resnetv2.py: GroupNormAct(num_groups, eps=1e-5)
TIMM_LN_EPS = 1e-6    # convnext.py: LayerNorm2d / LayerNorm (norm_eps None in every def we list)
TIMM_GRN_EPS = 1e-6   # layers/grn.py: GlobalResponseNorm(eps=1e-6)
PERMISSIVE = {"apache-2.0", "bsd-3-clause", "mit"}


def registry_variants(repo_root, lua_unit):
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as f:
        f.write(DUMP_LUA)
        f.flush()
        out = subprocess.run([lua_unit, f.name], cwd=repo_root, check=True, capture_output=True, text=True).stdout
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
        norm = re.fullmatch(r"GroupNorm\((\d+)(?:, *eps=(.*))?\)", a["norm"])
        stem = {"ConstantPad2d(1,0)+MaxPool3x3s2": "fixed"}.get(a["stem_pad"], a["stem_pad"])
        return {"family": "resnetv2", "layers": a["layers"], "channels": a["stage_chs"], "stem_chs": a["stem_chs"],
                "num_features": a["num_features"], "preact": a["preact"], "std_conv_eps": eps,
                "gn_groups": int(norm.group(1)), "gn_eps": float(norm.group(2) or TIMM_GN_EPS), "stem_type": stem,
                "width_factor": int(re.search(r"x(\d+)_bit$", e["architecture"]).group(1)),
                "in_channels": 3}
    return {"family": "convnext",
            "depths": a["depths"], "dims": a["dims"], "conv_mlp": a["conv_mlp"], "use_grn": a["use_grn"],
            "layer_scale": a["layer_scale"], "head_norm_first": a["head_norm_first"],
            "ln_eps": a.get("norm_eps") or TIMM_LN_EPS, "num_features": a["num_features"], "in_channels": 3}


def expected_graph_eps(e, config):
    """{op: [eps]} every norm of the model must use, from timm's facts."""
    family = e["arch"]["family"]
    if family == "resnet":
        return {"batchnorm": [TIMM_BN_EPS]}
    if family == "resnetv2_bit":
        return {"groupnorm": [config["gn_eps"]], "std_conv": [config["std_conv_eps"]]}
    eps = {"layernorm": [config["ln_eps"]]}
    if config["use_grn"]:
        eps["grn"] = [TIMM_GRN_EPS]
    return eps


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
    config = expected_config(e)
    for k, w in config.items():
        if v["config"].get(k) != w:
            diffs.append(("config." + k, v["config"].get(k), w))
    want_eps = expected_graph_eps(e, config)
    if v["graph_eps"] != want_eps:
        diffs.append(("eps of the graph's norms", v["graph_eps"], want_eps))
    if (v.get("license_warning") is None) != (e["license"] in PERMISSIVE):
        diffs.append(("license_warning", v.get("license_warning"), "a warning iff license is not permissive"))
    return diffs


def main():
    repo_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    lua_unit = sys.argv[1]
    path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(repo_root, "..", "shared", "reference",
                                                               "timm_variants.json")
    if not os.path.exists(path):
        if os.environ.get("CI"):
            print(f"NOT OK: {path} not found; in CI (CI is set) it must sit beside the clone as ../shared")
            return 1
        print(f"SKIPPED: {path} not found (it sits beside the clone as ../shared in CI)")
        return SKIP
    timm = {e["name"]: e for e in json.load(open(path))}
    reg = registry_variants(repo_root, lua_unit)

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
