-- Moves a norm's per-channel apply into the layer after it. GroupNorm (BiT) and
-- GRN (ConvNeXt-V2) each make two passes over their input: statistics, then
-- y = x * scale + shift (+ReLU) per channel, written out for the next layer to
-- read back. Where that next layer's kernel can take it (kernels.takes_norm:
-- a 1x1 GEMM puts each tile's rows through it, a Winograd 3x3 each patch it
-- loads), the norm writes only its scale and shift per image: the normalized
-- activation is never written (these apply passes took ~8% of BiT's and
-- convnextv2_atto's time, and scaled worst of all layers at 2 threads).
--
-- The same multiply-add: the consumer sees the very floats the norm would have
-- written. The pass changes which values exist, not what any layer computes,
-- so it runs after lowering (a kernel's plan says whether it takes the norm)
-- and after the passes that interpret the graph (reduced.measure, qreplay),
-- and lowers the two nodes again:
--   norm:  x -> table [N, 2*C] (per image: scale[C], shift[C]), attrs.applied_by
--   next:  {y, ...} -> {x, table, ...}, attrs.norm_apply = {name, relu}
local kernels = require("kernels")
local rewrite = require("rewrite")

local NORMS = { groupnorm = true, grn = true }

return function(g, ctx)
  for _, norm in ipairs(g.nodes) do
    local next_ = NORMS[norm.op] and not norm.quant and rewrite.sole_consumer(g, norm.output)
    if next_ and not next_.quant and next_.inputs[1] == norm.output and kernels.takes_norm(g, next_, ctx) then
      local x, y = norm.inputs[1], g.values[norm.output]
      local n, c = y.shape[1], y.shape[2]
      local t = g:value({ n, 2 * c })
      g.values[t].producer, g.values[t].table, g.values[t].dump_name = norm, true, y.dump_name
      g.values[norm.output] = nil
      norm.output = t
      norm.attrs.applied_by = next_.name
      next_.inputs[1] = x
      table.insert(next_.inputs, 2, t)
      next_.attrs.norm_apply = { name = norm.name, relu = norm.attrs.act == "relu" }
      kernels.lower(g, norm, ctx)
      kernels.lower(g, next_, ctx)
    end
  end
  return g
end
