-- Gives every node its tensors (node.tensors[role]) from the weight store,
-- standardizing BiT StdConv2d weights once here so the blob holds them ready.
local T = require("lg.tensor")

return function(g, store)
  for _, node in ipairs(g.nodes) do
    node.tensors = {}
    for role, key in pairs(node.params) do node.tensors[role] = store[key] end
    if node.op == "conv" and node.attrs.std_eps then
      -- (a plan without weights only drops the mark)
      if node.tensors.weight then node.tensors.weight = T.standardize(node.tensors.weight, node.attrs.std_eps) end
      node.attrs.std_eps = nil
    end
  end
  return g
end
