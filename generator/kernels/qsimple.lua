-- The int8 kinds without a GEMM (docs/int8.md): norms with integer statistics
-- and float affine tails, pools, the add, tables, and the conversions between
-- int8 and fp32 layers. Each runs one template; its per-tensor constants are
-- literals, its per-channel ones blob items (weight layouts: float g[C],
-- beta[C] for the norms, 256 bytes for a table).
local P = require("lg.pack")
local graph = require("graph")
local template = require("template")

local qsimple = {}

local cdiv = require("kernels.sizes").cdiv
-- a float constant as a literal of the float the reference computes with
local function F(x) return template.c_float(require("lg.qref").f32(x)) end

-- Chunks of pixels whose partial sums a norm adds in a fixed order (as simple.lua's).
local function chunks(v)
  local n = math.max(cdiv(v.HW * v.C, 64 * 1024), math.min(v.HW, 8))
  v.CHUNK = cdiv(v.HW, n)
  v.CHUNKS = cdiv(v.HW, v.CHUNK)
end

-- One blob item of the per-channel arrays a, b (float a[count], b[count]).
local function floats_item(a, b, count)
  return { role = "weight", bytes = 8 * count, make = function()
    local all = { table.unpack(a) }
    for i = 1, #b do all[#all + 1] = b[i] end
    return P.floats(all)
  end }
end

-- kind(name, quant kind, template, lower(g, node, q, v) -> stack, scratch bytes, blob items)
local function kind(name, qkind, tmpl, fill)
  local d = { name = name, epilogues = {} }
  function d.applies(_, node) return node.quant ~= nil and node.quant.kind == qkind end
  function d.lower(g, node)
    local n, ih, iw, c = graph.nhwc(g.values[node.inputs[1]].shape)
    local _, oh, ow, oc = graph.nhwc(g.values[node.output].shape)
    local v = { N = n, IH = ih, IW = iw, C = c, OH = oh, OW = ow, OC = oc, HW = ih * iw, PIXELS = n * ih * iw,
      COUNT = graph.numel(g.values[node.output].shape) }
    local stack, scratch, items = fill(g, node, node.quant, v)
    node.kernel = { template = tmpl, vars = v, stack = stack or 64, scratch_bytes = scratch,
      fn = string.format("%s_%dx%dx%d%s", name, ih, iw, c, n > 1 and ("_n" .. n) or "") }
    node.blob = items or {}
  end
  return d
end

local function norm_vars(v, q)
  v.ZU_IN, v.NORM_Q, v.NORM_P, v.EPS, v.LO = q.zu_in, F(q.Q), F(q.P), F(q.eps), q.lo
end

qsimple.layernorm = kind("qlayernorm", "layernorm", "qlayernorm.c.in", function(_, _, q, v)
  norm_vars(v, q)
  return 64, nil, { floats_item(q.g, q.beta, v.C) }
end)

qsimple.groupnorm = kind("qgroupnorm", "groupnorm", "qgroupnorm.c.in", function(_, node, q, v)
  norm_vars(v, q)
  v.GROUPS, v.CG, v.RELU = q.groups, v.C // q.groups, node.attrs.act == "relu" and 1 or 0
  v.CNT = v.HW * v.CG
  chunks(v)
  -- s1 and k per group on the stack; the chunks' partial sums in scratch
  return v.GROUPS * 12, v.N * v.CHUNKS * v.GROUPS * 2 * 8, { floats_item(q.g, q.beta, v.C) }
end)

qsimple.grn = kind("qgrn", "grn", "qgrn.c.in", function(_, _, q, v)
  v.ZU_IN, v.S, v.EPS, v.PS = q.zu_in, F(q.s), F(q.eps), F(q.Ps)
  chunks(v)
  return 64, v.N * v.CHUNKS * v.C * 8 + v.N * v.C * 4, { floats_item(q.gamma, q.beta, v.C) }
end)

qsimple.maxpool = kind("qmaxpool", "maxpool", "qmaxpool.c.in", function(_, node, q, v)
  local a = node.attrs
  v.K, v.S, v.PAD = a.k, a.stride, a.pad
  v.PAD_ZERO, v.PAD_U = q.pad_u and 1 or 0, q.pad_u or 0
  return v.C + 16
end)

qsimple.avgpool = kind("qavgpool", "avgpool", "qavgpool.c.in", function(_, node, _, v)
  v.K, v.S = node.attrs.k, node.attrs.stride
  return 4 * v.C + 16
end)

qsimple.global_avgpool = kind("qglobal_avgpool", "global_avgpool", "qglobal_avgpool.c.in", function(_, _, q, v)
  v.ZU_IN, v.M, v.SHIFT, v.ZU_OUT = q.zu_in, q.m, q.n, q.zu
  return 4 * v.C + 16
end)

qsimple.add = kind("qadd", "add", "qadd.c.in", function(_, node, q, v)
  v.ZA, v.ZB, v.MA, v.NA, v.MB, v.NB, v.MO, v.NO = q.za, q.zb, q.ma, q.na, q.mb, q.nb, q.mo, q.no
  v.ZU_OUT, v.LO, v.RELU = q.zu, q.lo, node.attrs.act == "relu" and 1 or 0
end)

qsimple.lut = kind("qlut", "lut", "qlut.c.in", function(_, node, q, v)
  v.WHAT = node.op == "gelu" and "GELU" or "ReLU"
  return 64, nil, { { role = "table", bytes = 256, make = function() return P.bytes(q.table) end } }
end)

qsimple.quantize = kind("quantize", "quantize", "quantize.c.in", function(_, _, q, v)
  v.INV_S, v.ZU = F(q.inv_s), q.zu
end)

qsimple.dequantize = kind("dequantize", "dequantize", "dequantize.c.in", function(_, _, q, v)
  v.S, v.ZU = F(q.s), q.zu
end)

return qsimple
