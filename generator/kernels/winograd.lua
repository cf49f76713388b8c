-- 3x3 stride-1 convolutions as Winograd F(4x4, 3x3) (Lavin & Gray): 4x fewer
-- multiply-adds than the direct conv, paid for with two transforms, 4x the
-- weight bytes and arena scratch for the transformed tiles. It pays where the
-- GEMMs dominate and the transformed weights are reused by many tiles; lowering
-- takes it there (see `pays`) unless --no-winograd.
--
-- Weight layout (this file owns it; pack winograd writes it, winograd_f4x3.c.in
-- reads it): per panel of NR output channels,
--   float bias[NR]; float U[36][IC][NR]      U = G g G^T of each 3x3 kernel g
-- zero past the last output channel. PANEL_FLOATS = NR + 36*IC*NR.
--
-- f32 weights and fp32 compute only. U in a narrow dtype, or V and U rounded
-- to bf16 for bf16 dot products, carries that rounding through the transforms,
-- which amplify it: on a 256-channel 3x3 layer (He-initialized weights, N(0,1)
-- inputs) the max relative error over a 4x4 tile is, direct conv with rounded
-- weights vs Winograd with rounded U: bf16 1.6e-3 vs 4.1e-2 (6.1e-2 with V
-- rounded too), f16 2.0e-4 vs 3.8e-3, int8 (per output channel) 8.9e-3 vs 2.4
-- (1.2e-1 with a scale per channel and position). 20x the error of the direct
-- conv, and 4x the weight bytes that a narrow dtype is meant to save: those
-- convs run as direct GEMMs.
local P = require("lg.pack")
local gemm = require("kernels.gemm")
local weights = require("weights")
local precision = require("precision")

local winograd = {
  name = "winograd",
  epilogues = { { slot = "residual", ops = { add = true } }, { slot = "act", ops = { relu = true } } },
}

local function cdiv(a, b) return (a + b - 1) // b end

-- Worth it when there are enough tiles to reuse each transformed weight (the
-- 4x larger U is streamed once per block of tiles) and the channels amortize
-- the transforms. Measured on resnet50/BiT shapes.
local function pays(v)
  local tiles = v.N * cdiv(v.OH, 4) * cdiv(v.OW, 4)
  return tiles >= 16 and v.IC >= 16 and v.OC >= 16
end

function winograd.applies(g, node, ctx)
  if node.op ~= "conv" or ctx.winograd == false then return false end
  if ctx.precision.precision ~= "fp32" or precision.weight_dtype(ctx, g, node) ~= "f32" then return false end
  local a = node.attrs
  if a.k ~= 3 or a.stride ~= 1 or a.pad ~= 1 or a.groups ~= 1 then return false end
  return pays(gemm.geometry(g, node))
end

function winograd.lower(g, node, ctx)
  local a = node.attrs
  local v = gemm.geometry(g, node)
  v.TH, v.TW = cdiv(v.OH, 4), cdiv(v.OW, 4)
  v.T = v.N * v.TH * v.TW
  local mr, nv, nr = gemm.tile(ctx.target, v.T, v.OC)
  v.MR, v.NR, v.MREM = mr, nr, v.T % mr
  v.PANELS = cdiv(v.OC, nr)
  v.PANEL_FLOATS = nr + 36 * v.IC * nr
  -- blocks of tiles: each block streams its panel's U once, so blocks stay big
  -- (>= 48 tiles: ~100 flops per weight byte) and split only for more tasks
  local blocks = math.max(1, math.min(v.T // 48, cdiv(8, v.PANELS)))
  v.TBLOCKS = math.min(blocks, cdiv(v.T, mr))
  v.TASKS = v.TBLOCKS * v.PANELS
  v.RESIDUAL, v.RELU = a.residual and 1 or 0, a.act == "relu" and 1 or 0
  local uk = gemm.ukernel(mr, nv, nr, {})
  local needs = { uk }
  v.UK, v.UK_REM = uk.name, ""
  if v.MREM > 0 then
    local rem = gemm.ukernel(v.MREM, nv, nr, {})
    needs[#needs + 1] = rem
    v.UK_REM = rem.name
  end
  local floats = v.PANELS * v.PANEL_FLOATS
  -- d, u (6x6), x[6], s[4][6], y[4] vectors and a[MR]
  node.kernel = { template = "winograd_f4x3.c.in", vars = v, needs = needs,
    stack = (36 + 36 + 6 + 24 + 4) * ctx.target.vw * 4 + mr * 8,
    scratch_bytes = 36 * v.T * (v.IC + v.OC) * 4,
    fn = string.format("conv3x3s1_wino4x3_%dx%dx%d_%d%s%s%s", v.IH, v.IW, v.IC, v.OC, v.N > 1 and ("_n" .. v.N) or "",
      a.residual and "_res" or "", a.act and ("_" .. a.act) or ""),
    strategy = string.format("winograd F(4x4,3x3), %d tiles, %dx%d GEMM tiles, %d tasks", v.T, mr, nr, v.TASKS) }
  node.kernel.numerics = { weights = "f32" }
  node.blob = { { role = "weight", bytes = floats * 4, make = function()
    return P.winograd_f4x3(node.tensors.weight, node.tensors.bias, nr, floats * 4)
  end } }
  -- what the transforms' float arithmetic adds, for OUT.json and info --layers;
  -- a plan without weights measures it on seeded weights of the same fan-in
  -- (the estimate looks at 32 output channels)
  local w = ctx.plan_only and weights.random(node.params.weight, { math.min(v.OC, 32), v.IC, 3, 3 }, 0)
    or node.tensors.weight
  node.kernel.error = P.winograd_f4x3_error(w)
end

return winograd
