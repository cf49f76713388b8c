"""The PyTorch models the benchmark exports and times, built from a timm-keyed state dict.

Two builders, both returning (forward, description) where forward maps a dense
NCHW float32 tensor (N,in_chans,H,W) to dense logits (N,num_classes):

  export_model(family, cfg, state, num_classes)
      plain dense ops, for torch.onnx.export (ONNX Runtime then does its own
      constant folding and fusion).
  timing_model(family, cfg, state, num_classes)
      the fastest eager PyTorch we can make with the same weights, so that the
      ratio measures kernels and not a handicapped baseline:
        ResNet with torchvision's layout -> torchvision ResNet (same key names),
            state dict loaded strictly, converted by torch.utils.mkldnn.to_mkldnn
            (oneDNN, weights reordered once).
        any other family -> the functional parity reference
            (tests/parity/ref_<family>.py) with every convolution sent to oneDNN;
            ConvNeXt's Linear MLP runs as the equivalent 1x1 convolutions; BiT's
            weight standardization is done once, as lucidgen and ONNX Runtime do.

Why oneDNN explicitly: Debian's torch 1.13 links the reference BLAS (libblas3).
Its own dispatch sends 1x1 convolutions at batch < 16 on one thread, and every
nn.Linear, to im2col + that BLAS, which is 10-25x slower here than oneDNN.
"""
import importlib
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "parity"))

REFERENCES = {"resnet": "ref_resnet", "convnext": "ref_convnext", "resnetv2": "ref_resnetv2"}


def reference(family):
    """The functional parity reference module for a family (init_state, forward)."""
    if family not in REFERENCES:
        raise KeyError(f"no PyTorch reference for family '{family}' (known: {', '.join(sorted(REFERENCES))})")
    return importlib.import_module(REFERENCES[family])


def _torchvision_resnet(cfg, state, num_classes):
    """torchvision ResNet holding `state`, or None when timm's layout differs (deep stem, avg_down, ...)."""
    if cfg.get("stem_type") == "deep" or cfg.get("avg_down") or list(cfg["channels"]) != [64, 128, 256, 512] \
            or num_classes <= 0 or cfg.get("in_channels", 3) != 3:
        return None
    import torchvision.models.resnet as tvr
    block = {"basic": tvr.BasicBlock, "bottleneck": tvr.Bottleneck}[cfg["block"]]
    kw = {}
    if cfg["block"] == "bottleneck":
        kw = {"groups": cfg["cardinality"], "width_per_group": cfg["base_width"]}
    elif cfg["cardinality"] != 1 or cfg["base_width"] != 64:
        return None
    model = tvr.ResNet(block, list(cfg["layers"]), num_classes=num_classes, **kw).eval()
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError:
        return None
    return model


def _standardize_once(ref, cfg, state):
    """BiT's weights are fixed: standardize each conv weight once, as lucidgen does at build time.

    Also what lets torch.onnx trace it: a standardized weight computed inside the
    trace has traced sizes, and the reference derives its padding from them.
    The cache keeps each weight and checks identity, so a later model whose
    tensors reuse an id() falls through to the plain function.
    """
    eps = float(cfg.get("std_conv_eps", 1e-8))
    plain = ref.standardize_weight
    done = {id(w): (w, plain(w, eps)) for k, w in state.items() if w.dim() == 4 and not k.startswith("head.")}

    def standardize_weight(w, e):
        hit = done.get(id(w))
        return hit[1] if hit is not None and hit[0] is w and e == eps else plain(w, e)

    ref.standardize_weight = standardize_weight


def export_model(family, cfg, state, num_classes):
    if family == "resnet":
        model = _torchvision_resnet(cfg, state, num_classes)
        if model is not None:
            return model, "torchvision ResNet"
    ref = reference(family)
    ref.F = _TraceableFunctional()
    if family == "resnetv2":
        _standardize_once(ref, cfg, state)
    return (lambda x: ref.forward(cfg, state, x, num_classes)[0]), f"functional reference {REFERENCES[family]}.py"


def _pair(v):
    return (int(v), int(v)) if isinstance(v, (int, torch.Tensor)) else tuple(int(e) for e in v)


class _TraceableFunctional:
    """torch.nn.functional whose conv2d takes sizes the tracer turned into tensors.

    The references derive padding from weight.shape, which torch.onnx's tracer
    returns as tensors; as Python ints they become the constants ONNX wants.
    Eager calls are unchanged.
    """

    def __getattr__(self, name):
        return getattr(F, name)

    @staticmethod
    def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
        return F.conv2d(x, w, b, _pair(stride), _pair(padding), _pair(dilation), int(groups))


class _OneDnnFunctional:
    """torch.nn.functional with conv2d replaced by oneDNN's, for one reference module."""

    def __getattr__(self, name):
        return getattr(F, name)

    @staticmethod
    def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
        return torch.mkldnn_convolution(x, w, b, _pair(padding), _pair(stride), _pair(dilation), int(groups))


def timing_model(family, cfg, state, num_classes):
    if family == "resnet":
        model = _torchvision_resnet(cfg, state, num_classes)
        if model is not None:
            import torch.utils.mkldnn
            mk = torch.utils.mkldnn.to_mkldnn(model)
            return (lambda x: mk(x.to_mkldnn()).to_dense()), "torchvision ResNet, to_mkldnn (oneDNN)"
    ref = reference(family)
    # Only this timing process reads the reference modules after this: their F
    # and weight standardization are swapped for the inference-time versions.
    ref.F = _OneDnnFunctional()
    note = f"functional reference {REFERENCES[family]}.py, convolutions on oneDNN"
    if family == "convnext" and not cfg["conv_mlp"]:
        # Linear over channels-last == 1x1 convolution over NCHW; same weights reshaped.
        cfg = dict(cfg, conv_mlp=True)
        state = {k: (v[:, :, None, None] if ".mlp.fc" in k and v.dim() == 2 else v) for k, v in state.items()}
        note += ", MLP as 1x1 convolutions"
    if family == "resnetv2":
        _standardize_once(ref, cfg, state)
        note += ", weights standardized once"
    return (lambda x: ref.forward(cfg, state, x, num_classes)[0]), note


def int8_peer_problem(family, cfg, state, num_classes):
    """None where PyTorch has an int8 model of this layout (int8_model), else why not."""
    if family != "resnet" or _torchvision_resnet(cfg, state, num_classes) is None:
        return "no PyTorch int8 peer: torchvision's quantizable models cover the plain ResNet layout only"
    return None


def int8_model(family, cfg, state, num_classes, calibration):
    """PyTorch's own int8 of the same weights: torchvision's quantizable ResNet,
    conv+bn+relu fused, calibrated on `calibration` (a list of input tensors,
    the ones lucidgen's --calibrate chose its scales on) with the onednn
    engine's default qconfig (per-channel symmetric int8 weights,
    histogram-calibrated uint8 activations), converted. KeyError where
    torchvision has no quantizable model of this layout. The converted model
    is also what qdq_onnx writes ONNX Runtime's int8 model from."""
    problem = int8_peer_problem(family, cfg, state, num_classes)
    if problem:
        raise KeyError(problem)
    import torch.ao.quantization as tq
    import torchvision.models.quantization.resnet as qr
    block = {"basic": qr.QuantizableBasicBlock, "bottleneck": qr.QuantizableBottleneck}[cfg["block"]]
    kw = {"groups": cfg["cardinality"], "width_per_group": cfg["base_width"]} if cfg["block"] == "bottleneck" else {}
    torch.backends.quantized.engine = "onednn"
    model = qr.QuantizableResNet(block, list(cfg["layers"]), num_classes=num_classes, **kw).eval()
    model.load_state_dict(state, strict=True)
    model.fuse_model()
    model.qconfig = tq.get_default_qconfig("onednn")
    tq.prepare(model, inplace=True)
    with torch.no_grad():
        for x in calibration:
            model(x)
    tq.convert(model, inplace=True)
    return model, f"torchvision quantizable ResNet, onednn int8 (fused, calibrated on {len(calibration)} inputs)"


def calibration_set(work, shape):
    """The inputs of WORK/calibration.f32 (run.py writes it, lucidgen --calibrate reads it) that lucidgen
    chooses its int8 scales on: the first three quarters; it measures its error on the last quarter."""
    import numpy as np
    xs = np.fromfile(os.path.join(work, "calibration.f32"), dtype=np.float32).reshape([-1] + list(shape))
    return [torch.from_numpy(x.copy()) for x in xs[:len(xs) - len(xs) // 4]]
