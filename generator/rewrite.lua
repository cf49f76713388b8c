-- Shared mechanics of the folding and fusion passes: find the single
-- consumer of a value and splice a node out of the graph.
local rewrite = {}

-- The node consuming `id`, if exactly one does and `id` is not the graph output.
function rewrite.sole_consumer(g, id)
  if id == g.output_id then return nil end
  local found
  for _, node in ipairs(g.nodes) do
    for _, input in ipairs(node.inputs) do
      if input == id then
        if found and found ~= node then return nil end
        found = node
      end
    end
  end
  return found
end

-- `producer` absorbs `node` (its sole consumer): producer now writes node's
-- output value, and node disappears. That value keeps node's label in the
-- debug dump (forward_debug, --debug-dump): it is what the last absorbed
-- module outputs (conv_dw + norm is labelled `norm`), unless the family named
-- the value itself (a block's output carries the block's name).
function rewrite.absorb(g, producer, node)
  local dead = producer.output
  local out = g.values[node.output]
  producer.output = node.output
  out.producer = producer
  out.dump_name = out.dump_name or node.name or g.values[dead].dump_name
  g.values[dead] = nil
  for i, n in ipairs(g.nodes) do
    if n == node then
      table.remove(g.nodes, i)
      break
    end
  end
  -- modules with weights are named (bn1, gamma); weightless ops by what they do
  producer.absorbed = producer.absorbed or {}
  table.insert(producer.absorbed, next(node.params) and node.name or (node.op == "add" and "residual add" or node.op))
end

function rewrite.index_of(g, node)
  for i, n in ipairs(g.nodes) do
    if n == node then return i end
  end
end

return rewrite
