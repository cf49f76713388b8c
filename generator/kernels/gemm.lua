-- Convolutions and linear layers as a GEMM over NHWC activations:
--   M = output pixels (N*OH*OW), N = output channels of a group, K = taps x channels of a group.
-- A 1x1/stride-1 conv reads its A rows straight from the input ("pointwise"); any
-- other conv is an indirect GEMM whose rows are pointers to each tap's input pixel
-- (or to zeros over the padding), so no im2col buffer is ever written.
--
-- Weight layout (this file owns it; P.gemm writes it, gemm.c.in reads it):
-- for each group, for each panel of NR output channels:
--   float bias[NR]; int8 only: float scale[NR]; then the weights of K = TAPS x CG
--   fp32 compute:  dtype b[TAPS][CG][NR]      f32, bf16, f16 or int8 (--weights-dtype):
--                                             the microkernel widens each B vector it
--                                             loads (2 integer ops, F16C's vcvtph2ps, or
--                                             2 for int8) and feeds it to MR rows; int8's
--                                             per-channel scale multiplies the sums once
--   bf16 compute:  bf16 b[TAPS][KP][NR][2]    KP = ceil(CG/2) pairs of K side by side
--                                             (vdpbf16ps takes K in pairs), zero past an odd CG
-- taps in (kh, kw) order, output channels innermost, zero past the group's last
-- channel. A packed stem runs all of K as one tap (KB = TAPS*CG, pairs across taps).
-- bf16 compute rounds the GEMM's input too: each task rounds its tiles' A rows to
-- bf16 pairs in a scratch buffer of its own, which every panel then reads.
local P = require("lg.pack")
local graph = require("graph")
local precision = require("precision")

local gemm = {
  name = "gemm",
  epilogues = { { slot = "residual", ops = { add = true } }, { slot = "act", ops = { relu = true, gelu = true } } },
}

local sizes = require("kernels.sizes")
local cdiv, round_up = sizes.cdiv, sizes.round_up

function gemm.applies(g, node)
  return node.op == "conv" or node.op == "linear"
end

-- Tile shapes per target: NV vectors of output channels -> MR rows, so that
-- MR*NV accumulators + NV weight vectors + 1 broadcast fit the registers with
-- loads to spare (measured: one vector a row leaves the FMAs waiting on loads).
-- exact_mr: the height for an M of few tiles whose last would be short (gemm.tile).
local TILES = {
  avx512 = { { nv = 4, mr = 6, eff = 1.0, exact_mr = 7 }, { nv = 3, mr = 8, eff = 0.97 },
             { nv = 2, mr = 8, eff = 0.97 }, { nv = 1, mr = 12, eff = 0.78 } },
  avx2 = { { nv = 2, mr = 6, eff = 1.0 }, { nv = 1, mr = 8, eff = 0.8 } },
  neon = { { nv = 4, mr = 6, eff = 1.0 }, { nv = 2, mr = 8, eff = 0.97 }, { nv = 1, mr = 12, eff = 0.78 } },
  -- 32 single-precision registers (s0-s31) and no vectors: MR*NV accumulators + NV
  -- weights + 1 input stay below 32, so the FPU never spills inside the K loop
  ["cortex-m"] = { { nv = 4, mr = 5, eff = 1.0 }, { nv = 2, mr = 8, eff = 0.9 } },
  generic = { { nv = 16, mr = 4, eff = 1.0 }, { nv = 4, mr = 4, eff = 0.5 } },
}

-- Fewer tiles than this over M is a small map (batch 1's 7x7: 9 of 6 rows):
-- its tiles can end exactly (gemm.tile), its tasks hold one panel cut into L1
-- slivers (blocking) and an indirect GEMM keeps their row pointers (gemm.lower).
local FEW_TILES = 16

-- The tile that wastes least on padded output channels; M = 1 (a head at batch
-- 1) is a matrix-vector product: one row, the widest panel, weight-bound.
-- l1_k: a K whose weight panel and packed rows (K x (NR + MR) floats) should
-- stay in L1 with the tile (a packed stem: measured on resnet18's, 8x32 tiles
-- at 80% of peak vs 6x64 at 68%, whose 37 KB panel left L1 to the packing).
-- exact: an f32 GEMM whose M is a few tiles and leaves a short last one takes
-- the tile's exact_mr rows where they divide M: batch 1's 7x7 maps (M = 49,
-- eight 6-row tiles and one of 1 row) in seven of 7 (28 accumulators, the FMA
-- reading each broadcast from memory). Measured on resnet50's stage 4, where
-- the 1-row tile cost 3% and 7 rows won 4-7% a layer; over 14x14 maps and
-- larger, 6 rows stayed faster (docs/performance.md).
function gemm.tile(target, m, n, l1_k, exact)
  local best, best_score
  for _, t in ipairs(TILES[target.tiles or target.name]) do
    local nr = t.nv * target.vw
    local score = n / round_up(n, nr) * t.eff
    if l1_k and l1_k * (nr + t.mr) * 4 > target.l1 then score = score / 2 end
    if not best or score > best_score + 1e-9 then best, best_score = t, score end
  end
  local mr = m == 1 and 1 or best.mr
  local e = exact and best.exact_mr
  if e and m % mr ~= 0 and m % e == 0 and m // e < FEW_TILES then mr = e end
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

-- n blocks grown to >= 8 tasks, then to a multiple of 4 (even over 2 and 4
-- threads), at most limit; each block makes `per` tasks
local function grow_tasks(n, per, limit)
  while per * n < 8 and n < limit do n = n + 1 end
  while (per * n) % 4 ~= 0 and n < limit do n = n + 1 end
  return n
end

-- Tasks: panels of a task's weights fit half of L2 while its pixel tiles pass by;
-- a panel bigger than that (a 3x3 conv over 512 channels: 1.2 MB at NR 64 in
-- f32) that many tiles re-read is cut along K into blocks of KB channels a tap,
-- each block's sliver staying in L2 for every tile (the tiles' sums wait in
-- `out` between blocks). A task with few tiles (batch 1's 7x7 maps: 9) cuts
-- such a panel into slivers of L1 instead, and holds that one panel, so each
-- sliver comes from memory once and from L1 for every other tile: the 7x7
-- stages of resnet50, resnet18 and convnext_tiny measured 5-15% faster at 1
-- and 2 threads (Intel Xeon, alternating per-layer profiles) than every tile
-- re-reading the whole panel; 64 KB slivers gained less, and tasks of several
-- panels, whose tiles run across all of them, were slower (docs/performance.md).
-- M = 1 (a head at batch 1) reuses no weights, so it keeps K whole. bf16
-- compute rounds a tile's whole K to pairs at once, so it keeps K whole (its
-- panels are half the bytes). Enough tasks (a multiple of 4 where the shape
-- allows) to keep 2-4 threads even.
local function blocking(v, target, wbytes, dot)
  local half_l2 = target.l2 // 2
  local few = v.M > 1 and v.MTILES < FEW_TILES and v.PANEL_BYTES > half_l2
  local sliver = few and target.l1 or v.MTILES >= FEW_TILES and half_l2
  v.KBLOCKS = 1
  while sliver and not dot and v.PACKED == 0 and v.TAPS * (v.CG // v.KBLOCKS) * v.NR * wbytes > sliver
      and v.CG % (2 * v.KBLOCKS) == 0 and v.CG // v.KBLOCKS > 16 do
    v.KBLOCKS = v.KBLOCKS * 2
  end
  v.KB = v.PACKED == 1 and v.KPACK or v.CG // v.KBLOCKS
  local panel_bytes = v.HEAD_BYTES + (v.PANEL_BYTES - v.HEAD_BYTES) // v.KBLOCKS
  local nb = few and 1 or math.max(1, math.min(v.PANELS, half_l2 // panel_bytes))
  local nblocks = cdiv(v.PANELS, nb)
  -- More tasks split M, so each M block streams its panels again, unless the
  -- weights are the bigger stream and miss L2: then N, whose blocks each read
  -- the A rows again (resnet50's 7x7 1x1s, 4 MB of weights to 100 KB of rows,
  -- had 4 M blocks)
  local weight_bytes = v.PANELS * v.PANEL_BYTES
  if weight_bytes > target.l2 and weight_bytes > v.M * v.TAPS * v.CG * 4 then
    nblocks = grow_tasks(nblocks, v.GROUPS, v.PANELS)
  end
  local mblocks = grow_tasks(1, v.GROUPS * nblocks, math.min(v.MTILES, 64))
  v.MBLOCKS, v.NBLOCKS = mblocks, nblocks
  v.TASKS = v.GROUPS * v.MBLOCKS * v.NBLOCKS
  v.MSPLIT, v.NSPLIT, v.KSPLIT = mblocks > 1 and 1 or 0, nblocks > 1 and 1 or 0, v.KBLOCKS > 1 and 1 or 0
  v.MBLOCKS_LAST = mblocks - 1
end

-- How each stored weight dtype reaches the microkernel: its C type, the
-- vocabulary's widening load, and the microkernel's name part (XNNPACK's:
-- qc8w = int8 weights quantized per channel).
gemm.WEIGHTS = {
  f32 = { ctype = "float", load = "lg_vload", tag = "" },
  bf16 = { ctype = "uint16_t", load = "lg_vload_bf16", tag = "bf16w_" },
  f16 = { ctype = "uint16_t", load = "lg_vload_f16", tag = "f16w_" },
  int8 = { ctype = "int8_t", load = "lg_vload_i8", tag = "qc8w_" },
}

-- The microkernel instance a tile shape, weight dtype, compute and epilogue
-- need (emit writes each once): f32_gemm_6x64 multiplies floats by f32 weights,
-- f32_qc8w_gemm_6x64 by int8 ones, bf16_gemm_6x64 bf16 pairs by bf16 pairs.
function gemm.ukernel(mr, nv, nr, a, dtype, dot, pf)
  dtype = dtype or "f32"
  local wt = gemm.WEIGHTS[dtype]
  local name = string.format("%s_gemm_%dx%d%s%s%s", dot and "bf16" or ("f32_" .. wt.tag):gsub("_$", ""), mr, nr,
    a.residual and "_res" or "", a.act and ("_" .. a.act) or "", pf and "_pf" or "")
  -- acc[MR][NV] and bv[NV] vectors, row[MR] pointers
  local stack = (mr * nv + nv) * (nr // nv) * 4 + mr * 8
  return { name = name, template = "ukernel_gemm.c.in", stack = stack, vars = { UK = name, MR = mr, NV = nv, NR = nr,
    RESIDUAL = a.residual and 1 or 0, RELU = a.act == "relu" and 1 or 0, GELU = a.act == "gelu" and 1 or 0,
    DOT = dot and 1 or 0, PF = pf and 1 or 0, AT = dot and "uint32_t" or "float", WT = dot and "uint16_t" or wt.ctype, WLOAD = wt.load,
    WIDEN = dtype ~= "f32" and 1 or 0, WDTYPE = dtype, QSCALE = dtype == "int8" and 1 or 0 },
    widen = dtype ~= "f32" and not dot and dtype or nil, dot = dot }
end

-- Can this GEMM apply the per-channel affine (and ReLU) of the norm before it
-- as it reads its A rows (passes/fuse_norm_apply.lua, which runs on lowered
-- nodes)? A 1x1 conv or linear whose rows are read in place, in fp32 (bf16
-- compute rounds its rows to pairs in a buffer of its own already), where one
-- task holds all the panels, so each row goes through the affine once (with
-- the panels in N blocks every block would apply it again: measured, BiT's
-- 14x14 1x1s and convnextv2_atto's 7x7 fc2s took 10-11% longer, more than the
-- norm pass saved; BiT's 7x7 1x1s and norm together moved -4% to +3%).
function gemm.takes_norm(_, node)
  local v = node.kernel.vars
  return v.POINTWISE == 1 and v.GROUPS == 1 and v.DOT == 0 and v.NBLOCKS == 1
end

-- How a kernel that takes the norm before it (attrs.norm_apply) says so, for
-- this file and winograd.lua alike: its AFFINE/AFFINE_RELU template vars, the
-- part of its function name, and the words of its strategy ("... applied to
-- its <what>"). Nothing when it takes no norm.
function gemm.norm_apply(v, a, what)
  local n = a.norm_apply
  v.AFFINE, v.AFFINE_RELU = n and 1 or 0, n and n.relu and 1 or 0
  if not n then return "", nil end
  return n.relu and "_norm_relu" or "_norm",
    string.format("%s's affine%s applied to its %s", n.name, n.relu and " and ReLU" or "", what)
end

function gemm.lower(g, node, ctx)
  local a = node.attrs
  local v = gemm.geometry(g, node)
  -- how a tile's A rows are found: read in place (1x1, stride 1), through tap
  -- pointers (indirect), packed (a stem's 3 channels make each tap's K too
  -- short, so its windows are copied into contiguous rows and K runs at once),
  -- or through the affine of the norm before it (a.norm_apply)
  local affine = a.norm_apply ~= nil
  local pointwise = v.TAPS == 1 and v.SH == 1 and v.PH == 0 and not affine
  local packed = not pointwise and not affine and v.GROUPS == 1 and v.KW * v.IC <= 64
  local dtype = precision.weight_dtype(ctx, g, node)
  local dot = ctx.precision.precision == "bf16" and dtype == "bf16"
  local mr, nv, nr = gemm.tile(ctx.target, v.M, v.OG, packed and v.TAPS * v.CG or nil, dtype == "f32" and not dot)
  v.MR, v.NR, v.MREM, v.MTILES = mr, nr, v.M % mr, cdiv(v.M, mr)
  v.PANELS = cdiv(v.OG, nr)
  v.POINTWISE, v.PACKED = pointwise and 1 or 0, packed and 1 or 0
  v.INDIRECT = (not pointwise and not packed and not affine) and 1 or 0
  local norm_fn, norm_words = gemm.norm_apply(v, a, "rows")
  v.KPACK = v.TAPS * v.CG
  v.GROUPED = v.GROUPS > 1 and 1 or 0
  v.RESIDUAL = a.residual and 1 or 0
  -- K as the microkernel sees it: taps of CG channels, or one run of all of them
  v.UK_TAPS = packed and 1 or v.TAPS
  local kc = packed and v.KPACK or v.CG
  v.KP = cdiv(kc, 2)
  v.DOT, v.QSCALE, v.WDTYPE = dot and 1 or 0, dtype == "int8" and 1 or 0, dtype
  v.WT = dot and "uint16_t" or gemm.WEIGHTS[dtype].ctype
  v.HEAD_BYTES = nr * 4 * (dtype == "int8" and 2 or 1)
  v.PANEL_BYTES = v.HEAD_BYTES + v.UK_TAPS * (dot and 2 * v.KP or kc) * nr * precision.DTYPE_BYTES[dtype]
  blocking(v, ctx.target, precision.DTYPE_BYTES[dtype], dot)
  -- an indirect GEMM with K in blocks finds a tile's row pointers in the first
  -- block and keeps them for the others, where a task's few tiles leave room on
  -- the stack (found again in every block, they cost resnet50's 7x7 3x3s 4-6%)
  v.TAP_ROWS_KEPT = (v.INDIRECT == 1 and v.KBLOCKS > 1 and v.GROUPS == 1 and v.MTILES < FEW_TILES) and 1 or 0
  -- A task whose panels together outgrow L1, each fitting half of it, runs them
  -- one at a time over all its tiles where its rows stay in L2: a tile's rows
  -- are MR x K floats, a panel NR x K, so where NR >= 8 MR re-reading rows per
  -- panel moves a fraction of the bytes that re-reading every panel per tile
  -- does. Measured on resnet50 (AVX-512, 6x64 tiles): its stage-1 conv3s (4
  -- panels of 16 KB, K = 64) 6-10% faster; with panels of 32 KB and more
  -- (stages 2-4) no faster or up to 7% slower, the panel no longer staying in L1
  -- beside the rows; AVX2's 6x16 tiles (rows re-read for 16 panels) 10-40%
  -- slower. Rows read in place and K whole only: indirect, packed and
  -- normalized rows are built per tile.
  local task_panels = cdiv(v.PANELS, v.NBLOCKS)
  local run = cdiv(v.M, v.MBLOCKS) -- a task's pixels, give or take the tile its cut moves
  v.PANEL_OUTER = (pointwise and v.KBLOCKS == 1 and not dot and task_panels > 1 and nr >= 8 * mr and run > mr
    and task_panels * v.PANEL_BYTES > ctx.target.l1 and v.PANEL_BYTES - v.HEAD_BYTES <= ctx.target.l1 // 2
    and (run + mr) * kc * 4 <= ctx.target.l2 // 2) and 1 or 0
  -- tasks walking different panels prefetch the next task's (see gemm.c.in)
  v.PREFETCH = ctx.target.prefetch and (v.NBLOCKS > 1 or v.GROUPS > 1) and 1 or 0
  v.UK_KC, v.UK_A = dot and v.KP or v.KB, dot and "ab" or "a"
  -- where the microkernel starts in a row: an affine tile's buffer holds just the K block
  v.UK_K0 = affine and "0" or string.format("kb * %d", v.KB)
  v.BSTRIDE = dot and v.KP * nr * 2 or v.CG * nr
  local uk = gemm.ukernel(mr, nv, nr, a, dtype, dot, v.PREFETCH == 1)
  local needs = { uk }
  v.UK, v.UK_REM = uk.name, ""
  if v.MREM > 0 then
    local rem = gemm.ukernel(v.MREM, nv, nr, a, dtype, dot, v.PREFETCH == 1)
    needs[#needs + 1] = rem
    v.UK_REM = rem.name
  end
  local shape = node.op == "linear" and string.format("linear_%d_%d", v.IC, v.OC)
    or string.format("conv%dx%ds%d%s_%dx%dx%d_%d", v.KH, v.KW, v.SH, v.GROUPS > 1 and ("_g" .. v.GROUPS) or "",
      v.IH, v.IW, v.IC, v.OC)
  local tag = dot and "_bf16" or (dtype ~= "f32" and ("_" .. dtype .. "w") or "")
  -- the tile's A row pointers (a tap's each when indirect), the packed windows
  local stack = (pointwise or packed or affine) and mr * 8 or v.TAPS * mr * 8 * (v.TAP_ROWS_KEPT == 1 and v.MTILES or 1)
  if packed then stack = stack + mr * v.KPACK * 4 end
  if affine then stack = stack + mr * v.KB * 4 end
  node.kernel = { template = "gemm.c.in", vars = v, needs = needs, stack = stack,
    fn = shape .. tag .. norm_fn
      .. (v.N > 1 and ("_n" .. v.N) or "") .. (a.residual and "_res" or "") .. (a.act and ("_" .. a.act) or ""),
    strategy = string.format("%s %dx%d tiles%s, %d tasks%s%s", pointwise and "gemm" or packed and "packed-window gemm"
      or affine and string.format("gemm with %s,", norm_words) or "indirect gemm", mr, nr, dot and " of bf16 pairs" or "", v.TASKS,
      v.PANEL_OUTER == 1 and ", panel by panel" or "",
      v.KBLOCKS > 1 and string.format(", K in %d blocks%s", v.KBLOCKS,
        v.TAP_ROWS_KEPT == 1 and " (row pointers kept)" or "") or ""),
    scratch_bytes = dot and v.TASKS * v.UK_TAPS * mr * v.KP * 4 or nil,
    -- tasks of one M block split the output channels, a thread's block all pixels
    channel_blocks = v.MBLOCKS == 1 and v.NBLOCKS or 1,
    numerics = { weights = dtype, inputs = dot and "bf16" or nil } }
  local groups, bytes = v.GROUPS, v.GROUPS * v.PANELS * v.PANEL_BYTES
  node.blob = { { role = "weight", bytes = bytes, make = function()
    return P.gemm(node.tensors.weight, node.tensors.bias, groups, nr, bytes, dtype, kc, dot)
  end } }
end

return gemm
