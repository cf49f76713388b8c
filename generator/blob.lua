-- Plans the weight blob's payload: every tensor a kernel reads, in layer
-- order, each on a 64-byte boundary, then the golden self-test input and
-- output (left out when golden_in is nil: --no-golden). Offsets become
-- literals in the generated code.
--
-- A blob item is {bytes=, tensor=} or {bytes=, make=function() return tensor
-- end}: planning never packs a weight, and host.write_blob streams the items
-- in this order, calling `make` only when an item is written, so the packed
-- copies never all live at once.
local blob = {}

blob.ALIGN = 64

-- x rounded up to the next ALIGN boundary (the arena planner places values on it too)
function blob.align(x) return (x + blob.ALIGN - 1) // blob.ALIGN * blob.ALIGN end
local align = blob.align

local function item_bytes(it)
  return it.bytes or it.tensor:numel() * 4
end

function blob.plan(g, golden_in, golden_out)
  local items, at = {}, 0
  local function place(item)
    at = align(at)
    item.offset = at
    items[#items + 1] = item
    at = at + item.bytes
    return item.offset
  end
  local weight_bytes = 0
  for _, node in ipairs(g.nodes) do
    for _, it in ipairs(node.blob) do
      place(it)
      weight_bytes = weight_bytes + it.bytes
    end
  end
  local plan = { items = items, weight_bytes = weight_bytes }
  if golden_in then
    plan.golden_in = place({ bytes = golden_in:numel() * 4, tensor = golden_in })
    plan.golden_out = place({ bytes = golden_out:numel() * 4, tensor = golden_out })
  end
  plan.payload_bytes = align(at)
  return plan
end

return blob
