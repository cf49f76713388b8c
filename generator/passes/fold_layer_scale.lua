-- linear/conv -> per-channel scale (ConvNeXt `gamma`) becomes one layer with
-- rows scaled: (W x + b) * s = (s W) x + s b.
local T = require("lg.tensor")
local rewrite = require("rewrite")

return function(g)
  for _, node in ipairs({ table.unpack(g.nodes) }) do
    if node.op == "scale" then
      local prev = g.values[node.inputs[1]].producer
      if prev and (prev.op == "linear" or prev.op == "conv") and rewrite.sole_consumer(g, prev.output) == node then
        if prev.tensors.weight then -- (a plan without weights folds the structure only)
          prev.tensors.weight, prev.tensors.bias = T.scale_out_channels(prev.tensors.weight, prev.tensors.bias,
            node.tensors.scale)
        end
        rewrite.absorb(g, prev, node)
      end
    end
  end
  return g
end
