-- generator/output_set.lua (run by lua_unit from the repo root): a set of
-- outputs appears complete or not at all, and a failure at any point -- while
-- writing, or half-way through the renames -- keeps the previous set intact
-- and leaves no temporaries or backups behind.
local check = require("lua_check")
local host = require("lg.host")
local output_set = require("output_set")

local root = check.tmpdir(host.mkdir)
local read = check.read

-- Names in a directory (sorted), to see leftovers.
local function listing(dir)
  local p = io.popen("ls -A '" .. dir .. "'")
  local names = {}
  for line in p:lines() do names[#names + 1] = line end
  p:close()
  return names
end

local n = 0
local function fresh_dir()
  n = n + 1
  local d = string.format("%s/case%d", root, n)
  host.mkdir(d)
  return d
end

-- An existing complete set: m.c, m.h, m.bin holding "old".
local function old_set(d)
  for _, ext in ipairs({ "c", "h", "bin" }) do host.write_file(d .. "/m." .. ext, "old " .. ext) end
end

local function write_set(d, set, fail_at)
  for i, ext in ipairs({ "bin", "h", "c" }) do
    if i == fail_at then error({ code = "user", msg = "simulated failure writing m." .. ext }, 0) end
    host.write_file(set:add(d .. "/m." .. ext), "new " .. ext)
  end
  return "result"
end

local function contents(d)
  return { read(d .. "/m.c"), read(d .. "/m.h"), read(d .. "/m.bin") }
end

check.case("commits_a_complete_set_and_replaces_the_old_one", function()
  local d = fresh_dir()
  old_set(d)
  check.eq(output_set.run(function(set) return write_set(d, set) end), "result", "fn's result")
  check.eq(contents(d), { "new c", "new h", "new bin" }, "after commit")
  check.eq(listing(d), { "m.bin", "m.c", "m.h" }, "no temporaries or backups")
end)

check.case("a_failure_while_writing_keeps_the_old_set_and_removes_temporaries", function()
  for fail_at = 1, 3 do
    local d = fresh_dir()
    old_set(d)
    local e = check.raises(output_set.run, function(set) return write_set(d, set, fail_at) end)
    check.truthy(check.msg(e):find("simulated failure"), "error object: %s", check.msg(e))
    check.eq(contents(d), { "old c", "old h", "old bin" }, "old set after failing at file " .. fail_at)
    check.eq(listing(d), { "m.bin", "m.c", "m.h" }, "leftovers after failing at file " .. fail_at)
  end
end)

check.case("a_failed_rename_half_way_puts_back_what_was_already_replaced", function()
  local d = fresh_dir()
  old_set(d)
  local e = check.raises(output_set.run, function(set)
    write_set(d, set)
    -- the third temporary vanishes: m.bin and m.h are renamed before m.c fails
    os.remove(string.format("%s/m.c.tmp.%d", d, host.pid()))
  end)
  check.truthy(check.msg(e):find("cannot write " .. d .. "/m.c", 1, true), "error: %s", check.msg(e))
  check.eq(contents(d), { "old c", "old h", "old bin" }, "old set after a failed rename")
  check.eq(listing(d), { "m.bin", "m.c", "m.h" }, "leftovers after a failed rename")
end)

check.case("a_target_that_is_a_directory_fails_before_anything_moves", function()
  local d = fresh_dir()
  old_set(d)
  os.remove(d .. "/m.h")
  host.mkdir(d .. "/m.h")
  local e = check.raises(output_set.run, function(set) return write_set(d, set) end)
  check.truthy(check.msg(e):find("m.h: it is a directory", 1, true), "error: %s", check.msg(e))
  check.eq({ read(d .. "/m.c"), read(d .. "/m.bin"), host.is_dir(d .. "/m.h") }, { "old c", "old bin", true },
    "old files and the directory")
  check.eq(listing(d), { "m.bin", "m.c", "m.h" }, "leftovers")
end)

check.case("replaces_a_directory_target_whole", function()
  local d = fresh_dir()
  host.mkdir(d .. "/exe.build/runtime")
  host.write_file(d .. "/exe.build/stale.c", "old")
  output_set.run(function(set)
    local tmp = set:add(d .. "/exe.build", true)
    host.mkdir(tmp .. "/runtime")
    host.write_file(tmp .. "/model.c", "new")
  end)
  check.eq({ read(d .. "/exe.build/model.c"), read(d .. "/exe.build/stale.c") }, { "new", nil }, "directory contents")
  check.eq(listing(d), { "exe.build" }, "leftovers")
end)

check.case("a_file_derived_from_another_reads_its_staged_copy", function()
  -- OUT_weights.c is written from OUT.bin before either is in place
  local d = fresh_dir()
  output_set.run(function(set)
    set:write_file(d .. "/m.bin", "blob bytes")
    check.eq(read(set:staged(d .. "/m.bin")), "blob bytes", "the staged file")
    check.eq(read(d .. "/m.bin"), nil, "nothing in place before the commit")
    host.write_file(set:add(d .. "/m_weights.c"), "from " .. read(set:staged(d .. "/m.bin")))
  end)
  check.eq(read(d .. "/m_weights.c"), "from blob bytes", "derived file after commit")
  check.truthy(check.msg(check.raises(function()
    output_set.run(function(set) set:staged(d .. "/other.bin") end)
  end)):find("no file"), "an unregistered path is an error")
end)

check.case("a_target_that_is_a_device_or_pipe_is_refused_and_kept", function()
  -- a FIFO stands in for /dev/null: renaming over it (as root) would replace the device
  local d = fresh_dir()
  check.truthy(os.execute("mkfifo '" .. d .. "/m.c'"), "mkfifo")
  local e = check.raises(output_set.run, function(set) return set:write_file(d .. "/m.c", "new c") end)
  check.truthy(check.msg(e):find("m.c: it exists and is not a regular file", 1, true), "error: %s", check.msg(e))
  check.truthy(io.popen("test -p '" .. d .. "/m.c' && echo fifo"):read("l") == "fifo", "m.c is still a FIFO")
  check.eq(listing(d), { "m.c" }, "leftovers")
end)

check.case("a_link_planted_at_a_temporary_name_is_not_followed", function()
  -- the names are predictable (TARGET.tmp.PID): a writer that follows a link
  -- planted there writes into the link's target
  local d = fresh_dir()
  host.write_file(d .. "/victim", "victim")
  for _, ext in ipairs({ "c", "bin" }) do
    check.truthy(os.execute(string.format("ln -s '%s/victim' '%s/m.%s.tmp.%d'", d, d, ext, host.pid())), "ln -s")
  end
  output_set.run(function(set)
    set:write_file(d .. "/m.c", "new c")
    require("lg.blob_writer").write({ path = set:add(d .. "/m.bin"), name = d .. "/m.bin", payload_bytes = 0,
      items = {}, variant = "v", target = "t", generator = "g" })
  end)
  check.eq(read(d .. "/victim"), "victim", "the link's target is untouched")
  check.eq(read(d .. "/m.c"), "new c", "the output")
  check.eq(listing(d), { "m.bin", "m.c", "victim" }, "leftovers")
end)

check.case("temporaries_of_a_process_that_is_gone_are_removed", function()
  -- what a killed run left: its temporaries, a backup, a half-built directory
  local d = fresh_dir()
  local gone = 999999999 -- above Linux's pid_max
  host.write_file(string.format("%s/m.c.tmp.%d", d, gone), "half")
  host.write_file(string.format("%s/m.c.old.%d", d, gone), "old")
  host.mkdir(string.format("%s/exe.build.tmp.%d", d, gone))
  host.write_file(string.format("%s/m.c.tmp.%d.keep", d, gone), "not a temporary of ours")
  host.write_file(string.format("%s/m.c.tmp.1", d), "pid 1 is alive: not stale")
  output_set.run(function(set)
    set:write_file(d .. "/m.c", "new c")
    host.mkdir(set:add(d .. "/exe.build", true))
  end)
  check.eq(listing(d), { "exe.build", "m.c", "m.c.tmp.1", string.format("m.c.tmp.%d.keep", gone) }, "leftovers")
end)

check.run(function() host.remove_tree(root) end)
