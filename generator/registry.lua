-- The variant registry: every pretrained timm tag lucidgen compiles (data in
-- variants/*.lua) plus models described by a user config table. A variant is a
-- fresh table merging one tag row with its architecture's config:
--
--   { name, timm_name, arch, family, config = {family, ...architecture fields},
--     hub_repo, num_classes, input_size = {h, w}, test_input_size, crop_pct,
--     crop_mode, interpolation, mean, std, license, license_warning, acc1, acc5,
--     labels, params, first_conv, classifier, seeded, source, resolved_from }
--
-- Every list this module returns is sorted, so nothing depends on pairs() order.
local errors = require("errors")
local limits = require("limits")
local rules = require("config_rules")

local registry = {}

local FAMILY_MODULES = { "variants.convnext", "variants.resnet", "variants.resnetv2" }

-- Label file (variants/labels/<set>.txt) by head width. Other widths ship none:
-- 0 = encoder without head, 640 = CLIP projection, 11821 = ImageNet-12k.
local LABELS_BY_NUM_CLASSES = {
  [1000] = "imagenet-1k",         -- ILSVRC-2012 synsets
  [21841] = "imagenet-22k",       -- fb_in22k (ConvNeXt)
  [21843] = "imagenet-21k-goog",  -- goog_in21k (BiT), Google's 21k ordering
}

-- false = permissive, no warning. A license missing here fails registry load,
-- so a new one gets a decision instead of silently passing.
local LICENSE_WARNINGS = {
  ["apache-2.0"] = false,
  ["bsd-3-clause"] = false,
  ["mit"] = false,
  ["cc-by-nc-4.0"] = "weights are licensed CC-BY-NC-4.0: non-commercial use only",
  ["fair-noncommercial-research-license"] =
    "weights are licensed under the FAIR Noncommercial Research License: non-commercial research use only",
  ["dinov3-license"] = "weights are licensed under the DINOv3 License, not an open-source license: its terms "
    .. "also bind outputs and models derived from them; read "
    .. "https://ai.meta.com/resources/models-and-libraries/dinov3-license/ before use",
}

local CROP_MODES = { center = true, squash = true, border = true }
local INTERPOLATIONS = { bilinear = true, bicubic = true }

-- The families the generator builds: generator/families/<name>.lua, each the
-- one owner of its config's fields, defaults and validation.
local FAMILIES = { convnext = true, resnet = true, resnetv2 = true }

local describe, as_integer, sorted_keys = rules.describe, rules.as_integer, rules.sorted_keys
local one_of, first_problem, over_limit = rules.one_of, rules.first_problem, rules.over_limit

-- The family module for a variant's family name.
function registry.family(name)
  if not FAMILIES[name] then errors.internal("no family module '%s'", tostring(name)) end
  return require("families." .. name)
end

-- --------------------------------------------------------------------------
-- small helpers

local function deep_copy(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = deep_copy(x) end
  return out
end

-- "resnet18" < "resnet50" < "resnet101": digit runs compare as numbers.
local function natural_less(a, b)
  local ia, ib = 1, 1
  while ia <= #a and ib <= #b do
    local da, db = a:match("^%d+", ia), b:match("^%d+", ib)
    if da and db then
      if tonumber(da) ~= tonumber(db) then return tonumber(da) < tonumber(db) end
      ia, ib = ia + #da, ib + #db
    else
      local ca, cb = a:sub(ia, ia), b:sub(ib, ib)
      if ca ~= cb then return ca < cb end
      ia, ib = ia + 1, ib + 1
    end
  end
  if (#a - ia) ~= (#b - ib) then return (#a - ia) < (#b - ib) end
  return a < b
end

-- Optimal-string-alignment distance (Levenshtein plus adjacent transposition).
local function edit_distance(a, b)
  local prev2, prev = {}, {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    local ca = a:byte(i)
    for j = 1, #b do
      local cb = b:byte(j)
      local d = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca == cb and 0 or 1))
      if i > 1 and j > 1 and ca == b:byte(j - 1) and a:byte(i - 1) == cb then
        d = math.min(d, prev2[j - 2] + 1)
      end
      cur[j] = d
    end
    prev2, prev = prev, cur
  end
  return prev[#b]
end

-- --------------------------------------------------------------------------
-- validation: the family checks its architecture config; the registry the
-- fields every variant has (head, preprocessing, license)

local function check_mean_std(field, v, n)
  local want = string.format("config field '%s' must hold %d %snumbers, one per input channel", field, n,
    field == "std" and "positive " or "")
  if type(v) ~= "table" or #v ~= n then
    return string.format("%s (got %s)", want, type(v) == "table" and (#v .. " values") or describe(v))
  end
  for i = 1, n do
    if type(v[i]) ~= "number" or (field == "std" and not (v[i] > 0)) or v[i] ~= v[i] then
      return string.format("%s (got %s at position %d)", want, describe(v[i]), i)
    end
  end
end

local function check_size(field, v)
  local want = string.format("config field '%s' must be {height, width} in positive integers", field)
  if type(v) ~= "table" or #v ~= 2 then return string.format("%s (got %s)", want, describe(v)) end
  for i = 1, 2 do
    local x = as_integer(v[i])
    if not x or x <= 0 then return string.format("%s (got %s at position %d)", want, describe(v[i]), i) end
    if x > limits.size then return over_limit(field, x, limits.size, " at position " .. i) end
  end
end

-- All rules for a whole variant: architecture config, head, preprocessing.
local function variant_problem(v)
  if not FAMILIES[v.family] then return one_of("family", v.family, FAMILIES) end
  local c = v.config
  if type(c) ~= "table" then return "variant has no config table" end
  local msg, num_features = registry.family(v.family).validate(c)
  if msg then return msg end
  if c.num_features ~= num_features then
    return string.format("config field 'num_features' must be %d for this config (got %s)", num_features,
      describe(c.num_features))
  end
  local nc = as_integer(v.num_classes)
  return first_problem(
    (not nc or nc < 0) and string.format(
      "config field 'num_classes' must be a non-negative integer, 0 for no head (got %s)", describe(v.num_classes)),
    nc and nc > limits.num_classes and over_limit("num_classes", nc, limits.num_classes),
    check_size("input_size", v.input_size),
    v.test_input_size ~= nil and check_size("test_input_size", v.test_input_size),
    (type(v.crop_pct) ~= "number" or not (v.crop_pct > 0 and v.crop_pct <= 1))
      and string.format("config field 'crop_pct' must be a number in (0, 1] (got %s)", describe(v.crop_pct)),
    one_of("crop_mode", v.crop_mode, CROP_MODES),
    one_of("interpolation", v.interpolation, INTERPOLATIONS),
    check_mean_std("mean", v.mean, c.in_channels),
    check_mean_std("std", v.std, c.in_channels),
    v.license ~= nil and LICENSE_WARNINGS[v.license] == nil
      and string.format("license %s has no entry in registry.lua LICENSE_WARNINGS; add one", describe(v.license))
  )
end

function registry.validate(variant)
  local msg = variant_problem(variant)
  if msg then
    errors.user("%s: %s", variant.source or string.format("variant '%s'", tostring(variant.name)), msg)
  end
  return variant
end

-- --------------------------------------------------------------------------
-- loading the tables in variants/

local families = {}     -- family name -> the file's `common` (first_conv, classifier, config)
local archs = {}        -- arch name -> { family, default_name, first_conv, classifier, config, tags = {names} }
local rows = {}         -- variant name -> copy of its tag row plus .arch
local all_names = {}    -- every variant name and arch name, for suggestions

local function merge(base, over)
  local out = deep_copy(base or {})
  for k, v in pairs(over or {}) do out[k] = deep_copy(v) end
  return out
end

local function build(row, resolved_from)
  local a = archs[row.arch]
  return {
    name = row.name, timm_name = row.timm_name, arch = row.arch, family = a.family,
    config = deep_copy(a.config),
    hub_repo = "timm/" .. row.timm_name,
    num_classes = row.num_classes,
    input_size = deep_copy(row.input_size), test_input_size = deep_copy(row.test_input_size),
    crop_pct = row.crop_pct, crop_mode = row.crop_mode, interpolation = row.interpolation,
    mean = deep_copy(row.mean), std = deep_copy(row.std),
    license = row.license, license_warning = LICENSE_WARNINGS[row.license] or nil,
    acc1 = row.acc1, acc5 = row.acc5, params = row.params,
    labels = LABELS_BY_NUM_CLASSES[row.num_classes],
    first_conv = a.first_conv, classifier = a.classifier,
    seeded = row.seeded == true,
    source = nil, resolved_from = resolved_from,
  }
end

local function load()
  for _, module in ipairs(FAMILY_MODULES) do
    local data = require(module)
    local family = data.family
    families[family] = data.common
    for _, a in ipairs(data.architectures) do
      if archs[a.arch] then errors.internal("%s: architecture '%s' listed twice", module, a.arch) end
      local config = merge(data.common.config, a.config)
      config.family = family
      archs[a.arch] = {
        family = family, config = config, tags = {},
        default_name = a.arch .. "_" .. a.default_tag,
        first_conv = a.first_conv or data.common.first_conv,
        classifier = a.classifier or data.common.classifier,
      }
      all_names[#all_names + 1] = a.arch
    end
    for _, row in ipairs(data.tags) do
      local arch, tag = row.timm_name:match("^([%w_]+)%.([%w_]+)$")
      if not arch or not archs[arch] or row.name ~= arch .. "_" .. tag then
        errors.internal("%s: row '%s' does not match an architecture ('%s')", module, row.name, row.timm_name)
      end
      if rows[row.name] or archs[row.name] then errors.internal("%s: name '%s' listed twice", module, row.name) end
      rows[row.name] = merge(row, { arch = arch })   -- a copy: the module's table stays as written
      table.insert(archs[arch].tags, row.name)
      all_names[#all_names + 1] = row.name
    end
  end
  for _, name in ipairs(sorted_keys(archs)) do
    local a = archs[name]
    if not rows[a.default_name] then
      errors.internal("architecture '%s': default tag '%s' has no row", name, a.default_name)
    end
    table.sort(a.tags, natural_less)
  end
  for _, name in ipairs(sorted_keys(rows)) do
    local msg = variant_problem(build(rows[name]))
    if msg then errors.internal("variants/: variant '%s': %s", name, msg) end
  end
  table.sort(all_names, natural_less)
end

load()

-- --------------------------------------------------------------------------
-- lookup

-- "timm/convnext_tiny.fb_in1k", "hf-hub:timm/..." and "ConvNeXt_Tiny.FB_IN1K"
-- all name the same row as "convnext_tiny_fb_in1k".
local function normalize(name)
  name = name:lower():gsub("^%s+", ""):gsub("%s+$", "")
  name = name:gsub("^hf%-hub:", ""):gsub("^timm/", "")
  return (name:gsub("%.", "_"))
end

local function suggestions(query)
  local limit = math.max(2, #query // 4)
  local scored = {}
  for _, name in ipairs(all_names) do
    local d = edit_distance(query, name)
    if name:sub(1, #query) == query then d = math.min(d, 1) end   -- "resnetv2_50x1" -> resnetv2_50x1_bit*
    if d <= limit then scored[#scored + 1] = { name = name, d = d, is_tag = rows[name] ~= nil } end
  end
  table.sort(scored, function(x, y)
    if x.d ~= y.d then return x.d < y.d end
    if x.is_tag ~= y.is_tag then return not x.is_tag end   -- architectures first: shorter, resolve to defaults
    return natural_less(x.name, y.name)
  end)
  local out = {}
  for i = 1, math.min(5, #scored) do out[i] = scored[i].name end
  return out
end

function registry.lookup(name)
  if type(name) ~= "string" then return nil, {} end
  local key = normalize(name)
  if rows[key] then return build(rows[key]) end
  if archs[key] then return build(rows[archs[key].default_name], key) end
  return nil, suggestions(key)
end

function registry.resolve(name)
  local variant, near = registry.lookup(name)
  if variant then return variant end
  if #near > 0 then
    errors.user("unknown variant '%s'; did you mean %s?", tostring(name), table.concat(near, ", "))
  end
  errors.user("unknown variant '%s' (no close match among %d variants; families: %s)", tostring(name),
    #sorted_keys(rows), table.concat(sorted_keys(families), ", "))
end

local function check_family(family)
  if family ~= nil and not families[family] then
    errors.user("unknown family '%s' (known: %s)", tostring(family), table.concat(sorted_keys(families), ", "))
  end
end

function registry.families()
  return sorted_keys(families)
end

-- Variants in natural name order (resnet18_* before resnet101_*); family nil = all.
function registry.list(family)
  check_family(family)
  local out = {}
  for _, name in ipairs(all_names) do
    local row = rows[name]
    if row and (family == nil or archs[row.arch].family == family) then out[#out + 1] = build(row) end
  end
  return out
end

-- { name, family, default_name, tags = {variant names}, config } in natural order.
function registry.architectures(family)
  check_family(family)
  local out = {}
  for _, name in ipairs(all_names) do
    local a = archs[name]
    if a and (family == nil or a.family == family) then
      out[#out + 1] = { name = name, family = a.family, default_name = a.default_name,
                        tags = deep_copy(a.tags), config = deep_copy(a.config) }
    end
  end
  return out
end

-- --------------------------------------------------------------------------
-- user configs

-- Fields every variant has (the family module adds its architecture fields).
local COMMON_FIELDS = { name = true, family = true, num_classes = true, in_channels = true, input_size = true,
                        crop_pct = true, crop_mode = true, interpolation = true, mean = true, std = true }

-- A variant from a user table shaped like ResNeXtConfig (family "resnet", the
-- default) or the convnext/resnetv2 equivalents: the family module says which
-- fields it takes, with their defaults, completes and validates the config.
-- source names the table in errors.
function registry.from_config(tbl, source)
  source = source or "config"
  local function fail(fmt, ...) errors.user("%s: " .. fmt, source, ...) end
  if type(tbl) ~= "table" then fail("config must be a table of named fields (got %s)", describe(tbl)) end
  local family = tbl.family == nil and "resnet" or tbl.family
  if not FAMILIES[family] then fail("%s", one_of("family", family, FAMILIES)) end
  local fam = registry.family(family)

  local unknown = {}
  for _, k in ipairs(sorted_keys(tbl)) do
    if type(k) ~= "string" then
      fail("config must be a table of named fields (got a positional value at [%s])", tostring(k))
    end
    if not COMMON_FIELDS[k] and fam.fields[k] == nil then
      unknown[#unknown + 1] = "'" .. k .. "'"
    end
  end
  if #unknown > 0 then
    local known = sorted_keys(COMMON_FIELDS)
    for k in pairs(fam.fields) do known[#known + 1] = k end
    table.sort(known)
    fail("unknown config field%s %s for family \"%s\" (known: %s)", #unknown == 1 and "" or "s",
      table.concat(unknown, ", "), family, table.concat(known, ", "))
  end

  local config = { family = family, in_channels = tbl.in_channels == nil and 3 or tbl.in_channels }
  for k in pairs(fam.fields) do config[k] = deep_copy(tbl[k]) end
  fam.complete(config)
  for _, k in ipairs(sorted_keys(fam.fields)) do
    local default = fam.fields[k]
    if config[k] == nil then
      if default == rules.REQUIRED then fail("config field '%s' is required", k) end
      if default ~= rules.DERIVED and default ~= rules.OPTIONAL then config[k] = deep_copy(default) end
    end
  end
  local msg, num_features = fam.validate(config)
  if msg then fail("%s", msg) end
  config.num_features = num_features

  local num_classes = tbl.num_classes == nil and 1000 or tbl.num_classes
  local nc = as_integer(num_classes)
  if not nc or nc <= 0 then
    fail("config field 'num_classes' must be a positive integer (got %s)", describe(num_classes))
  end
  local name = tbl.name == nil and (family .. "_custom") or tbl.name
  local problem = limits.c_name_problem(name)
  if problem then fail("config field 'name' %s (got %s)", problem, describe(name)) end
  if config.in_channels ~= 3 and (tbl.mean == nil or tbl.std == nil) then
    fail("config fields 'mean' and 'std' are required when in_channels is %s", describe(config.in_channels))
  end

  local variant = {
    name = name, timm_name = nil, arch = name, family = family, config = config,
    hub_repo = nil, num_classes = nc,
    input_size = deep_copy(tbl.input_size) or { 224, 224 }, test_input_size = nil,
    crop_pct = tbl.crop_pct == nil and 0.875 or tbl.crop_pct,
    crop_mode = tbl.crop_mode == nil and "center" or tbl.crop_mode,
    interpolation = tbl.interpolation == nil and fam.defaults.interpolation or tbl.interpolation,
    mean = deep_copy(tbl.mean) or deep_copy(fam.defaults.mean), std = deep_copy(tbl.std) or deep_copy(fam.defaults.std),
    license = nil, license_warning = nil, acc1 = nil, acc5 = nil, params = nil,
    labels = nc == 1000 and "imagenet-1k" or nil,
    first_conv = fam.first_conv(config), classifier = families[family].classifier,
    seeded = false, source = source, resolved_from = nil,
  }
  return registry.validate(variant)
end

return registry
