"""An independent numpy implementation of lucidgen's int8 scheme (docs/int8.md).

Written from docs/int8.md and TFLite's int8 quantization specification, not
from the generator (host/lua_qref.c, generator/passes/quantize.lua; where the
page left a bit-relevant choice open they were read to settle it, and the page
now states it): from the
fp32 checkpoint (timm keys) it folds BatchNorm and the layer scale as the doc
says, quantizes the weights per output channel, takes only the activation
scales and zero points from the generator's OUT.json (`layers[i].int8`:
input, output, pre; `precision.int8.input`), derives every multiplier and
shift, integer bias, GELU table and norm constant itself, and runs the integer
model. What it returns is what the generated C must compute bit for bit: the
head's float logits y = fma((float)acc, sc, b).

Float arithmetic: numpy float32 operations are IEEE binary32 with one
rounding to nearest even (+, -, *, /, sqrt, int -> float), which is what the
doc's "float" means. numpy has no fused multiply-add, so fma32() emulates C's
fmaf exactly:

  p = a * b in float64 is exact (24 + 24 significand bits <= 53);
  s = p + c in float64 is one rounding, and TwoSum gives its error e exactly
    (p + c = s + e);
  rounding s to float32 is then the correctly rounded fma except when s lies
    exactly halfway between two floats and e != 0 (the double rounding made a
    tie that the exact sum is not): then the result is the neighbour on e's
    side. (A double that is not a float32 midpoint rounds like the exact sum:
    a float32 midpoint is itself a double, so the exact sum and its nearest
    double cannot lie strictly on opposite sides of one.)

check_fma() holds fma32 against libm's fmaf (through ctypes, the oracle only)
on millions of triples, a quarter of them built to land on those ties.

Supported models: timm ResNet with the classic stem (basic and bottleneck
blocks, grouped 3x3) and ConvNeXt / ConvNeXt-V2 (layer scale, GRN, either MLP
layout, head norm after the pool): what resnet18 and convnextv2_atto use and
their close relatives. Anything else raises NotImplementedError.
"""
import ctypes
import ctypes.util
import math

import numpy as np

F32, F64 = np.float32, np.float64
TWO22 = F32(4194304.0)
RNE_MAGIC = F32(12582912.0)  # 1.5 * 2^23


# --- float32 arithmetic the doc names ---------------------------------------------

def fma32(a, b, c):
    """fmaf(a, b, c) elementwise: a * b + c with one rounding to float32 (nearest, ties to even)."""
    a, b, c = np.broadcast_arrays(np.asarray(a, F32), np.asarray(b, F32), np.asarray(c, F32))
    p = a.astype(F64) * b.astype(F64)  # exact
    c64 = c.astype(F64)
    s = p + c64
    bv = s - p  # TwoSum (Knuth): p + c == s + e exactly
    e = (p - (s - bv)) + (c64 - bv)
    r = s.astype(F32)
    r64 = r.astype(F64)
    nb = np.where(s > r64, np.nextafter(r, F32(np.inf)), np.nextafter(r, F32(-np.inf)))
    tie = (s != r64) & (np.abs(s - r64) == np.abs(nb.astype(F64) - s))
    fix = tie & (e != 0)
    if np.any(fix):
        r = np.where(fix, np.where(e > 0, np.maximum(r, nb), np.minimum(r, nb)), r)
    return r


def fclamp(y):
    """y clamped to [-2^22, 2^22]; NaN becomes -2^22."""
    y = np.asarray(y, F32)
    return np.where(y >= -TWO22, np.minimum(y, TWO22), -TWO22).astype(F32)


def rne(y):
    """Nearest integer, halves to even, as the doc writes it: (y + 12582912) - 12582912 in float32."""
    y = np.asarray(y, F32)
    return (y + RNE_MAGIC) - RNE_MAGIC


def round_away(x):
    """Nearest integer of doubles, halves away from zero (exact; C's round())."""
    x = np.asarray(x, F64)
    a = np.abs(x)
    f = np.floor(a)
    r = f + (a - f >= 0.5)
    return np.copysign(r, x)


def f32(x):
    """The float nearest the double x."""
    return np.asarray(x, F64).astype(F32)


# --- requantization ------------------------------------------------------------------

def multiplier(M):
    """M in [0, 0.5) as (m, n): M = m 2^-31 2^-n, m in [2^30, 2^31), n in [1, 31]."""
    M = float(M)
    if not 0.0 <= M < 0.5:
        raise ValueError(f"multiplier {M!r} is not in [0, 0.5)")
    if M == 0.0:
        return 0, 1
    f, e = math.frexp(M)
    m = int(round_away(f * 2147483648.0))  # f * 2^31 is exact
    if m == 1 << 31:  # f rounded up to 1: the next binade
        m, e = m >> 1, e + 1
    if -e > 31:  # below 2^-32
        return 0, 1
    if -e < 1:
        raise ValueError(f"multiplier {M!r} rounds to a shift of {-e}")
    return m, -e


def multipliers(Ms):
    mn = [multiplier(M) for M in np.ravel(Ms)]
    return np.array([m for m, _ in mn], np.int64), np.array([n for _, n in mn], np.int64)


def mulhi(x, m):
    return (x * m + (1 << 30)) >> 31  # int64: |x| < 2^31, m < 2^31


def rshr(x, n):
    return (x >> n) + ((x >> (n - 1)) & 1)


def requant(x, m, n):
    """R(x, m, n) on int64 arrays holding int32 values; m, n broadcast (per channel)."""
    check_int32(x, "requantized sum")
    return rshr(mulhi(x, m), n)


def check_int32(x, what):
    if x.size and (x.min() < -(1 << 31) or x.max() >= 1 << 31):
        raise OverflowError(f"{what} leaves int32: [{x.min()}, {x.max()}]")


def chan(v, ndim):
    """A per-channel vector shaped to broadcast over NCHW (or NC)."""
    return np.asarray(v).reshape((1, -1) + (1,) * (ndim - 2))


def shortcut_shift(K):
    """L for a shortcut fused into a conv: the smallest in [0, 23] with K / 2^L below 0.49, K the largest of
    the layer's real multipliers s_r / (s_in s_w[oc])."""
    L = 0
    while K / 2 ** L >= 0.49:
        L += 1
    if L > 23:
        raise Mismatch(f"a shortcut {K:g} times the sums' step needs a shift of {L}")
    return L


# --- folding and weight quantization ---------------------------------------------------

def fold_batchnorm(w, b, gamma, beta, mean, var, eps):
    """conv -> eval BatchNorm as one conv, in double, rounded once to float32 per value:
    s = gamma / sqrt(var + eps); w' = w s; b' = (b - mean) s + beta."""
    s = gamma.astype(F64) / np.sqrt(var.astype(F64) + eps)
    w2 = (w.astype(F64) * s.reshape((-1,) + (1,) * (w.ndim - 1))).astype(F32)
    b0 = b.astype(F64) if b is not None else 0.0
    b2 = ((b0 - mean.astype(F64)) * s + beta.astype(F64)).astype(F32)
    return w2, b2


def fold_layer_scale(w, b, gamma):
    """(W x + b) * gamma = (gamma W) x + gamma b, in float32."""
    g = gamma.astype(F32)
    return (w * g.reshape((-1,) + (1,) * (w.ndim - 1))).astype(F32), (b * g).astype(F32)


def quantize_weights(w):
    """Per output channel: s_w = max|w| / 127 (1 for zeros), q = round(w / s_w) halves away, in [-127, 127]."""
    oc = w.shape[0]
    flat = w.reshape(oc, -1).astype(F64)
    mx = np.abs(flat).max(axis=1)
    s = np.where(mx > 0, mx / 127.0, 1.0)
    q = np.clip(round_away(flat / s[:, None]), -127, 127).astype(np.int64)
    return q.reshape(w.shape), s


# --- activations ---------------------------------------------------------------------

class Act:
    """A uint8 (or int16 with zu 0) tensor: real = s * (u - zu)."""

    def __init__(self, u, s, zu):
        self.u, self.s, self.zu = u, float(s), int(zu)

    def d(self):
        return self.u - self.zu


def quantize(x, s, zu):
    inv_s = f32(1.0 / s)
    with np.errstate(over="ignore", invalid="ignore"):  # inf and NaN inputs: fclamp's business
        t = fclamp(np.asarray(x, F32) * inv_s)
    return np.clip(rne(t).astype(np.int64) + zu, 0, 255)


def gelu_table(s_g, zu_g, s_o, zu_o):
    """table[t] = clamp(round(gelu(s_g (t - zu_g)) / s_o) + zu_o, 0, 255), gelu with erf in double."""
    out = np.empty(256, np.int64)
    for t in range(256):
        x = s_g * (t - zu_g)
        y = 0.5 * x * (1.0 + math.erf(x / math.sqrt(2.0)))
        out[t] = min(255, max(0, int(round_away(y / s_o)) + zu_o))
    return out


def conv_sum(d, q, stride, pad, groups):
    """sum_k d_k q[oc][k] over the window, exact int64 (d: NCHW integers, 0 in the padding)."""
    N, C, H, W = d.shape
    OC, CG, KH, KW = q.shape
    OH, OW = (H + 2 * pad - KH) // stride + 1, (W + 2 * pad - KW) // stride + 1
    dp = np.pad(d, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    if groups == C and CG == 1 and OC == C:  # depthwise: tap by tap
        acc = np.zeros((N, C, OH, OW), np.int64)
        for i in range(KH):
            for j in range(KW):
                acc += dp[:, :, i:i + stride * OH:stride, j:j + stride * OW:stride] * q[:, 0, i, j].reshape(1, -1, 1, 1)
        return acc
    cols = np.empty((N, C, KH, KW, OH, OW), F64)
    for i in range(KH):
        for j in range(KW):
            cols[:, :, i, j] = dp[:, :, i:i + stride * OH:stride, j:j + stride * OW:stride]
    OG = OC // groups
    out = []
    for g in range(groups):
        cg = cols[:, g * CG:(g + 1) * CG].reshape(N, CG * KH * KW, OH * OW)
        wg = q[g * OG:(g + 1) * OG].reshape(OG, CG * KH * KW).astype(F64)
        # integers below 2^31 in float64: every partial sum exact in any order
        out.append(np.matmul(wg, cg))
    return np.rint(np.concatenate(out, axis=1)).astype(np.int64).reshape(N, OC, OH, OW)


def norm_affine(a, k, g, beta, lo):
    """y = fma((float)a, k * g, beta); u = clamp(rne(y), lo, 255)."""
    y = fma32(a.astype(F32), (k * g).astype(F32), beta)
    return np.clip(rne(fclamp(y)).astype(np.int64), lo, 255)


def layernorm_ints(d, s, s_o, zu_o, g, b, eps):
    """LayerNorm over axis 1 (channels) of integers d at scale s -> uint8 at (s_o, zu_o)."""
    C = d.shape[1]
    Q = f32(C * C / (s * s))
    P = f32(s / (C * s_o))
    beta = chan(f32(b.astype(F64) / s_o + zu_o), d.ndim)
    S1 = d.sum(axis=1, keepdims=True)
    S2 = (d * d).sum(axis=1, keepdims=True)
    var = (C * S2 - S1 * S1).astype(F32) / Q
    k = P / np.sqrt(var + f32(eps))
    return norm_affine(C * d - S1, k, chan(g.astype(F32), d.ndim), beta, 0)


def grn_ints(d, s, s_o, zu_o, gamma, b, eps):
    """GRN per image over NCHW integers d at scale s -> uint8 at (s_o, zu_o)."""
    N, C = d.shape[:2]
    s32, eps32, Ps = f32(s), f32(eps), f32(s / s_o)
    beta = f32(b.astype(F64) / s_o + zu_o)
    out = np.empty(d.shape, np.int64)
    for i in range(N):
        S2 = (d[i] * d[i]).reshape(C, -1).sum(axis=1)
        G = np.sqrt(S2.astype(F32))
        Gs = F32(0)
        for c in range(C):  # the float sum in channel order
            Gs = F32(Gs + G[c])
        den = fma32(Gs / F32(C), s32, eps32)
        f = fma32(gamma.astype(F32), (G * s32) / den, F32(1))
        mc = (f * Ps).astype(F32)
        y = fma32(d[i].astype(F32), mc.reshape(C, 1, 1), beta.reshape(C, 1, 1))
        out[i] = np.clip(rne(fclamp(y)).astype(np.int64), 0, 255)
    return out


# --- the model -----------------------------------------------------------------------

class Mismatch(Exception):
    pass


class Reference:
    """The integer model of one generated classifier: checkpoint + the scales of its OUT.json."""

    def __init__(self, family, cfg, sd, out_json):
        self.family, self.cfg = family, cfg
        self.sd = {k: np.asarray(v, F32) if np.asarray(v).dtype.kind == "f" else np.asarray(v) for k, v in sd.items()}
        self.layers = {l["name"]: l for l in out_json["layers"]}
        self.order = [l["name"] for l in out_json["layers"]]
        i8 = out_json["precision"]["int8"]
        if i8.get("kept_fp32"):
            raise NotImplementedError(f"layers kept in fp32: {i8['kept_fp32']}")
        self.input_q = self._q(i8["input"])
        self.params = {}  # layer name -> derived integer parameters (computed once)
        self.seen = []  # layer names in the order run() met them
        self.acts = {}  # layer name -> its output Act (or logits) of the last run

    @staticmethod
    def _q(entry):
        """(s, zu) of an OUT.json scale: TFLite's int8 zero point is zu - 128; an int16 is symmetric (zero point 0)."""
        if entry.get("int16"):
            return float(entry["scale"]), int(entry["zero_point"])
        return float(entry["scale"]), int(entry["zero_point"]) + 128

    def _layer(self, name, op, fused, x):
        """The OUT.json entry of a layer this reference expects, checked against its structure and its input."""
        l = self.layers.get(name)
        if l is None:
            raise Mismatch(f"OUT.json has no layer {name} (it has {self.order})")
        if l["op"] != op or list(l.get("fused", [])) != list(fused):
            raise Mismatch(f"{name}: OUT.json says op {l['op']} fused {l.get('fused')}, this reference expects "
                           f"op {op} fused {fused}")
        if l.get("compute", "int8") != "int8" or "int8" not in l:
            raise Mismatch(f"{name} does not run in int8: {l.get('compute')}")
        s, zu = self._q(l["int8"]["input"])
        if (s, zu) != (x.s, x.zu):
            raise Mismatch(f"{name}: its input scale in OUT.json {(s, zu)} is not its producer's {(x.s, x.zu)}")
        self.seen.append(name)
        return l["int8"]

    # conv / linear with one epilogue: "u8" (relu), "gelu", "ln" (depthwise + LayerNorm), "float"
    def conv(self, name, fused, x, w, b, stride=1, pad=0, groups=1, relu=False, gelu=False, ln=None,
             head=False, shortcut=None):
        j = self._layer(name, "linear" if x.u.ndim == 2 else "conv", fused, x)  # a Linear over NCHW is a 1x1 conv
        w4 = w.reshape(w.shape + (1, 1)) if w.ndim == 2 else w
        u_in = x.u.reshape(x.u.shape + (1, 1)) if x.u.ndim == 2 else x.u
        if name not in self.params:
            q, s_w = quantize_weights(w4)
            K = q[0].size
            step = x.s * s_w  # the sums' scale per output channel
            p = {"q": q, "step": step}
            if head:
                p["sc"] = f32(step)
                p["b"] = (b if b is not None else np.zeros(q.shape[0], F32)).astype(F32)
            else:
                limit = 2 ** 31 - 1 - 255 * 127 * K
                bq = round_away((b.astype(F64) if b is not None else 0.0) / step) * np.ones_like(step)
                p["bias"] = np.clip(bq, -limit, limit).astype(np.int64)
                if ln is not None:
                    p["s_v"], zv = self._q(j["pre"])
                    if zv != 0:
                        raise Mismatch(f"{name}: the int16 in-between has zero point {zv}, not 0")
                    p["m"], p["n"] = multipliers(step / p["s_v"])
                elif gelu:
                    p["s_g"], p["zu_g"] = self._q(j["pre"])
                    s_o, zu_o = self._q(j["output"])
                    p["m"], p["n"] = multipliers(step / p["s_g"])
                    p["table"] = gelu_table(p["s_g"], p["zu_g"], s_o, zu_o)
                else:
                    s_o, zu_o = self._q(j["output"])
                    p["m"], p["n"] = multipliers(step / s_o)
            if shortcut is not None:
                Kr = shortcut.s / step
                p["L"] = L = shortcut_shift(Kr.max())
                p["mr"], p["nr"] = multipliers(Kr / 2 ** L)
            self.params[name] = p
        p = self.params[name]
        acc = conv_sum(u_in - x.zu, p["q"], stride, pad, groups)
        nd = acc.ndim
        if not head:
            acc = acc + chan(p["bias"], nd)
        check_int32(acc, name + " sums")
        if shortcut is not None:
            acc = acc + requant(shortcut.d() << p["L"], chan(p["mr"], nd), chan(p["nr"], nd))
            check_int32(acc, name + " sums + shortcut")
        m, n = chan(p.get("m", 0), nd), chan(p.get("n", 1), nd)
        if head:
            y = fma32(acc.astype(np.int32).astype(F32), chan(p["sc"], nd), chan(p["b"], nd))
            out = y.reshape(y.shape[:2]) if x.u.ndim == 2 else y
            self.acts[name] = out
            return out
        if ln is not None:
            v = np.clip(requant(acc, m, n), -32767, 32767)
            g, bb, eps = ln
            s_o, zu_o = self._q(j["output"])
            out = Act(layernorm_ints(v, p["s_v"], s_o, zu_o, g, bb, eps), s_o, zu_o)
        elif gelu:
            t = np.clip(requant(acc, m, n) + p["zu_g"], 0, 255)
            out = Act(p["table"][t], *self._q(j["output"]))
        else:
            s_o, zu_o = self._q(j["output"])
            out = Act(np.clip(requant(acc, m, n) + zu_o, zu_o if relu else 0, 255), s_o, zu_o)
        if x.u.ndim == 2:
            out.u = out.u.reshape(out.u.shape[:2])
        self.acts[name] = out
        return out

    def layernorm(self, name, x, g, b, eps):
        j = self._layer(name, "layernorm", [], x)
        s_o, zu_o = self._q(j["output"])
        out = Act(layernorm_ints(x.d(), x.s, s_o, zu_o, g, b, eps), s_o, zu_o)
        self.acts[name] = out
        return out

    def grn(self, name, x, gamma, b, eps):
        j = self._layer(name, "grn", [], x)
        s_o, zu_o = self._q(j["output"])
        out = Act(grn_ints(x.d(), x.s, s_o, zu_o, gamma, b, eps), s_o, zu_o)
        self.acts[name] = out
        return out

    def maxpool(self, name, x, k, stride, pad):
        j = self._layer(name, "maxpool", [], x)
        if self._q(j["output"]) != (x.s, x.zu):
            raise Mismatch(f"{name}: a max pool keeps its input's scale, OUT.json says {j['output']}")
        N, C, H, W = x.u.shape
        OH, OW = (H + 2 * pad - k) // stride + 1, (W + 2 * pad - k) // stride + 1
        up = np.pad(x.u, ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=-1)  # padding left out
        out = np.full((N, C, OH, OW), -1, np.int64)
        for i in range(k):
            for jj in range(k):
                out = np.maximum(out, up[:, :, i:i + stride * OH:stride, jj:jj + stride * OW:stride])
        self.acts[name] = Act(out, x.s, x.zu)
        return self.acts[name]

    def global_avgpool(self, name, x):
        j = self._layer(name, "global_avgpool", [], x)
        N, C, H, W = x.u.shape
        s_o, zu_o = self._q(j["output"])
        if name not in self.params:
            self.params[name] = multiplier(x.s / (H * W * s_o))
        m, n = self.params[name]
        tot = x.d().reshape(N, C, -1).sum(axis=2)
        out = Act(np.clip(requant(tot, m, n) + zu_o, 0, 255), s_o, zu_o)
        self.acts[name] = out
        return out

    # --- forward passes ----------------------------------------------------------------

    def run(self, x):
        """x: float32 NCHW -> float32 logits [N, classes] (or raises NotImplementedError)."""
        self.seen, self.acts = [], {}
        a = Act(quantize(x, *self.input_q), *self.input_q)
        self.acts["input"] = a
        y = {"resnet": self._resnet, "convnext": self._convnext}.get(self.family, self._unsupported)(a)
        missing = [n for n in self.order if n not in self.seen]
        if missing:
            raise Mismatch(f"OUT.json layers this reference did not run: {missing}")
        return y

    def _unsupported(self, a):
        raise NotImplementedError(f"family {self.family}")

    def _bn_conv(self, conv, bn):
        sd = self.sd
        return fold_batchnorm(sd[conv + ".weight"], sd.get(conv + ".bias"), sd[bn + ".weight"], sd[bn + ".bias"],
                              sd[bn + ".running_mean"], sd[bn + ".running_var"], 1e-5)

    def _resnet(self, x):
        cfg = self.cfg
        if cfg.get("stem_type") or cfg.get("avg_down") or cfg.get("block") not in ("basic", "bottleneck"):
            raise NotImplementedError(f"resnet config {cfg}")
        w, b = self._bn_conv("conv1", "bn1")
        x = self.conv("conv1", ["bn1", "relu"], x, w, b, stride=2, pad=3, relu=True)
        x = self.maxpool("maxpool", x, 3, 2, 1)
        exp = 1 if cfg["block"] == "basic" else 4
        inplanes = x.u.shape[1]
        for si in range(4):
            planes = cfg["channels"][si]
            for bi in range(cfg["layers"][si]):
                p = f"layer{si + 1}.{bi}"
                stride = 2 if si > 0 and bi == 0 else 1
                shortcut = x
                if bi == 0 and (stride != 1 or inplanes != planes * exp):
                    w, b = self._bn_conv(p + ".downsample.0", p + ".downsample.1")
                    shortcut = self.conv(p + ".downsample.0", [p + ".downsample.1"], x, w, b, stride=stride)
                if cfg["block"] == "basic":
                    w, b = self._bn_conv(p + ".conv1", p + ".bn1")
                    y = self.conv(p + ".conv1", [p + ".bn1", "relu"], x, w, b, stride=stride, pad=1, relu=True)
                    w, b = self._bn_conv(p + ".conv2", p + ".bn2")
                    x = self.conv(p + ".conv2", [p + ".bn2", "residual add", "relu"], y, w, b, pad=1, relu=True,
                                  shortcut=shortcut)
                else:
                    w, b = self._bn_conv(p + ".conv1", p + ".bn1")
                    y = self.conv(p + ".conv1", [p + ".bn1", "relu"], x, w, b, relu=True)
                    w, b = self._bn_conv(p + ".conv2", p + ".bn2")
                    y = self.conv(p + ".conv2", [p + ".bn2", "relu"], y, w, b, stride=stride, pad=1,
                                  groups=cfg["cardinality"], relu=True)
                    w, b = self._bn_conv(p + ".conv3", p + ".bn3")
                    x = self.conv(p + ".conv3", [p + ".bn3", "residual add", "relu"], y, w, b, relu=True,
                                  shortcut=shortcut)
                inplanes = planes * exp
        x = self.global_avgpool("global_pool", x)
        if "fc.weight" not in self.sd:
            raise NotImplementedError("features output (num_classes 0)")
        return self.conv("fc", [], x, self.sd["fc.weight"], self.sd["fc.bias"], head=True)

    def _convnext(self, x):
        cfg, sd = self.cfg, self.sd
        if cfg.get("head_norm_first"):
            raise NotImplementedError("head_norm_first")
        eps = float(cfg.get("ln_eps", 1e-6))
        x = self.conv("stem.0", [], x, sd["stem.0.weight"], sd["stem.0.bias"], stride=4)
        x = self.layernorm("stem.1", x, sd["stem.1.weight"], sd["stem.1.bias"], eps)
        for i in range(4):
            if i > 0:
                p = f"stages.{i}.downsample"
                x = self.layernorm(p + ".0", x, sd[p + ".0.weight"], sd[p + ".0.bias"], eps)
                x = self.conv(p + ".1", [], x, sd[p + ".1.weight"], sd[p + ".1.bias"], stride=2)
            for k in range(cfg["depths"][i]):
                p = f"stages.{i}.blocks.{k}"
                c = x.u.shape[1]
                shortcut = x
                y = self.conv(p + ".conv_dw", [p + ".norm"], x, sd[p + ".conv_dw.weight"], sd[p + ".conv_dw.bias"],
                              pad=3, groups=c, ln=(sd[p + ".norm.weight"], sd[p + ".norm.bias"], eps))
                y = self.conv(p + ".mlp.fc1", ["gelu"], y, sd[p + ".mlp.fc1.weight"], sd[p + ".mlp.fc1.bias"],
                              gelu=True)
                if cfg["use_grn"]:
                    y = self.grn(p + ".mlp.grn", y, sd[p + ".mlp.grn.weight"], sd[p + ".mlp.grn.bias"], 1e-6)
                w, b = sd[p + ".mlp.fc2.weight"], sd[p + ".mlp.fc2.bias"]
                fused = ["residual add"]
                if cfg["layer_scale"]:
                    w, b = fold_layer_scale(w, b, sd[p + ".gamma"])
                    fused = [p + ".gamma"] + fused  # the absorbed layer scale
                x = self.conv(p + ".mlp.fc2", fused, y, w, b, shortcut=shortcut)
        x = self.global_avgpool("head.global_pool", x)
        x = self.layernorm("head.norm", x, sd["head.norm.weight"], sd["head.norm.bias"], eps)
        if "head.fc.weight" not in sd:
            raise NotImplementedError("features output (num_classes 0)")
        return self.conv("head.fc", [], x, sd["head.fc.weight"], sd["head.fc.bias"], head=True)


# --- the fma emulation against libm ----------------------------------------------------

def _random_floats(rng, n, emin, emax):
    """Floats with random sign, exponent in [emin, emax] and random 23-bit mantissa."""
    mant = rng.integers(0, 1 << 23, n, dtype=np.int64)
    e = rng.integers(emin, emax + 1, n)
    v = np.ldexp((1.0 + mant / float(1 << 23)), e)
    return np.where(rng.random(n) < 0.5, -v, v).astype(F32)


def fma_triples(n, seed=0):
    """n (a, b, c) float32 triples: general, near cancellation, subnormal results, and a*b + c landing
    on (or a hair from) a float32 midpoint after rounding to double, the cases where double rounding bites."""
    rng = np.random.default_rng(seed)
    k = n // 4
    parts = []
    # general: exponents that overlap, so the sum rounds in every way
    a, b = _random_floats(rng, k, -20, 20), _random_floats(rng, k, -20, 20)
    parts.append((a, b, _random_floats(rng, k, -45, 45)))
    # near cancellation: c is -a*b rounded, give or take a few ulps
    a, b = _random_floats(rng, k, -30, 30), _random_floats(rng, k, -30, 30)
    c = -(a.astype(F64) * b).astype(F32)
    c = (c.view(np.int32) + rng.integers(-3, 4, k).astype(np.int32)).view(F32)
    parts.append((a, b, c))
    # results near and below the smallest normal float
    a, b = _random_floats(rng, k, -75, -60), _random_floats(rng, k, -75, -60)
    parts.append((a, b, _random_floats(rng, k, -150, -120)))
    # ties: a0 in [1, 2), b0 = float(1/a0), a0 b0 = 1 + eta with tiny eta (exactly 1 for a power of 2);
    # scaled to half an ulp of c: a b + c rounds in double to a float32 midpoint (e != 0) unless eta = 0
    m = n - 3 * k
    a0 = (1.0 + rng.integers(0, 1 << 23, m) / float(1 << 23)).astype(F32)
    a0[rng.random(m) < 0.1] = 1.0
    b0 = (1.0 / a0.astype(F64)).astype(F32)
    t = rng.integers(-100, 100, m)
    c = np.ldexp((1 << 23) + rng.integers(0, 1 << 23, m), t + 1)  # ulp(c) = 2^(t+1)
    c = np.where(rng.random(m) < 0.5, -c, c).astype(F32)
    a = np.ldexp(a0.astype(F64), t).astype(F32) * np.where(rng.random(m) < 0.5, F32(-1), F32(1))
    parts.append((a, b0, c))
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(3))


def check_fma(n=3_000_000, seed=0):
    """fma32 against libm's fmaf on n triples: (number that differ, number of ties the emulation corrected)."""
    libm = ctypes.CDLL(ctypes.util.find_library("m"))
    fmaf = libm.fmaf
    fmaf.restype, fmaf.argtypes = ctypes.c_float, [ctypes.c_float] * 3
    a, b, c = fma_triples(n, seed)
    got = fma32(a, b, c)
    want = np.array([fmaf(x, y, z) for x, y, z in zip(a.tolist(), b.tolist(), c.tolist())], F32)
    naive = (a.astype(F64) * b + c).astype(F32)  # p + c rounded twice: what the correction is for
    bad = np.flatnonzero(got.view(np.uint32) != want.view(np.uint32))
    corrected = int(np.count_nonzero(naive.view(np.uint32) != want.view(np.uint32)))
    return bad, corrected, (a, b, c, got, want)


if __name__ == "__main__":
    import sys
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3_000_000
    bad, corrected, (a, b, c, got, want) = check_fma(n)
    for i in bad[:10]:
        print(f"fma({a[i]!r}, {b[i]!r}, {c[i]!r}): fma32 {got[i]!r}, fmaf {want[i]!r}")
    print(f"fma32 vs libm fmaf on {n} triples: {len(bad)} differ; the double-rounding correction "
          f"decided {corrected} of them")
    sys.exit(1 if len(bad) else 0)
