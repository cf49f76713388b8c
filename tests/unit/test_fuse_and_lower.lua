-- fuse_epilogues and lower_kernels alone, on small hand-built graphs (run by
-- lua_unit from the repository root): what a producer absorbs and in which
-- order, and which kernel kind and strategy runs each node, fp32 and int8.
local check = require("lua_check")
local graph = require("graph")
local weights = require("weights")
local targets = require("targets")
local precision = require("precision")
local bind_tensors = require("passes.bind_tensors")
local fuse_epilogues = require("passes.fuse_epilogues")
local lower_kernels = require("passes.lower_kernels")

local function ctx(target, o)
  o = o or {}
  local p = precision.options(o)
  return { target = targets.resolve(target, p.precision), winograd = true, precision = p }
end

-- A graph from build(g, x) on an input of `shape`, with seeded weights bound.
local function built(shape, build)
  local g = graph.new({ variant = "test" })
  local x = g:input(shape)
  g:set_output(build(g, x))
  local store = weights.bind(g, { random_seed = 3 }, { strict = true, num_classes = 0, quiet = true })
  return bind_tensors(g, store)
end

local function ops(g)
  local out = {}
  for i, node in ipairs(g.nodes) do out[i] = node.op end
  return out
end

-- ---------------------------------------------------------------- fusion

check.case("conv_absorbs_its_shortcut_add_then_the_relu_in_that_order", function()
  local g = built({ 1, 16, 8, 8 }, function(g, x)
    return g:relu(g:add_residual(g:conv(x, "conv", { out = 16, k = 3, bias = true }), x, "add"), "act")
  end)
  g = fuse_epilogues(g, ctx("avx512"))
  check.eq(ops(g), { "conv" }, "one node left")
  local conv = g.nodes[1]
  check.eq(conv.attrs.residual, g.input_id, "the shortcut is the input")
  check.eq(conv.attrs.act, "relu", "then the ReLU")
  check.eq(conv.absorbed, { "residual add", "relu" }, "absorbed, in order")
  check.eq(conv.output, g.output_id, "the conv writes the graph's output")
end)

check.case("an_add_after_a_fused_relu_stays_its_own_node", function()
  -- conv -> relu -> add: the residual slot comes before the activation's
  local g = built({ 1, 16, 8, 8 }, function(g, x)
    return g:add_residual(g:relu(g:conv(x, "conv", { out = 16, k = 1, bias = true }), "act"), x, "add")
  end)
  g = fuse_epilogues(g, ctx("avx512"))
  check.eq(ops(g), { "conv", "add" }, "the add is not absorbed behind the ReLU")
  check.eq(g.nodes[1].attrs.act, "relu", "the ReLU is")
end)

check.case("a_value_read_twice_is_not_fused_into_its_producer", function()
  local g = built({ 1, 8, 6, 6 }, function(g, x)
    local y = g:conv(x, "conv", { out = 8, k = 1, bias = true })
    return g:add_residual(g:relu(y, "act"), y, "add")
  end)
  g = fuse_epilogues(g, ctx("avx512"))
  check.eq(g.nodes[1].attrs.act, nil, "the conv's output is also the add's shortcut: no ReLU in the conv")
end)

check.case("a_shortcut_computed_later_is_not_fused", function()
  local g = built({ 1, 8, 6, 6 }, function(g, x)
    local a = g:conv(x, "a", { out = 8, k = 1, bias = true })
    local b = g:conv(x, "b", { out = 8, k = 1, bias = true })
    return g:add_residual(a, b, "add")
  end)
  -- a's consumer is the add whose other input b is produced after a: only b may absorb it
  g = fuse_epilogues(g, ctx("avx512"))
  check.eq(ops(g), { "conv", "conv" }, "the add went into b")
  check.eq(g.nodes[1].attrs.residual, nil, "not into a")
  check.truthy(g.nodes[2].attrs.residual ~= nil, "b carries the shortcut")
end)

check.case("only_a_depthwise_conv_takes_the_layernorm_after_it", function()
  local g = built({ 1, 24, 9, 9 }, function(g, x)
    local y = g:layernorm(g:conv(x, "dw", { out = 24, k = 7, pad = 3, groups = 24, bias = true }), "norm", 1e-6)
    return g:layernorm(g:conv(y, "pw", { out = 24, k = 1, bias = true }), "norm2", 1e-6)
  end)
  g = fuse_epilogues(g, ctx("avx512"))
  check.eq(ops(g), { "conv", "conv", "layernorm" }, "dw took its norm, the pointwise conv did not")
  check.truthy(g.nodes[1].attrs.norm ~= nil, "the depthwise conv's norm slot")
end)

-- ---------------------------------------------------------------- lowering

local function lowered(target, shape, build, o)
  local c = ctx(target, o)
  local g = fuse_epilogues(built(shape, build), c)
  return lower_kernels(g, c)
end

local function kind(g, i) return g.nodes[i].kernel.kind .. " " .. (g.nodes[i].kernel.strategy or "") end

check.case("each_conv_shape_runs_its_kernel_kind", function()
  local cases = {
    { { 1, 64, 16, 16 }, { out = 64, k = 3, bias = true }, "^winograd" }, -- 3x3 s1, enough tiles
    { { 1, 64, 16, 16 }, { out = 64, k = 3, stride = 2, bias = true }, "^gemm indirect gemm" },
    { { 1, 64, 8, 8 }, { out = 96, k = 1, bias = true }, "^gemm gemm " },
    { { 1, 3, 32, 32 }, { out = 64, k = 7, stride = 2, bias = true }, "^gemm packed%-window gemm" },
    { { 1, 40, 9, 9 }, { out = 40, k = 7, pad = 3, groups = 40, bias = true }, "^dwconv" },
    { { 1, 32, 8, 8 }, { out = 32, k = 3, groups = 8, bias = true }, "^grouped" }, -- 4 channels a group
  }
  for _, c in ipairs(cases) do
    local g = lowered("avx512", c[1], function(g, x) return g:conv(x, "conv", c[2]) end)
    check.truthy(kind(g, 1):find(c[3]), "conv %s on %s: runs '%s', want %s", table.concat(c[1], "x"),
      tostring(c[2].k), kind(g, 1), c[3])
  end
end)

check.case("tiles_come_from_the_target", function()
  local g512 = lowered("avx512", { 1, 64, 8, 8 }, function(g, x) return g:conv(x, "c", { out = 64, k = 1 }) end)
  local g2 = lowered("avx2", { 1, 64, 8, 8 }, function(g, x) return g:conv(x, "c", { out = 64, k = 1 }) end)
  check.truthy(kind(g512, 1):find("6x64 tiles"), "avx512: %s", kind(g512, 1))
  check.truthy(kind(g2, 1):find("6x16 tiles"), "avx2: %s", kind(g2, 1))
  local head = lowered("avx512", { 1, 200, 1, 1 }, function(g, x)
    return g:linear(g:global_avgpool(x, "pool"), "fc", 1000)
  end)
  check.truthy(kind(head, 2):find("1x"), "a batch-1 head is a matrix-vector product: %s", kind(head, 2))
end)

check.case("int8_nodes_run_the_int8_kinds", function()
  local quantize = require("passes.quantize")
  local c = ctx("avx512vnni", { precision = "int8" })
  local g = built({ 1, 32, 8, 8 }, function(g, x)
    local y = g:relu(g:conv(x, "conv", { out = 32, k = 3, bias = true }), "act")
    y = g:conv(y, "grouped", { out = 32, k = 3, groups = 8, bias = true })
    y = g:conv(y, "dw", { out = 32, k = 3, groups = 32, bias = true })
    return g:global_avgpool(y, "pool")
  end)
  g = fuse_epilogues(g, c)
  g = quantize(g, nil, c.precision, true) -- a plan: structure, unit scales
  g = lower_kernels(g, c)
  local kinds = {}
  for i, node in ipairs(g.nodes) do kinds[i] = node.kernel.kind end
  check.eq(kinds, { "qgemm", "qgrouped", "qdwconv", "qglobal_avgpool" }, "int8 kinds")
end)

-- ---------------------------------------------------------------- norm apply

local fuse_norm_apply = require("passes.fuse_norm_apply")

local function fused(c, build)
  local g = built({ 1, 64, 16, 16 }, build)
  g = fuse_epilogues(g, c)
  return fuse_norm_apply(lower_kernels(g, c), c)
end

check.case("a_groupnorm_before_a_1x1_conv_hands_it_its_affine_and_relu", function()
  local g = fused(ctx("avx512"), function(g, x)
    local y = g:relu(g:groupnorm(x, "norm", 8, 1e-5), "norm.act")
    return g:conv(y, "conv", { out = 32, k = 1 })
  end)
  local norm, conv = g.nodes[1], g.nodes[2]
  check.eq(g.values[norm.output].shape, { 1, 128 }, "the norm writes scale and shift [N, 2C]")
  check.eq(norm.kernel.vars.AFFINE, 1, "its kernel writes the table only")
  check.eq(conv.inputs, { g.input_id, norm.output }, "the conv reads the norm's input and the table")
  check.eq(conv.kernel.vars.AFFINE_RELU, 1, "and applies the ReLU too")
  check.eq(conv.kernel.vars.POINTWISE, 0, "its rows go through the buffer")
end)

check.case("a_grn_before_a_linear_and_a_groupnorm_before_a_winograd_3x3_are_applied_there", function()
  local g = fused(ctx("avx512"), function(g, x)
    local y = g:conv(g:grn(x, "grn", 1e-6), "fc", { out = 64, k = 1, linear = true, bias = true })
    return g:conv(g:groupnorm(y, "gn", 8, 1e-5), "conv3", { out = 64, k = 3 })
  end)
  check.eq(g.nodes[2].kernel.kind, "gemm", "fc")
  check.eq(g.nodes[2].kernel.vars.AFFINE, 1, "fc applies the GRN")
  check.eq(g.nodes[2].kernel.vars.AFFINE_RELU, 0, "without a ReLU")
  check.eq(g.nodes[4].kernel.kind, "winograd", "conv3")
  check.eq(g.nodes[4].kernel.vars.AFFINE, 1, "the Winograd 3x3 applies the GroupNorm")
end)

check.case("a_norm_stays_whole_before_two_readers_a_strided_conv_or_in_int8", function()
  local two = fused(ctx("avx512"), function(g, x)
    local y = g:groupnorm(x, "norm", 8, 1e-5)
    return g:add_residual(g:conv(y, "a", { out = 64, k = 1 }), g:conv(y, "b", { out = 64, k = 1 }), "add")
  end)
  check.eq(two.nodes[1].kernel.vars.AFFINE, 0, "read by two convs")
  local strided = fused(ctx("avx512"), function(g, x)
    return g:conv(g:groupnorm(x, "norm", 8, 1e-5), "conv", { out = 64, k = 3, stride = 2 })
  end)
  check.eq(strided.nodes[1].kernel.vars.AFFINE, 0, "before an indirect GEMM")
  local c = ctx("avx512vnni", { precision = "int8" })
  local g = built({ 1, 64, 16, 16 }, function(g, x)
    return g:conv(g:groupnorm(x, "norm", 8, 1e-5), "conv", { out = 32, k = 1 })
  end)
  g = require("passes.quantize")(fuse_epilogues(g, c), nil, c.precision, true)
  g = fuse_norm_apply(lower_kernels(g, c), c)
  check.eq(g.nodes[1].attrs.applied_by, nil, "int8 keeps its own norm kernels")
end)

check.run()
