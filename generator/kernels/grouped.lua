-- Grouped convolutions whose groups are narrower than a vector (ResNeXt's 3x3s:
-- 4 and 8 channels a group at 32 groups): a GEMM panel per group would leave
-- most lanes of every multiply-add computing zeros. Here a vector covers
-- LG_VW / OG whole groups and a permutation gives each lane its group's input.
-- Needs as many inputs as outputs per group (CG = OG) and OG dividing the vector.
--
-- Weight layout (this file owns it; P.grouped writes it, grouped.c.in
-- reads it): per block of VW output channels (VW / OG groups),
--   float bias[VW]; int8 only: float scale[VW]; dtype w[TAPS][CG][VW]
-- lane = output channel of the block. Each weight vector is widened (int8:
-- and scaled) as it is loaded and feeds MR pixels. Multiply-adds stay fp32
-- under --precision bf16: pairs of K would have to pair channels across the
-- permutation that gives each lane its group.
local P = require("lg.pack")
local gemm = require("kernels.gemm")
local precision = require("precision")

local grouped = {
  name = "grouped",
  epilogues = gemm.epilogues,
}

function grouped.applies(g, node, ctx)
  if node.op ~= "conv" or node.attrs.groups == 1 then return false end
  local v = gemm.geometry(g, node)
  local vw = ctx.target.vw
  return v.CG == v.OG and v.OG < vw and vw % v.OG == 0 and v.CG > 1
end

function grouped.lower(g, node, ctx)
  local a = node.attrs
  local v = gemm.geometry(g, node)
  local vw = ctx.target.vw
  v.GPV, v.BLOCKS = vw // v.OG, v.OC // vw
  local dtype = precision.weight_dtype(ctx, g, node)
  v.WT, v.WLOAD, v.WDTYPE = gemm.WEIGHTS[dtype].ctype, gemm.WEIGHTS[dtype].load, dtype
  v.QSCALE, v.HEAD_BYTES = dtype == "int8" and 1 or 0, vw * 4 * (dtype == "int8" and 2 or 1)
  v.BLOCK_BYTES = v.HEAD_BYTES + v.TAPS * v.CG * vw * precision.DTYPE_BYTES[dtype]
  -- accumulators + inputs per pixel, the weight vector and CG permutations in registers
  v.MR = math.max(1, math.min(8, (ctx.target.vregs - 2 - v.CG) // 2))
  local rows = {}
  for c = 0, v.CG - 1 do
    local lanes = {}
    for l = 0, vw - 1 do lanes[#lanes + 1] = tostring(l // v.OG * v.CG + c) end
    rows[#rows + 1] = "{" .. table.concat(lanes, ", ") .. "}"
  end
  v.PERM = table.concat(rows, ",\n      ") -- one row a line (the trailing comma keeps them so)
  v.RESIDUAL, v.RELU, v.GELU = a.residual and 1 or 0, a.act == "relu" and 1 or 0, a.act == "gelu" and 1 or 0
  local bytes = v.BLOCKS * v.BLOCK_BYTES
  -- x0 (pointers) and zero_step per pixel and tap, acc and x vectors per pixel
  node.kernel = { template = "grouped.c.in", vars = v, stack = v.MR * v.TAPS * 12 + 2 * v.MR * vw * 4,
    fn = string.format("conv%dx%ds%d_g%d_%dx%dx%d_%d%s%s%s%s", v.KH, v.KW, v.SH, v.GROUPS, v.IH, v.IW, v.IC, v.OC,
      dtype ~= "f32" and ("_" .. dtype .. "w") or "", v.N > 1 and ("_n" .. v.N) or "", a.residual and "_res" or "",
      a.act and ("_" .. a.act) or ""),
    strategy = string.format("%d groups a vector, permuted inputs, %d-pixel tiles", v.GPV, v.MR),
    numerics = { weights = dtype } }
  node.blob = { { role = "weight", bytes = bytes, make = function()
    return P.grouped(node.tensors.weight, node.tensors.bias, vw, bytes, dtype)
  end } }
end

return grouped
