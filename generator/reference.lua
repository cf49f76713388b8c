-- Executes the graph as built (before any pass) with the naive kernels of
-- lg.refops. Its output is the golden output stored in the blob, so the
-- generated code's self-test checks every pass and kernel against it.
local errors = require("errors")
local R = require("lg.refops")

local reference = {}

local run_op = {
  conv = function(node, x, w)
    local weight = w.weight
    local s = weight:shape()
    if #s == 2 then weight = weight:clone({ s[1], s[2], 1, 1 }) end -- per-pixel Linear
    if node.attrs.std_eps then weight = require("lg.tensor").standardize(weight, node.attrs.std_eps) end
    return R.conv2d(x, weight, w.bias, node.attrs.stride, node.attrs.pad, node.attrs.groups)
  end,
  batchnorm = function(node, x, w)
    return R.batchnorm(x, w.weight, w.bias, w.running_mean, w.running_var, node.attrs.eps)
  end,
  layernorm = function(node, x, w) return R.layernorm_channels(x, w.weight, w.bias, node.attrs.eps) end,
  groupnorm = function(node, x, w) return R.groupnorm(x, node.attrs.groups, w.weight, w.bias, node.attrs.eps) end,
  grn = function(node, x, w) return R.grn(x, w.weight, w.bias, node.attrs.eps) end,
  scale = function(_, x, w) return R.scale_channels(x, w.scale) end,
  relu = function(_, x) return R.relu(x) end,
  gelu = function(_, x) return R.gelu(x) end,
  maxpool = function(node, x)
    local a = node.attrs
    if a.pad_value then return R.maxpool(R.pad(x, a.pad, a.pad_value), a.k, a.stride, 0) end
    return R.maxpool(x, a.k, a.stride, a.pad)
  end,
  avgpool = function(node, x) return R.avgpool(x, node.attrs.k, node.attrs.stride, node.attrs.ceil_mode) end,
  global_avgpool = function(_, x) return R.global_avgpool(x) end,
  linear = function(_, x, w) return R.linear(x, w.weight, w.bias) end,
}

-- One node's op on the naive kernels: x its first input, w its tensors by
-- role, vals every live value (an add reads its second input there).
function reference.op(node, x, w, vals)
  if node.op == "add" then return R.add(x, vals[node.inputs[2]]) end
  local f = run_op[node.op] or errors.internal("reference: no kernel for op %s", node.op)
  return f(node, x, w)
end

-- Runs g's nodes in order from `input`: step(node, vals) returns the node's
-- output; each value is dropped after its last reader. Returns g's output.
function reference.walk(g, input, step)
  local vals, last_use = { [g.input_id] = input }, {}
  for i, node in ipairs(g.nodes) do
    for _, id in ipairs(node.inputs) do last_use[id] = i end
  end
  for i, node in ipairs(g.nodes) do
    vals[node.output] = step(node, vals)
    for _, id in ipairs(node.inputs) do
      if last_use[id] == i and id ~= g.output_id then vals[id] = nil end
    end
  end
  return vals[g.output_id]
end

-- store: checkpoint key -> tensor. Returns the output tensor.
function reference.run(g, store, input)
  return reference.walk(g, input, function(node, vals)
    local w = {}
    for role, key in pairs(node.params) do w[role] = store[key] end
    return reference.op(node, vals[node.inputs[1]], w, vals)
  end)
end

return reference
