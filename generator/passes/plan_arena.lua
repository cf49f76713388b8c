-- Plans one static arena for all activations by liveness: a value lives from
-- the node that writes it to the last node that reads it; values whose lives
-- overlap never share bytes. Greedy first-fit, largest values first — the
-- classic offline planner (TFLite's and TVM's do the same idea).
-- Sets g.values[id].offset and returns arena bytes and the no-reuse total.
local graph = require("graph")
local blob = require("blob")

local function align(x) return (x + blob.ALIGN - 1) // blob.ALIGN * blob.ALIGN end

return function(g)
  local first, last = {}, {}
  -- step 0 is the input transpose that writes the NHWC input
  first[g.input_id] = 0
  for i, node in ipairs(g.nodes) do
    first[node.output] = first[node.output] or i
    last[node.output] = math.max(last[node.output] or i, i)
    for _, id in ipairs(node.inputs) do last[id] = math.max(last[id] or i, i) end
    -- a kernel's scratch (Winograd tiles, norm partial sums) lives during its node only
    local scratch = node.kernel and node.kernel.scratch_bytes or 0
    if scratch > 0 then
      node.scratch = g:value({ scratch // 4 })
      first[node.scratch], last[node.scratch] = i, i
    end
  end
  last[g.output_id] = #g.nodes + 1 -- read by the final copy to `out`

  local ids = {}
  for id in pairs(first) do ids[#ids + 1] = id end
  local total = 0
  for _, id in ipairs(ids) do
    g.values[id].bytes = graph.numel(g.values[id].shape) * 4
    total = total + align(g.values[id].bytes)
  end
  table.sort(ids, function(a, b)
    local sa, sb = g.values[a].bytes, g.values[b].bytes
    if sa ~= sb then return sa > sb end
    return a < b
  end)

  local placed, arena = {}, 0
  for _, id in ipairs(ids) do
    local v = g.values[id]
    local conflicts = {}
    for _, other in ipairs(placed) do
      if first[other] <= last[id] and first[id] <= last[other] then
        conflicts[#conflicts + 1] = g.values[other]
      end
    end
    -- a total order: Lua's table.sort picks random pivots on large arrays, and
    -- the generated code must not depend on them
    table.sort(conflicts, function(a, b)
      if a.offset ~= b.offset then return a.offset < b.offset end
      return a.id < b.id
    end)
    local offset = 0
    for _, c in ipairs(conflicts) do
      if offset + v.bytes <= c.offset then break end
      offset = math.max(offset, align(c.offset + c.bytes))
    end
    v.offset = offset
    v.live = { first[id], last[id] }
    placed[#placed + 1] = id
    arena = math.max(arena, align(offset + v.bytes))
  end
  g.arena_bytes, g.activation_bytes = arena, total
  return g
end
