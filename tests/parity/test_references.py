#!/usr/bin/python3
"""Self-checks of the functional parity references (ref_resnet, ref_convnext, ref_resnetv2).

Each reference is checked against something it does not share code with:
  * key lists/shapes hard-coded here from reading timm's source (convnext.py, resnetv2.py)
  * ResNet / ResNeXt / Wide-ResNet: torchvision.models.resnet.ResNet, which has
    timm's key names, loaded with strict=True, block by block
  * ConvNeXt v1: torchvision.models.convnext.ConvNeXt with the weights remapped
  * ConvNeXt V2: torchvision's ConvNeXt skeleton with a GRN block written like the
    official facebookresearch/ConvNeXt-V2 code (channels-last, gamma/beta), and the
    GRN and a whole V2 block from first principles in float64 numpy
  * BiT: an nn.Module model with timm's module names (StdConv via timm's F.batch_norm
    trick, nn.GroupNorm, ConstantPad2d + MaxPool2d), loaded with strict=True, and
    StdConv2d from first principles (weight standardization + conv in float64 numpy)
Prints one line per compared tensor (max |diff|, scale, OK / NOT OK); exits 1 on any failure.

Run: /usr/bin/python3 tests/parity/test_references.py
"""

import os
import sys
from functools import partial

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models.convnext import CNBlockConfig, ConvNeXt
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ref_convnext  # noqa: E402
import ref_resnet  # noqa: E402
import ref_resnetv2  # noqa: E402

RTOL = 2e-5  # max |a - b| / max(1, max |b|), float32 with differing op order
FAILURES = []


def report(test, name, got, want, rtol=RTOL):
    if tuple(got.shape) != tuple(want.shape):
        print(f"  {name:40s} shape {tuple(got.shape)} != {tuple(want.shape)}  NOT OK")
        FAILURES.append(f"{test}: {name} shape")
        return
    diff = (got - want).abs().max().item()
    scale = max(1.0, want.abs().max().item())
    ok = diff <= rtol * scale and torch.isfinite(got).all().item()
    print(f"  {name:40s} max|diff| {diff:.3e}  scale {scale:9.3e}  {'OK' if ok else 'NOT OK'}")
    if not ok:
        FAILURES.append(f"{test}: {name} diff {diff:.3e}")


def check(test, cond, msg):
    if not cond:
        print(f"  NOT OK: {msg}")
        FAILURES.append(f"{test}: {msg}")


# ---------------------------------------------------------------------------------------------
# (a) state-dict keys and shapes, hard-coded from timm's module definitions
# ---------------------------------------------------------------------------------------------

CONVNEXT_V1_SMALL = {"family": "convnext", "depths": [1, 1, 2, 1], "dims": [8, 16, 32, 64],
                     "conv_mlp": False, "use_grn": False, "layer_scale": True,
                     "head_norm_first": False, "ln_eps": 1e-6, "num_features": 64}
CONVNEXT_V2_CONV_SMALL = {"family": "convnext", "depths": [1, 1, 1, 1], "dims": [8, 16, 32, 64],
                          "conv_mlp": True, "use_grn": True, "layer_scale": False,
                          "head_norm_first": False, "ln_eps": 1e-6, "num_features": 64}
BIT_SMALL = {"family": "resnetv2", "layers": [1, 1, 1, 1], "width_factor": 1, "stem_chs": 16,
             "channels": [32, 64, 128, 256], "num_features": 256, "std_conv_eps": 1e-8,
             "gn_groups": 8, "gn_eps": 1e-5, "stem_type": "fixed", "preact": True}

# timm ConvNeXt(depths=(1,1,2,1), dims=(8,16,32,64), num_classes=10), state_dict() order.
# Block: own param `gamma` first, then conv_dw, norm (LayerNorm), mlp (Mlp: fc1, act, drop1,
# norm=Identity, fc2). Stage 0 has no downsample (in == out, stride 1).
EXPECTED_CONVNEXT_V1 = """
stem.0.weight 8,3,4,4
stem.0.bias 8
stem.1.weight 8
stem.1.bias 8
stages.0.blocks.0.gamma 8
stages.0.blocks.0.conv_dw.weight 8,1,7,7
stages.0.blocks.0.conv_dw.bias 8
stages.0.blocks.0.norm.weight 8
stages.0.blocks.0.norm.bias 8
stages.0.blocks.0.mlp.fc1.weight 32,8
stages.0.blocks.0.mlp.fc1.bias 32
stages.0.blocks.0.mlp.fc2.weight 8,32
stages.0.blocks.0.mlp.fc2.bias 8
stages.1.downsample.0.weight 8
stages.1.downsample.0.bias 8
stages.1.downsample.1.weight 16,8,2,2
stages.1.downsample.1.bias 16
stages.1.blocks.0.gamma 16
stages.1.blocks.0.conv_dw.weight 16,1,7,7
stages.1.blocks.0.conv_dw.bias 16
stages.1.blocks.0.norm.weight 16
stages.1.blocks.0.norm.bias 16
stages.1.blocks.0.mlp.fc1.weight 64,16
stages.1.blocks.0.mlp.fc1.bias 64
stages.1.blocks.0.mlp.fc2.weight 16,64
stages.1.blocks.0.mlp.fc2.bias 16
stages.2.downsample.0.weight 16
stages.2.downsample.0.bias 16
stages.2.downsample.1.weight 32,16,2,2
stages.2.downsample.1.bias 32
stages.2.blocks.0.gamma 32
stages.2.blocks.0.conv_dw.weight 32,1,7,7
stages.2.blocks.0.conv_dw.bias 32
stages.2.blocks.0.norm.weight 32
stages.2.blocks.0.norm.bias 32
stages.2.blocks.0.mlp.fc1.weight 128,32
stages.2.blocks.0.mlp.fc1.bias 128
stages.2.blocks.0.mlp.fc2.weight 32,128
stages.2.blocks.0.mlp.fc2.bias 32
stages.2.blocks.1.gamma 32
stages.2.blocks.1.conv_dw.weight 32,1,7,7
stages.2.blocks.1.conv_dw.bias 32
stages.2.blocks.1.norm.weight 32
stages.2.blocks.1.norm.bias 32
stages.2.blocks.1.mlp.fc1.weight 128,32
stages.2.blocks.1.mlp.fc1.bias 128
stages.2.blocks.1.mlp.fc2.weight 32,128
stages.2.blocks.1.mlp.fc2.bias 32
stages.3.downsample.0.weight 32
stages.3.downsample.0.bias 32
stages.3.downsample.1.weight 64,32,2,2
stages.3.downsample.1.bias 64
stages.3.blocks.0.gamma 64
stages.3.blocks.0.conv_dw.weight 64,1,7,7
stages.3.blocks.0.conv_dw.bias 64
stages.3.blocks.0.norm.weight 64
stages.3.blocks.0.norm.bias 64
stages.3.blocks.0.mlp.fc1.weight 256,64
stages.3.blocks.0.mlp.fc1.bias 256
stages.3.blocks.0.mlp.fc2.weight 64,256
stages.3.blocks.0.mlp.fc2.bias 64
head.norm.weight 64
head.norm.bias 64
head.fc.weight 10,64
head.fc.bias 10
"""

# timm ConvNeXt(depths=(1,1,1,1), dims=(8,16,32,64), use_grn=True, ls_init_value=None,
# conv_mlp=True, num_classes=0): no gamma, 1x1-conv MLP, GlobalResponseNormMlp (fc1, act,
# drop1, grn{weight,bias}, fc2), head.norm kept, head.fc = Identity.
EXPECTED_CONVNEXT_V2_CONV_NC0 = """
stem.0.weight 8,3,4,4
stem.0.bias 8
stem.1.weight 8
stem.1.bias 8
stages.0.blocks.0.conv_dw.weight 8,1,7,7
stages.0.blocks.0.conv_dw.bias 8
stages.0.blocks.0.norm.weight 8
stages.0.blocks.0.norm.bias 8
stages.0.blocks.0.mlp.fc1.weight 32,8,1,1
stages.0.blocks.0.mlp.fc1.bias 32
stages.0.blocks.0.mlp.grn.weight 32
stages.0.blocks.0.mlp.grn.bias 32
stages.0.blocks.0.mlp.fc2.weight 8,32,1,1
stages.0.blocks.0.mlp.fc2.bias 8
stages.1.downsample.0.weight 8
stages.1.downsample.0.bias 8
stages.1.downsample.1.weight 16,8,2,2
stages.1.downsample.1.bias 16
stages.1.blocks.0.conv_dw.weight 16,1,7,7
stages.1.blocks.0.conv_dw.bias 16
stages.1.blocks.0.norm.weight 16
stages.1.blocks.0.norm.bias 16
stages.1.blocks.0.mlp.fc1.weight 64,16,1,1
stages.1.blocks.0.mlp.fc1.bias 64
stages.1.blocks.0.mlp.grn.weight 64
stages.1.blocks.0.mlp.grn.bias 64
stages.1.blocks.0.mlp.fc2.weight 16,64,1,1
stages.1.blocks.0.mlp.fc2.bias 16
stages.2.downsample.0.weight 16
stages.2.downsample.0.bias 16
stages.2.downsample.1.weight 32,16,2,2
stages.2.downsample.1.bias 32
stages.2.blocks.0.conv_dw.weight 32,1,7,7
stages.2.blocks.0.conv_dw.bias 32
stages.2.blocks.0.norm.weight 32
stages.2.blocks.0.norm.bias 32
stages.2.blocks.0.mlp.fc1.weight 128,32,1,1
stages.2.blocks.0.mlp.fc1.bias 128
stages.2.blocks.0.mlp.grn.weight 128
stages.2.blocks.0.mlp.grn.bias 128
stages.2.blocks.0.mlp.fc2.weight 32,128,1,1
stages.2.blocks.0.mlp.fc2.bias 32
stages.3.downsample.0.weight 32
stages.3.downsample.0.bias 32
stages.3.downsample.1.weight 64,32,2,2
stages.3.downsample.1.bias 64
stages.3.blocks.0.conv_dw.weight 64,1,7,7
stages.3.blocks.0.conv_dw.bias 64
stages.3.blocks.0.norm.weight 64
stages.3.blocks.0.norm.bias 64
stages.3.blocks.0.mlp.fc1.weight 256,64,1,1
stages.3.blocks.0.mlp.fc1.bias 256
stages.3.blocks.0.mlp.grn.weight 256
stages.3.blocks.0.mlp.grn.bias 256
stages.3.blocks.0.mlp.fc2.weight 64,256,1,1
stages.3.blocks.0.mlp.fc2.bias 64
head.norm.weight 64
head.norm.bias 64
"""

# timm ResNetV2(layers=[1,1,1,1], channels=(32,64,128,256), stem_chs=16, stem_type='fixed',
# conv_layer=StdConv2d(eps=1e-8), norm_layer=GroupNormAct(8), num_classes=10).
# StdConv2d has no bias; mid = make_divisible(out * 0.25) = 8,16,32,64; the preact block's
# downsample (DownsampleConv: conv + Identity norm) is registered before norm1.
EXPECTED_BIT = """
stem.conv.weight 16,3,7,7
stages.0.blocks.0.downsample.conv.weight 32,16,1,1
stages.0.blocks.0.norm1.weight 16
stages.0.blocks.0.norm1.bias 16
stages.0.blocks.0.conv1.weight 8,16,1,1
stages.0.blocks.0.norm2.weight 8
stages.0.blocks.0.norm2.bias 8
stages.0.blocks.0.conv2.weight 8,8,3,3
stages.0.blocks.0.norm3.weight 8
stages.0.blocks.0.norm3.bias 8
stages.0.blocks.0.conv3.weight 32,8,1,1
stages.1.blocks.0.downsample.conv.weight 64,32,1,1
stages.1.blocks.0.norm1.weight 32
stages.1.blocks.0.norm1.bias 32
stages.1.blocks.0.conv1.weight 16,32,1,1
stages.1.blocks.0.norm2.weight 16
stages.1.blocks.0.norm2.bias 16
stages.1.blocks.0.conv2.weight 16,16,3,3
stages.1.blocks.0.norm3.weight 16
stages.1.blocks.0.norm3.bias 16
stages.1.blocks.0.conv3.weight 64,16,1,1
stages.2.blocks.0.downsample.conv.weight 128,64,1,1
stages.2.blocks.0.norm1.weight 64
stages.2.blocks.0.norm1.bias 64
stages.2.blocks.0.conv1.weight 32,64,1,1
stages.2.blocks.0.norm2.weight 32
stages.2.blocks.0.norm2.bias 32
stages.2.blocks.0.conv2.weight 32,32,3,3
stages.2.blocks.0.norm3.weight 32
stages.2.blocks.0.norm3.bias 32
stages.2.blocks.0.conv3.weight 128,32,1,1
stages.3.blocks.0.downsample.conv.weight 256,128,1,1
stages.3.blocks.0.norm1.weight 128
stages.3.blocks.0.norm1.bias 128
stages.3.blocks.0.conv1.weight 64,128,1,1
stages.3.blocks.0.norm2.weight 64
stages.3.blocks.0.norm2.bias 64
stages.3.blocks.0.conv2.weight 64,64,3,3
stages.3.blocks.0.norm3.weight 64
stages.3.blocks.0.norm3.bias 64
stages.3.blocks.0.conv3.weight 256,64,1,1
norm.weight 256
norm.bias 256
head.fc.weight 10,256,1,1
head.fc.bias 10
"""


def parse_expected(text):
    out = []
    for line in text.strip().splitlines():
        key, shape = line.split()
        out.append((key, tuple(int(d) for d in shape.split(","))))
    return out


def check_keys(test, state, expected_text):
    got = [(k, tuple(v.shape)) for k, v in state.items()]
    want = parse_expected(expected_text)
    for k, v in state.items():
        check(test, v.dtype == torch.float32, f"{k} dtype {v.dtype}")
    if got == want:
        print(f"  {len(got)} keys, names/shapes/order match timm  OK")
        return
    gd, wd = dict(got), dict(want)
    for k in wd.keys() - gd.keys():
        print(f"  missing {k} {wd[k]}")
    for k in gd.keys() - wd.keys():
        print(f"  unexpected {k} {gd[k]}")
    for k in gd.keys() & wd.keys():
        if gd[k] != wd[k]:
            print(f"  {k}: shape {gd[k]} != timm {wd[k]}")
    if gd == wd:
        print("  same keys and shapes but different order")
    FAILURES.append(f"{test}: state-dict keys")


def test_convnext_v1_keys_match_timm():
    state = ref_convnext.init_state(CONVNEXT_V1_SMALL, 10, 3, torch.Generator().manual_seed(0))
    check_keys("convnext_v1_keys_match_timm", state, EXPECTED_CONVNEXT_V1)


def test_convnext_v2_conv_mlp_keys_match_timm_without_classifier():
    state = ref_convnext.init_state(CONVNEXT_V2_CONV_SMALL, 0, 3, torch.Generator().manual_seed(0))
    check_keys("convnext_v2_conv_mlp_keys_match_timm_without_classifier", state,
               EXPECTED_CONVNEXT_V2_CONV_NC0)


def test_bit_keys_match_timm():
    state = ref_resnetv2.init_state(BIT_SMALL, 10, 3, torch.Generator().manual_seed(0))
    check_keys("bit_keys_match_timm", state, EXPECTED_BIT)


def test_bit_width_rules_match_timm():
    # timm builds resnetv2_50x3_bit with out = make_divisible(base * 3) and mid = make_divisible(out * 0.25);
    # the registry stores the multiplied widths, so the reference takes them as given and derives mid
    base, wf = [256, 512, 1024, 2048], 3
    check("bit_width_rules_match_timm",
          [ref_resnetv2.make_divisible(c * wf) for c in base] == [768, 1536, 3072, 6144]
          and ref_resnetv2.make_divisible(64 * wf) == 192, "make_divisible(base * 3)")
    cfg = {"family": "resnetv2", "layers": [3, 4, 6, 3], "width_factor": 3, "stem_chs": 192,
           "channels": [768, 1536, 3072, 6144], "num_features": 6144, "preact": True, "stem_type": "fixed"}
    got = ref_resnetv2.widths(cfg)
    want = (192, [768, 1536, 3072, 6144], [192, 384, 768, 1536])
    check("bit_width_rules_match_timm", got == want, f"widths {got} != {want}")
    print(f"  50x3 widths {got}  {'OK' if got == want else 'NOT OK'}")


# ---------------------------------------------------------------------------------------------
# (b) ConvNeXt against torchvision (v1) and an official-style V2 block (GRN)
# ---------------------------------------------------------------------------------------------

class GRNOfficial(nn.Module):
    """GRN as in facebookresearch/ConvNeXt-V2 (channels-last, gamma/beta (1,1,1,C))."""

    def __init__(self, dim):
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(1, 1, 1, dim))
        self.beta = nn.Parameter(torch.zeros(1, 1, 1, dim))

    def forward(self, x):
        gx = torch.norm(x, p=2, dim=(1, 2), keepdim=True)
        nx = gx / (gx.mean(dim=-1, keepdim=True) + 1e-6)
        return self.gamma * (x * nx) + self.beta + x


class BlockV2Official(nn.Module):
    """ConvNeXt-V2 Block as in facebookresearch/ConvNeXt-V2 (no layer scale)."""

    def __init__(self, dim, layer_scale=None, sd_prob=0.0):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.grn = GRNOfficial(4 * dim)
        self.pwconv2 = nn.Linear(4 * dim, dim)

    def forward(self, x):
        shortcut = x
        x = self.dwconv(x).permute(0, 2, 3, 1)
        x = self.pwconv2(self.grn(self.act(self.pwconv1(self.norm(x)))))
        return shortcut + x.permute(0, 3, 1, 2)


def torchvision_convnext(cfg, num_classes):
    d, c = cfg["depths"], cfg["dims"]
    setting = [CNBlockConfig(c[i], c[i + 1] if i < 3 else None, d[i]) for i in range(4)]
    block = None if cfg["layer_scale"] else BlockV2Official
    return ConvNeXt(setting, layer_scale=1.0, num_classes=num_classes, block=block).eval()


def timm_to_torchvision(cfg, state):
    """timm ConvNeXt keys -> torchvision ConvNeXt keys (features.2i = downsample i, 2i+1 = stage i)."""
    v1 = {"conv_dw": "block.0", "norm": "block.2", "mlp.fc1": "block.3", "mlp.fc2": "block.5"}
    v2 = {"conv_dw": "dwconv", "norm": "norm", "mlp.fc1": "pwconv1", "mlp.fc2": "pwconv2",
          "mlp.grn.weight": "grn.gamma", "mlp.grn.bias": "grn.beta"}
    out = {}
    for k, v in state.items():
        parts = k.split(".")
        if k.startswith("stem."):
            nk = "features.0." + ".".join(parts[1:])
        elif ".downsample." in k:
            nk = f"features.{2 * int(parts[1])}." + ".".join(parts[3:])
        elif ".blocks." in k:
            i, j, rest = int(parts[1]), parts[3], ".".join(parts[4:])
            prefix = f"features.{2 * i + 1}.{j}."
            if rest == "gamma":
                nk, v = prefix + "layer_scale", v.reshape(-1, 1, 1)
            elif cfg["layer_scale"]:
                mod, leaf = rest.rsplit(".", 1)
                nk = prefix + v1[mod] + "." + leaf
            elif rest.startswith("mlp.grn."):
                nk, v = prefix + v2[rest], v.reshape(1, 1, 1, -1)
            else:
                mod, leaf = rest.rsplit(".", 1)
                nk = prefix + v2[mod] + "." + leaf
            if "fc" in rest and v.dim() == 4:  # 1x1 conv MLP weight -> Linear weight
                v = v.flatten(1)
        elif k.startswith("head.norm."):
            nk = "classifier.0." + parts[-1]
        elif k.startswith("head.fc."):
            nk = "classifier.2." + parts[-1]
        else:
            raise KeyError(k)
        out[nk] = v
    return out


def torchvision_acts(model, x):
    """Run model, returning {timm name: activation} via hooks on features/avgpool."""
    acts, hooks = {}, []

    def hook(name):
        return lambda m, i, o: acts.__setitem__(name, o)

    feats = model.features
    hooks.append(feats[0].register_forward_hook(hook("stem")))
    for i in range(4):
        if i > 0:
            hooks.append(feats[2 * i].register_forward_hook(hook(f"stages.{i}.downsample")))
        for j, blk in enumerate(feats[2 * i + 1]):
            hooks.append(blk.register_forward_hook(hook(f"stages.{i}.blocks.{j}")))
    hooks.append(model.avgpool.register_forward_hook(hook("head.global_pool")))
    hooks.append(model.classifier[1].register_forward_hook(hook("head.pre_logits")))
    with torch.no_grad():
        out = model(x)
    for h in hooks:
        h.remove()
    return out, acts


def compare_with_torchvision(test, cfg, seed, size=64, batch=2):
    gen = torch.Generator().manual_seed(seed)
    state = ref_convnext.init_state(cfg, 10, 3, gen)
    x = torch.randn(batch, 3, size, size, generator=gen)
    model = torchvision_convnext(cfg, 10)
    # conv_mlp toggles only the layout of the same math; torchvision has one layout
    model.load_state_dict(timm_to_torchvision(cfg, state), strict=True)
    want_out, want_acts = torchvision_acts(model, x)
    got_out, got_acts = ref_convnext.forward(cfg, state, x, 10)
    for name, act in got_acts:
        report(test, name, act, want_acts[name])
    report(test, "logits", got_out, want_out)
    feats, _ = ref_convnext.forward(cfg, state, x, 0)  # num_classes 0: pooled + head.norm
    report(test, "features (num_classes=0)", feats, want_acts["head.pre_logits"])


def test_convnext_v1_matches_torchvision():
    compare_with_torchvision("convnext_v1_matches_torchvision", CONVNEXT_V1_SMALL, 1)


def test_convnext_v1_conv_mlp_matches_torchvision():
    cfg = dict(CONVNEXT_V1_SMALL, conv_mlp=True)
    compare_with_torchvision("convnext_v1_conv_mlp_matches_torchvision", cfg, 2)


def test_convnext_v2_matches_official_grn_block():
    cfg = dict(CONVNEXT_V2_CONV_SMALL, conv_mlp=False, depths=[1, 1, 2, 1])
    compare_with_torchvision("convnext_v2_matches_official_grn_block", cfg, 3)


def test_convnext_v2_conv_mlp_matches_official_grn_block():
    cfg = dict(CONVNEXT_V2_CONV_SMALL, depths=[1, 1, 2, 1])
    compare_with_torchvision("convnext_v2_conv_mlp_matches_official_grn_block", cfg, 4)


def test_convnext_head_norm_first_normalizes_before_pool():
    # _hnf variant: norm_pre (LayerNorm2d) on the feature map, then pool -> head.fc
    test = "convnext_head_norm_first_normalizes_before_pool"
    cfg = dict(CONVNEXT_V1_SMALL, head_norm_first=True)
    gen = torch.Generator().manual_seed(5)
    state = ref_convnext.init_state(cfg, 10, 3, gen)
    keys = list(state)
    check(test, keys[-4:] == ["norm_pre.weight", "norm_pre.bias", "head.fc.weight", "head.fc.bias"],
          f"tail keys {keys[-4:]}")
    check(test, not any(k.startswith("head.norm") for k in keys), "head.norm present with head_norm_first")
    x = torch.randn(2, 3, 64, 64, generator=gen)
    out, acts = ref_convnext.forward(cfg, state, x, 10)
    a = dict(acts)
    want = a["stages.3.blocks.0"].permute(0, 2, 3, 1)
    want = F.layer_norm(want, (64,), state["norm_pre.weight"], state["norm_pre.bias"], 1e-6)
    want = F.linear(want.mean(dim=(1, 2)), state["head.fc.weight"], state["head.fc.bias"])
    report(test, "logits", out, want)


# ---------------------------------------------------------------------------------------------
# (c) BiT against an nn.Module model with timm's module names
# ---------------------------------------------------------------------------------------------

class StdConv2dTimmStyle(nn.Conv2d):
    """Weight standardization the way timm's StdConv2d does it (F.batch_norm on the weight)."""

    def __init__(self, cin, cout, k, stride=1, eps=1e-8):
        super().__init__(cin, cout, k, stride=stride, padding=((stride - 1) + (k - 1)) // 2, bias=False)
        self.eps = eps

    def forward(self, x):
        w = F.batch_norm(self.weight.reshape(1, self.out_channels, -1), None, None,
                         training=True, momentum=0.0, eps=self.eps).reshape_as(self.weight)
        return F.conv2d(x, w, None, self.stride, self.padding)


class GroupNormReLU(nn.GroupNorm):
    def forward(self, x):
        return F.relu(super().forward(x))


class DownsampleConv(nn.Module):
    def __init__(self, conv):
        super().__init__()
        self.conv = conv
        self.norm = nn.Identity()

    def forward(self, x):
        return self.norm(self.conv(x))


class PreActBottleneckModule(nn.Module):
    def __init__(self, cin, cout, mid, stride, first, conv, norm):
        super().__init__()
        self.downsample = DownsampleConv(conv(cin, cout, 1, stride)) if first else None
        self.norm1 = norm(cin)
        self.conv1 = conv(cin, mid, 1)
        self.norm2 = norm(mid)
        self.conv2 = conv(mid, mid, 3, stride)
        self.norm3 = norm(mid)
        self.conv3 = conv(mid, cout, 1)

    def forward(self, x):
        xp = self.norm1(x)
        shortcut = self.downsample(xp) if self.downsample is not None else x
        return self.conv3(self.norm3(self.conv2(self.norm2(self.conv1(xp))))) + shortcut


class BitModule(nn.Module):
    def __init__(self, cfg, num_classes, in_chans):
        super().__init__()
        stem, outs, mids = ref_resnetv2.widths(cfg)
        conv = partial(StdConv2dTimmStyle, eps=cfg["std_conv_eps"])
        norm = lambda c: GroupNormReLU(cfg["gn_groups"], c, eps=cfg["gn_eps"])  # noqa: E731
        self.stem = nn.Sequential()
        self.stem.add_module("conv", conv(in_chans, stem, 7, 2))
        self.stem.add_module("pad", nn.ConstantPad2d(1, 0.0))
        self.stem.add_module("pool", nn.MaxPool2d(3, 2, 0))
        self.stages = nn.Sequential()
        prev = stem
        for i, depth in enumerate(cfg["layers"]):
            stage = nn.Module()
            stage.blocks = nn.Sequential()
            for j in range(depth):
                stride = 2 if i > 0 and j == 0 else 1
                stage.blocks.add_module(str(j), PreActBottleneckModule(prev, outs[i], mids[i], stride, j == 0,
                                                                       conv, norm))
                prev = outs[i]
            stage.forward = stage.blocks.forward
            self.stages.add_module(str(i), stage)
        self.norm = norm(prev)
        self.head = nn.Module()
        self.head.fc = nn.Conv2d(prev, num_classes, 1) if num_classes else nn.Identity()

    def forward(self, x):
        x = self.norm(self.stages(self.stem(x)))
        return self.head.fc(x.mean(dim=(2, 3), keepdim=True)).flatten(1)


def test_bit_matches_module_model():
    test = "bit_matches_module_model"
    cfg = dict(BIT_SMALL, layers=[2, 1, 2, 1])
    gen = torch.Generator().manual_seed(6)
    state = ref_resnetv2.init_state(cfg, 10, 3, gen)
    model = BitModule(cfg, 10, 3).eval()
    model.load_state_dict(state, strict=True)  # also pins the key names against this module tree
    x = torch.randn(2, 3, 72, 72, generator=gen)
    acts, hooks = {}, []
    names = ["stem", "norm"] + [f"stages.{i}.blocks.{j}" for i, d in enumerate(cfg["layers"]) for j in range(d)]
    for n in names:
        hooks.append(model.get_submodule(n).register_forward_hook(
            lambda m, i, o, n=n: acts.__setitem__(n, o)))
    with torch.no_grad():
        want = model(x)
    got, got_acts = ref_resnetv2.forward(cfg, state, x, 10)
    for name, act in got_acts:
        if name in acts:
            report(test, name, act, acts[name])
    report(test, "logits", got, want)
    feats, _ = ref_resnetv2.forward(cfg, state, x, 0)
    report(test, "features (num_classes=0)", feats, acts["norm"].mean(dim=(2, 3)))


def test_bit_block_matches_explicit_math():
    # one downsampling block written out with explicit mean/var group norm
    test = "bit_block_matches_explicit_math"
    cfg = BIT_SMALL
    gen = torch.Generator().manual_seed(7)
    state = ref_resnetv2.init_state(cfg, 10, 3, gen)
    x = torch.randn(1, 3, 64, 64, generator=gen)
    _, acts = ref_resnetv2.forward(cfg, state, x, 10)
    a = dict(acts)
    inp, g, eps = a["stages.0.blocks.0"], cfg["gn_groups"], cfg["gn_eps"]

    def gn_relu(t, p):
        n, c, h, w = t.shape
        tg = t.reshape(n, g, -1)
        tn = ((tg - tg.mean(-1, keepdim=True)) / torch.sqrt(tg.var(-1, unbiased=False, keepdim=True) + eps))
        tn = tn.reshape(n, c, h, w) * state[p + ".weight"].view(1, -1, 1, 1) + state[p + ".bias"].view(1, -1, 1, 1)
        return tn.clamp(min=0)

    def wstd(w):
        flat = w.reshape(w.shape[0], -1)
        mu = flat.mean(1, keepdim=True)
        var = ((flat - mu) ** 2).mean(1, keepdim=True)
        return ((flat - mu) / torch.sqrt(var + 1e-8)).reshape_as(w)

    p = "stages.1.blocks.0"
    xp = gn_relu(inp, p + ".norm1")
    sc = F.conv2d(xp, wstd(state[p + ".downsample.conv.weight"]), stride=2)
    y = F.conv2d(xp, wstd(state[p + ".conv1.weight"]))
    y = F.conv2d(gn_relu(y, p + ".norm2"), wstd(state[p + ".conv2.weight"]), stride=2, padding=1)
    y = F.conv2d(gn_relu(y, p + ".norm3"), wstd(state[p + ".conv3.weight"]))
    report(test, p, a[p], y + sc)


def test_bit_fixed_stem_pads_with_zero_before_maxpool():
    # the 'fixed' stem pads with 0 (not -inf): negative conv outputs at the border get clamped to 0
    test = "bit_fixed_stem_pads_with_zero_before_maxpool"
    gen = torch.Generator().manual_seed(8)
    state = ref_resnetv2.init_state(BIT_SMALL, 10, 3, gen)
    x = torch.randn(1, 3, 32, 32, generator=gen)
    _, acts = ref_resnetv2.forward(BIT_SMALL, state, x, 10)
    stem = dict(acts)["stem"]
    conv = F.conv2d(x, ref_resnetv2.standardize_weight(state["stem.conv.weight"], 1e-8), stride=2, padding=3)
    want = F.max_pool2d(F.pad(conv, (1, 1, 1, 1), value=0.0), 3, 2)
    report(test, "stem", stem, want)
    check(test, tuple(stem.shape) == (1, 16, 8, 8), f"stem shape {tuple(stem.shape)}")
    check(test, stem[..., 0, :].min().item() >= 0.0, "border of stem output went negative")


# ---------------------------------------------------------------------------------------------
# (e) ResNet against torchvision; BiT StdConv2d and the V2 GRN block from first principles
# ---------------------------------------------------------------------------------------------

def test_resnet_matches_torchvision():
    # torchvision's ResNet is timm's non-D ResNet with the same key names (stride on the 3x3,
    # width = planes * width_per_group / 64 * groups); num_batches_tracked included
    cases = [("basic", BasicBlock, {"block": "basic", "cardinality": 1, "base_width": 64}, {}),
             ("resnext 4x16d", Bottleneck, {"block": "bottleneck", "cardinality": 4, "base_width": 16},
              {"groups": 4, "width_per_group": 16}),
             ("wide x2", Bottleneck, {"block": "bottleneck", "cardinality": 1, "base_width": 128},
              {"width_per_group": 128})]
    for seed, (name, block, over, tv_args) in enumerate(cases):
        test = f"resnet_matches_torchvision ({name})"
        print(f"  [{name}]")
        cfg = dict({"family": "resnet", "layers": [1, 2, 1, 1], "channels": [64, 128, 256, 512],
                    "stem_width": 64, "avg_down": False}, **over)
        gen = torch.Generator().manual_seed(20 + seed)
        state = ref_resnet.init_state(cfg, 10, 3, gen)
        model = ResNet(block, cfg["layers"], num_classes=10, **tv_args).eval()
        model.load_state_dict(state, strict=True)
        acts = {}
        for li, depth in enumerate(cfg["layers"]):
            for b in range(depth):
                n = f"layer{li + 1}.{b}"
                model.get_submodule(n).register_forward_hook(lambda m, i, o, n=n: acts.__setitem__(n, o))
        x = torch.randn(2, 3, 64, 48, generator=gen)
        with torch.no_grad():
            want = model(x)
            got, got_acts = ref_resnet.forward(cfg, state, x, 10)
        for n, a in got_acts:
            if n in acts:
                report(test, n, a, acts[n])
        report(test, "logits", got, want)


def np_conv2d(x, w, b=None, stride=1, pad=0, groups=1):
    """float64 convolution written out: x (N,C,H,W), w (O,C/groups,KH,KW) -> (N,O,OH,OW)."""
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = (h + 2 * pad - kh) // stride + 1, (wd + 2 * pad - kw) // stride + 1
    out = np.zeros((n, o, oh, ow))
    og = o // groups
    for g in range(groups):
        xs, ws = xp[:, g * cg:(g + 1) * cg], w[g * og:(g + 1) * og]
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, :, i:i + stride * (oh - 1) + 1:stride, j:j + stride * (ow - 1) + 1:stride]
                out[:, g * og:(g + 1) * og] += np.einsum("ncij,oc->noij", patch, ws[:, :, i, j])
    return out if b is None else out + b.reshape(1, -1, 1, 1)


def test_bit_std_conv_matches_float64_numpy():
    # StdConv2d: per output channel w' = (w - mean) / sqrt(var + eps), biased variance, then conv
    test = "bit_std_conv_matches_float64_numpy"
    gen = torch.Generator().manual_seed(11)
    w = torch.randn(6, 4, 3, 3, generator=gen)
    w[2] *= 1e-4  # a channel whose variance (1e-8) is as small as eps: eps inside the sqrt matters
    x = torch.randn(2, 4, 9, 7, generator=gen)
    for eps in (1e-8, 1e-5):
        for stride in (1, 2):
            wd = w.double().numpy().reshape(6, -1)
            ws = ((wd - wd.mean(1, keepdims=True)) / np.sqrt(wd.var(1, keepdims=True) + eps)).reshape(w.shape)
            want = np_conv2d(x.double().numpy(), ws, stride=stride, pad=((stride - 1) + 2) // 2)
            got = ref_resnetv2.std_conv(x, w, eps, stride=stride)
            report(test, f"eps {eps:g} stride {stride}", got.double(), torch.from_numpy(want))


def np_grn(x, gamma, beta, eps=1e-6):
    """GRN in float64 on (N,C,H,W): G = L2 norm over (H,W) per (n,c); N = G / (mean_c G + eps);
    y = gamma * (x * N) + beta + x."""
    g = np.sqrt((x * x).sum(axis=(2, 3), keepdims=True))
    nx = g / (g.mean(axis=1, keepdims=True) + eps)
    return gamma.reshape(1, -1, 1, 1) * (x * nx) + beta.reshape(1, -1, 1, 1) + x


def test_convnext_v2_grn_block_matches_float64_numpy():
    erf = np.vectorize(math.erf)
    for seed, conv_mlp in enumerate((False, True)):
        test = f"convnext_v2_grn_block_matches_float64_numpy (conv_mlp={conv_mlp})"
        print(f"  [conv_mlp={conv_mlp}]")
        cfg = dict(CONVNEXT_V2_CONV_SMALL, conv_mlp=conv_mlp, depths=[1, 1, 1, 1])
        gen = torch.Generator().manual_seed(30 + seed)
        state = ref_convnext.init_state(cfg, 10, 3, gen)
        s = {k: v.double().numpy() for k, v in state.items()}
        x = torch.randn(2, 3, 32, 32, generator=gen)
        _, acts = ref_convnext.forward(cfg, state, x, 10)
        a = dict(acts)
        # GRN alone, both layouts of the reference
        h = torch.randn(2, 32, 5, 6, generator=gen)
        w, b = state["stages.0.blocks.0.mlp.grn.weight"], state["stages.0.blocks.0.mlp.grn.bias"]
        want = np_grn(h.double().numpy(), w.double().numpy(), b.double().numpy())
        first = ref_convnext.global_response_norm(h, w, b, (2, 3), 1, (1, -1, 1, 1))
        last = ref_convnext.global_response_norm(h.permute(0, 2, 3, 1), w, b, (1, 2), -1, (1, 1, 1, -1))
        report(test, "grn (channels first)", first.double(), torch.from_numpy(want))
        report(test, "grn (channels last)", last.permute(0, 3, 1, 2).double(), torch.from_numpy(want))
        # the whole stage-0 block: dwconv 7x7, LayerNorm over C, fc1, exact GELU, GRN, fc2, + x
        p = "stages.0.blocks.0"
        inp = a["stem"].double().numpy()
        y = np_conv2d(inp, s[p + ".conv_dw.weight"], s[p + ".conv_dw.bias"], pad=3, groups=inp.shape[1])
        mu, var = y.mean(axis=1, keepdims=True), y.var(axis=1, keepdims=True)
        y = (y - mu) / np.sqrt(var + cfg["ln_eps"]) * s[p + ".norm.weight"].reshape(1, -1, 1, 1) \
            + s[p + ".norm.bias"].reshape(1, -1, 1, 1)
        fc1 = s[p + ".mlp.fc1.weight"].reshape(s[p + ".mlp.fc1.weight"].shape[0], -1)
        y = np.einsum("nchw,oc->nohw", y, fc1) + s[p + ".mlp.fc1.bias"].reshape(1, -1, 1, 1)
        y = 0.5 * y * (1.0 + erf(y / math.sqrt(2.0)))
        y = np_grn(y, s[p + ".mlp.grn.weight"], s[p + ".mlp.grn.bias"])
        fc2 = s[p + ".mlp.fc2.weight"].reshape(s[p + ".mlp.fc2.weight"].shape[0], -1)
        y = np.einsum("nchw,oc->nohw", y, fc2) + s[p + ".mlp.fc2.bias"].reshape(1, -1, 1, 1) + inp
        report(test, p, a[p].double(), torch.from_numpy(y))


# ---------------------------------------------------------------------------------------------
# (d) activation names/shapes and magnitudes at real sizes
# ---------------------------------------------------------------------------------------------

def test_activation_names_and_shapes():
    test = "activation_names_and_shapes"
    gen = torch.Generator().manual_seed(9)
    x = torch.randn(2, 3, 64, 64, generator=gen)
    state = ref_convnext.init_state(CONVNEXT_V1_SMALL, 10, 3, gen)
    out, acts = ref_convnext.forward(CONVNEXT_V1_SMALL, state, x, 10)
    want = [("stem", (2, 8, 16, 16)), ("stages.0.blocks.0", (2, 8, 16, 16)),
            ("stages.1.downsample", (2, 16, 8, 8)), ("stages.1.blocks.0", (2, 16, 8, 8)),
            ("stages.2.downsample", (2, 32, 4, 4)), ("stages.2.blocks.0", (2, 32, 4, 4)),
            ("stages.2.blocks.1", (2, 32, 4, 4)), ("stages.3.downsample", (2, 64, 2, 2)),
            ("stages.3.blocks.0", (2, 64, 2, 2)), ("head.global_pool", (2, 64, 1, 1))]
    got = [(n, tuple(a.shape)) for n, a in acts]
    check(test, got == want, f"convnext acts {got}")
    check(test, tuple(out.shape) == (2, 10), f"convnext logits {tuple(out.shape)}")
    feats, _ = ref_convnext.forward(CONVNEXT_V1_SMALL, state, x, 0)
    check(test, tuple(feats.shape) == (2, 64), f"convnext features {tuple(feats.shape)}")

    state = ref_resnetv2.init_state(BIT_SMALL, 10, 1, gen)  # in_chans 1
    x1 = torch.randn(2, 1, 64, 64, generator=gen)
    out, acts = ref_resnetv2.forward(BIT_SMALL, state, x1, 10)
    want = [("stem", (2, 16, 16, 16)), ("stages.0.blocks.0", (2, 32, 16, 16)),
            ("stages.1.blocks.0", (2, 64, 8, 8)), ("stages.2.blocks.0", (2, 128, 4, 4)),
            ("stages.3.blocks.0", (2, 256, 2, 2)), ("norm", (2, 256, 2, 2)),
            ("head.global_pool", (2, 256, 1, 1))]
    got = [(n, tuple(a.shape)) for n, a in acts]
    check(test, got == want, f"bit acts {got}")
    check(test, tuple(out.shape) == (2, 10), f"bit logits {tuple(out.shape)}")
    feats, _ = ref_resnetv2.forward(BIT_SMALL, state, x1, 0)
    check(test, tuple(feats.shape) == (2, 256), f"bit features {tuple(feats.shape)}")
    print(f"  activation names/shapes  {'OK' if not any(f.startswith(test) for f in FAILURES) else 'NOT OK'}")


def test_random_init_keeps_real_size_outputs_finite_and_order_one():
    test = "random_init_keeps_real_size_outputs_finite_and_order_one"
    cases = [
        ("convnext_tiny", ref_convnext, {"family": "convnext", "depths": [3, 3, 9, 3], "dims": [96, 192, 384, 768],
                                         "conv_mlp": False, "use_grn": False, "layer_scale": True,
                                         "head_norm_first": False, "ln_eps": 1e-6, "num_features": 768}),
        ("convnextv2_tiny", ref_convnext, {"family": "convnext", "depths": [3, 3, 9, 3], "dims": [96, 192, 384, 768],
                                           "conv_mlp": False, "use_grn": True, "layer_scale": False,
                                           "head_norm_first": False, "ln_eps": 1e-6, "num_features": 768}),
        ("resnetv2_50x1_bit", ref_resnetv2, {"family": "resnetv2", "layers": [3, 4, 6, 3], "width_factor": 1,
                                             "stem_chs": 64, "channels": [256, 512, 1024, 2048],
                                             "num_features": 2048, "std_conv_eps": 1e-8, "gn_groups": 32,
                                             "gn_eps": 1e-5, "stem_type": "fixed", "preact": True}),
    ]
    for name, ref, cfg in cases:
        gen = torch.Generator().manual_seed(10)
        state = ref.init_state(cfg, 1000, 3, gen)
        x = torch.randn(1, 3, 96, 96, generator=gen)
        out, acts = ref.forward(cfg, state, x, 1000)
        peak = max(a.abs().max().item() for _, a in acts)
        std = out.std().item()
        ok = torch.isfinite(out).all().item() and 0.1 < std < 10.0
        print(f"  {name:20s} logits std {std:.3f}  peak |activation| {peak:.1f}  {'OK' if ok else 'NOT OK'}")
        if not ok:
            FAILURES.append(f"{test}: {name} logits std {std}")


def main():
    torch.set_num_threads(max(1, min(8, os.cpu_count() or 1)))
    tests = [v for k, v in globals().items() if k.startswith("test_") and callable(v)]
    for t in tests:
        print(t.__name__[5:])
        t()
    if FAILURES:
        print(f"\n{len(FAILURES)} FAILED:")
        for f in FAILURES:
            print(f"  {f}")
        return 1
    print(f"\nall {len(tests)} reference self-checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
