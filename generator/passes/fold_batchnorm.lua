-- conv -> batchnorm (eval) becomes one conv with bias:
--   w' = w * gamma / sqrt(var + eps),  b' = (b - mean) * gamma / sqrt(var + eps) + beta
local T = require("lg.tensor")
local rewrite = require("rewrite")

return function(g)
  for _, node in ipairs({ table.unpack(g.nodes) }) do
    if node.op == "batchnorm" then
      local conv = g.values[node.inputs[1]].producer
      if conv and conv.op == "conv" and rewrite.sole_consumer(g, conv.output) == node then
        local t = node.tensors
        if conv.tensors.weight then -- (a plan without weights folds the structure only)
          conv.tensors.weight, conv.tensors.bias = T.fold_batchnorm(conv.tensors.weight, conv.tensors.bias,
            t.weight, t.bias, t.running_mean, t.running_var, node.attrs.eps)
        end
        rewrite.absorb(g, conv, node)
      end
    end
  end
  return g
end
