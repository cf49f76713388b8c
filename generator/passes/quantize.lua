-- --precision int8 (docs/int8.md): calibrates the folded, fused graph and
-- gives every node the integer parameters its kernel and the reference
-- (generator/qreplay.lua) share, then keeps in fp32 the layers int8 would
-- spoil (--int8-min-sqnr, --keep-head-f32) with conversions at their borders.
--
-- After it: value.q = {s, zu, inv_s} for every uint8 value (no q: float);
-- node.quant = the int8 parameters of a node that runs in int8 (nil: fp32);
-- node.qreport = its SQNR and cosine against fp32 on the held-out inputs.
local errors = require("errors")
local graph = require("graph")
local Q = require("lg.qref")
local T = require("lg.tensor")
local precision = require("precision")
local qreplay = require("qreplay")
local ranges = require("ranges")
local limits = require("limits")

-- A multiplier is never above 1 / FLOOR (docs/int8.md: no scale finer than
-- FLOOR times the step of what is rounded into it).
local FLOOR = 2.05

local function round_away(x) return x >= 0 and math.floor(x + 0.5) or -math.floor(-x + 0.5) end

-- {s, zu, inv_s} of a range (containing 0), no finer than `finest`.
local function act_q(lo, hi, finest)
  local s = (hi - lo) / 255
  if s < (finest or 0) then s = finest end
  if not (s > 0) then s = 1 / 255 end -- a tensor that is always 0
  local zu = math.max(0, math.min(255, round_away(-lo / s)))
  return { s = s, zu = zu, inv_s = Q.f32(1 / s) }
end

local function mult(M) return Q.multiplier(M) end

-- Arrays of per-channel multipliers {m}, {n} for reals M[c].
local function mults(list)
  local m, n = {}, {}
  for i, M in ipairs(list) do m[i], n[i] = mult(M) end
  return m, n
end

local function max_of(list)
  local x = 0
  for _, v in ipairs(list) do x = math.max(x, v) end
  return x
end

local function floats(t)
  local out = {}
  if t then
    local n = t:numel()
    local bytes = t:bytes()
    for i = 1, n do out[i] = string.unpack("<f", bytes, 4 * i - 3) end
  end
  return out
end

local function conv_like(node) return node.op == "conv" or node.op == "linear" end

-- --- calibration: what every tensor ranges over ---------------------------------

-- Observations: value id -> observer; "pre" of a node -> observer under node.
-- One pass over the calibration inputs (generator/ranges.lua keeps histograms).
local function observe(g, inputs)
  local obs = { values = {}, pre = {} }
  local function get(tbl, key)
    tbl[key] = tbl[key] or ranges.new()
    return tbl[key]
  end
  for _, x in ipairs(inputs) do
    ranges.see(get(obs.values, g.input_id), x)
    require("reference").walk(g, x, function(node, vals)
      local y = qreplay.fp32_step(node, vals, function(_, t) ranges.see(get(obs.pre, node), t) end)
      ranges.see(get(obs.values, node.output), y)
      return y
    end)
    collectgarbage()
  end
  return obs
end

-- --- per-node parameters ---------------------------------------------------------

local P = {}

-- Convolutions and linear layers (every kind: GEMM, grouped, depthwise).
function P.conv(g, node, ctx)
  local a, t = node.attrs, node.tensors
  local vin, vout = g.values[node.inputs[1]].q, g.values[node.output]
  local w = t.weight
  local wshape = g.params[node.params.weight].shape
  local wq, sw
  if w then
    wq, sw = Q.quantize_weights(w)
  else -- a plan without weights (info): the structure, unit scales
    sw = {}
    for c = 1, wshape[1] do sw[c] = 1 end
  end
  local k = graph.numel(wshape) // wshape[1]
  if k > limits.int8_k then
    errors.user("%s: K = %d multiply-adds an output, more than int8's %d (int32 sums could overflow); keep it in fp32 "
      .. "with --int8-min-sqnr or use --precision fp32", node.name, k, limits.int8_k)
  end
  local acc_step = {}
  for c, s in ipairs(sw) do acc_step[c] = vin.s * s end
  local finest = FLOOR * max_of(acc_step)
  local bias = floats(t.bias)
  local q = { kind = "conv", wq = wq, sw = sw, zu_in = vin.zu, s_in = vin.s, bias = {} }
  local limit = 2 ^ 31 - 1 - 255 * 127 * k
  for c = 1, #sw do
    local b = round_away((bias[c] or 0) / acc_step[c])
    q.bias[c] = math.max(-limit, math.min(limit, b))
  end
  local depthwise = (a.groups or 1) > 1 and a.groups == g.values[node.inputs[1]].shape[2] and #sw == a.groups
  if ctx.head_float and node.output == g.output_id and not depthwise and not a.residual and not a.act then
    -- the logits stay float: y = fma((float)acc, s_in s_w, b), the bias outside acc
    local sc, fb = {}, {}
    for c = 1, #sw do sc[c], fb[c], q.bias[c] = Q.f32(acc_step[c]), Q.f32(bias[c] or 0), 0 end
    q.out = { kind = "float", sc = sc, b = fb }
    vout.q = nil
    return q
  end
  if a.norm then
    -- depthwise conv + LayerNorm: an int16 at s_v in between, statistics in int64
    local lo, hi = ranges.range(ctx.obs.pre[node] or ranges.new(), "minmax")
    local s_v = math.max(math.max(-lo, hi) / 32767, finest)
    local Ms = {}
    for c = 1, #sw do Ms[c] = acc_step[c] / s_v end
    local m, n = mults(Ms)
    q.out = { kind = "int16", m = m, n = n }
    q.pre = { s = s_v, zu = 0, int16 = true }
    q.ln = P.norm_params(s_v, ctx.scale(node.output, 0), #sw, a.norm.eps, t.norm_weight, t.norm_bias, 0)
    return q
  end
  local out = ctx.scale(node.output, finest)
  if a.act == "gelu" then
    local lo, hi = ranges.range(ctx.obs.pre[node] or ranges.new(), ctx.method)
    local pre = act_q(lo, hi, finest)
    local Ms = {}
    for c = 1, #sw do Ms[c] = acc_step[c] / pre.s end
    local m, n = mults(Ms)
    q.out = { kind = "gelu", m = m, n = n, zu_g = pre.zu, table = Q.gelu_table(pre.s, pre.zu, out.s, out.zu) }
    q.pre = pre
  else
    local Ms = {}
    for c = 1, #sw do Ms[c] = acc_step[c] / out.s end
    local m, n = mults(Ms)
    q.out = { kind = "u8", m = m, n = n, zu = out.zu, lo = a.act == "relu" and out.zu or 0 }
  end
  if a.residual then
    -- the shortcut rescaled into the sums' scale: (u_r - zu_r) << L times s_r / (acc step 2^L)
    local r = g.values[a.residual].q
    local K = {}
    for c = 1, #sw do K[c] = r.s / acc_step[c] end
    local L = 0
    while max_of(K) / 2 ^ L >= 0.49 do L = L + 1 end
    if L > 23 then
      errors.internal("%s: the shortcut's scale is %g times the sums' step; int8 cannot add it", node.name, max_of(K))
    end
    for c = 1, #sw do K[c] = K[c] / 2 ^ L end
    local m, n = mults(K)
    q.res = { zu = r.zu, L = L, m = m, n = n }
  end
  return q
end

-- LayerNorm / GroupNorm parameters: cnt values per statistic at scale s, into (s_o, zu_o).
function P.norm_params(s, out, cnt, eps, weight, bias_t, lo)
  local g, b = floats(weight), floats(bias_t)
  local beta = {}
  for c = 1, #g do beta[c] = Q.f32(b[c] / out.s + out.zu) end
  return { Q = Q.f32(cnt * cnt / (s * s)), P = Q.f32(s / (cnt * out.s)), eps = Q.f32(eps), g = g, beta = beta, lo = lo }
end

function P.layernorm(g, node, ctx)
  local vin = g.values[node.inputs[1]].q
  local c = g.values[node.inputs[1]].shape[2]
  local out = ctx.scale(node.output, 0)
  local q = P.norm_params(vin.s, out, c, node.attrs.eps, node.tensors.weight, node.tensors.bias, 0)
  q.kind, q.zu_in = "layernorm", vin.zu
  return q
end

function P.groupnorm(g, node, ctx)
  local vin = g.values[node.inputs[1]].q
  local _, c, h, w = table.unpack(g.values[node.inputs[1]].shape)
  local groups = node.attrs.groups
  local out = ctx.scale(node.output, 0)
  local q = P.norm_params(vin.s, out, h * w * (c // groups), node.attrs.eps, node.tensors.weight, node.tensors.bias,
    node.attrs.act == "relu" and out.zu or 0)
  q.kind, q.zu_in, q.groups = "groupnorm", vin.zu, groups
  return q
end

function P.grn(g, node, ctx)
  local vin = g.values[node.inputs[1]].q
  local out = ctx.scale(node.output, 0)
  local b = floats(node.tensors.bias)
  local beta = {}
  for c = 1, #b do beta[c] = Q.f32(b[c] / out.s + out.zu) end
  return { kind = "grn", zu_in = vin.zu, s = Q.f32(vin.s), eps = Q.f32(node.attrs.eps), gamma = floats(node.tensors.weight),
    Ps = Q.f32(vin.s / out.s), beta = beta }
end

-- Max and average pools keep their input's scale and zero point.
function P.maxpool(g, node)
  local vin = g.values[node.inputs[1]].q
  g.values[node.output].q = vin
  return { kind = "maxpool", pad_u = node.attrs.pad_value and vin.zu or nil }
end

function P.avgpool(g, node)
  g.values[node.output].q = g.values[node.inputs[1]].q
  return { kind = "avgpool" }
end

function P.global_avgpool(g, node, ctx)
  local vin = g.values[node.inputs[1]].q
  local _, _, h, w = table.unpack(g.values[node.inputs[1]].shape)
  local out = ctx.scale(node.output, FLOOR * vin.s / (h * w))
  local m, n = mult(vin.s / (h * w * out.s))
  return { kind = "global_avgpool", zu_in = vin.zu, m = m, n = n, zu = out.zu }
end

function P.add(g, node, ctx)
  local qa, qb = g.values[node.inputs[1]].q, g.values[node.inputs[2]].q
  local big = 4 * math.max(qa.s, qb.s)
  local out = ctx.scale(node.output, FLOOR * big / 2 ^ 20)
  local ma, na = mult(qa.s / big)
  local mb, nb = mult(qb.s / big)
  local mo, no = mult(big / (2 ^ 20 * out.s))
  return { kind = "add", za = qa.zu, zb = qb.zu, ma = ma, na = na, mb = mb, nb = nb, mo = mo, no = no, zu = out.zu,
    lo = node.attrs.act == "relu" and out.zu or 0 }
end

-- GELU and ReLU on their own: a table of 256.
local function lut(g, node, ctx)
  local vin = g.values[node.inputs[1]].q
  local out = ctx.scale(node.output, 0)
  local table_
  if node.op == "gelu" then
    table_ = Q.gelu_table(vin.s, vin.zu, out.s, out.zu)
  else
    g.values[node.output].q = vin -- ReLU keeps the scale: max(u, zu)
    table_ = {}
    for t = 0, 255 do table_[t + 1] = math.max(t, vin.zu) end
  end
  return { kind = "lut", table = table_ }
end
P.gelu, P.relu = lut, lut

-- --- mixed precision: conversions where an fp32 layer meets an int8 one ------

local function convert_node(g, op, from, q)
  local out = g:value(g.values[from].shape)
  g.values[out].dump_name = g.values[from].dump_name
  local node = { op = op, name = op, inputs = { from }, output = out, attrs = {}, params = {}, tensors = {},
    quant = op == "quantize" and { kind = "quantize", inv_s = q.inv_s, zu = q.zu }
      or { kind = "dequantize", s = q.s, zu = q.zu } }
  g.values[out].producer = node
  if op == "quantize" then g.values[out].q = q end
  return node, out
end

-- Every node reads its inputs in the representation it runs in: an fp32 node
-- float, an int8 node uint8; a value in the other one gets a conversion
-- (once per value), placed right before its first reader that needs it.
local function insert_conversions(g, scales)
  local converted, nodes = {}, {}
  for _, node in ipairs(g.nodes) do
    local wants_u8 = node.quant ~= nil
    local function fix(id)
      local is_u8 = g.values[id].q ~= nil
      if is_u8 == wants_u8 then return id end
      local key = id .. (wants_u8 and "q" or "f")
      if not converted[key] then
        local c, out = convert_node(g, wants_u8 and "quantize" or "dequantize", id, wants_u8 and scales[id] or
          g.values[id].q)
        nodes[#nodes + 1] = c
        converted[key] = out
      end
      return converted[key]
    end
    for i, id in ipairs(node.inputs) do
      local new = fix(id)
      if node.attrs.residual == id then node.attrs.residual = new end
      node.inputs[i] = new
    end
    nodes[#nodes + 1] = node
  end
  g.nodes = nodes
end

-- --- the pass ------------------------------------------------------------------

-- set: calibration.inputs(...), or nil for a plan without weights (`info`:
-- the structure and sizes, unit scales); p: precision.options
return function(g, set, p, quiet)
  local method = p.int8_range or ranges.DEFAULT
  local obs = set and observe(g, set.calibrate) or { values = {}, pre = {} }
  local scales = {} -- value id -> its uint8 {s, zu, inv_s} had it one (for quantize conversions)
  local ctx = { obs = obs, method = method, head_float = true }
  function ctx.scale(id, finest)
    local lo, hi = ranges.range(obs.values[id] or ranges.new(), method)
    local q = act_q(lo, hi, finest)
    g.values[id].q, scales[id] = q, q
    return q
  end
  ctx.scale(g.input_id, 0)
  for _, node in ipairs(g.nodes) do
    local build = P[conv_like(node) and "conv" or node.op]
    if not build then errors.internal("int8: no parameters for op %s (%s)", node.op, node.name) end
    node.quant = build(g, node, ctx)
    if node.output ~= g.output_id or node.quant.out == nil or node.quant.out.kind ~= "float" then
      scales[node.output] = scales[node.output] or g.values[node.output].q
    end
  end
  -- each layer's own error decides what stays in fp32
  if set and p.int8_min_sqnr and p.int8_min_sqnr > 0 then
    qreplay.layer_errors(g, set.held_out)
  end
  for _, node in ipairs(g.nodes) do
    local keep = (p.keep_head_f32 and precision.is_head(g, node))
      or (p.int8_min_sqnr and node.qreport and node.qreport.local_sqnr_db and conv_like(node)
        and node.qreport.local_sqnr_db < p.int8_min_sqnr)
    if keep then
      node.kept_fp32 = node.qreport and node.qreport.local_sqnr_db or true
      node.quant = nil
      g.values[node.output].q = nil
    end
  end
  insert_conversions(g, scales)
  -- forward_int8 rounds a float output (logits) at the range calibration saw
  g.out_q = act_q(ranges.range(obs.values[g.output_id] or ranges.new(), method))
  g.int8 = { calibration = set and set.source or "none (a plan without weights)", range = method,
    held_out = set and #set.held_out or 0, min_sqnr_db = p.int8_min_sqnr }
  if set and not quiet then
    local n = 0
    for _ in pairs(obs.values) do n = n + 1 end
    io.stderr:write(string.format("lucidgen: int8: calibrated %d tensors on %s (%s ranges)\n", n, set.source, method))
  end
  return g
end
