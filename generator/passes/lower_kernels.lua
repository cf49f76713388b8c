-- Lowers every node to its kernel: the descriptor kernels.select picks sets
--   node.kernel = { template, vars (literal shape constants), fn, strategy, needs, scratch_bytes }
--   node.blob   = { {role, bytes, make} ... }   -- tensors in the order the kernel takes them,
--                                               -- packed only when the blob is written
local kernels = require("kernels")

return function(g, ctx)
  for _, node in ipairs(g.nodes) do kernels.lower(g, node, ctx) end
  return g
end
