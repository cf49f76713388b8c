-- 3x3 stride-1 convolutions as Winograd F(4x4, 3x3) (Lavin & Gray): 4x fewer
-- multiply-adds than the direct conv, paid for with two transforms, 4x the
-- weight bytes and arena scratch for the transformed tiles. It pays where the
-- GEMMs dominate and the transformed weights are reused by many tiles; lowering
-- takes it there (see `pays`) unless --no-winograd.
--
-- Weight layout (this file owns it; winograd_f4x3.c.in reads it): per panel
-- of NR output channels,
--   f32 weights, fused schedule or >= RUNTIME_U_TILES tiles a task:
--                   float bias[NR]; float U[36][IC][NR]     U = G g G^T of each
--                   3x3 kernel g, computed in double by pack winograd
--   otherwise:      float bias[NR]; int8: float scale[NR]; dtype b[9][IC][NR]
--                   (gemm.lua's layout of a 3x3 conv, packed by P.gemm): each
--                   task widens KB input channels at a time and turns them into
--                   fp32 U, a row of 6 positions at a time, in a scratch of its
--                   own (winograd_weights.c.in)
-- zero past the last output channel.
--
-- Why narrow weights stay 3x3: U in a narrow dtype carries its rounding
-- through the transforms, which amplify it: on a 256-channel 3x3 layer
-- (He-initialized weights, N(0,1) inputs) the max relative error over a 4x4
-- tile is, direct conv with rounded weights vs Winograd with rounded U: bf16
-- 1.6e-3 vs 4.1e-2, f16 2.0e-4 vs 3.8e-3, int8 (per output channel) 8.9e-3 vs
-- 2.4 (1.2e-1 with a scale per channel and position), and U is 4x the weight
-- bytes a narrow dtype is meant to save. Expanding the stored kernels at run
-- time (each row of U widens the 9 weights again: ~18 cycles per row and
-- vector of output channels on AVX-512, measured alone) adds only fp32
-- rounding; on resnet50 int8 its 11 Winograd layers take 5.9-6.3 ms vs
-- 5.7-5.8 ms with f32 weights stored transformed.
-- bf16 compute (dot products of bf16 pairs) keeps its 3x3 convs direct.
local P = require("lg.pack")
local gemm = require("kernels.gemm")
local weights = require("weights")
local precision = require("precision")

local winograd = {
  name = "winograd",
  epilogues = { { slot = "residual", ops = { add = true } }, { slot = "act", ops = { relu = true } } },
  -- the most threads a Winograd layer splits over (each needs a scratch slot)
  -- unless --max-threads says otherwise; cli.lua's --help prints it
  MAX_SLOTS = 8,
}

local cdiv = require("kernels.sizes").cdiv

-- f32 weights are stored transformed when a panel-major task has at least
-- this many tiles (a fused schedule always stores them)
local RUNTIME_U_TILES = 32
-- the fewest tiles in a block of the fused schedule
local FUSED_TILES = 24

-- Worth it when there are enough tiles to reuse each transformed weight (the
-- 4x larger U is streamed once per block of tiles) and the channels amortize
-- the transforms. Measured on resnet50/BiT shapes.
local function pays(v)
  local tiles = v.N * cdiv(v.OH, 4) * cdiv(v.OW, 4)
  return tiles >= 16 and v.IC >= 16 and v.OC >= 16
end

function winograd.applies(g, node, ctx)
  if node.op ~= "conv" or ctx.winograd == false then return false end
  if ctx.precision.precision ~= "fp32" then return false end
  local a = node.attrs
  if a.k ~= 3 or a.stride ~= 1 or a.pad ~= 1 or a.groups ~= 1 then return false end
  return pays(gemm.geometry(g, node))
end

-- The norm before it is applied as phase 1 loads each patch (fuse_norm_apply).
function winograd.takes_norm() return true end

function winograd.lower(g, node, ctx)
  local a = node.attrs
  local v = gemm.geometry(g, node)
  v.TH, v.TW = cdiv(v.OH, 4), cdiv(v.OW, 4)
  v.T = v.N * v.TH * v.TW
  local mr, nv, nr = gemm.tile(ctx.target, v.T, v.OC)
  local dtype = precision.weight_dtype(ctx, g, node)
  v.MR, v.NR, v.MREM = mr, nr, v.T % mr
  v.PANELS = cdiv(v.OC, nr)
  -- The schedule: tasks of a block of tiles x panels, each block taken through
  -- all three phases by one thread with its V and M in its own L2 (see the
  -- template). Fused (a task: a block x every panel) where there are tiles for
  -- two blocks of FUSED_TILES and U is stored transformed: each block streams
  -- all of U, so it needs the tiles to reuse it, and expanding U per block
  -- would cost about a quarter more at 24 tiles. Blocks: up to 8 for the
  -- tasks, more where a block's V and M would not fit 3/4 of L2 (batch 8).
  -- Otherwise panel-major (a task: a block x one panel): the 14x14 maps' 16
  -- tiles, narrow weights; each task streams its panel's U once, so blocks
  -- stay big (>= 48 tiles: ~100 flops per weight byte) and split only for
  -- more tasks. Measured on resnet18 and
  -- resnet50 at 224 (docs/performance.md): the 28x28 layers, whose two panel
  -- tasks did not scale, 0.38 -> 0.27 ms at 2 threads; the 14x14 ones, each
  -- thread transforming all 16 tiles rather than reading half of V from the
  -- other core after a barrier, 0.51 -> 0.40 ms.
  local tile_bytes = 36 * (v.IC + nr) * 4
  local fit = ctx.target.l2 * 3 // 4 // tile_bytes
  local fused = dtype == "f32" and v.T >= 2 * FUSED_TILES and fit >= FUSED_TILES
  local blocks
  if fused then
    blocks = math.max(math.min(v.T // FUSED_TILES, 8), cdiv(v.T, fit))
  else
    blocks = math.max(1, math.min(v.T // 48, cdiv(8, v.PANELS)))
  end
  v.TBLOCKS = math.min(blocks, cdiv(v.T, mr))
  v.FUSED = fused and 1 or 0
  v.TASK_PANELS = fused and v.PANELS or 1
  v.PANEL_TASKS = v.PANELS // v.TASK_PANELS
  v.TASKS = v.TBLOCKS * v.PANEL_TASKS
  -- the largest block, cut at GEMM-tile bounds as the template's task loop
  -- cuts them (t0, t1 there: the two must agree)
  v.TBMAX = 0
  for b = 0, v.TBLOCKS - 1 do
    local t0 = v.T * b // v.TBLOCKS // mr * mr
    local t1 = b == v.TBLOCKS - 1 and v.T or v.T * (b + 1) // v.TBLOCKS // mr * mr
    v.TBMAX = math.max(v.TBMAX, t1 - t0)
  end
  -- U expanded at run time: always from narrow weights; from f32 ones where
  -- a task has too few tiles to pay for streaming the 4x larger stored U
  -- (batch 1's 14x14 maps, 16 tiles: 8 flops per byte of U, memory-bound:
  -- resnet50's stage 3 GEMMs take 0.61-0.75 ms reading the stored U, 0.43 ms
  -- from U in L2; with the expansion counted, resnet18 and resnet50 run as fast
  -- or up to 3% faster, and their blobs shrink by U's extra 3/4)
  local runtime_u = dtype ~= "f32" or not fused and v.T // v.TBLOCKS < RUNTIME_U_TILES
  v.RUNTIME_U, v.QSCALE, v.WDTYPE = runtime_u and 1 or 0, dtype == "int8" and 1 or 0, dtype
  v.HEAD_FLOATS = nr * (dtype == "int8" and 2 or 1)
  v.PANEL_BYTES = runtime_u and v.HEAD_FLOATS * 4 + 9 * v.IC * nr * precision.DTYPE_BYTES[dtype]
    or (nr + 36 * v.IC * nr) * 4
  -- U is expanded a row of 6 positions at a time: the row and the weights it
  -- is made from (read once a row) stay within 3/4 of L2 (K in even blocks
  -- where they would not: the f32 weights of a 256-channel layer)
  local kmax = math.max(8, ctx.target.l2 * 3 // 4 // (nr * (9 * precision.DTYPE_BYTES[dtype] + 6 * 4)) // 8 * 8)
  v.KB = runtime_u and math.min(v.IC, cdiv(cdiv(v.IC, cdiv(v.IC, kmax)), 8) * 8) or v.IC
  -- A thread takes its blocks through the phases in a slot of its own
  -- (V[36][TBMAX][IC], M[36][TBMAX][NR], the expanded U), so nothing waits
  -- for or reads another core's V; a block whose panels two threads share is
  -- transformed by both. At most --max-threads (default MAX_SLOTS) threads
  -- work on it; more wait at its end.
  v.SLOT_FLOATS = 36 * v.TBMAX * (v.IC + nr) + (runtime_u and 6 * v.KB * nr or 0)
  v.SLOTS = ctx.target.openmp and math.min(v.TASKS, ctx.max_threads or winograd.MAX_SLOTS) or 1
  v.RESIDUAL, v.RELU = a.residual and 1 or 0, a.act == "relu" and 1 or 0
  local norm_fn, norm_words = gemm.norm_apply(v, a, "patches")
  local uk = gemm.ukernel(mr, nv, nr, {})
  local needs = { uk }
  v.UK, v.UK_REM = uk.name, ""
  if v.MREM > 0 then
    local rem = gemm.ukernel(v.MREM, nv, nr, {})
    needs[#needs + 1] = rem
    v.UK_REM = rem.name
  end
  if runtime_u then
    local wt = gemm.WEIGHTS[dtype]
    v.WU, v.WT = string.format("wino4x3_u_%s_%d", dtype, nr), wt.ctype
    needs[#needs + 1] = { name = v.WU, template = "winograd_weights.c.in", stack = (9 + 18 + 6) * ctx.target.vw * 4,
      vars = { WU = v.WU, NR = nr, WT = wt.ctype, WLOAD = wt.load, WDTYPE = dtype, QSCALE = v.QSCALE } }
  end
  local bytes = v.PANELS * v.PANEL_BYTES
  -- d, u (6x6), x[6], s[4][6], y[4] vectors and a[MR]
  node.kernel = { template = "winograd_f4x3.c.in", vars = v, needs = needs,
    stack = (36 + 36 + 6 + 24 + 4) * ctx.target.vw * 4 + mr * 8,
    scratch_bytes = v.SLOTS * v.SLOT_FLOATS * 4,
    fn = string.format("conv3x3s1_wino4x3_%dx%dx%d_%d%s%s%s%s%s", v.IH, v.IW, v.IC, v.OC,
      runtime_u and ("_" .. dtype .. "w") or "", norm_fn,
      v.N > 1 and ("_n" .. v.N) or "",
      a.residual and "_res" or "", a.act and ("_" .. a.act) or ""),
    strategy = string.format("winograd F(4x4,3x3)%s, %d tiles, %dx%d GEMM tiles, %d tasks of %d-tile blocks x %s%s",
      runtime_u and string.format(" from %s 3x3 weights (U expanded %d channels at a time)", dtype, v.KB) or "", v.T, mr, nr, v.TASKS,
      v.TBMAX, fused and "every panel" or "one panel",
      norm_words and ", " .. norm_words or "") }
  node.kernel.numerics = { weights = dtype }
  node.blob = { { role = "weight", bytes = bytes, make = function()
    if runtime_u then return P.gemm(node.tensors.weight, node.tensors.bias, 1, nr, bytes, dtype, v.IC, false) end
    return P.winograd_f4x3(node.tensors.weight, node.tensors.bias, nr, bytes)
  end } }
  -- what the transforms' float arithmetic adds, for OUT.json and info --layers;
  -- a plan without weights measures it on seeded weights of the same fan-in
  -- (the estimate looks at 32 output channels)
  local w = ctx.plan_only and weights.random(node.params.weight, { math.min(v.OC, 32), v.IC, 3, 3 }, 0)
    or node.tensors.weight
  node.kernel.error = P.winograd_f4x3_error(w)
end

return winograd
