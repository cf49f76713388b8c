-- Plans static memory for all activations by liveness: a value lives from the
-- node that writes it to the last node that reads it; values whose lives
-- overlap never share bytes. Greedy first-fit, largest values first — the
-- classic offline planner (TFLite's and TVM's do the same idea).
--
-- Pools (--arena-pools, like TVM's USMP): named regions tried in order, each
-- with a size or (the last only) without one; a value goes to the first pool
-- where it fits beside what already lives there. Without pools there is one
-- unbounded pool, the arena. With io_in_arena the caller's NCHW input gets a
-- place of its own too (the output always has one).
-- Sets g.values[id].offset and .pool (index into g.pools), g.pools[i].bytes,
-- g.arena_bytes (every pool back to back, 64-byte aligned) and the no-reuse total.
local errors = require("errors")
local graph = require("graph")
local blob = require("blob")

local align = blob.align

-- The lowest offset in `pool` where `v` fits beside the placed values it overlaps.
local function first_fit(g, v, pool, conflicts)
  local here = {}
  for _, c in ipairs(conflicts) do
    if c.pool == pool then here[#here + 1] = c end
  end
  -- a total order: Lua's table.sort picks random pivots on large arrays, and
  -- the generated code must not depend on them
  table.sort(here, function(a, b)
    if a.offset ~= b.offset then return a.offset < b.offset end
    return a.id < b.id
  end)
  local offset = 0
  for _, c in ipairs(here) do
    if offset + v.bytes <= c.offset then break end
    offset = math.max(offset, align(c.offset + c.bytes))
  end
  return offset
end

-- pools: nil or { {name=, size=bytes or nil}, ... }; io_in_arena: bool
return function(g, pools, io_in_arena)
  g.pools = {}
  for i, p in ipairs(pools or { { name = "arena" } }) do g.pools[i] = { name = p.name, size = p.size, bytes = 0 } end
  local first, last = {}, {}
  -- step 0 is the input transpose that writes the NHWC input (and reads the NCHW one)
  first[g.input_id] = 0
  if io_in_arena then
    g.input_nchw_id = g:value(g.values[g.input_id].shape)
    first[g.input_nchw_id], last[g.input_nchw_id] = 0, 0
  end
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
    -- uint8 (int8 models) with room for a dot product's last group to read past the end
    local v = g.values[id]
    v.bytes = v.q and graph.numel(v.shape) + 64 or graph.numel(v.shape) * 4
    total = total + align(v.bytes)
  end
  table.sort(ids, function(a, b)
    local sa, sb = g.values[a].bytes, g.values[b].bytes
    if sa ~= sb then return sa > sb end
    return a < b
  end)

  local placed = {}
  for _, id in ipairs(ids) do
    local v = g.values[id]
    local conflicts = {}
    for _, other in ipairs(placed) do
      if first[other] <= last[id] and first[id] <= last[other] then conflicts[#conflicts + 1] = g.values[other] end
    end
    for k, pool in ipairs(g.pools) do
      local offset = first_fit(g, v, k, conflicts)
      if not pool.size or offset + v.bytes <= pool.size then
        v.offset, v.pool = offset, k
        pool.bytes = math.max(pool.bytes, align(offset + v.bytes))
        break
      end
    end
    if not v.pool then
      errors.user("--arena-pools: an activation of %d bytes (live over layers %d-%d) fits no pool; enlarge one or end "
        .. "the list with a pool without a size (e.g. ,sdram)", v.bytes, first[id], last[id])
    end
    v.live = { first[id], last[id] }
    placed[#placed + 1] = id
  end
  -- NAME_forward's one arena holds the pools back to back
  local arena = 0
  for _, pool in ipairs(g.pools) do
    pool.base = arena
    arena = arena + align(pool.bytes)
  end
  g.arena_bytes, g.activation_bytes = arena, total
  return g
end
