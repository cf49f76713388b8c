-- Plans the weight blob's payload: every tensor a kernel reads, in layer
-- order, each on a 64-byte boundary, then the golden self-test input and
-- output. Offsets become literals in the generated code.
local blob = {}

local ALIGN = 64

function blob.plan(g, golden_in, golden_out)
  local items, at = {}, 0
  local function place(tensor)
    at = (at + ALIGN - 1) // ALIGN * ALIGN
    local item = { offset = at, tensor = tensor }
    items[#items + 1] = item
    at = at + tensor:numel() * 4
    return item.offset
  end
  local weight_bytes = 0
  for _, node in ipairs(g.nodes) do
    for _, it in ipairs(node.blob) do
      it.offset = place(it.tensor)
      weight_bytes = weight_bytes + it.tensor:numel() * 4
    end
  end
  local plan = { items = items, weight_bytes = weight_bytes }
  plan.golden_in = place(golden_in)
  plan.golden_out = place(golden_out)
  plan.payload_bytes = (at + ALIGN - 1) // ALIGN * ALIGN
  return plan
end

return blob
