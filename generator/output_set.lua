-- Output files (and directories) that appear together or not at all.
--
-- Each target is written under a temporary name beside it (TARGET.tmp.PID),
-- created afresh (a link planted at the name is never followed);
-- commit() renames them into place only once all are complete. A target that
-- existed is moved aside first (TARGET.old.PID) and put back if a later rename
-- fails, so a failure leaves the previous complete set as it was and no
-- temporaries behind. Two runs writing the same set take turns at the commit
-- (a lock on each directory it writes into), so the set is one run's, whole. A signal removes
-- the temporary files (host/temporaries.c); what a killed run left (its PID
-- gone) is removed by the next run that writes the same target. Used by
-- `lucidgen VARIANT -o OUT.c` (OUT.c, .h, .bin, .json) and `lucidgen build`
-- (EXE.build/, EXE.bin, EXE).
local errors = require("errors")
local host = require("lg.host")

local output_set = {}

local Set = {}
Set.__index = Set

local function dir_and_base(path)
  local dir, base = path:match("^(.*)/([^/]*)$")
  if not dir then return ".", path end
  return dir == "" and "/" or dir, base
end

-- Removes PATH.tmp.PID and PATH.old.PID of processes that are gone.
local function remove_stale(path)
  local dir, base = dir_and_base(path)
  for _, name in ipairs(host.dir_entries(dir)) do
    local rest = name:sub(1, #base) == base and name:sub(#base + 1)
    local pid = rest and (rest:match("^%.tmp%.(%d+)$") or rest:match("^%.old%.(%d+)$"))
    if pid and not host.pid_alive(tonumber(pid)) then host.remove_tree(dir .. "/" .. name) end
  end
end

-- Registers `path` (a directory when is_dir) and returns the temporary name
-- to write it under.
function Set:add(path, is_dir)
  -- Never move a user's directory aside to put a file in its place, nor a
  -- device or pipe: renaming over /dev/null would replace the device itself.
  local kind_ok = is_dir and host.is_dir(path) or not is_dir and host.is_file(path)
  if host.exists(path) and not kind_ok then
    errors.user("cannot write %s: %s; remove it or choose another output name", path,
      host.is_dir(path) and "it is a directory" or "it exists and is not a " .. (is_dir and "directory" or "regular file"))
  end
  remove_stale(path)
  local tmp = string.format("%s.tmp.%d", path, host.pid())
  self.entries[#self.entries + 1] = { path = path, tmp = tmp, is_dir = is_dir }
  return tmp
end

-- The temporary name the set's file `path` is being written under (a file
-- derived from it, like OUT_weights.c from OUT.bin, reads it there).
function Set:staged(path)
  for _, e in ipairs(self.entries) do
    if e.path == path then return e.tmp end
  end
  error("output set has no file " .. path)
end

-- Writes `data` as the set's file `path`; errors name `path`, not the temporary.
function Set:write_file(path, data)
  host.write_file(self:add(path), data, path, true)
end

-- Streams a blob (lg.blob_writer.write's spec without path) as the set's file `path`.
function Set:write_blob(path, spec)
  spec.path, spec.name = self:add(path), path
  return require("lg.blob_writer").write(spec)
end

-- Removes every temporary (and anything half-renamed has been restored).
function Set:abort()
  for _, e in ipairs(self.entries) do
    host.remove_tree(e.tmp)
    host.forget_file(e.tmp)
  end
end

-- Undoes the renames in `done`, newest first: each target gets back what it replaced.
local function roll_back(done)
  for i = #done, 1, -1 do
    local d = done[i]
    host.remove_tree(d.entry.path)
    if d.backup then host.rename(d.backup, d.entry.path) end
  end
end

-- Locks every directory the set writes into (--classifier-data may name
-- another than -o's; host.lock_dirs orders them and tells "o" from "./o").
function Set:commit()
  if #self.entries == 0 then return end
  local dirs, seen = {}, {}
  for _, e in ipairs(self.entries) do
    local dir = dir_and_base(e.path)
    if not seen[dir] then seen[dir], dirs[#dirs + 1] = true, dir end
  end
  local lock = host.lock_dirs(dirs)
  local ok, err = pcall(self.commit_locked, self)
  host.unlock(lock)
  if not ok then error(err, 0) end
end

function Set:commit_locked()
  local done = {}
  for _, e in ipairs(self.entries) do
    local backup = string.format("%s.old.%d", e.path, host.pid())
    local moved = host.exists(e.path) and host.rename(e.path, backup)
    if host.exists(e.path) and not moved then
      roll_back(done)
      errors.user("cannot replace %s; check that its directory is writable", e.path)
    end
    local ok, why = host.rename(e.tmp, e.path)
    if not ok then
      if moved then host.rename(backup, e.path) end
      roll_back(done)
      errors.user("cannot write %s: %s", e.path, why)
    end
    done[#done + 1] = { entry = e, backup = moved and backup or nil }
  end
  for _, d in ipairs(done) do
    host.forget_file(d.entry.tmp)
    if d.backup then host.remove_tree(d.backup) end
  end
end

-- Keeps a Lua error's traceback: a bug inside fn still reports where it was.
local function as_error(e)
  if type(e) == "table" then return e end
  return { code = "internal", msg = tostring(e), traceback = debug.traceback(nil, 2) }
end

-- Runs fn(set), then commits the set; any error in fn or in the commit
-- removes the temporaries and is raised again.
function output_set.run(fn)
  local set = setmetatable({ entries = {} }, Set)
  local ok, err = xpcall(function()
    local result = table.pack(fn(set))
    set:commit()
    return result
  end, as_error)
  if not ok then
    set:abort()
    error(err, 0)
  end
  return table.unpack(err, 1, err.n)
end

return output_set
