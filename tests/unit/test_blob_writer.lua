-- lg.blob_writer.write streams the planned items to disk (run by lua_unit from the
-- repo root): tensor items and lazily made ones land at their offsets with
-- zero padding between, the header carries the payload's sha256, a made
-- tensor is let go as soon as it is written, a big-endian target gets every
-- float byte-swapped and a mark saying so, and a failure leaves no file.
local check = require("lua_check")
local host = require("lg.host")
local T = require("lg.tensor")

local HEADER = 512

local dir = check.tmpdir(host.mkdir)
local read = check.read

local function blob(path, payload_bytes, items, byte_order)
  return require("lg.blob_writer").write({ path = path, variant = "unit_variant", target = "generic", generator = "test",
    byte_order = byte_order or "little", payload_bytes = payload_bytes, items = items })
end

check.case("writes_tensor_and_made_items_at_their_offsets_and_hashes_the_payload", function()
  local a, b = T.normal({ 5 }, 1, 0, 1), T.uniform({ 3, 7 }, 2, -1, 1)
  local made = 0
  local path = dir .. "/a.bin"
  local sha = blob(path, 256, {
    { offset = 0, bytes = 20, tensor = a },
    { offset = 64, bytes = 84, make = function() made = made + 1; return b end },
  })
  local file = read(path)
  check.eq(#file, HEADER + 256, "file size")
  check.eq(file:sub(1, 8), "LGBLOB01", "magic")
  local payload = file:sub(HEADER + 1)
  check.eq(sha, host.sha256(payload), "returned sha256")
  check.eq(file:sub(33, 96), sha, "header sha256")
  check.eq(file:sub(97, 108), "unit_variant", "header variant")
  check.eq(payload:sub(1, 20), a:bytes(), "tensor item bytes")
  check.eq(payload:sub(21, 64), string.rep("\0", 44), "padding after the first item")
  check.eq(payload:sub(65, 148), b:bytes(), "made item bytes")
  check.eq(payload:sub(149), string.rep("\0", 256 - 148), "tail padding")
  check.eq(made, 1, "make calls")
end)

check.case("writes_the_targets_byte_order_and_its_mark", function()
  -- 5000 floats: more than the writer's 4 KiB swap chunk, with a partial last chunk
  local a = T.normal({ 5000 }, 3, 0, 1)
  local little, big = dir .. "/le.bin", dir .. "/be.bin"
  blob(little, 20032, { { offset = 0, bytes = 20000, tensor = a } }, "little")
  local sha = blob(big, 20032, { { offset = 0, bytes = 20000, make = function() return a end } }, "big")
  local le, be = read(little), read(big)
  check.eq(le:sub(289, 292), "\4\3\2\1", "little-endian mark (runtime/lg_blob.h: offset 288)")
  check.eq(be:sub(289, 292), "\1\2\3\4", "big-endian mark")
  check.eq(le:sub(HEADER + 1, HEADER + 20000), a:bytes(), "little-endian payload (this host's order)")
  local swapped = le:sub(HEADER + 1, HEADER + 20000):gsub("(.)(.)(.)(.)", "%4%3%2%1")
  check.eq(be:sub(HEADER + 1, HEADER + 20000), swapped, "every big-endian float byte-swapped")
  check.eq(sha, host.sha256(be:sub(HEADER + 1)), "the hash covers the bytes written")
end)

check.case("lets_each_made_tensor_go_once_it_is_written", function()
  -- 40 items of 4 MiB each: all alive at once would be 160 MiB of Lua heap
  local items, n, per = {}, 40, 1024 * 1024
  local peak = 0
  for i = 1, n do
    items[i] = { offset = (i - 1) * per * 4, bytes = per * 4, make = function()
      peak = math.max(peak, collectgarbage("count"))
      return T.uniform({ per }, i, 0, 1)
    end }
  end
  collectgarbage()
  local base = collectgarbage("count")
  blob(dir .. "/big.bin", n * per * 4, items)
  local held = (peak - base) / 1024 -- MiB on the heap when an item was made
  check.truthy(held < 5 * 4, "%.1f MiB of made tensors alive at once (%d items of 4 MiB)", held, n)
end)

check.case("refuses_a_broken_plan_and_leaves_no_file", function()
  local t = T.zeros({ 4 })
  local cases = {
    { { offset = 8, bytes = 16, tensor = t } },                                          -- unaligned
    { { offset = 64, bytes = 16, tensor = t }, { offset = 0, bytes = 16, tensor = t } }, -- out of order
    { { offset = 0, bytes = 32, tensor = t } },                                          -- wrong size
    { { offset = 192, bytes = 16, tensor = t } },                                        -- past the payload
    { { offset = 0, bytes = 16 } },                                                      -- neither tensor nor make
  }
  for i, items in ipairs(cases) do
    local path = string.format("%s/bad%d.bin", dir, i)
    local e = check.raises(blob, path, 192, items)
    check.truthy(check.msg(e):find("blob item"), "case %d: message %q", i, check.msg(e))
    check.eq(read(path), nil, "case " .. i .. " left a file")
  end
end)

check.case("an_error_while_making_an_item_removes_the_file_and_propagates", function()
  local path = dir .. "/err.bin"
  local e = check.raises(blob, path, 128, {
    { offset = 0, bytes = 16, tensor = T.zeros({ 4 }) },
    { offset = 64, bytes = 16, make = function() error({ code = "user", msg = "packing failed" }, 0) end },
  })
  check.eq(check.msg(e), "packing failed", "error object")
  check.eq(read(path), nil, "file after a failed make")
end)

check.run(function() host.remove_tree(dir) end)
