-- int8 depthwise convolutions (ConvNeXt's 7x7), with the LayerNorm after them
-- fused through an int16 (docs/int8.md 3, 4).
--
-- Weight layout (this file owns it; P.qdwconv writes it, qdwconv.c.in reads it):
--   int32 bias[C] (bias_q: taps over the border are left out, so no zero point
--   is folded in), m[C], n[C]; int8 taps[KH*KW][C]; with the norm, from the
--   next 4-byte boundary, float g[C], beta[C].
local P = require("lg.pack")
local gemm = require("kernels.gemm")
local template = require("template")
local round_up = require("kernels.sizes").round_up

local qdwconv = { name = "qdwconv", epilogues = { { slot = "norm", ops = { layernorm = true } } } }

function qdwconv.applies(g, node)
  local q = node.quant
  if not (q and q.kind == "conv") then return false end
  local c = g.values[node.inputs[1]].shape[2]
  return (node.attrs.groups or 1) > 1 and node.attrs.groups == c and g.values[node.output].shape[2] == c
end

function qdwconv.lower(g, node, ctx)
  local q = node.quant
  local v = gemm.geometry(g, node)
  v.C, v.ZU_IN = v.IC, q.zu_in
  v.NORM = q.ln and 1 or 0
  v.ZU_OUT, v.LO = q.out.zu or 0, q.out.lo or 0
  local weights_bytes = round_up(3 * 4 * v.C + v.TAPS * v.C, 4)
  v.NORM_AT = weights_bytes
  if q.ln then
    -- (already floats: quantize.lua rounds them)
    v.NORM_Q, v.NORM_P, v.EPS = template.c_float(q.ln.Q), template.c_float(q.ln.P), template.c_float(q.ln.eps)
  end
  local bytes = weights_bytes + (q.ln and 8 * v.C or 0)
  -- a strip's sums + a kernel row of weights + the input vector in registers; with the
  -- norm, the strip's int16 values on the stack, at most half of L1
  local t = ctx.target
  v.OWB = math.max(1, math.min(v.OW, t.vregs - v.KW - 2, 16))
  if q.ln then v.OWB = math.max(1, math.min(v.OWB, (t.l1 // 2) // (2 * v.C))) end
  node.kernel = { template = "qdwconv.c.in", vars = v,
    stack = (v.OWB + v.KW) * t.int8.qw * 4 + (q.ln and v.OWB * v.C * 2 or 0),
    fn = string.format("qdwconv%dx%ds%d_%dx%dx%d%s%s", v.KH, v.KW, v.SH, v.IH, v.IW, v.C, v.N > 1 and ("_n" .. v.N) or "",
      q.ln and "_ln" or ""),
    strategy = string.format("int8 row strips of %d pixels%s", v.OWB, q.ln and ", LayerNorm from int16" or ""),
    numerics = { weights = "int8", inputs = "int8" } }
  node.blob = { { role = "weight", bytes = bytes, make = function()
    return P.qdwconv(q.wq, q.bias, q.out.m, q.out.n, q.ln and q.ln.g, q.ln and q.ln.beta, bytes)
  end } }
end

return qdwconv
