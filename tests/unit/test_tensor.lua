-- lg.tensor's memory (run by lua_unit from the repo root): a tensor's floats
-- live in its userdata, so the collector sees their size and frees them
-- without a forced collectgarbage() from the generator.
local check = require("lua_check")
local T = require("lg.tensor")

check.case("tensor_storage_is_counted_by_the_collector", function()
  collectgarbage()
  local before = collectgarbage("count")
  local t = T.zeros({ 1024, 1024 })
  local grown = collectgarbage("count") - before
  check.truthy(grown >= 3900, "a 4 MiB tensor grew the Lua heap by %.0f KiB", grown)
  t = nil
  collectgarbage()
  check.truthy(collectgarbage("count") - before < 64, "heap after the tensor is gone: +%.0f KiB",
    collectgarbage("count") - before)
end)

check.run()
