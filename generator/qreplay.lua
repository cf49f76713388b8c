-- The int8 model replayed on the scheme's scalar reference (lg.qref), and its
-- error against fp32.
--
-- After passes/quantize.lua every node either has node.quant (it runs in
-- int8: the parameters the kernels' packers read too) or runs in fp32 (a
-- layer kept wider, or a quantize/dequantize between the two). A value is
-- uint8 when it has value.q = {s, zu}, else float. The replay of an int8 node
-- is exact: its output is the generated kernels' output bit for bit, so it
-- is the golden output of the self-test. Comparing it with the fp32 graph
-- (the same folded weights, lg.refops) on held-out inputs gives the error:
-- per layer its SQNR and cosine against fp32, end to end (what the layer sees
-- after every earlier layer's rounding) and local (the layer's int8 op on the
-- fp32 inputs, quantized: its own error alone, which decides mixed precision).
local R = require("lg.refops")
local Q = require("lg.qref")
local T = require("lg.tensor")
local reference = require("reference")

local qreplay = {}

-- One node of the folded, fused graph in fp32, epilogues in the kernels'
-- order; see(point, tensor), when given, is shown "pre": the value before a
-- fused GELU or LayerNorm, which int8 rounds on its own scale.
function qreplay.fp32_step(node, vals, see)
  local a = node.attrs
  local x = vals[node.inputs[1]]
  if node.op == "quantize" or node.op == "dequantize" then return x end
  local y = reference.op(node, x, node.tensors, vals)
  if a.residual then y = R.add(y, vals[a.residual]) end
  if a.act == "gelu" and see then see("pre", y) end
  if a.act == "relu" then y = R.relu(y) elseif a.act == "gelu" then y = R.gelu(y) end
  if a.norm then
    if see then see("pre", y) end
    y = R.layernorm_channels(y, node.tensors.norm_weight, node.tensors.norm_bias, a.norm.eps)
  end
  return y
end

-- The int8 ops: node, its parameters, its first input, all live values.
local OPS = {
  conv = function(node, q, x, vals)
    local a = node.attrs
    local p = { stride = a.stride, pad = a.pad, groups = a.groups, zu_in = q.zu_in, bias = q.bias, out = q.out }
    if q.res then
      p.res = { u = vals[a.residual], zu = q.res.zu, L = q.res.L, m = q.res.m, n = q.res.n }
    end
    local y = Q.conv(x, q.wq, p)
    if q.ln then y = Q.layernorm(y, 0, q.ln) end
    return y
  end,
  layernorm = function(_, q, x) return Q.layernorm(x, q.zu_in, q) end,
  groupnorm = function(_, q, x) return Q.groupnorm(x, q.zu_in, q.groups, q) end,
  grn = function(_, q, x) return Q.grn(x, q.zu_in, q) end,
  lut = function(_, q, x) return Q.lut(x, q.table) end,
  add = function(node, q, x, vals) return Q.add(x, vals[node.inputs[2]], q) end,
  maxpool = function(node, q, x)
    local a = node.attrs
    return Q.maxpool(x, a.k, a.stride, a.pad, q.pad_u)
  end,
  avgpool = function(node, _, x)
    local a = node.attrs
    return Q.avgpool(x, a.k, a.stride, a.ceil_mode)
  end,
  global_avgpool = function(_, q, x) return Q.global_avgpool(x, q.zu_in, q.m, q.n, q.zu) end,
  quantize = function(_, q, x) return Q.quantize(x, q.inv_s, q.zu) end,
  dequantize = function(_, q, x) return Q.dequantize(x, q.s, q.zu) end,
}

-- One node as the model runs it: int8 by its parameters, else fp32.
function qreplay.step(node, vals)
  local q = node.quant
  if not q then return qreplay.fp32_step(node, vals) end
  return OPS[q.kind](node, q, vals[node.inputs[1]], vals)
end

-- A value as float: dequantized when it is uint8.
function qreplay.real(g, id, t)
  local q = g.values[id].q
  return q and Q.dequantize(t, q.s, q.zu) or t
end

-- The graph's input as the model takes it (quantized when the input is uint8).
local function model_input(g, x)
  local q = g.values[g.input_id].q
  return q and Q.quantize(x, q.inv_s, q.zu) or x
end

-- The int8 model on input x (NCHW float): its float output (logits, or
-- features dequantized), exactly what the generated code computes.
function qreplay.run(g, x)
  local y = reference.walk(g, model_input(g, x), qreplay.step)
  return qreplay.real(g, g.output_id, y)
end

-- Side by side on input x: per node, stats[node] accumulates the sums of
-- T.error_sums for its output against fp32 (e2e) and, for an int8 node, of
-- its own op on the fp32 inputs quantized (loc).
local function lockstep(g, x, stats)
  local fvals, qvals, last_use = { [g.input_id] = x }, { [g.input_id] = model_input(g, x) }, {}
  for i, node in ipairs(g.nodes) do
    for _, id in ipairs(node.inputs) do last_use[id] = i end
  end
  local function add(into, test, ref)
    local rr, ee, tr, tt = T.error_sums(test, ref)
    into.rr, into.ee, into.tr, into.tt = into.rr + rr, into.ee + ee, into.tr + tr, into.tt + tt
  end
  local function sums() return { rr = 0, ee = 0, tr = 0, tt = 0 } end
  for i, node in ipairs(g.nodes) do
    local f = qreplay.fp32_step(node, fvals)
    local y = qreplay.step(node, qvals)
    fvals[node.output], qvals[node.output] = f, y
    local s = stats[node]
    if not s then
      s = { e2e = sums(), loc = node.quant and node.op ~= "quantize" and node.op ~= "dequantize" and sums() or nil }
      stats[node] = s
    end
    add(s.e2e, qreplay.real(g, node.output, y), f)
    if s.loc then
      -- the node's own op on the fp32 inputs, each rounded to its uint8 scale
      local qin = {}
      for _, id in ipairs(node.inputs) do
        local q = g.values[id].q
        qin[id] = q and Q.quantize(fvals[id], q.inv_s, q.zu) or fvals[id]
      end
      add(s.loc, qreplay.real(g, node.output, qreplay.step(node, qin)), f)
    end
    for _, id in ipairs(node.inputs) do
      if last_use[id] == i and id ~= g.output_id then fvals[id], qvals[id] = nil, nil end
    end
  end
  return qreplay.real(g, g.output_id, qvals[g.output_id]), fvals[g.output_id]
end

local function sqnr_db(s) return s.ee > 0 and 10 * math.log(s.rr / s.ee, 10) or math.huge end
local function cosine(s) return (s.rr > 0 and s.tt > 0) and s.tr / math.sqrt(s.rr * s.tt) or 1 end

-- Per-layer SQNR and cosine of a finished stats table, into node.qreport.
local function report_layers(g, stats)
  for _, node in ipairs(g.nodes) do
    local s = stats[node]
    if s then
      node.qreport = { sqnr_db = sqnr_db(s.e2e), cosine = cosine(s.e2e),
        local_sqnr_db = s.loc and sqnr_db(s.loc) or nil }
    end
  end
end

-- Per-layer errors on `inputs` (into node.qreport), without the output report.
function qreplay.layer_errors(g, inputs)
  local stats = {}
  for _, x in ipairs(inputs) do
    lockstep(g, x, stats)
    collectgarbage()
  end
  report_layers(g, stats)
end

-- The golden output (the int8 model on golden_in, exact) and the error
-- report: the model's output against fp32 on the held-out inputs (max rel,
-- cosine, top-1/top-5 agreement; reduced.summary prints it) and every
-- layer's SQNR and cosine (node.qreport).
function qreplay.measure(g, golden_in, held_out)
  local out_shape = g.values[g.output_id].shape
  local classes = #out_shape == 2 and out_shape[2] > 1
  local report = { inputs = #held_out, rows = classes and #held_out or 0, max_rel = 0, min_cosine = 1, top1 = 0,
    top5 = 0 }
  local stats = {}
  for i, x in ipairs(held_out) do
    local qy, fy = lockstep(g, x, stats)
    local err, mag, cos, top1, top5 = R.compare(qy, fy, classes and 1 or 0)
    local rel = mag > 0 and err / mag or err
    report.max_rel, report.min_cosine = math.max(report.max_rel, rel), math.min(report.min_cosine, cos)
    report.top1, report.top5 = report.top1 + (top1 or 0), report.top5 + (top5 or 0)
    if i == 1 then report.golden = { max_rel = rel, cosine = cos } end
    collectgarbage()
  end
  if not classes then report.top1, report.top5 = nil, nil end
  report_layers(g, stats)
  return golden_in and qreplay.run(g, golden_in), report
end

-- What int8 costs and keeps, for the log and OUT.json: the layers kept in fp32
-- (their names, multiply-adds and the weight bytes fp32 costs them over int8)
-- and the layers of lowest SQNR.
function qreplay.summary(g)
  local s = { kept_fp32 = {}, kept_macs = 0, kept_extra_weight_bytes = 0, total_macs = 0, lowest = {} }
  local graph = require("graph")
  for _, node in ipairs(g.nodes) do
    local macs = graph.macs(g, node)
    s.total_macs = s.total_macs + macs
    if node.kept_fp32 then
      s.kept_fp32[#s.kept_fp32 + 1] = node.name
      s.kept_macs = s.kept_macs + macs
      s.kept_extra_weight_bytes = s.kept_extra_weight_bytes + 3 * graph.numel(g.params[node.params.weight].shape)
    end
    if node.qreport and node.qreport.local_sqnr_db then s.lowest[#s.lowest + 1] = node end
  end
  table.sort(s.lowest, function(a, b) return a.qreport.local_sqnr_db < b.qreport.local_sqnr_db end)
  for i = #s.lowest, 4, -1 do s.lowest[i] = nil end
  return s
end

-- The summary as log lines.
function qreplay.summary_lines(g)
  local s = qreplay.summary(g)
  local lines = {}
  local low = {}
  for _, node in ipairs(s.lowest) do
    low[#low + 1] = string.format("%s %.1f dB", node.name, node.qreport.local_sqnr_db)
  end
  if #low > 0 then lines[#lines + 1] = "int8: lowest own SQNR against fp32: " .. table.concat(low, ", ") end
  if #s.kept_fp32 > 0 then
    lines[#lines + 1] = string.format("int8: %d layer%s kept in fp32 (%s): %.1f%% of the multiply-adds at fp32 speed "
      .. "(about 4x int8's time per multiply-add on VNNI), %d bytes more weights than int8", #s.kept_fp32,
      #s.kept_fp32 > 1 and "s" or "", table.concat(s.kept_fp32, ", "), 100 * s.kept_macs / math.max(1, s.total_macs),
      s.kept_extra_weight_bytes)
  end
  return lines
end

return qreplay
