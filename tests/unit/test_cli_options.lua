-- The usage text (`lucidgen --help`, also the man page) is the one list of
-- options: every option the parser takes is documented there, and every
-- option it documents is parsed.
local check = require("lua_check")
local cli = require("cli")

local function documented()
  local set = {}
  for opt in (" " .. cli.USAGE):gmatch("[%s%[(,|](%-%-?%a[%w-]*)") do set[opt] = true end
  return set
end

check.case("every_parsed_option_is_in_the_usage_text", function()
  local doc, missing = documented(), {}
  for _, list in ipairs({ cli.VALUED, cli.FLAGS }) do
    for opt in pairs(list) do
      if not doc[opt] then missing[#missing + 1] = opt end
    end
  end
  if not doc["--random-init"] then missing[#missing + 1] = "--random-init" end
  table.sort(missing)
  check.eq(missing, {}, "options parsed but not in lucidgen --help")
end)

check.case("every_option_in_the_usage_text_is_parsed", function()
  local unknown = {}
  for opt in pairs(documented()) do
    if opt:sub(1, 1) == "-" and not cli.VALUED[opt] and not cli.FLAGS[opt] and opt ~= "--random-init" then
      unknown[#unknown + 1] = opt
    end
  end
  table.sort(unknown)
  check.eq(unknown, {}, "options in lucidgen --help that the parser refuses")
end)

check.run()
