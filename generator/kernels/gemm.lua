-- Convolutions and linear layers as a GEMM over NHWC activations:
--   M = output pixels (N*OH*OW), N = output channels of a group, K = taps x channels of a group.
-- A 1x1/stride-1 conv reads its A rows straight from the input ("pointwise"); any
-- other conv is an indirect GEMM whose rows are pointers to each tap's input pixel
-- (or to zeros over the padding), so no im2col buffer is ever written.
--
-- Weight layout (this file owns it; pack_gemm writes it, conv_gemm.c.in reads it):
-- for each group, for each panel of NR output channels:
--   float bias[NR]; float b[TAPS][CG][NR]
-- taps in (kh, kw) order, output channels innermost, zero past the group's last
-- channel. PANEL_FLOATS = NR + TAPS*CG*NR.
local P = require("lg.pack")
local graph = require("graph")

local gemm = {
  name = "gemm",
  epilogues = { { slot = "residual", ops = { add = true } }, { slot = "act", ops = { relu = true, gelu = true } } },
}

local function cdiv(a, b) return (a + b - 1) // b end

function gemm.applies(g, node)
  return node.op == "conv" or node.op == "linear"
end

-- Tile shapes per target: NV vectors of output channels -> MR rows, so that
-- MR*NV accumulators + NV weight vectors + 1 broadcast fit the registers with
-- loads to spare (measured: one vector a row leaves the FMAs waiting on loads).
local TILES = {
  avx512 = { { nv = 4, mr = 6, eff = 1.0 }, { nv = 3, mr = 8, eff = 0.97 }, { nv = 2, mr = 8, eff = 0.97 },
             { nv = 1, mr = 12, eff = 0.78 } },
  avx2 = { { nv = 2, mr = 6, eff = 1.0 }, { nv = 1, mr = 8, eff = 0.8 } },
  neon = { { nv = 4, mr = 6, eff = 1.0 }, { nv = 2, mr = 8, eff = 0.97 }, { nv = 1, mr = 12, eff = 0.78 } },
  -- 32 single-precision registers (s0-s31) and no vectors: MR*NV accumulators + NV
  -- weights + 1 input stay below 32, so the FPU never spills inside the K loop
  ["cortex-m"] = { { nv = 4, mr = 5, eff = 1.0 }, { nv = 2, mr = 8, eff = 0.9 } },
  generic = { { nv = 16, mr = 4, eff = 1.0 }, { nv = 4, mr = 4, eff = 0.5 } },
}

-- The tile that wastes least on padded output channels; M = 1 (a head at batch
-- 1) is a matrix-vector product: one row, the widest panel, weight-bound.
function gemm.tile(target, m, n)
  local best, best_score
  for _, t in ipairs(TILES[target.name]) do
    local nr = t.nv * target.vw
    local score = n / (cdiv(n, nr) * nr) * t.eff
    if not best or score > best_score + 1e-9 then best, best_score = t, score end
  end
  local mr = m == 1 and 1 or best.mr
  return mr, best.nv, best.nv * target.vw
end

-- Geometry shared by every conv-like kind: NHWC dims, kernel size, groups.
function gemm.geometry(g, node)
  local a = node.attrs
  local n, ih, iw, ic = graph.nhwc(g.values[node.inputs[1]].shape)
  local _, oh, ow, oc = graph.nhwc(g.values[node.output].shape)
  local w = g.params[node.params.weight].shape
  local k = #w == 4 and w[3] or 1 -- 2-d weights: a per-pixel Linear
  local groups = a.groups or 1
  return { N = n, IH = ih, IW = iw, IC = ic, OH = oh, OW = ow, OC = oc, KH = k, KW = k,
    SH = a.stride or 1, SW = a.stride or 1, PH = a.pad or 0, PW = a.pad or 0,
    GROUPS = groups, CG = ic // groups, OG = oc // groups, TAPS = k * k, M = n * oh * ow }
end

-- Tasks: panels of a task's weights fit half of L2 while its pixel tiles pass by;
-- a panel bigger than that (a 3x3 conv over 512 channels: 1.2 MB at NR 64) that
-- many tiles re-read is cut along K into blocks of KB channels a tap, each
-- block's sliver staying in L2 for every tile (the tiles' sums wait in `out`
-- between blocks). With few tiles (batch 1's 7x7 maps: 9) re-reading from L3
-- measured faster than the extra passes over `out`. Enough tasks (a multiple
-- of 4 where the shape allows) to keep 2-4 threads even.
local function blocking(v, target)
  local half_l2 = target.l2 // 2
  v.KBLOCKS = 1
  while v.PACKED == 0 and cdiv(v.M, v.MR) >= 16 and v.TAPS * (v.CG // v.KBLOCKS) * v.NR * 4 > half_l2 and v.CG % (2 * v.KBLOCKS) == 0 and v.CG // v.KBLOCKS > 32 do
    v.KBLOCKS = v.KBLOCKS * 2
  end
  v.KB = v.PACKED == 1 and v.KPACK or v.CG // v.KBLOCKS
  local panel_bytes = (v.NR + v.TAPS * v.CG // v.KBLOCKS * v.NR) * 4
  local nb = math.max(1, math.min(v.PANELS, half_l2 // panel_bytes))
  local nblocks = cdiv(v.PANELS, nb)
  local mtiles = cdiv(v.M, v.MR)
  local mblocks = 1
  while v.GROUPS * nblocks * mblocks < 8 and mblocks < mtiles do mblocks = mblocks + 1 end
  while (v.GROUPS * nblocks * mblocks) % 4 ~= 0 and mblocks < mtiles and mblocks < 64 do mblocks = mblocks + 1 end
  v.MBLOCKS, v.NBLOCKS = mblocks, nblocks
  v.TASKS = v.GROUPS * v.MBLOCKS * v.NBLOCKS
  v.MSPLIT, v.NSPLIT, v.KSPLIT = mblocks > 1 and 1 or 0, nblocks > 1 and 1 or 0, v.KBLOCKS > 1 and 1 or 0
  v.MBLOCKS_LAST = mblocks - 1
end

-- The microkernel instance a tile shape and epilogue need (emit writes each once).
function gemm.ukernel(mr, nv, nr, a)
  local name = string.format("f32_gemm_%dx%d%s%s", mr, nr, a.residual and "_res" or "",
    a.act and ("_" .. a.act) or "")
  -- acc[MR][NV] and bv[NV] vectors, row[MR] pointers
  local stack = (mr * nv + nv) * (nr // nv) * 4 + mr * 8
  return { name = name, template = "ukernel_gemm.c.in", stack = stack, vars = { UK = name, MR = mr, NV = nv, NR = nr,
    RESIDUAL = a.residual and 1 or 0, RELU = a.act == "relu" and 1 or 0, GELU = a.act == "gelu" and 1 or 0 } }
end

function gemm.lower(g, node, ctx)
  local a = node.attrs
  local v = gemm.geometry(g, node)
  local mr, nv, nr = gemm.tile(ctx.target, v.M, v.OG)
  v.MR, v.NR, v.MREM = mr, nr, v.M % mr
  v.PANELS = cdiv(v.OG, nr)
  v.PANEL_FLOATS = nr + v.TAPS * v.CG * nr
  -- how a tile's A rows are found: read in place (1x1, stride 1), through tap
  -- pointers (indirect), or packed: a stem's 3 channels make each tap's K too
  -- short, so its windows are copied into contiguous rows and K runs at once
  local pointwise = v.TAPS == 1 and v.SH == 1 and v.PH == 0
  local packed = not pointwise and v.GROUPS == 1 and v.KW * v.IC <= 64
  v.POINTWISE, v.PACKED = pointwise and 1 or 0, packed and 1 or 0
  v.INDIRECT = (not pointwise and not packed) and 1 or 0
  v.KPACK = v.TAPS * v.CG
  v.GROUPED = v.GROUPS > 1 and 1 or 0
  v.RESIDUAL = a.residual and 1 or 0
  blocking(v, ctx.target)
  -- K as the microkernel sees it: taps of CG channels, or one run of all of them
  v.UK_TAPS = packed and 1 or v.TAPS
  local uk = gemm.ukernel(mr, nv, nr, a)
  local needs = { uk }
  v.UK, v.UK_REM = uk.name, ""
  if v.MREM > 0 then
    local rem = gemm.ukernel(v.MREM, nv, nr, a)
    needs[#needs + 1] = rem
    v.UK_REM = rem.name
  end
  local shape = node.op == "linear" and string.format("linear_%d_%d", v.IC, v.OC)
    or string.format("conv%dx%ds%d%s_%dx%dx%d_%d", v.KH, v.KW, v.SH, v.GROUPS > 1 and ("_g" .. v.GROUPS) or "",
      v.IH, v.IW, v.IC, v.OC)
  -- the tile's A row pointers (a tap's each when indirect), the packed windows
  local stack = (pointwise or packed) and mr * 8 or v.TAPS * mr * 8
  if packed then stack = stack + mr * v.KPACK * 4 end
  node.kernel = { template = "conv_gemm.c.in", vars = v, needs = needs, stack = stack,
    fn = shape .. (v.N > 1 and ("_n" .. v.N) or "") .. (a.residual and "_res" or "") .. (a.act and ("_" .. a.act) or ""),
    strategy = string.format("%s %dx%d tiles, %d tasks%s", pointwise and "gemm" or packed and "packed-window gemm"
      or "indirect gemm", mr, nr, v.TASKS, v.KBLOCKS > 1 and string.format(", K in %d blocks", v.KBLOCKS) or "") }
  local groups, floats = v.GROUPS, v.GROUPS * v.PANELS * v.PANEL_FLOATS
  node.blob = { { role = "weight", bytes = floats * 4, make = function()
    return P.gemm(node.tensors.weight, node.tensors.bias, groups, nr, floats)
  end } }
end

return gemm
