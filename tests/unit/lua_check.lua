-- A few lines of test harness for the Lua unit tests run by lua_unit:
-- named cases, checks that print the numbers that differ, one OK / NOT OK
-- line per case and the exit status.
local check = {}

local cases = {}

function check.case(name, fn) cases[#cases + 1] = { name = name, fn = fn } end

local function show(v)
  if type(v) == "table" then
    local parts = {}
    for i = 1, #v do parts[i] = show(v[i]) end
    return "{" .. table.concat(parts, ", ") .. "}"
  end
  return type(v) == "string" and string.format("%q", v) or tostring(v)
end

function check.eq(got, want, what)
  if show(got) ~= show(want) then error(string.format("%s: got %s, want %s", what, show(got), show(want)), 2) end
end

function check.truthy(v, what, ...)
  if not v then error(string.format(what, ...), 2) end
end

-- Runs fn(...) and returns the error object it raises; fails if it returns.
function check.raises(fn, ...)
  local ok, e = pcall(fn, ...)
  if ok then error("expected an error, the call returned", 2) end
  return e
end

-- The message of an error object: errors.user/internal tables or strings.
function check.msg(e) return type(e) == "table" and tostring(e.msg) or tostring(e) end

-- A file's bytes, or nil where there is none.
function check.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- A new empty directory of the test's own (mkdir: the generator host's).
function check.tmpdir(mkdir)
  local dir = os.tmpname()
  os.remove(dir)
  mkdir(dir)
  return dir
end

-- Runs every case, then `cleanup` (if given), and exits 0 only if all passed.
function check.run(cleanup)
  local failed = 0
  for _, c in ipairs(cases) do
    local ok, e = xpcall(c.fn, function(err) return debug.traceback(check.msg(err), 2) end)
    print((ok and "OK      " or "NOT OK  ") .. c.name .. (ok and "" or ("\n  " .. e:gsub("\n", "\n  "))))
    if not ok then failed = failed + 1 end
  end
  print(string.format("%d/%d passed", #cases - failed, #cases))
  if cleanup then cleanup() end
  os.exit(failed == 0 and 0 or 1)
end

return check
