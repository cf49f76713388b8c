-- Fuses element-wise work into the producer's output pass so each activation
-- is written once:
--   conv/linear -> add(residual)      : epilogue adds the shortcut
--   conv/linear/norm -> relu | gelu   : epilogue activation
--   depthwise conv -> layernorm       : normalizes each pixel as it is produced
local rewrite = require("passes.rewrite")

local ACTS = { relu = true, gelu = true }
local GEMM = { conv = true, linear = true }

local function is_depthwise(g, node)
  return node.op == "conv" and node.attrs.groups > 1 and node.attrs.groups == g.values[node.inputs[1]].shape[2]
      and node.attrs.groups == g.values[node.output].shape[2]
end

-- Absorbs node's sole consumer if it can fuse; true when it did.
local function fuse_next(g, node)
  local next_ = rewrite.sole_consumer(g, node.output)
  if not next_ then return false end
  local a = node.attrs
  if next_.op == "add" and GEMM[node.op] and not a.residual and not a.act and not a.norm then
    local other = next_.inputs[1] == node.output and next_.inputs[2] or next_.inputs[1]
    local other_producer = g.values[other].producer
    -- the shortcut must already exist when this node runs
    if other_producer and rewrite.index_of(g, other_producer) > rewrite.index_of(g, node) then return false end
    a.residual = other
    node.inputs[#node.inputs + 1] = other
  elseif ACTS[next_.op] and not a.act and (GEMM[node.op] or node.op == "groupnorm") then
    a.act = next_.op
  elseif next_.op == "layernorm" and is_depthwise(g, node) and not a.norm and not a.act then
    a.norm = { eps = next_.attrs.eps }
    node.tensors.norm_weight, node.tensors.norm_bias = next_.tensors.weight, next_.tensors.bias
  else
    return false
  end
  rewrite.absorb(g, node, next_)
  return true
end

-- Nodes are in topological order, so a consumer always sits after its
-- producer: one pass, each node absorbing as far as it can (conv -> add -> relu).
return function(g)
  for _, node in ipairs(g.nodes) do
    while fuse_next(g, node) do end
  end
  return g
end
