-- The sizes lucidgen accepts from a stranger, in one place. Every option,
-- config field and config file is checked against these before anything is
-- allocated, and refused with one line naming the option and the limit.
-- SECURITY.md lists the same values.
local limits = {
  -- command-line model options (and a config's input_size, num_classes, in_channels)
  batch = 1024,           -- --batch
  in_chans = 1024,        -- --in-chans, config in_channels
  size = 4096,            -- --size, each side in pixels; config input_size
  num_classes = 100000,   -- --num-classes, config num_classes (timm's largest head: 21843)
  error_inputs = 1024,    -- --error-inputs: inputs the reduced path's error is measured on (2 reference runs each)
  name = 64,              -- --name, config name: characters of the C prefix (the registry's longest variant: 51)

  -- architecture fields of a --config (timm's largest: 36 blocks a stage, 8192 channels)
  stage_depth = 100,      -- layers / depths, blocks per stage
  width = 16384,          -- channels, dims, widths, cardinality, base_width, groups

  -- OpenMP threads per processor (OMP_NUM_THREADS; the classifier's --threads
  -- has the same rule): the kernels split work statically, so more cannot help,
  -- and libgomp crashed starting 100000
  threads_per_processor = 4,
  -- --max-threads: threads a model's Winograd layers make room for (a scratch
  -- slot each, up to a few MB a slot)
  max_threads = 256,

  -- what a model may need, checked on the graph before weights are made
  weight_bytes = 16 * 2 ^ 30,   -- float32 parameters
  activation_bytes = 64 * 2 ^ 30, -- all activations of one forward pass

  -- the --config sandbox (generator/lua_sandbox.c)
  config_file_bytes = 1 << 20,   -- bytes of Lua source read
  config_memory = 8 << 20,       -- bytes the config's Lua state may allocate
  config_instructions = 1000000, -- Lua VM instructions
  config_seconds = 2,            -- wall time
  config_values = 100000,        -- keys + values copied out of the sandbox

  -- --precision int8 (generator/calibration.lua, passes/quantize.lua)
  calibration_images = 10000,        -- images a --calibrate folder or list may name
  calibration_list_bytes = 64 << 20, -- bytes of a --calibrate list
  calibration_raw_bytes = 2 << 30,   -- bytes of a --calibrate FILE.f32
  int8_min_sqnr = 100,               -- --int8-min-sqnr DB: 0 .. 100
  int8_k = 66000,                    -- a conv's K (taps x channels a group): int32 sums cannot overflow
}

-- What is wrong with `name` as the generated API's C prefix, or nil: too long,
-- not an identifier, or one C reserves for the compiler and its library
-- (C11 7.1.3: _ and a capital, or two _).
function limits.c_name_problem(name)
  if type(name) ~= "string" then return "is not a string" end
  if #name > limits.name then return string.format("has %d characters, more than lucidgen's limit of %d", #name, limits.name) end
  if not name:match("^[%a_][%w_]*$") then return "is not a C identifier; use letters, digits and _" end
  if name:match("^_[%u_]") then return "starts with _ and a capital or a second _, which C reserves; drop the leading _" end
  return nil
end

-- n as "1.5 GiB" for error messages.
function limits.bytes_text(n)
  local units = { "bytes", "KiB", "MiB", "GiB", "TiB" }
  local i = 1
  while n >= 1024 and i < #units do
    n = n / 1024
    i = i + 1
  end
  return i == 1 and string.format("%d bytes", n) or string.format("%.1f %s", n, units[i])
end

return limits
