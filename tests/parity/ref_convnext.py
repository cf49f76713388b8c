"""Functional PyTorch reference for timm's ConvNeXt family (v1, V2, DINOv3).

Parity oracle for lucidgen's generated C. Written against timm's
`timm/models/convnext.py`, `timm/layers/{norm,mlp,grn,classifier}.py`
(huggingface/pytorch-image-models @ aa4b5850); timm itself is not imported.

Semantics pinned from timm (all tensors NCHW unless noted):
  stem            Conv2d(in_chans, dims[0], 4, stride 4, bias) -> LayerNorm2d   keys stem.0, stem.1
  stages.0        no downsample (in == out, stride 1 -> nn.Identity, no keys)
  stages.i>0      downsample = LayerNorm2d(dims[i-1]) -> Conv2d(dims[i-1], dims[i], 2, stride 2, pad 0, bias)
  block           shortcut = x
                  conv_dw: depthwise Conv2d(C, C, 7, pad 3, groups C, bias)
                  conv_mlp=False: NHWC; norm = LayerNorm(C); mlp.fc1/fc2 = nn.Linear
                  conv_mlp=True : NCHW; norm = LayerNorm2d(C); mlp.fc1/fc2 = 1x1 nn.Conv2d
                  mlp: fc1 (C -> 4C) -> GELU (exact, erf) -> [GRN, V2 only] -> fc2 (4C -> C)
                  x = x * gamma (layer scale, [C], only if layer_scale) ; out = x + shortcut
  GRN             GlobalResponseNorm(4C, eps 1e-6), keys mlp.grn.weight / mlp.grn.bias ([4C]):
                  g = ||x||_2 over spatial (H, W), per (n, c)
                  n = g / (mean_c(g) + 1e-6)
                  y = x + bias + weight * (x * n)
                  identical math in channels-last (Linear MLP) and channels-first (conv MLP)
  head            head_norm_first=False (FB weights): avg pool -> head.norm (LayerNorm2d) -> flatten -> head.fc (Linear)
                  head_norm_first=True (_hnf): norm_pre (LayerNorm2d) -> avg pool -> flatten -> head.fc
                  num_classes == 0 -> head.fc is nn.Identity (no keys); output = pooled (+normed) features
  LayerNorm eps   1e-6 everywhere (stem, downsample, blocks, head), biased variance (F.layer_norm)
"""

from collections import OrderedDict

import torch
import torch.nn.functional as F

GRN_EPS = 1e-6  # timm GlobalResponseNorm default; not configurable per variant
MLP_RATIO = 4


def _check_cfg(cfg):
    if cfg.get("family", "convnext") != "convnext":
        raise ValueError(f"ref_convnext: cfg family is {cfg.get('family')!r}, expected 'convnext'")
    depths, dims = list(cfg["depths"]), list(cfg["dims"])
    if len(depths) != 4 or len(dims) != 4:
        raise ValueError(f"ref_convnext: expected 4 stages, got depths={depths} dims={dims}")
    nf = cfg.get("num_features", dims[-1])
    if nf != dims[-1]:
        raise ValueError(f"ref_convnext: num_features {nf} != dims[-1] {dims[-1]}")
    return depths, dims


def state_spec(cfg, num_classes, in_chans):
    """[(key, shape, init_kind)] in timm's state_dict order.

    state_dict order = a module's own parameters first, then its children in
    registration order; that is why a block's `gamma` precedes `conv_dw`.
    """
    depths, dims = _check_cfg(cfg)
    conv_mlp = bool(cfg["conv_mlp"])
    spec = []

    def norm(prefix, c):
        spec.append((f"{prefix}.weight", (c,), "norm_weight"))
        spec.append((f"{prefix}.bias", (c,), "norm_bias"))

    def conv(prefix, shape):
        spec.append((f"{prefix}.weight", shape, "conv"))
        spec.append((f"{prefix}.bias", (shape[0],), "bias"))

    conv("stem.0", (dims[0], in_chans, 4, 4))
    norm("stem.1", dims[0])
    for i in range(4):
        c = dims[i]
        if i > 0:
            norm(f"stages.{i}.downsample.0", dims[i - 1])
            conv(f"stages.{i}.downsample.1", (c, dims[i - 1], 2, 2))
        for j in range(depths[i]):
            p = f"stages.{i}.blocks.{j}"
            h = MLP_RATIO * c
            if cfg["layer_scale"]:
                spec.append((f"{p}.gamma", (c,), "layer_scale"))
            conv(f"{p}.conv_dw", (c, 1, 7, 7))
            norm(f"{p}.norm", c)
            conv(f"{p}.mlp.fc1", (h, c, 1, 1) if conv_mlp else (h, c))
            if cfg["use_grn"]:
                spec.append((f"{p}.mlp.grn.weight", (h,), "grn"))
                spec.append((f"{p}.mlp.grn.bias", (h,), "grn"))
            conv(f"{p}.mlp.fc2", (c, h, 1, 1) if conv_mlp else (c, h))
    if cfg.get("head_norm_first", False):
        norm("norm_pre", dims[-1])
    else:
        norm("head.norm", dims[-1])
    if num_classes > 0:
        conv("head.fc", (num_classes, dims[-1]))
    return spec


def _fan_in(shape):
    fan = 1
    for s in shape[1:]:
        fan *= s
    return fan


def init_state(cfg, num_classes, in_chans, gen):
    """Random float32 state with timm's keys/shapes; activations stay O(1)."""
    state = OrderedDict()
    for key, shape, kind in state_spec(cfg, num_classes, in_chans):
        if kind == "conv":  # conv and linear weights: std 1/sqrt(fan_in)
            t = torch.randn(shape, generator=gen) / _fan_in(shape) ** 0.5
        elif kind == "bias":
            t = 0.1 * torch.randn(shape, generator=gen)
        elif kind == "norm_weight":
            t = 1.0 + 0.1 * torch.randn(shape, generator=gen)
        elif kind == "norm_bias":
            t = 0.1 * torch.randn(shape, generator=gen)
        elif kind == "layer_scale":  # timm inits 1e-6, which would hide every branch
            t = 0.1 + 0.9 * torch.rand(shape, generator=gen)
        elif kind == "grn":  # timm inits zeros, which makes GRN the identity
            t = 0.5 * torch.randn(shape, generator=gen)
        else:
            raise AssertionError(kind)
        state[key] = t.float().contiguous()
    return state


def layer_norm_2d(x, w, b, eps):
    # x (N,C,H,W) -> LayerNorm over C at every pixel -> (N,C,H,W)
    return F.layer_norm(x.permute(0, 2, 3, 1), (x.shape[1],), w, b, eps).permute(0, 3, 1, 2)


def global_response_norm(x, w, b, spatial_dims, channel_dim, wb_shape):
    # x (N,H,W,4C) channels-last or (N,4C,H,W) channels-first; w, b (4C)
    g = x.norm(p=2, dim=spatial_dims, keepdim=True)
    n = g / (g.mean(dim=channel_dim, keepdim=True) + GRN_EPS)
    return x + b.view(wb_shape) + w.view(wb_shape) * (x * n)


def _block(cfg, s, p, x, eps):
    # x (N,C,H,W) -> (N,C,H,W)
    c = x.shape[1]
    shortcut = x
    x = F.conv2d(x, s[f"{p}.conv_dw.weight"], s[f"{p}.conv_dw.bias"], padding=3, groups=c)
    if cfg["conv_mlp"]:
        x = layer_norm_2d(x, s[f"{p}.norm.weight"], s[f"{p}.norm.bias"], eps)
        x = F.conv2d(x, s[f"{p}.mlp.fc1.weight"], s[f"{p}.mlp.fc1.bias"])
        x = F.gelu(x)
        if cfg["use_grn"]:
            x = global_response_norm(x, s[f"{p}.mlp.grn.weight"], s[f"{p}.mlp.grn.bias"],
                                     (2, 3), 1, (1, -1, 1, 1))
        x = F.conv2d(x, s[f"{p}.mlp.fc2.weight"], s[f"{p}.mlp.fc2.bias"])
    else:
        x = x.permute(0, 2, 3, 1)  # (N,H,W,C)
        x = F.layer_norm(x, (c,), s[f"{p}.norm.weight"], s[f"{p}.norm.bias"], eps)
        x = F.linear(x, s[f"{p}.mlp.fc1.weight"], s[f"{p}.mlp.fc1.bias"])
        x = F.gelu(x)
        if cfg["use_grn"]:
            x = global_response_norm(x, s[f"{p}.mlp.grn.weight"], s[f"{p}.mlp.grn.bias"],
                                     (1, 2), -1, (1, 1, 1, -1))
        x = F.linear(x, s[f"{p}.mlp.fc2.weight"], s[f"{p}.mlp.fc2.bias"])
        x = x.permute(0, 3, 1, 2)
    if cfg["layer_scale"]:
        x = x * s[f"{p}.gamma"].reshape(1, -1, 1, 1)
    return x + shortcut


def forward(cfg, state, x, num_classes):
    """x (N,in_chans,H,W) -> (logits (N,num_classes) or features (N,dims[-1]), [(timm name, NCHW act)])."""
    depths, dims = _check_cfg(cfg)
    eps = float(cfg.get("ln_eps", 1e-6))
    s = state
    acts = []
    with torch.no_grad():
        x = F.conv2d(x, s["stem.0.weight"], s["stem.0.bias"], stride=4)
        x = layer_norm_2d(x, s["stem.1.weight"], s["stem.1.bias"], eps)
        acts.append(("stem", x))
        for i in range(4):
            if i > 0:
                p = f"stages.{i}.downsample"
                x = layer_norm_2d(x, s[f"{p}.0.weight"], s[f"{p}.0.bias"], eps)
                x = F.conv2d(x, s[f"{p}.1.weight"], s[f"{p}.1.bias"], stride=2)
                acts.append((p, x))
            for j in range(depths[i]):
                p = f"stages.{i}.blocks.{j}"
                x = _block(cfg, s, p, x, eps)
                acts.append((p, x))
        if cfg.get("head_norm_first", False):
            x = layer_norm_2d(x, s["norm_pre.weight"], s["norm_pre.bias"], eps)
            acts.append(("norm_pre", x))
            x = x.mean(dim=(2, 3), keepdim=True)  # (N,C,1,1)
            acts.append(("head.global_pool", x))
        else:
            x = x.mean(dim=(2, 3), keepdim=True)  # (N,C,1,1)
            acts.append(("head.global_pool", x))
            x = layer_norm_2d(x, s["head.norm.weight"], s["head.norm.bias"], eps)
        x = x.flatten(1)
        if num_classes > 0:
            x = F.linear(x, s["head.fc.weight"], s["head.fc.bias"])
    return x, acts
