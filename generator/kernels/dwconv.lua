-- Depthwise convolutions (groups = in = out channels: ConvNeXt's 7x7), with the
-- LayerNorm that follows them fused into the same pass over each output strip.
--
-- Weight layout (this file owns it; P.dwconv writes it, dwconv.c.in reads it):
--   float bias[C]; int8 only: float scale[C]; dtype taps[KH*KW][C]
-- then, with a fused norm, float weight[C], bias[C]. A kernel row's taps are
-- widened (and int8 ones scaled) once per strip and channel block, so the dtype
-- costs nothing in the inner loop. Multiply-adds stay fp32 under --precision
-- bf16: a depthwise conv has no K to pair, and its MACs are a few % of a model's.
local P = require("lg.pack")
local gemm = require("kernels.gemm")
local precision = require("precision")
local round_up = require("kernels.sizes").round_up
local simple = require("kernels.simple")

local dwconv = { name = "dwconv", epilogues = { { slot = "norm", ops = { layernorm = true } } } }

function dwconv.applies(g, node)
  if node.op ~= "conv" then return false end
  local c = g.values[node.inputs[1]].shape[2]
  return node.attrs.groups > 1 and node.attrs.groups == c and g.values[node.output].shape[2] == c
end

function dwconv.lower(g, node, ctx)
  local v = gemm.geometry(g, node)
  local a = node.attrs
  v.C = v.IC
  -- a strip's accumulators + one kernel row of weights + the input vector in registers
  v.OWB = math.max(1, math.min(v.OW, ctx.target.vregs - v.KW - 2, 16))
  v.NORM, v.EPS = a.norm and 1 or 0, a.norm and a.norm.eps or 0
  -- a fused norm reads the strip back from a stack tile of whole vectors a pixel,
  -- at most L1's size (convnext_base and smaller keep their strips)
  v.CP = round_up(v.C, ctx.target.vw)
  if a.norm then v.OWB = math.max(1, math.min(v.OWB, ctx.target.l1 // (v.CP * 4))) end
  local tile = a.norm and v.OWB * (v.CP + 2) * 4 + 64 or 0 -- + mean, rstd; + 64 to align it
  local dtype = precision.weight_dtype(ctx, g, node)
  v.WT, v.WLOAD, v.WDTYPE = gemm.WEIGHTS[dtype].ctype, gemm.WEIGHTS[dtype].load .. "_n", dtype
  v.QSCALE, v.HEAD_FLOATS = dtype == "int8" and 1 or 0, v.C * (dtype == "int8" and 2 or 1)
  -- bytes round up to whole floats: the blob holds 4-byte units
  local bytes = round_up(v.HEAD_FLOATS * 4 + v.TAPS * v.C * precision.DTYPE_BYTES[dtype], 4)
  -- the fused LayerNorm runs over the padded tile (row stride CP)
  local rows = a.norm and simple.layernorm_rows(v.C, v.CP, ctx.target.vw)
  v.ROWS = rows and rows.name
  node.kernel = { template = "dwconv.c.in", vars = v, stack = (v.OWB + v.KW) * ctx.target.vw * 4 + tile,
    needs = rows and { rows },
    fn = string.format("dwconv%dx%ds%d_%dx%dx%d%s%s%s", v.KH, v.KW, v.SH, v.IH, v.IW, v.C,
      dtype ~= "f32" and ("_" .. dtype .. "w") or "", v.N > 1 and ("_n" .. v.N) or "", a.norm and "_ln" or ""),
    strategy = string.format("row strips of %d pixels", v.OWB), numerics = { weights = dtype } }
  node.blob = { { role = "weight", bytes = bytes, make = function()
    return P.dwconv(node.tensors.weight, node.tensors.bias, bytes, dtype)
  end } }
  if a.norm then
    for _, role in ipairs({ "norm_weight", "norm_bias" }) do
      node.blob[#node.blob + 1] = { role = role, bytes = v.C * 4, make = function() return node.tensors[role] end }
    end
  end
end

return dwconv
