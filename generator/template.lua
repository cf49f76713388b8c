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

-- The generated C is clang-format clean (.clang-format): a parameter or argument
-- list that does not fit in COLUMNS breaks after its "(" with one item a line,
-- 4 columns further in. Lengths depend on the values filled in, so templates
-- write every long list in that broken shape and rendering joins a list into
-- one line when it fits, as clang-format would.
template.COLUMNS = 120

-- head: the line up to and including "("; items: the list; tail: what closes it
-- (") {", ");"). A braced initializer ("= {") is laid out the same way.
function template.list(head, items, tail)
  local line = head .. table.concat(items, ", ") .. tail
  if #line <= template.COLUMNS then return line end
  local indent = head:match("^ *") .. "    "
  return head .. "\n" .. indent .. table.concat(items, ",\n" .. indent) .. tail
end

-- A top-level declaration "type name[size];" laid out as clang-format does: one
-- line when it fits, else the declarator on the next line 4 columns in, else
-- also the array size ("[size];") on a line of its own.
function template.declaration(type, name, size)
  local line = type .. " " .. name .. size
  if #line <= template.COLUMNS then return line end
  if 4 + #name + #size <= template.COLUMNS then return type .. "\n    " .. name .. size end
  return type .. " " .. name .. "\n    " .. size
end

-- Every list a rendered template writes broken (a line ending in "(" or "= {",
-- then its items one a line 4 columns further in, the last closing it) is laid
-- out by template.list; a list with a line comment stays broken, as clang-format
-- keeps it.
local function join_fitting_lists(text)
  local lines, out = {}, {}
  for line in text:gmatch("([^\n]*)\n") do lines[#lines + 1] = line end
  local rest = text:match("[^\n]*$")
  local i = 1
  while i <= #lines do
    local line = lines[i]
    local indent = line:match("^( *)[^ /*#].*%($") or line:match("^( *)[^ /*#].* = {$")
    local items, j = {}, i + 1
    if indent then
      local inner = indent .. "    "
      while lines[j] and lines[j]:sub(1, #inner) == inner and lines[j]:sub(#inner + 1, #inner + 1) ~= " " do
        items[#items + 1] = lines[j]:sub(#inner + 1)
        j = j + 1
        if not items[#items]:find(",$") then break end
      end
    end
    local last = items[#items]
    local tail_at = last and last:find(line:find("{$") and "}[^{}]*$" or "%)[^()]*$")
    if tail_at and not last:find(",$") and not table.concat(items):find("//", 1, true) then
      for k = 1, #items - 1 do items[k] = items[k]:sub(1, -2) end
      items[#items] = last:sub(1, tail_at - 1)
      out[#out + 1] = template.list(line, items, last:sub(tail_at))
      i = j
    else
      out[#out + 1] = line
      i = i + 1
    end
  end
  out[#out + 1] = rest
  return table.concat(out, "\n")
end

-- The template language on a text (`where` names it in errors) -> C text.
function template.render_text(text, vars, where)
  return join_fitting_lists(render_text(text, vars, where))
end

-- template.render("gemm.c.in", {MR = 8, ...}) -> C text
function template.render(name, vars) return template.render_text(template.load(name), vars, name) end

return template
