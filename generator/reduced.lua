-- The reduced path replayed on the reference, and its measured error.
--
-- After lowering, every conv/linear node says what its kernel computes
-- (node.kernel.numerics = {weights = dtype, inputs = "bf16"|nil}). Running the
-- lowered graph (folded weights, fused epilogues) on lg.refops with weights
-- rounded as they are stored (lg.pack's P.rounded) and, where the kernel does
-- bf16 dot products, its input rounded to bf16, gives:
--   * the golden output of a reduced model: its self-test checks the kernels
--     against this reference of the same arithmetic;
--   * the error of the reduced path against the same graph at full precision,
--     on the golden input and a bundled set of seeded inputs: max |diff| /
--     max |fp32|, cosine, and how often the best class and the set of the 5
--     best agree.
-- What the replay leaves out: the kernels sum in fp32 (the reference in
-- double), which for fp32 stays within the 1e-4 every self-test allows; under
-- --precision bf16 an activation within that noise of a bf16 rounding boundary
-- may round the other way in the kernels (see precision.SELFTEST_TOL).
local R = require("lg.refops")
local P = require("lg.pack")
local T = require("lg.tensor")
local errors = require("errors")
local reference = require("reference")

local reduced = {}

local function weighted(node) return node.op == "conv" or node.op == "linear" end

-- node -> its weight as the kernel sees it (computed once, checked for range)
local function rounded_weights(g)
  local cache = {}
  for _, node in ipairs(g.nodes) do
    local dtype = weighted(node) and node.kernel.numerics.weights
    if dtype and dtype ~= "f32" then
      local w, big = P.rounded(node.tensors.weight, dtype)
      if dtype == "f16" and big >= 65520 then
        errors.user("%s: a weight of magnitude %.4g is past f16's largest, 65504; use --weights-dtype bf16",
          node.name, big)
      end
      cache[node] = w
    end
  end
  return cache
end

-- The lowered graph on the naive kernels; `weights`: node -> rounded weight
-- (nil: full precision, inputs not rounded either).
function reduced.run(g, input, weights)
  return reference.walk(g, input, function(node, vals)
    local x, w = vals[node.inputs[1]], node.tensors
    if weights and weighted(node) then
      if weights[node] then w = { weight = weights[node], bias = node.tensors.bias } end
      if node.kernel.numerics.inputs == "bf16" then x = R.round_bf16(x) end
    end
    local a = node.attrs
    local y = reference.op(node, x, w, vals)
    -- the epilogues in the order the kernels apply them
    if a.residual then y = R.add(y, vals[a.residual]) end
    if a.act == "relu" then y = R.relu(y) elseif a.act == "gelu" then y = R.gelu(y) end
    if a.norm then y = R.layernorm_channels(y, node.tensors.norm_weight, node.tensors.norm_bias, a.norm.eps) end
    return y
  end)
end

-- Runs the fp32 and the reduced path on `count` inputs: golden_in first, then
-- seeded N(0,1) inputs of its shape. golden_out: the unfolded fp32 reference's
-- output on golden_in. Returns the reduced output on golden_in (the self-test's
-- golden) and the error report.
function reduced.measure(g, golden_in, golden_out, count, seed)
  local weights = rounded_weights(g)
  local out_shape = g.values[g.output_id].shape
  -- class scores: one row per image; a feature output has no classes to agree on
  local rows = #out_shape == 2 and out_shape[2] > 1 and out_shape[1] or 0
  local report = { inputs = count, rows = rows * count, max_rel = 0, min_cosine = 1, top1 = 0, top5 = 0 }
  local golden_reduced
  for i = 1, count do
    local x = i == 1 and golden_in or T.normal(golden_in:shape(), seed + i - 1, 0, 1)
    local red = reduced.run(g, x, weights)
    local full = i == 1 and golden_out or reduced.run(g, x, nil)
    local err, mag, cos, top1, top5 = R.compare(red, full, rows)
    local rel = mag > 0 and err / mag or err
    if i == 1 then
      golden_reduced = red
      report.golden = { max_rel = rel, cosine = cos }
    end
    report.max_rel, report.min_cosine = math.max(report.max_rel, rel), math.min(report.min_cosine, cos)
    report.top1, report.top5 = report.top1 + (top1 or 0), report.top5 + (top5 or 0)
    collectgarbage()
  end
  if rows == 0 then report.top1, report.top5 = nil, nil end
  return golden_reduced, report
end

-- One line for the log: "max rel 2.1e-03 (golden input 1.9e-03), cosine >= 0.9999901 over 32 inputs,
-- top-1 agrees 32/32, top-5 31/32"
function reduced.summary(r)
  local s = string.format("max rel %.1e (golden input %.1e), cosine >= %.7f over %d input%s", r.max_rel,
    r.golden.max_rel, r.min_cosine, r.inputs, r.inputs > 1 and "s" or "")
  if r.top1 then s = s .. string.format(", top-1 agrees %d/%d, top-5 %d/%d", r.top1, r.rows, r.top5, r.rows) end
  return s
end

return reduced
