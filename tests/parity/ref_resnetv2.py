"""Functional PyTorch reference for timm's BiT ResNetV2 (pre-activation, GroupNorm, StdConv).

Parity oracle for lucidgen's generated C. Written against timm's
`timm/models/resnetv2.py` (`_create_resnetv2_bit`), `timm/layers/std_conv.py`,
`timm/layers/norm_act.py` GroupNormAct, `timm/layers/classifier.py` ClassifierHead
(huggingface/pytorch-image-models @ aa4b5850); timm itself is not imported.

Semantics pinned from timm (NCHW throughout):
  widths          timm: stem_chs = make_divisible(64 * wf); out_i = make_divisible(base_i * wf) with base
                  (256, 512, 1024, 2048); mid_i = make_divisible(out_i * 0.25); make_divisible(v, 8) =
                  max(8, int(v + 4) // 8 * 8), +8 if that dropped below 0.9 v. cfg `stem_chs`/`channels` are
                  those widths AFTER width_factor (as variants/resnetv2.lua stores them, e.g. 50x3:
                  stem_chs 192, channels (768, 1536, 3072, 6144)); only mid is derived here.
  StdConv2d       bias=False; w_hat = (w - mean) / sqrt(var + eps) per output channel over (in, kh, kw),
                  biased var (timm does this with F.batch_norm(training=True) on w.reshape(1, O, -1));
                  BiT eps 1e-8; padding = ((stride - 1) + (k - 1)) // 2  -> 7x7s2: 3, 3x3: 1, 1x1: 0
  GroupNormAct    F.group_norm(gn_groups, eps 1e-5) + ReLU; same group count for every width
  stem (fixed)    stem.conv 7x7 s2 p3 (no norm: preact) -> ConstantPad2d(1, 0.) -> MaxPool2d(3, 2, pad 0)
  stem ('')       stem.conv 7x7 s2 p3 -> MaxPool2d(3, 2, pad 1)
  stages          stride 1 for stage 0, 2 after; the stride sits on conv2 (3x3) of block 0
  PreActBottleneck
                  x_preact = relu(norm1(x))
                  shortcut = downsample.conv(x_preact) (1x1 StdConv, stride s) in block 0 of EVERY stage
                             (timm builds the proj whenever proj_layer is given, i.e. unconditionally for
                             block 0; preact -> downsample.norm is nn.Identity, no keys); else shortcut = x
                  y = conv1(x_preact) (1x1); y = conv2(relu(norm2 y)) (3x3, stride s); y = conv3(relu(norm3 y)) (1x1)
                  out = y + shortcut
  final           norm = GroupNormAct(num_features) + ReLU -> avg pool (N,C,1,1) -> head.fc 1x1 Conv2d (bias) -> flatten
                  num_classes == 0 -> head.fc is nn.Identity (no keys); output = pooled features (N,C)
"""

from collections import OrderedDict

import torch
import torch.nn.functional as F

BOTTLE_RATIO = 0.25


def make_divisible(v, divisor=8, min_value=None, round_limit=0.9):
    # timm/layers/helpers.py make_divisible
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < round_limit * v:
        new_v += divisor
    return new_v


def widths(cfg):
    """(stem_chs, [out_chs per stage], [mid_chs per stage]) as timm computes them."""
    if cfg.get("family", "resnetv2") != "resnetv2":
        raise ValueError(f"ref_resnetv2: cfg family is {cfg.get('family')!r}, expected 'resnetv2'")
    if not cfg.get("preact", True):
        raise NotImplementedError("ref_resnetv2: only pre-activation (BiT) ResNetV2 is modelled")
    if cfg.get("stem_type", "fixed") not in ("fixed", ""):
        raise NotImplementedError(f"ref_resnetv2: stem_type {cfg['stem_type']!r}")
    stem = cfg.get("stem_chs", 64)
    outs = list(cfg["channels"])
    mids = [make_divisible(o * BOTTLE_RATIO) for o in outs]
    if len(outs) != len(cfg["layers"]):
        raise ValueError(f"ref_resnetv2: {len(cfg['layers'])} layers vs {len(outs)} channels")
    nf = cfg.get("num_features", outs[-1])
    if nf != outs[-1]:
        raise ValueError(f"ref_resnetv2: num_features {nf} != channels[-1] {outs[-1]} "
                         f"(cfg channels are the stage widths after width_factor)")
    return stem, outs, mids


def state_spec(cfg, num_classes, in_chans):
    """[(key, shape, init_kind)] in timm's state_dict order."""
    stem, outs, mids = widths(cfg)
    spec = []

    def norm(prefix, c):
        spec.append((f"{prefix}.weight", (c,), "norm_weight"))
        spec.append((f"{prefix}.bias", (c,), "norm_bias"))

    def conv(key, shape):
        spec.append((key, shape, "conv"))

    conv("stem.conv.weight", (stem, in_chans, 7, 7))
    prev = stem
    for i, depth in enumerate(cfg["layers"]):
        out, mid = outs[i], mids[i]
        for j in range(depth):
            p = f"stages.{i}.blocks.{j}"
            if j == 0:  # downsample registered first in __init__
                conv(f"{p}.downsample.conv.weight", (out, prev, 1, 1))
            norm(f"{p}.norm1", prev)
            conv(f"{p}.conv1.weight", (mid, prev, 1, 1))
            norm(f"{p}.norm2", mid)
            conv(f"{p}.conv2.weight", (mid, mid, 3, 3))
            norm(f"{p}.norm3", mid)
            conv(f"{p}.conv3.weight", (out, mid, 1, 1))
            prev = out
    norm("norm", prev)
    if num_classes > 0:
        spec.append(("head.fc.weight", (num_classes, prev, 1, 1), "fc"))
        spec.append(("head.fc.bias", (num_classes,), "bias"))
    return spec


def init_state(cfg, num_classes, in_chans, gen):
    """Random float32 state with timm's keys/shapes.

    StdConv re-standardizes every weight, so conv scale is irrelevant to the
    output; GN re-normalizes every branch input. Only the un-normalized residual
    stream grows (by ~sqrt(mid) per block, as in real BiT); compare it relatively.
    """
    state = OrderedDict()
    for key, shape, kind in state_spec(cfg, num_classes, in_chans):
        fan_in = 1
        for d in shape[1:]:
            fan_in *= d
        if kind in ("conv", "fc"):
            t = torch.randn(shape, generator=gen) / fan_in ** 0.5
        elif kind == "bias":
            t = 0.1 * torch.randn(shape, generator=gen)
        elif kind == "norm_weight":
            t = 1.0 + 0.1 * torch.randn(shape, generator=gen)
        elif kind == "norm_bias":
            t = 0.1 * torch.randn(shape, generator=gen)
        else:
            raise AssertionError(kind)
        state[key] = t.float().contiguous()
    return state


def standardize_weight(w, eps):
    # w (O,I,kh,kw) -> per-output-channel zero mean, unit (biased) variance
    m = w.mean(dim=(1, 2, 3), keepdim=True)
    v = w.var(dim=(1, 2, 3), unbiased=False, keepdim=True)
    return (w - m) / torch.sqrt(v + eps)


def std_conv(x, w, eps, stride=1):
    # x (N,I,H,W), w (O,I,k,k) -> (N,O,H',W'); padding as timm get_padding(k, stride)
    k = w.shape[-1]
    pad = ((stride - 1) + (k - 1)) // 2
    return F.conv2d(x, standardize_weight(w, eps), None, stride=stride, padding=pad)


def gn_relu(x, s, prefix, groups, eps):
    # x (N,C,H,W) -> GroupNorm(groups) + affine + ReLU -> (N,C,H,W)
    return F.relu(F.group_norm(x, groups, s[f"{prefix}.weight"], s[f"{prefix}.bias"], eps))


def forward(cfg, state, x, num_classes):
    """x (N,in_chans,H,W) -> (logits (N,num_classes) or features (N,C), [(timm name, NCHW act)])."""
    widths(cfg)
    s = state
    groups = cfg.get("gn_groups", 32)
    gn_eps = float(cfg.get("gn_eps", 1e-5))
    ws_eps = float(cfg.get("std_conv_eps", 1e-8))
    acts = []
    with torch.no_grad():
        x = std_conv(x, s["stem.conv.weight"], ws_eps, stride=2)
        if cfg.get("stem_type", "fixed") == "fixed":
            x = F.max_pool2d(F.pad(x, (1, 1, 1, 1), value=0.0), 3, 2, 0)
        else:
            x = F.max_pool2d(x, 3, 2, 1)
        acts.append(("stem", x))
        for i, depth in enumerate(cfg["layers"]):
            for j in range(depth):
                p = f"stages.{i}.blocks.{j}"
                stride = 2 if (i > 0 and j == 0) else 1
                x_preact = gn_relu(x, s, f"{p}.norm1", groups, gn_eps)
                if j == 0:
                    shortcut = std_conv(x_preact, s[f"{p}.downsample.conv.weight"], ws_eps, stride)
                else:
                    shortcut = x
                y = std_conv(x_preact, s[f"{p}.conv1.weight"], ws_eps)
                y = std_conv(gn_relu(y, s, f"{p}.norm2", groups, gn_eps), s[f"{p}.conv2.weight"], ws_eps, stride)
                y = std_conv(gn_relu(y, s, f"{p}.norm3", groups, gn_eps), s[f"{p}.conv3.weight"], ws_eps)
                x = y + shortcut
                acts.append((p, x))
        x = gn_relu(x, s, "norm", groups, gn_eps)
        acts.append(("norm", x))
        x = x.mean(dim=(2, 3), keepdim=True)  # (N,C,1,1)
        acts.append(("head.global_pool", x))
        if num_classes > 0:
            x = F.conv2d(x, s["head.fc.weight"], s["head.fc.bias"])
        x = x.flatten(1)
    return x, acts
