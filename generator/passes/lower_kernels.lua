-- Lowers every node to its kernel: the descriptor kernels.select picks sets
--   node.kernel = { template, vars (literal shape constants), fn, strategy, needs, scratch_bytes }
--   node.blob   = { {role, bytes, make} ... }   -- tensors in the order the kernel takes them,
--                                               -- packed only when the blob is written
local kernels = require("kernels")

return function(g, ctx)
  for _, node in ipairs(g.nodes) do
    local d = kernels.select(g, node, ctx)
    d.lower(g, node, ctx)
    node.kernel.kind = d.name
  end
  return g
end
