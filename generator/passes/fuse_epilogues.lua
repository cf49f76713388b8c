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

return function(g)
  local changed = true
  while changed do
    changed = false
    for _, node in ipairs(g.nodes) do
      local next_ = rewrite.sole_consumer(g, node.output)
      if next_ then
        local a = node.attrs
        if next_.op == "add" and GEMM[node.op] and not a.residual and not a.act and not a.norm then
          local other = next_.inputs[1] == node.output and next_.inputs[2] or next_.inputs[1]
          local other_producer = g.values[other].producer
          -- the shortcut must already exist when this node runs
          if not other_producer or rewrite.index_of(g, other_producer) < rewrite.index_of(g, node) then
            a.residual = other
            node.inputs[#node.inputs + 1] = other
            rewrite.absorb(g, node, next_)
            changed = true
            break
          end
        elseif ACTS[next_.op] and not a.act and (GEMM[node.op] or node.op == "groupnorm") then
          a.act = next_.op
          rewrite.absorb(g, node, next_)
          changed = true
          break
        elseif next_.op == "layernorm" and is_depthwise(g, node) and not a.norm and not a.act then
          a.norm = { eps = next_.attrs.eps }
          node.tensors.norm_weight, node.tensors.norm_bias = next_.tensors.weight, next_.tensors.bias
          rewrite.absorb(g, node, next_)
          changed = true
          break
        end
      end
    end
  end
  return g
end
