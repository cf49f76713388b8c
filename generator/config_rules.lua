-- The vocabulary of config validation, shared by the registry (fields every
-- variant has) and the family modules (each owns its architecture fields).
-- Every rule returns nil or one message naming the field and what it must be.
local rules = {}

-- Markers in a family's `fields` table (user configs): the user must set it,
-- the family derives it, or it may stay nil.
rules.REQUIRED, rules.DERIVED, rules.OPTIONAL = {}, {}, {}

function rules.describe(v)
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) == "table" then return "a table" end
  return tostring(v)
end

function rules.as_integer(v)
  return type(v) == "number" and math.tointeger(v) or nil
end

function rules.sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

local describe, as_integer = rules.describe, rules.as_integer

-- Sizes past lucidgen's limits (limits.lua) are refused before any graph is built.
function rules.over_limit(field, x, max, where)
  return string.format("config field '%s' may be at most %d, lucidgen's limit (got %d%s)", field, max, x, where or "")
end

-- max (optional): the largest value lucidgen accepts, from limits.lua
function rules.four_positive_integers(field, v, max)
  local want = string.format("config field '%s' must hold exactly four positive integers", field)
  if type(v) ~= "table" then return string.format("%s (got %s)", want, describe(v)) end
  local n = 0
  for _ in pairs(v) do n = n + 1 end
  if n ~= 4 or #v ~= 4 then
    return string.format("%s (got %d value%s)", want, n, n == 1 and "" or "s")
  end
  for i = 1, 4 do
    local x = as_integer(v[i])
    if not x or x <= 0 then return string.format("%s (got %s at position %d)", want, describe(v[i]), i) end
    if max and x > max then return rules.over_limit(field, x, max, " at position " .. i) end
  end
end

function rules.positive_integer(field, v, max)
  local x = as_integer(v)
  if not x or x <= 0 then
    return string.format("config field '%s' must be a positive integer (got %s)", field, describe(v))
  end
  if max and x > max then return rules.over_limit(field, x, max) end
end

function rules.positive_number(field, v)
  if type(v) ~= "number" or not (v > 0 and v < math.huge) then
    return string.format("config field '%s' must be a positive number (got %s)", field, describe(v))
  end
end

function rules.boolean(field, v)
  if type(v) ~= "boolean" then
    return string.format("config field '%s' must be true or false (got %s)", field, describe(v))
  end
end

function rules.one_of(field, v, allowed)
  if allowed[v] then return nil end
  local names = {}
  for _, k in ipairs(rules.sorted_keys(allowed)) do names[#names + 1] = describe(k) end
  local choice = #names == 2 and (names[1] .. " or " .. names[2]) or ("one of " .. table.concat(names, ", "))
  return string.format("config field '%s' must be %s (got %s)", field, choice, describe(v))
end

-- {3.0, 4.0, 6.0, 3.0} (say, from JSON) becomes integers, so the emitted C
-- has no "3.0"; fields that are not integral are left for the rules to refuse.
function rules.make_integers(cfg, fields)
  for _, k in ipairs(fields) do
    local v = cfg[k]
    if type(v) == "table" then
      for i, x in ipairs(v) do v[i] = as_integer(x) or x end
    elseif v ~= nil then
      cfg[k] = as_integer(v) or v
    end
  end
end

-- The first problem among the rule results, passed as arguments (not a
-- table: a nil would end ipairs).
function rules.first_problem(...)
  local checks = table.pack(...)
  for i = 1, checks.n do
    if checks[i] then return checks[i] end
  end
end

return rules
