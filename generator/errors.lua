-- One way to raise errors in the generator: a table, never a bare string.
-- user(...): the caller's input is wrong; the CLI prints the one line and
--            exits 2. internal(...): a bug or a broken invariant; exit 1.
-- The C host also raises code = "failure" (network, disk: exit 1, no hint
-- of a bug). All carry a table so the host can tell them from Lua runtime errors.
local errors = {}

function errors.user(fmt, ...)
  error({ code = "user", msg = string.format(fmt, ...) }, 0)
end

function errors.internal(fmt, ...)
  error({ code = "internal", msg = string.format(fmt, ...) }, 0)
end

function errors.is_user(e)
  return type(e) == "table" and e.code == "user"
end

return errors
