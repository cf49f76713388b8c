-- int8 grouped convolutions whose groups are narrower than an integer vector
-- (ResNeXt's 3x3s: 4 and 8 channels a group at 32 groups): a GEMM panel per
-- group would leave most lanes of every dot product computing zeros. Here a
-- vector of LG_QW output channels covers LG_QW / OG whole groups, and a dword
-- permutation gives each lane its group's LG_KG inputs (kernels/grouped.lua
-- does the same in fp32). Needs as many inputs as outputs per group (CG = OG),
-- OG dividing the vector, CG a whole number of dot groups, and whole vectors.
--
-- Weight layout (this file owns it; P.qgrouped writes it, qgrouped.c.in reads
-- it): per block of QW output channels, int32 bias[QW] (bias_q - zu_in * the
-- channel's weight sum), m[QW], n[QW] (+ mr[QW], nr[QW] with a shortcut), then
-- int8 w[TAPS][CG / KG][QW][KG]: lane = output channel of the block.
local P = require("lg.pack")
local gemm = require("kernels.gemm")

local qgrouped = { name = "qgrouped", epilogues = gemm.epilogues }

function qgrouped.applies(g, node, ctx)
  local q = node.quant
  if not (q and q.kind == "conv" and (node.attrs.groups or 1) > 1) then return false end
  local t = ctx.target.int8
  local v = gemm.geometry(g, node)
  return t.pick and v.CG == v.OG and v.OG < t.qw and t.qw % v.OG == 0 and v.CG % t.kg == 0
    and v.OC % t.qw == 0 and q.out.kind == "u8"
end

function qgrouped.lower(g, node, ctx)
  local q, a = node.quant, node.attrs
  local t = ctx.target.int8
  local v = gemm.geometry(g, node)
  v.GPV, v.BLOCKS, v.KGN = t.qw // v.OG, v.OC // t.qw, v.CG // t.kg
  v.HEAD_INTS = q.res and 5 or 3
  v.BLOCK_BYTES = v.HEAD_INTS * t.qw * 4 + v.TAPS * v.CG * t.qw
  v.MR = 4
  -- lane l of the vector is group l // OG: its k-th dot group is dword l // OG * CG / KG + k
  local rows = {}
  for k = 0, v.KGN - 1 do
    local lanes = {}
    for l = 0, t.qw - 1 do lanes[#lanes + 1] = tostring(l // v.OG * v.CG // t.kg + k) end
    rows[#rows + 1] = "{" .. table.concat(lanes, ", ") .. "}"
  end
  v.PICK = table.concat(rows, ",\n      ") -- one row a line (the trailing comma keeps them so)
  v.RES, v.ZU_IN, v.ZU_OUT, v.LO = q.res and 1 or 0, q.zu_in, q.out.zu, q.out.lo
  v.ZU_RES, v.RES_SHIFT = q.res and q.res.zu or 0, q.res and q.res.L or 0
  local ints = { q.bias, q.out.m, q.out.n }
  if q.res then ints[4], ints[5] = q.res.m, q.res.n end
  local bytes, qw, kg = v.BLOCKS * v.BLOCK_BYTES, t.qw, t.kg
  node.kernel = { template = "qgrouped.c.in", vars = v, stack = v.MR * v.TAPS * 12 + 2 * v.MR * qw * 4 + qw,
    fn = string.format("qconv%dx%ds%d_g%d_%dx%dx%d_%d%s%s%s", v.KH, v.KW, v.SH, v.GROUPS, v.IH, v.IW, v.IC, v.OC,
      v.N > 1 and ("_n" .. v.N) or "", q.res and "_res" or "", a.act and ("_" .. a.act) or ""),
    strategy = string.format("int8 %d groups a vector, picked inputs, %d-pixel tiles", v.GPV, v.MR),
    numerics = { weights = "int8", inputs = "int8" } }
  node.blob = { { role = "weight", bytes = bytes, make = function()
    return P.qgrouped(q.wq, q.zu_in - (t.signed and 128 or 0), ints, qw, kg, bytes)
  end } }
end

return qgrouped
