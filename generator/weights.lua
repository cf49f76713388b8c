-- Binds tensors to the graph's parameters, the way timm's load_state_dict /
-- load_pretrained do:
--   * strict by default: missing keys, unexpected keys and shape mismatches
--     are listed by name and generation stops (exit 2);
--   * --no-strict loads what matches and random-initializes the rest, warning;
--   * a --num-classes that differs from the checkpoint's head skips that head
--     (warning) and gives a seeded random one; num_classes 0 drops it silently;
--   * --in-chans != 3 adapts the first conv (timm's adapt_input_conv);
--   * --prefix strips a key prefix (a backbone saved inside a larger model).
local errors = require("errors")
local T = require("lg.tensor")

local weights = {}

-- FNV-1a over the key: each parameter's random stream depends only on the
-- seed and its name, so adding a layer elsewhere doesn't reshuffle the rest.
local function key_seed(seed, key)
  local h = 0xcbf29ce484222325
  for i = 1, #key do
    h = (h ~ key:byte(i)) * 0x100000001b3
  end
  return h ~ seed
end

local function fan_in(shape)
  local f = 1
  for i = 2, #shape do f = f * shape[i] end
  return f
end

-- Random values that keep activations O(1) through deep nets and make every
-- folded/fused path matter (non-trivial BN statistics, layer scales, GRN).
function weights.random(key, shape, seed)
  local s = key_seed(seed, key)
  local leaf = key:match("([^.]+)$")
  local module = key:match("([^.]+)%.[^.]+$") or ""
  if leaf == "running_var" then return T.uniform(shape, s, 0.5, 1.5) end
  if leaf == "running_mean" then return T.normal(shape, s, 0, 0.1) end
  if leaf == "gamma" then return T.uniform(shape, s, 0.1, 1.0) end
  if module == "grn" then return T.normal(shape, s, 0, 0.5) end
  if leaf == "bias" then return T.normal(shape, s, 0, 0.1) end
  if #shape == 1 then return T.normal(shape, s, 1.0, 0.1) end -- norm scales
  return T.normal(shape, s, 0, 1 / math.sqrt(fan_in(shape)))
end

local function same_shape(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do
    if a[i] ~= b[i] then return false end
  end
  return true
end

local function shape_str(s) return "[" .. table.concat(s, ",") .. "]" end

local function list(names, limit)
  limit = limit or 8
  local out = {}
  for i = 1, math.min(#names, limit) do out[i] = names[i] end
  if #names > limit then out[#out + 1] = string.format("(+%d more)", #names - limit) end
  return table.concat(out, ", ")
end

local function warn(opts, fmt, ...)
  if not opts.quiet then io.stderr:write("lucidgen: warning: " .. string.format(fmt, ...) .. "\n") end
end

-- A checkpoint saved inside a larger model has every key under a prefix
-- (backbone.conv1.weight): when no key matched as it is, and all of them
-- share a prefix whose removal gives the model's keys, name that prefix.
local function nested_prefix(g, unexpected, prefix, matched)
  if prefix ~= "" or matched > 0 or #unexpected == 0 then return nil end
  for cut in unexpected[1]:gmatch("()%.") do
    local cand = unexpected[1]:sub(1, cut)
    local shared, fits = true, false
    for _, name in ipairs(unexpected) do
      if name:sub(1, #cand) ~= cand then
        shared = false
        break
      end
      fits = fits or g.params[name:sub(#cand + 1)] ~= nil
    end
    if shared and fits then return string.format("the keys look nested: pass --prefix %s", cand) end
  end
end

-- NaN or Inf in a checkpoint would run through every kernel and come out as
-- NaN logits: warn, or with --check-finite refuse.
local function check_finite(path, store, keys, opts)
  local bad = {}
  for _, key in ipairs(keys) do
    local n = store[key]:nonfinite()
    if n > 0 then bad[#bad + 1] = string.format("%s (%d of %d)", key, n, store[key]:numel()) end
  end
  if #bad == 0 then return end
  if opts.check_finite then
    errors.user("checkpoint %s has NaN or Inf weights in %d tensors: %s; the checkpoint is corrupt", path, #bad,
      list(bad, 4))
  end
  warn(opts, "checkpoint %s has NaN or Inf weights in %d tensors: %s; outputs will be NaN (--check-finite refuses "
    .. "such checkpoints)", path, #bad, list(bad, 4))
end

-- g: graph; src = {path=checkpoint} | {random_seed=n} | {plan_only=true} (no tensors
-- at all: lucidgen info plans from shapes); opts:
-- strict, prefix, num_classes, head_swapped (num_classes differs from the
-- variant's), seed (for random heads), quiet, check_finite.
-- Returns store: key -> tensor, and a summary for the header and report.
function weights.bind(g, src, opts)
  local store, summary = {}, { source = src.path or (src.plan_only and "none (plan only)")
      or string.format("random-init seed %d", src.random_seed) }
  if src.plan_only then return store, summary end
  local classifier = g.classifier
  local function is_head(key) return classifier and key:sub(1, #classifier + 1) == classifier .. "." end
  local head_seed = opts.seed or 0

  if src.random_seed then
    for _, key in ipairs(g.param_order) do
      local p = g.params[key]
      if not p.optional then store[key] = weights.random(key, p.shape, src.random_seed) end
    end
    return store, summary
  end

  local ck <close> = require("lg.checkpoint").open(src.path) -- unmapped when bind returns: the store holds copies
  local prefix = opts.prefix or ""
  local present = {}
  local unexpected = {}
  for _, name in ipairs(ck:names()) do
    if name:sub(1, #prefix) == prefix then
      present[name:sub(#prefix + 1)] = name
    else
      unexpected[#unexpected + 1] = name
    end
  end

  local missing, mismatched, skipped_head, randomized, loaded = {}, {}, {}, {}, {}
  local matched = 0 -- checkpoint keys found under the model's own names
  for _, key in ipairs(g.param_order) do
    local p = g.params[key]
    local full = present[key]
    if full then
      present[key] = nil
      matched = matched + 1
      local shape = ck:shape(full)
      if p.optional then
        -- e.g. BatchNorm's num_batches_tracked: accepted, not needed
      elseif same_shape(shape, p.shape) then
        store[key] = ck:tensor(full)
        loaded[#loaded + 1] = key
      elseif key == g.first_conv .. ".weight" and #shape == 4 and shape[1] == p.shape[1]
          and shape[3] == p.shape[3] and shape[4] == p.shape[4] and p.shape[2] ~= shape[2] then
        store[key] = T.adapt_in_chans(ck:tensor(full), p.shape[2])
        loaded[#loaded + 1] = key
        warn(opts, "adapted %s from %d to %d input channels (timm adapt_input_conv)", key, shape[2], p.shape[2])
      elseif is_head(key) and opts.head_swapped then
        skipped_head[#skipped_head + 1] = key
      else
        mismatched[#mismatched + 1] = string.format("%s (checkpoint %s, model %s)", key, shape_str(shape), shape_str(p.shape))
      end
    elseif not p.optional then
      if is_head(key) and opts.head_swapped then
        skipped_head[#skipped_head + 1] = key
      else
        missing[#missing + 1] = key
      end
    end
  end
  for key, full in pairs(present) do
    -- The released head of a features-only (num_classes 0) model is dropped, as timm does.
    if not (opts.num_classes == 0 and is_head(key)) then unexpected[#unexpected + 1] = full end
  end
  table.sort(unexpected)

  if opts.strict and (#missing > 0 or #unexpected > 0 or #mismatched > 0) then
    local parts = {}
    if #missing > 0 then parts[#parts + 1] = "missing keys: " .. list(missing) end
    if #unexpected > 0 then parts[#parts + 1] = "unexpected keys: " .. list(unexpected) end
    if #mismatched > 0 then parts[#parts + 1] = "shape mismatches: " .. list(mismatched, 4) end
    errors.user("checkpoint %s does not match %s: %s; %s", src.path, g.meta.variant, table.concat(parts, "; "),
      nested_prefix(g, unexpected, prefix, matched) or "pass --no-strict to load only what matches")
  end

  check_finite(src.path, store, loaded, opts)
  for _, list_ in ipairs({ missing, mismatched }) do
    for _, entry in ipairs(list_) do
      local key = entry:match("^(%S+)")
      randomized[#randomized + 1] = key
      store[key] = weights.random(key, g.params[key].shape, head_seed)
    end
  end
  for _, key in ipairs(skipped_head) do
    store[key] = weights.random(key, g.params[key].shape, head_seed)
  end
  if #skipped_head > 0 then
    warn(opts, "checkpoint head does not have %d classes: skipped %s and initialized a random head (seed %d)",
      opts.num_classes, list(skipped_head), head_seed)
  end
  if #randomized > 0 then
    warn(opts, "--no-strict: %d parameters not in the checkpoint were randomly initialized: %s", #randomized, list(randomized))
  end
  if #unexpected > 0 and not opts.strict then
    warn(opts, "--no-strict: ignored %d checkpoint tensors the model does not use: %s", #unexpected, list(unexpected))
  end
  summary.missing, summary.unexpected, summary.mismatched = #missing, #unexpected, #mismatched
  summary.skipped_head = #skipped_head
  return store, summary
end

return weights
