-- A deliberately small template language for the C in templates/:
--   {{NAME}}                 the value of NAME (error if NAME is unset: typos fail loudly)
--   {{#NAME}} ... {{/NAME}}  the block when NAME is truthy
--   {{^NAME}} ... {{/NAME}}  the block when NAME is falsy
-- Sections of different names nest, of the same name do not; values are strings or numbers.
local errors = require("errors")
local host = require("lg.host")

local template = {}
local cache = {}

function template.load(name)
  if not cache[name] then
    local text = host.embedded("templates/" .. name)
    if not text then errors.internal("missing template templates/%s", name) end
    cache[name] = text
  end
  return cache[name]
end

-- A float as a C literal that stays a float literal: 1.0 -> "1.0" (not "1",
-- which would make "{{X}}f" read "1f").
function template.c_float(x)
  local s = string.format("%.9g", x)
  if not s:find("[.eni]") then s = s .. ".0" end
  return s
end

local function render_text(text, vars, where)
  -- sections of different names may nest: resolve the outermost, then what it kept
  local n
  repeat
    text, n = text:gsub("{{([#^])([%w_]+)}}(.-){{/%2}}", function(kind, key, body)
      local on = vars[key] and vars[key] ~= 0
      if kind == "^" then on = not on end
      return on and body or ""
    end)
  until n == 0
  return (text:gsub("{{([%w_]+)}}", function(key)
    local v = vars[key]
    if v == nil then errors.internal("template %s: no value for {{%s}}", where, key) end
    if type(v) == "number" and math.type(v) == "float" then return template.c_float(v) end
    return tostring(v)
  end))
end

-- template.render("conv_igemm.c.in", {MR = 8, ...}) -> C text
function template.render(name, vars)
  return render_text(template.load(name), vars, name)
end

template.render_text = render_text
return template
