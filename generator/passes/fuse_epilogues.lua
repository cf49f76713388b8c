-- Fuses element-wise work into the producer's output pass so each activation
-- is written once: a residual add, a ReLU/GELU, a LayerNorm after a depthwise
-- conv. What a node may absorb is its kernel's to say (kernels.accepts): the
-- descriptor that will run it lists the epilogue slots it implements, in order.
local kernels = require("kernels")
local rewrite = require("rewrite")

-- What absorbing `next_` into `node` puts in the slot.
local ATTACH = {
  residual = function(g, node, next_)
    local other = next_.inputs[1] == node.output and next_.inputs[2] or next_.inputs[1]
    local other_producer = g.values[other].producer
    -- the shortcut must already exist when this node runs
    if other_producer and rewrite.index_of(g, other_producer) > rewrite.index_of(g, node) then return false end
    node.attrs.residual = other
    node.inputs[#node.inputs + 1] = other
    return true
  end,
  act = function(_, node, next_)
    node.attrs.act = next_.op
    return true
  end,
  norm = function(_, node, next_)
    node.attrs.norm = { eps = next_.attrs.eps }
    node.tensors.norm_weight, node.tensors.norm_bias = next_.tensors.weight, next_.tensors.bias
    return true
  end,
}

-- Absorbs node's sole consumer if its kernel takes it; true when it did.
local function fuse_next(g, node, ctx)
  local next_ = rewrite.sole_consumer(g, node.output)
  if not next_ then return false end
  local slot = kernels.accepts(g, node, next_.op, ctx)
  if not (slot and ATTACH[slot](g, node, next_)) then return false end
  rewrite.absorb(g, node, next_)
  return true
end

-- Nodes are in topological order, so a consumer always sits after its
-- producer: one pass, each node absorbing as far as it can (conv -> add -> relu).
return function(g, ctx)
  for _, node in ipairs(g.nodes) do
    while fuse_next(g, node, ctx) do end
  end
  return g
end
