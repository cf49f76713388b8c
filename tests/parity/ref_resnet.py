"""Independent PyTorch reference for timm's ResNet / ResNet-D / ResNeXt / Wide-ResNet.

Written with torch.nn.functional from timm's semantics (timm/models/resnet.py):
classic 7x7 stem or the deep stem (3x3/2, 3x3, 3x3 with stem_width), BN eps
1e-5, basic/bottleneck blocks with the stride on the 3x3, grouped 3x3 with
width = floor(planes * base_width / 64) * cardinality, projection shortcut
(1x1 stride s, or AvgPool2d(2, s, ceil_mode=True, count_include_pad=False)
then 1x1 when avg_down), global average pool, fc. Key names are timm's.
test_references.py cross-checks it against torchvision's ResNet, which uses
the same key names for the non-D variants.
"""
from collections import OrderedDict

import torch
import torch.nn.functional as F

EXPANSION = {"basic": 1, "bottleneck": 4}


def _modules(cfg, in_chans):
    """Yields (kind, name, shape-info) in timm state-dict order."""
    out = []
    if cfg.get("stem_type") == "deep":
        w = cfg["stem_width"]
        out += [("conv", "conv1.0", (w, in_chans, 3)), ("bn", "conv1.1", w),
                ("conv", "conv1.3", (w, w, 3)), ("bn", "conv1.4", w),
                ("conv", "conv1.6", (2 * w, w, 3))]
        inplanes = 2 * w
    else:
        inplanes = 64
        out.append(("conv", "conv1", (64, in_chans, 7)))
    out.append(("bn", "bn1", inplanes))
    exp = EXPANSION[cfg["block"]]
    for s in range(4):
        planes = cfg["channels"][s]
        for b in range(cfg["layers"][s]):
            name = f"layer{s + 1}.{b}"
            stride = 2 if (s > 0 and b == 0) else 1
            if cfg["block"] == "basic":
                out += [("conv", name + ".conv1", (planes, inplanes, 3)), ("bn", name + ".bn1", planes),
                        ("conv", name + ".conv2", (planes, planes, 3)), ("bn", name + ".bn2", planes)]
            else:
                width = (planes * cfg["base_width"] // 64) * cfg["cardinality"]
                out += [("conv", name + ".conv1", (width, inplanes, 1)), ("bn", name + ".bn1", width),
                        ("conv", name + ".conv2", (width, width // cfg["cardinality"], 3)), ("bn", name + ".bn2", width),
                        ("conv", name + ".conv3", (planes * 4, width, 1)), ("bn", name + ".bn3", planes * 4)]
            if b == 0 and (stride != 1 or inplanes != planes * exp):
                d = name + ".downsample"
                if cfg.get("avg_down"):
                    out += [("conv", d + ".1", (planes * exp, inplanes, 1)), ("bn", d + ".2", planes * exp)]
                else:
                    out += [("conv", d + ".0", (planes * exp, inplanes, 1)), ("bn", d + ".1", planes * exp)]
            inplanes = planes * exp
    return out, inplanes


def init_state(cfg, num_classes, in_chans, gen):
    mods, feats = _modules(cfg, in_chans)
    sd = OrderedDict()
    for kind, name, info in mods:
        if kind == "conv":
            o, i, k = info
            sd[name + ".weight"] = torch.randn(o, i, k, k, generator=gen) / (i * k * k) ** 0.5
        else:
            c = info
            sd[name + ".weight"] = 1 + 0.1 * torch.randn(c, generator=gen)
            sd[name + ".bias"] = 0.1 * torch.randn(c, generator=gen)
            sd[name + ".running_mean"] = 0.1 * torch.randn(c, generator=gen)
            sd[name + ".running_var"] = 0.5 + torch.rand(c, generator=gen)
            sd[name + ".num_batches_tracked"] = torch.tensor(100, dtype=torch.int64)
    if num_classes > 0:
        sd["fc.weight"] = torch.randn(num_classes, feats, generator=gen) / feats ** 0.5
        sd["fc.bias"] = 0.1 * torch.randn(num_classes, generator=gen)
    return sd


def _bn(x, sd, name):
    return F.batch_norm(x, sd[name + ".running_mean"], sd[name + ".running_var"], sd[name + ".weight"],
                        sd[name + ".bias"], training=False, eps=1e-5)


def forward(cfg, sd, x, num_classes):
    acts = []
    conv = lambda x, name, stride=1, groups=1: F.conv2d(
        x, sd[name + ".weight"], stride=stride, padding=sd[name + ".weight"].shape[-1] // 2, groups=groups)
    if cfg.get("stem_type") == "deep":
        x = F.relu(_bn(conv(x, "conv1.0", 2), sd, "conv1.1"))
        x = F.relu(_bn(conv(x, "conv1.3"), sd, "conv1.4"))
        x = conv(x, "conv1.6")
    else:
        x = conv(x, "conv1", 2)
    x = F.relu(_bn(x, sd, "bn1"))
    x = F.max_pool2d(x, 3, 2, 1)
    inplanes = x.shape[1]
    exp = EXPANSION[cfg["block"]]
    for s in range(4):
        planes = cfg["channels"][s]
        for b in range(cfg["layers"][s]):
            name = f"layer{s + 1}.{b}"
            stride = 2 if (s > 0 and b == 0) else 1
            shortcut = x
            if b == 0 and (stride != 1 or inplanes != planes * exp):
                d = name + ".downsample"
                if cfg.get("avg_down"):
                    y = F.avg_pool2d(x, 2, stride, ceil_mode=True, count_include_pad=False) if stride != 1 else x
                    shortcut = _bn(conv(y, d + ".1"), sd, d + ".2")
                else:
                    shortcut = _bn(conv(x, d + ".0", stride), sd, d + ".1")
            if cfg["block"] == "basic":
                y = F.relu(_bn(conv(x, name + ".conv1", stride), sd, name + ".bn1"))
                y = _bn(conv(y, name + ".conv2"), sd, name + ".bn2")
            else:
                y = F.relu(_bn(conv(x, name + ".conv1"), sd, name + ".bn1"))
                y = F.relu(_bn(conv(y, name + ".conv2", stride, cfg["cardinality"]), sd, name + ".bn2"))
                y = _bn(conv(y, name + ".conv3"), sd, name + ".bn3")
            x = F.relu(y + shortcut)
            acts.append((name, x))
            inplanes = planes * exp
    x = x.mean(dim=(2, 3))
    acts.append(("global_pool", x[:, :, None, None]))
    if num_classes > 0:
        x = F.linear(x, sd["fc.weight"], sd["fc.bias"])
        acts.append(("fc", x[:, :, None, None]))
    return x, acts
