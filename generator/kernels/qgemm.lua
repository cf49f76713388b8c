-- int8 convolutions and linear layers (docs/int8.md) as GEMMs over uint8 NHWC
-- activations: M = output pixels, N = output channels of a group, K = taps x
-- channels of a group, in groups of LG_KG bytes (the target's integer dot
-- product: 4 for vpdpbusd, 2 for vpmaddwd, 1 in portable C). A 1x1/stride-1
-- conv reads its rows in place, other convs through tap pointers (the zero
-- point over the padding), a stem with few channels from packed windows, as
-- kernels/gemm.lua does in fp32. Depthwise convs are kernels/qdwconv.lua's.
--
-- Weight layout (this file owns it; P.qgemm writes it, qgemm.c.in and
-- ukernel_qgemm.c.in read it): for each group, for each panel of NR output
-- channels, the head
--   int32 bias[NR]      bias_q - zu_in * (sum of the channel's int8 weights): the sums start here
--                       (zu_in - 128 where the target's dot product is signed: targets.lua)
--   uint8 out:  int32 m[NR], n[NR]         the requantization R(acc, m, n)
--     + residual: int32 mr[NR], nr[NR]     the shortcut's rescale into the sums' scale
--   float out:  float sc[NR], b[NR]        y = fma((float)acc, sc, b)
-- then int8 w[TAPS][KGN][NR][KG]: per tap KGN = ceil(CG / KG) groups of KG
-- channels, output channels of the panel, then the group's KG weights; zero
-- past the group's last channel and the panel's last output channel (a packed
-- stem is one tap of taps x channels). The GELU epilogue's table is a second
-- blob item, int32 table[256] (the vector vocabularies gather from it).
local P = require("lg.pack")
local gemm = require("kernels.gemm")

local qgemm = { name = "qgemm", epilogues = gemm.epilogues }

local sizes = require("kernels.sizes")
local cdiv, round_up = sizes.cdiv, sizes.round_up

function qgemm.applies(g, node)
  local q = node.quant
  if not (q and q.kind == "conv") then return false end
  local c = g.values[node.inputs[1]].shape[2]
  local depthwise = (node.attrs.groups or 1) > 1 and node.attrs.groups == c and g.values[node.output].shape[2] == c
  return not depthwise
end

-- Tile shapes per integer vocabulary: MR rows x NV vectors of LG_QW int32 sums
-- (plus NV weight vectors and a broadcast in the registers).
local TILES = {
  avx512vnni = { { nv = 4, mr = 6, eff = 1.0 }, { nv = 2, mr = 8, eff = 0.97 }, { nv = 1, mr = 12, eff = 0.78 } },
  avxvnni = { { nv = 2, mr = 6, eff = 1.0 }, { nv = 1, mr = 8, eff = 0.8 } },
  avx2 = { { nv = 2, mr = 4, eff = 1.0 }, { nv = 1, mr = 8, eff = 0.8 } },
  scalar = { { nv = 16, mr = 4, eff = 1.0 }, { nv = 4, mr = 4, eff = 0.5 } },
  -- NEON's 32 q registers: 24 sums, 4 weight vectors and the broadcast
  neon = { { nv = 4, mr = 6, eff = 1.0 }, { nv = 2, mr = 8, eff = 0.95 }, { nv = 1, mr = 12, eff = 0.75 } },
  neondot = { { nv = 4, mr = 6, eff = 1.0 }, { nv = 2, mr = 8, eff = 0.95 }, { nv = 1, mr = 12, eff = 0.75 } },
  -- a Cortex-M's 13 integer registers: 4 sums, two rows' activation pairs, a weight word
  cortex_m = { { nv = 2, mr = 2, eff = 1.0 }, { nv = 1, mr = 2, eff = 0.7 } },
  -- Helium's 8 q registers: 3 rows and 2 channels' weights of 16 bytes; 6 sums in r registers
  mve = { { nv = 2, mr = 3, eff = 1.0 }, { nv = 1, mr = 4, eff = 0.8 } },
}

function qgemm.tile(q, m, n)
  local best, best_score
  for _, t in ipairs(TILES[q.tiles]) do
    local nr = t.nv * q.qw
    local score = n / round_up(n, nr) * t.eff
    if not best or score > best_score + 1e-9 then best, best_score = t, score end
  end
  return m == 1 and 1 or best.mr, best.nv, best.nv * q.qw
end

-- The microkernel a tile shape and epilogue need (emit writes each once).
function qgemm.ukernel(mr, nv, nr, out, res, wide)
  local name = string.format("qu8_qc8w_gemm_%dx%d%s_%s%s", mr, nr, res and "_res" or "", out, wide and "_a16" or "")
  return { name = name, template = "ukernel_qgemm.c.in", stack = (mr * nv + nv + 1) * 64 + mr * 8,
    vars = { UK = name, MR = mr, NV = nv, NR = nr, RES = res and 1 or 0, GELU = out == "gelu" and 1 or 0,
      FLOAT = out == "float" and 1 or 0, OUT_T = out == "float" and "float" or "uint8_t", WIDE = wide and 1 or 0,
      A_T = wide and "int16_t" or "uint8_t", QA_LOAD = wide and "lg_qa_load_wide" or "lg_qa_load" } }
end

-- Tasks: runs of panels that fit half of L2, runs of pixels, at least 8 tasks
-- (a multiple of 4 where the shape allows) so 2-4 threads get even shares.
local function blocking(v, target)
  local nb = math.max(1, math.min(v.PANELS, (target.l2 // 2) // v.PANEL_BYTES))
  local nblocks = cdiv(v.PANELS, nb)
  local mtiles = cdiv(v.M, v.MR)
  local mblocks = 1
  while v.GROUPS * nblocks * mblocks < 8 and mblocks < mtiles do mblocks = mblocks + 1 end
  while (v.GROUPS * nblocks * mblocks) % 4 ~= 0 and mblocks < mtiles and mblocks < 64 do mblocks = mblocks + 1 end
  v.MBLOCKS, v.NBLOCKS = mblocks, nblocks
  v.TASKS = v.GROUPS * mblocks * nblocks
  v.MSPLIT, v.NSPLIT = mblocks > 1 and 1 or 0, nblocks > 1 and 1 or 0
  v.MBLOCKS_LAST = mblocks - 1
end

function qgemm.lower(g, node, ctx)
  local a, q = node.attrs, node.quant
  local tq = ctx.target.int8
  local v = gemm.geometry(g, node)
  local pointwise = v.TAPS == 1 and v.SH == 1 and v.PH == 0
  local packed = not pointwise and v.GROUPS == 1 and v.KW * v.IC <= 64
  local mr, nv, nr = qgemm.tile(tq, v.M, v.OG)
  local out = q.out.kind
  v.MR, v.NR, v.MREM = mr, nr, v.M % mr
  v.PANELS = cdiv(v.OG, nr)
  v.POINTWISE, v.PACKED = pointwise and 1 or 0, packed and 1 or 0
  v.INDIRECT = (not pointwise and not packed) and 1 or 0
  v.GROUPED = v.GROUPS > 1 and 1 or 0
  v.UK_TAPS = packed and 1 or v.TAPS
  local kc = packed and v.TAPS * v.CG or v.CG
  v.KGN = cdiv(kc, tq.kg)
  v.KPACK = v.KGN * tq.kg -- a packed row's bytes
  v.KREAL = packed and v.KPACK or v.CG -- the bytes of a row that are activations
  v.WIDE = tq.wide and 1 or 0
  v.A_ROWS = tq.wide and "a16" or "a"
  v.RES, v.GELU, v.FLOAT = q.res and 1 or 0, out == "gelu" and 1 or 0, out == "float" and 1 or 0
  v.OUT_T = out == "float" and "float" or "uint8_t"
  v.ZU_IN, v.ZU_OUT = q.zu_in, out == "gelu" and q.out.zu_g or q.out.zu or 0
  v.LO = q.out.lo or 0
  v.ZU_RES, v.RES_SHIFT = q.res and q.res.zu or 0, q.res and q.res.L or 0
  local ints = out == "float" and 1 or (q.res and 5 or 3)
  local floats = out == "float" and 2 or 0
  v.HEAD_BYTES = nr * 4 * (ints + floats)
  v.PANEL_BYTES = v.HEAD_BYTES + v.UK_TAPS * v.KPACK * nr
  blocking(v, ctx.target)
  local uk = qgemm.ukernel(mr, nv, nr, out, q.res ~= nil, tq.wide)
  local needs = { uk }
  v.UK, v.UK_REM = uk.name, ""
  if v.MREM > 0 then
    local rem = qgemm.ukernel(v.MREM, nv, nr, out, q.res ~= nil, tq.wide)
    needs[#needs + 1] = rem
    v.UK_REM = rem.name
  end
  local shape = node.op == "linear" and string.format("qlinear_%d_%d", v.IC, v.OC)
    or string.format("qconv%dx%ds%d%s_%dx%dx%d_%d", v.KH, v.KW, v.SH, v.GROUPS > 1 and ("_g" .. v.GROUPS) or "",
      v.IH, v.IW, v.IC, v.OC)
  -- row pointers (a tap's each when indirect), the packed windows, the padding row
  local stack = (pointwise or packed) and mr * 8 or v.TAPS * mr * 8
  if packed then stack = stack + mr * v.KPACK end
  if v.INDIRECT == 1 then stack = stack + v.IC + tq.kg end
  if tq.wide then stack = stack + v.UK_TAPS * mr * (v.KPACK * 2 + 8) end
  node.kernel = { template = "qgemm.c.in", vars = v, needs = needs, stack = stack,
    fn = shape .. (v.N > 1 and ("_n" .. v.N) or "") .. (q.res and "_res" or "") .. (a.act and ("_" .. a.act) or "")
      .. (out == "float" and "_f32out" or ""),
    strategy = string.format("int8 %s %dx%d tiles, K in groups of %d%s, %d tasks", pointwise and "gemm"
      or packed and "packed-window gemm" or "indirect gemm", mr, nr, tq.kg,
      tq.wide and " (rows widened to 16 bits a tile)" or "", v.TASKS),
    numerics = { weights = "int8", inputs = "int8" } }
  local ints_list = { q.bias }
  if out ~= "float" then
    ints_list[2], ints_list[3] = q.out.m, q.out.n
    if q.res then ints_list[4], ints_list[5] = q.res.m, q.res.n end
  end
  local floats_list = out == "float" and { q.out.sc, q.out.b } or {}
  local groups, bytes, kg = v.GROUPS, v.GROUPS * v.PANELS * v.PANEL_BYTES, tq.kg
  -- a signed dot product sees u - 128: the bias takes (zu_in - 128) * the weights off
  local zu_sums = q.zu_in - (tq.signed and 128 or 0)
  node.blob = { { role = "weight", bytes = bytes, make = function()
    return P.qgemm(q.wq, zu_sums, ints_list, floats_list, groups, nr, kg, packed, bytes)
  end } }
  if out == "gelu" then
    node.blob[2] = { role = "table", bytes = 1024, make = function() return P.int32s(q.out.table) end }
  end
end

return qgemm
