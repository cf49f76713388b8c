-- Passes alone on small hand-built graphs (run by lua_unit from the repo root):
--   plan_arena: values live at the same time never share a byte, on fixed and
--               on randomized graphs, with liveness recomputed here;
--   fold_batchnorm / fold_layer_scale: the folded layer computes what the
--               unfolded layers compute on the naive reference kernels.
local check = require("lua_check")
local graph = require("graph")
local T = require("lg.tensor")
local R = require("lg.refops")
local weights = require("weights")
local reference = require("reference")
local plan_arena = require("passes.plan_arena")
local bind_tensors = require("passes.bind_tensors")
local fold_batchnorm = require("passes.fold_batchnorm")
local fold_layer_scale = require("passes.fold_layer_scale")

-- ---------------------------------------------------------------- arena

-- Liveness as plan_arena documents it: a value lives from the step that
-- writes it (0 = the input transpose, i = node i) to the last step that reads
-- it; the output is read by the final copy, step #nodes + 1.
local function live_ranges(g)
  local first, last = { [g.input_id] = 0 }, { [g.input_id] = 0 }
  for i, node in ipairs(g.nodes) do
    first[node.output], last[node.output] = i, i
    for _, id in ipairs(node.inputs) do last[id] = math.max(last[id], i) end
  end
  last[g.output_id] = #g.nodes + 1
  return first, last
end

-- Every pair of values alive at one step occupies disjoint, 64-byte aligned
-- bytes inside the arena; the arena is at least the largest live total.
local function check_plan(g, what)
  plan_arena(g)
  local first, last = live_ranges(g)
  local ids = {}
  for id in pairs(first) do ids[#ids + 1] = id end
  table.sort(ids)
  for _, a in ipairs(ids) do
    local va = g.values[a]
    check.truthy(va.offset and va.offset % 64 == 0, "%s: value %d at offset %s", what, a, tostring(va.offset))
    check.truthy(va.offset + va.bytes <= g.arena_bytes, "%s: value %d ends at %d past the arena %d", what, a,
      va.offset + va.bytes, g.arena_bytes)
    for _, b in ipairs(ids) do
      local vb = g.values[b]
      local together = first[a] <= last[b] and first[b] <= last[a]
      local disjoint = va.offset + va.bytes <= vb.offset or vb.offset + vb.bytes <= va.offset
      check.truthy(a == b or not together or disjoint,
        "%s: values %d [%d,%d] and %d [%d,%d] live together but share bytes: [%d,+%d) and [%d,+%d)", what,
        a, first[a], last[a], b, first[b], last[b], va.offset, va.bytes, vb.offset, vb.bytes)
    end
  end
  for step = 0, #g.nodes + 1 do
    local live = 0
    for _, id in ipairs(ids) do
      if first[id] <= step and step <= last[id] then live = live + g.values[id].bytes end
    end
    check.truthy(live <= g.arena_bytes, "%s: %d bytes live at step %d, arena only %d", what, live, step, g.arena_bytes)
  end
  check.truthy(g.arena_bytes <= g.activation_bytes, "%s: arena %d exceeds all activations %d", what, g.arena_bytes,
    g.activation_bytes)
end

check.case("arena_keeps_a_residual_apart_from_the_branch_it_spans", function()
  local g = graph.new()
  local x = g:input({ 1, 8, 16, 16 })
  local a = g:add("relu", "a", { x }, { 1, 8, 16, 16 })
  local b = g:add("relu", "b", { a }, { 1, 32, 16, 16 })
  local c = g:add("relu", "c", { b }, { 1, 8, 16, 16 })
  local y = g:add("add", "y", { c, a }, { 1, 8, 16, 16 }) -- a lives across b and c
  g:set_output(g:add("relu", "out", { y }, { 1, 8, 8, 8 }))
  check_plan(g, "residual")
  check.truthy(g.arena_bytes < g.activation_bytes, "no reuse at all: arena %d", g.arena_bytes)
end)

check.case("arena_reuses_the_bytes_of_a_chain", function()
  local g = graph.new()
  local x = g:input({ 1, 4, 32, 32 })
  for i = 1, 6 do x = g:add("relu", "r" .. i, { x }, { 1, 4, 32, 32 }) end
  g:set_output(x)
  check_plan(g, "chain")
  -- two buffers suffice for a chain: each layer reads one and writes the other
  check.eq(g.arena_bytes, 2 * 4 * 32 * 32 * 4, "chain arena")
end)

check.case("arena_never_overlaps_live_values_of_random_graphs", function()
  local seed = 12345
  local function rand(n) -- deterministic LCG: the same graphs on every run
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed % n + 1
  end
  for trial = 1, 300 do
    local g = graph.new()
    local vals = { g:input({ 1, rand(16), rand(9), rand(9) }) }
    for i = 1, rand(30) do
      local inputs = { vals[rand(#vals)] }
      if rand(3) == 1 then inputs[2] = vals[rand(#vals)] end
      vals[#vals + 1] = g:add("relu", "n" .. i, inputs, { rand(2), rand(48), rand(11), rand(11) })
    end
    g:set_output(vals[#vals])
    check_plan(g, "random graph " .. trial)
  end
end)

-- ---------------------------------------------------------------- folding

-- Runs a folded graph on the reference kernels with each node's own tensors
-- (the unfolded graph runs through reference.run on the checkpoint keys).
local function run_folded(g, x)
  local vals = { [g.input_id] = x }
  for _, node in ipairs(g.nodes) do
    local t, a = node.tensors, node.attrs
    local y
    if node.op == "conv" then
      local w = t.weight
      local s = w:shape()
      if #s == 2 then w = w:clone({ s[1], s[2], 1, 1 }) end
      y = R.conv2d(vals[node.inputs[1]], w, t.bias, a.stride, a.pad, a.groups)
    elseif node.op == "linear" then
      y = R.linear(vals[node.inputs[1]], t.weight, t.bias)
    elseif node.op == "add" then
      y = R.add(vals[node.inputs[1]], vals[node.inputs[2]])
    else
      error("run_folded: no kernel for " .. node.op)
    end
    vals[node.output] = y
  end
  return vals[g.output_id]
end

local function ops(g)
  local out = {}
  for i, node in ipairs(g.nodes) do out[i] = node.op end
  return out
end

-- Binds seeded random weights (non-trivial BN statistics and scales) and
-- returns the reference output of the unfolded graph.
local function bind_and_reference(g, x)
  local store = weights.bind(g, { random_seed = 7 }, { strict = true, num_classes = 0 })
  local want = reference.run(g, store, x)
  return bind_tensors(g, store), want
end

local function close(got, want, what)
  local err, mag = T.max_abs_diff(got, want)
  check.truthy(err <= 1e-5 * math.max(mag, 1), "%s: max|diff| %g, max|reference| %g", what, err, mag)
end

check.case("fold_batchnorm_matches_conv_then_batchnorm", function()
  for _, a in ipairs({
    { out = 6, k = 3, stride = 2 },                      -- no bias: BN supplies it
    { out = 6, k = 3, groups = 3, bias = true },         -- grouped, with a conv bias
    { out = 4, k = 1, pad = 0 },
  }) do
    local g = graph.new()
    local x = g:input({ 2, 3, 9, 7 })
    g:set_output(g:batchnorm(g:conv(x, "conv", a), "bn", 1e-3))
    local input = T.normal({ 2, 3, 9, 7 }, 3, 0, 1)
    local want
    g, want = bind_and_reference(g, input)
    g = fold_batchnorm(g)
    check.eq(ops(g), { "conv" }, "nodes after folding")
    check.eq(g.nodes[1].absorbed, { "bn" }, "absorbed")
    close(run_folded(g, input), want, string.format("conv k%d groups %d", a.k, a.groups or 1))
  end
end)

check.case("fold_batchnorm_leaves_a_conv_whose_output_is_read_twice", function()
  local g = graph.new()
  local x = g:input({ 1, 4, 5, 5 })
  local c = g:conv(x, "conv", { out = 4, k = 3 })
  g:set_output(g:add_residual(g:batchnorm(c, "bn"), c, "sum"))
  g = bind_and_reference(g, T.normal({ 1, 4, 5, 5 }, 3, 0, 1))
  check.eq(ops(fold_batchnorm(g)), { "conv", "batchnorm", "add" }, "nodes")
end)

check.case("fold_layer_scale_matches_linear_or_pointwise_conv_then_scale", function()
  for _, kind in ipairs({ "linear", "pointwise" }) do
    local g = graph.new()
    local shape = kind == "linear" and { 3, 10 } or { 2, 10, 4, 3 }
    local x = g:input(shape)
    local y
    if kind == "linear" then
      y = g:linear(x, "fc", 6)
    else
      y = g:conv(x, "fc", { out = 6, k = 1, pad = 0, bias = true, linear = true })
    end
    g:set_output(g:scale(y, "gamma", "gamma"))
    local input = T.normal(shape, 5, 0, 1)
    local want
    g, want = bind_and_reference(g, input)
    g = fold_layer_scale(g)
    check.eq(ops(g), { kind == "linear" and "linear" or "conv" }, kind .. " nodes after folding")
    close(run_folded(g, input), want, kind)
  end
end)

check.run()
