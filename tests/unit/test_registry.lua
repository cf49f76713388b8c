-- Unit tests for generator/registry.lua and the tables in variants/ (run by
-- lua_unit from the repository root). How many tags a family has is timm's
-- fact: check_registry_vs_json.py holds the registry to timm's metadata.
local check = require("lua_check")
local registry = require("registry")
local errors = require("errors")

local test, eq = check.case, check.eq

-- Runs fn, expects errors.user, returns its message.
local function user_error(fn, ...)
  local e = check.raises(fn, ...)
  if not errors.is_user(e) then error("expected a user error, got " .. check.msg(e), 2) end
  return e.msg
end

local function contains(msg, plain, what)
  if not msg:find(plain, 1, true) then
    error(string.format("%s: message %q lacks %q", what, msg, plain), 2)
  end
end

-- The tags our users named (variant tables of the Luximm ports): the one list of them.
local SEEDED = {
  resnet = { "resnet18_a1_in1k", "resnet34_a1_in1k", "resnet50_a1_in1k", "resnet101_a1_in1k", "resnet152_a1_in1k" },
  resnetv2 = {
    "resnetv2_50x1_bit_goog_distilled_in1k", "resnetv2_50x1_bit_goog_in21k", "resnetv2_50x1_bit_goog_in21k_ft_in1k",
    "resnetv2_50x3_bit_goog_in21k", "resnetv2_50x3_bit_goog_in21k_ft_in1k",
    "resnetv2_101x1_bit_goog_in21k", "resnetv2_101x1_bit_goog_in21k_ft_in1k",
    "resnetv2_101x3_bit_goog_in21k", "resnetv2_101x3_bit_goog_in21k_ft_in1k",
    "resnetv2_152x2_bit_goog_in21k", "resnetv2_152x2_bit_goog_in21k_ft_in1k",
    "resnetv2_152x2_bit_goog_teacher_in21k_ft_in1k", "resnetv2_152x2_bit_goog_teacher_in21k_ft_in1k_384",
    "resnetv2_152x4_bit_goog_in21k", "resnetv2_152x4_bit_goog_in21k_ft_in1k",
  },
  convnext = {
    "convnext_tiny_dinov3_lvd1689m", "convnext_small_dinov3_lvd1689m", "convnext_base_dinov3_lvd1689m",
    "convnext_large_dinov3_lvd1689m",
    "convnext_tiny_fb_in1k", "convnext_tiny_fb_in22k", "convnext_tiny_fb_in22k_ft_in1k", "convnext_tiny_fb_in22k_ft_in1k_384",
    "convnext_small_fb_in1k", "convnext_small_fb_in22k", "convnext_small_fb_in22k_ft_in1k",
    "convnext_small_fb_in22k_ft_in1k_384",
    "convnext_base_fb_in1k", "convnext_base_fb_in22k", "convnext_base_fb_in22k_ft_in1k", "convnext_base_fb_in22k_ft_in1k_384",
    "convnext_large_fb_in1k", "convnext_large_fb_in22k", "convnext_large_fb_in22k_ft_in1k",
    "convnext_large_fb_in22k_ft_in1k_384",
    "convnext_xlarge_fb_in22k", "convnext_xlarge_fb_in22k_ft_in1k", "convnext_xlarge_fb_in22k_ft_in1k_384",
  },
  convnextv2 = {
    "convnextv2_atto_fcmae", "convnextv2_atto_fcmae_ft_in1k", "convnextv2_femto_fcmae", "convnextv2_femto_fcmae_ft_in1k",
    "convnextv2_pico_fcmae", "convnextv2_pico_fcmae_ft_in1k",
    "convnextv2_nano_fcmae", "convnextv2_nano_fcmae_ft_in1k", "convnextv2_nano_fcmae_ft_in22k_in1k",
    "convnextv2_nano_fcmae_ft_in22k_in1k_384",
    "convnextv2_tiny_fcmae", "convnextv2_tiny_fcmae_ft_in1k", "convnextv2_tiny_fcmae_ft_in22k_in1k",
    "convnextv2_tiny_fcmae_ft_in22k_in1k_384",
    "convnextv2_base_fcmae", "convnextv2_base_fcmae_ft_in1k", "convnextv2_base_fcmae_ft_in22k_in1k",
    "convnextv2_base_fcmae_ft_in22k_in1k_384",
    "convnextv2_large_fcmae", "convnextv2_large_fcmae_ft_in1k", "convnextv2_large_fcmae_ft_in22k_in1k",
    "convnextv2_large_fcmae_ft_in22k_in1k_384",
    "convnextv2_huge_fcmae", "convnextv2_huge_fcmae_ft_in1k", "convnextv2_huge_fcmae_ft_in22k_in1k_384",
    "convnextv2_huge_fcmae_ft_in22k_in1k_512",
  },
}

-- ---------------------------------------------------------------- data

test("lists_every_variant_in_exactly_one_family", function()
  eq(registry.families(), { "convnext", "resnet", "resnetv2" }, "families")
  local seen, n = {}, 0
  for _, family in ipairs(registry.families()) do
    for _, v in ipairs(registry.list(family)) do
      if seen[v.name] then error(v.name .. " listed in two families") end
      seen[v.name], n = true, n + 1
      eq(v.family, family, v.name .. " family")
    end
  end
  eq(n, #registry.list(), "the families' lists, together, against the whole list")
end)

test("marks_exactly_the_seeded_tags", function()
  local want, got = {}, {}
  for _, group in pairs(SEEDED) do
    for _, name in ipairs(group) do want[name] = true end
  end
  local n = 0
  for _, v in ipairs(registry.list()) do
    if v.seeded then
      n = n + 1
      if not want[v.name] then error("seeded but not named by users: " .. v.name) end
      got[v.name] = true
    end
  end
  local named = 0
  for _, group in pairs(SEEDED) do named = named + #group end
  eq(n, named, "seeded count")
  local dino = 0
  for _, name in ipairs(SEEDED.convnext) do
    if name:find("dinov3") then dino = dino + 1 end
  end
  eq(dino, 4, "seeded DINOv3")
end)

test("resolves_every_seeded_name", function()
  for _, family in ipairs({ "resnet", "resnetv2", "convnext", "convnextv2" }) do
    for _, name in ipairs(SEEDED[family]) do
      local v = registry.resolve(name)
      eq(v.name, name, "name")
      eq(v.seeded, true, name .. " seeded")
      eq(v.resolved_from, nil, name .. " resolved_from")
      eq(v.family, family == "convnextv2" and "convnext" or family, name .. " family")
    end
  end
end)

test("validates_every_registry_variant", function()
  for _, v in ipairs(registry.list()) do registry.validate(v) end
end)

test("resolves_bare_architecture_to_timm_default_tag", function()
  local defaults = {
    resnet50 = "resnet50_a1_in1k",
    resnet101 = "resnet101_a1h_in1k",
    resnext50_32x4d = "resnext50_32x4d_a1h_in1k",
    resnext101_32x4d = "resnext101_32x4d_fb_ssl_yfcc100m_ft_in1k",  -- timm skips the .untrained cfg
    wide_resnet50_2 = "wide_resnet50_2_racm_in1k",
    convnext_tiny = "convnext_tiny_in12k_ft_in1k",
    convnext_base = "convnext_base_fb_in22k_ft_in1k",
    convnextv2_tiny = "convnextv2_tiny_fcmae_ft_in22k_in1k",
    convnextv2_huge = "convnextv2_huge_fcmae_ft_in22k_in1k_384",
    resnetv2_50x1_bit = "resnetv2_50x1_bit_goog_distilled_in1k",
    resnetv2_152x2_bit = "resnetv2_152x2_bit_goog_teacher_in21k_ft_in1k",
  }
  for _, arch in ipairs({ "resnet50", "resnet101", "resnext50_32x4d", "resnext101_32x4d", "wide_resnet50_2",
                          "convnext_tiny", "convnext_base", "convnextv2_tiny", "convnextv2_huge",
                          "resnetv2_50x1_bit", "resnetv2_152x2_bit" }) do
    local v = registry.resolve(arch)
    eq(v.name, defaults[arch], arch .. " default")
    eq(v.resolved_from, arch, arch .. " resolved_from")
  end
  for _, a in ipairs(registry.architectures()) do
    eq(registry.resolve(a.name).name, a.default_name, a.name .. " default_name")
  end
  eq(#registry.architectures(), 42, "architectures (19 resnet, 6 resnetv2, 9 + 8 convnext)")
end)

test("accepts_timm_dotted_and_hub_names", function()
  eq(registry.resolve("convnext_tiny.fb_in1k").name, "convnext_tiny_fb_in1k", "dotted")
  eq(registry.resolve("timm/resnet50.a1_in1k").name, "resnet50_a1_in1k", "hub repo")
  eq(registry.resolve("hf-hub:timm/resnet50.a1_in1k").name, "resnet50_a1_in1k", "hf-hub: prefix")
  eq(registry.resolve("ConvNeXt_Tiny.FB_IN1K").name, "convnext_tiny_fb_in1k", "case")
end)

test("suggests_close_names_for_a_typo", function()
  local v, near = registry.lookup("convnext_tinny")
  eq(v, nil, "lookup of a typo")
  eq(near[1], "convnext_tiny", "best suggestion")
  if #near < 1 or #near > 5 then error("want 1..5 suggestions, got " .. #near) end
  local msg = user_error(registry.resolve, "convnext_tinny")
  contains(msg, "unknown variant 'convnext_tinny'; did you mean convnext_tiny", "resolve message")
  eq(select(2, registry.lookup("convnext_tinny")), near, "same suggestions twice")
  local tag_near = select(2, registry.lookup("convnext_tiny_fb_in1"))
  eq({ tag_near[1], tag_near[2] }, { "convnext_tiny_fb_in1k", "convnext_tiny_fb_in22k" }, "tag typo")
  eq(select(2, registry.lookup("resnetv2_50x1"))[1], "resnetv2_50x1_bit", "prefix of an architecture")
  contains(user_error(registry.resolve, "qqqq"), "unknown variant 'qqqq' (no close match", "no match")
  contains(user_error(registry.list, "vit"), "unknown family 'vit'", "unknown family")
end)

test("merges_architecture_config_into_each_tag", function()
  local v = registry.resolve("resnext50_32x4d_a1_in1k")
  eq(v.arch, "resnext50_32x4d", "arch")
  eq(v.timm_name, "resnext50_32x4d.a1_in1k", "timm_name")
  local c = v.config
  eq({ c.family, c.block, c.cardinality, c.base_width, c.stem_type, c.stem_width, c.avg_down, c.num_features },
     { "resnet", "bottleneck", 32, 4, nil, 64, false, 2048 }, "resnext config")
  eq(c.layers, { 3, 4, 6, 3 }, "layers")
  eq(c.channels, { 64, 128, 256, 512 }, "channels")
  c = registry.resolve("resnet50d").config
  eq({ c.stem_type, c.stem_width, c.avg_down }, { "deep", 32, true }, "resnet-d stem")
  eq(registry.resolve("resnet50d").first_conv, "conv1.0", "resnet-d first_conv")
  eq(registry.resolve("wide_resnet50_2").config.base_width, 128, "wide base_width")
  eq(registry.resolve("resnet18").config.block, "basic", "resnet18 block")
  c = registry.resolve("resnetv2_101x3_bit_goog_in21k").config
  eq({ c.family, c.width_factor, c.stem_chs, c.num_features, c.std_conv_eps, c.gn_groups, c.gn_eps, c.stem_type,
       c.preact }, { "resnetv2", 3, 192, 6144, 1e-8, 32, 1e-5, "fixed", true }, "BiT config")
  eq(c.channels, { 768, 1536, 3072, 6144 }, "BiT channels")
  c = registry.resolve("convnext_tiny_fb_in1k").config
  eq({ c.family, c.conv_mlp, c.use_grn, c.layer_scale, c.head_norm_first, c.num_features, c.ln_eps },
     { "convnext", false, false, true, false, 768, 1e-6 }, "convnext config")
  eq(c.depths, { 3, 3, 9, 3 }, "depths")
  eq(c.dims, { 96, 192, 384, 768 }, "dims")
  c = registry.resolve("convnextv2_atto_fcmae").config
  eq({ c.family, c.use_grn, c.layer_scale, c.conv_mlp }, { "convnext", true, false, true },
     "convnextv2 config")
  c = registry.resolve("convnext_small_dinov3_lvd1689m").config
  eq({ c.use_grn, c.layer_scale }, { false, true }, "DINOv3 is a v1 config")
end)

test("derives_hub_repo_labels_and_license_warning", function()
  local v = registry.resolve("convnext_tiny_fb_in22k")
  eq({ v.hub_repo, v.num_classes, v.labels }, { "timm/convnext_tiny.fb_in22k", 21841, "imagenet-22k" }, "fb_in22k")
  v = registry.resolve("resnetv2_50x1_bit_goog_in21k")
  eq({ v.num_classes, v.labels, v.license_warning }, { 21843, "imagenet-21k-goog", nil }, "goog_in21k")
  v = registry.resolve("resnet50_a1_in1k")
  eq({ v.num_classes, v.labels, v.license, v.license_warning }, { 1000, "imagenet-1k", "apache-2.0", nil }, "in1k")
  eq({ v.acc1, v.acc5, v.params, v.first_conv, v.classifier }, { 80.382, 94.598, 23508032, "conv1", "fc" }, "meta")
  eq({ v.input_size, v.test_input_size, v.crop_pct, v.crop_mode, v.interpolation },
     { { 224, 224 }, { 288, 288 }, 0.95, "center", "bicubic" }, "preprocessing")
  v = registry.resolve("convnext_tiny_dinov3_lvd1689m")
  eq({ v.num_classes, v.labels, v.acc1, v.license }, { 0, nil, nil, "dinov3-license" }, "dinov3 encoder")
  contains(v.license_warning, "DINOv3 License", "dinov3 warning")
  contains(registry.resolve("convnextv2_tiny").license_warning, "non-commercial use only", "cc-by-nc warning")
  contains(registry.resolve("resnet50_fb_swsl_ig1b_ft_in1k").license_warning, "CC-BY-NC-4.0", "swsl warning")
  contains(registry.resolve("convnext_tiny_eupe_lvd1689m").license_warning, "FAIR Noncommercial", "eupe warning")
  eq(registry.resolve("convnext_base_clip_laion2b").labels, nil, "640-d CLIP head has no labels")
  eq(registry.resolve("convnext_nano_in12k").labels, nil, "in12k has no labels")
end)

test("returns_a_fresh_table_on_every_lookup", function()
  local v = registry.resolve("convnext_tiny_fb_in1k")
  v.config.dims[1] = -1
  v.mean[1] = 42
  v.input_size[1] = 1
  local w = registry.resolve("convnext_tiny_fb_in1k")
  eq({ w.config.dims[1], w.mean[1], w.input_size[1] }, { 96, 0.485, 224 }, "after mutating a previous result")
end)

test("lists_in_deterministic_natural_order", function()
  local names = {}
  for _, v in ipairs(registry.list("resnet")) do names[#names + 1] = v.name end
  eq(names[1], "resnet18_a1_in1k", "first resnet")
  local first50, first101
  for i, n in ipairs(names) do
    if n:find("^resnet50_") and not first50 then first50 = i end
    if n:find("^resnet101_") and not first101 then first101 = i end
  end
  if not (first50 < first101) then error(string.format("resnet50 at %d after resnet101 at %d", first50, first101)) end
  local again = {}
  for _, v in ipairs(registry.list("resnet")) do again[#again + 1] = v.name end
  eq(again, names, "second listing")
  local archs = {}
  for _, a in ipairs(registry.architectures("resnetv2")) do archs[#archs + 1] = a.name end
  eq(archs, { "resnetv2_50x1_bit", "resnetv2_50x3_bit", "resnetv2_101x1_bit", "resnetv2_101x3_bit",
              "resnetv2_152x2_bit", "resnetv2_152x4_bit" }, "resnetv2 architectures")
end)

-- ---------------------------------------------------------------- user configs

test("builds_a_variant_from_a_resnext_config_with_defaults", function()
  local v = registry.from_config({ layers = { 3, 4, 23, 3 }, cardinality = 32, base_width = 8, num_classes = 10,
                                   avg_down = true }, "my_resnext.lua")
  local c = v.config
  eq({ v.name, v.family, v.num_classes, v.labels, v.hub_repo, v.source },
     { "resnet_custom", "resnet", 10, nil, nil, "my_resnext.lua" }, "variant")
  eq({ c.block, c.cardinality, c.base_width, c.in_channels, c.stem_width, c.stem_type, c.avg_down, c.num_features },
     { "bottleneck", 32, 8, 3, 64, nil, true, 2048 }, "config")
  eq(c.channels, { 64, 128, 256, 512 }, "default channels")
  eq({ v.input_size, v.interpolation, v.mean }, { { 224, 224 }, "bilinear", { 0.485, 0.456, 0.406 } }, "preprocessing")
  v = registry.from_config({ name = "r50d", layers = { 3.0, 4.0, 6.0, 3.0 }, cardinality = 1, base_width = 64,
                             stem_type = "deep", stem_width = 32 })
  eq({ v.name, v.num_classes, v.labels, v.first_conv, math.type(v.config.layers[1]) },
     { "r50d", 1000, "imagenet-1k", "conv1.0", "integer" }, "num_classes default 1000")
  v = registry.from_config({ block = "basic", layers = { 2, 2, 2, 2 } })
  eq({ v.config.cardinality, v.config.base_width, v.config.num_features }, { 1, 64, 512 }, "basic block defaults")
  v = registry.from_config({ family = "convnext", depths = { 2, 2, 6, 2 }, dims = { 40, 80, 160, 320 }, use_grn = true,
                             conv_mlp = true })
  eq({ v.config.use_grn, v.config.num_features, v.interpolation }, { true, 320, "bicubic" }, "convnext config")
  v = registry.from_config({ family = "resnetv2", layers = { 3, 4, 6, 3 }, width_factor = 2 })
  eq({ v.config.stem_chs, v.config.num_features, v.mean[1] }, { 128, 4096, 0.5 }, "resnetv2 config")
end)

test("rejects_each_invalid_config_field_by_name", function()
  local base = { layers = { 3, 4, 6, 3 }, cardinality = 32, base_width = 4 }
  local function with(over)
    local t = {}
    for k, v in pairs(base) do t[k] = v end
    for k, v in pairs(over) do t[k] = v end
    return t
  end
  local cases = {
    { with({ layers = { 3, 4, 6 } }), "config field 'layers' must hold exactly four positive integers (got 3 values)" },
    { with({ layers = { 3, 4, 0, 3 } }), "config field 'layers' must hold exactly four positive integers (got 0 at position 3)" },
    { with({ layers = 50 }), "config field 'layers' must hold exactly four positive integers (got 50)" },
    { with({ channels = { 64, 128, 256, 512, 1024 } }), "config field 'channels' must hold exactly four positive integers (got 5 values)" },
    { with({ channels = { 64, 128, 2.5, 512 } }), "config field 'channels' must hold exactly four positive integers (got 2.5 at position 3)" },
    { with({ cardinality = 0 }), "config field 'cardinality' must be a positive integer (got 0)" },
    { with({ base_width = -4 }), "config field 'base_width' must be a positive integer (got -4)" },
    { with({ num_classes = 0 }), "config field 'num_classes' must be a positive integer (got 0)" },
    { with({ in_channels = 0 }), "config field 'in_channels' must be a positive integer (got 0)" },
    { with({ stem_width = 0 }), "config field 'stem_width' must be a positive integer (got 0)" },
    { with({ stem_type = "wide" }), "config field 'stem_type' must be nil or \"deep\" (got \"wide\")" },
    { with({ block_args = { attn_layer = "se" } }), "unknown config field 'block_args' for family \"resnet\"" },
    { with({ stem_width = 32 }), "config field 'stem_width' only applies to stem_type \"deep\"" },
    { with({ avg_down = "yes" }), "config field 'avg_down' must be true or false (got \"yes\")" },
    { with({ block = "basic" }), "config fields 'cardinality' and 'base_width' must be 1 and 64 for block \"basic\"" },
    { with({ block = "inverted" }), "config field 'block' must be \"basic\" or \"bottleneck\" (got \"inverted\")" },
    { with({ family = "vit" }), "config field 'family' must be one of \"convnext\", \"resnet\", \"resnetv2\" (got \"vit\")" },
    { with({ widht = 3, depth = 2 }), "unknown config fields 'depth', 'widht' for family \"resnet\"" },
    { with({ name = "my-model" }), "config field 'name' is not a C identifier; use letters, digits and _ (got \"my-model\")" },
    { with({ name = string.rep("m", 65) }), "config field 'name' has 65 characters, more than lucidgen's limit of 64" },
    { with({ name = "_Model" }), "config field 'name' starts with _ and a capital or a second _, which C reserves" },
    { with({ crop_pct = 1.5 }), "config field 'crop_pct' must be a number in (0, 1] (got 1.5)" },
    { with({ interpolation = "lanczos" }), "config field 'interpolation' must be \"bicubic\" or \"bilinear\" (got \"lanczos\")" },
    { with({ std = { 0.5, 0, 0.5 } }), "config field 'std' must hold 3 positive numbers, one per input channel (got 0 at position 2)" },
    { with({ input_size = { 224 } }), "config field 'input_size' must be {height, width} in positive integers" },
    { with({ mean = { 0.5, 0.5 } }), "config field 'mean' must hold 3 numbers, one per input channel (got 2 values)" },
    { with({ in_channels = 1 }), "config fields 'mean' and 'std' are required when in_channels is 1" },
    { { layers = { 3, 4, 6, 3 }, base_width = 4 }, "config field 'cardinality' is required" },
    { { cardinality = 32, base_width = 4 }, "config field 'layers' is required" },
    { { 3, 4, 6, 3 }, "config must be a table of named fields" },
    { "resnet50", "config must be a table of named fields (got \"resnet50\")" },
    { { family = "convnext", depths = { 3, 3, 9 }, dims = { 96, 192, 384, 768 } },
      "config field 'depths' must hold exactly four positive integers (got 3 values)" },
    { { family = "convnext", depths = { 3, 3, 9, 3 }, dims = { 96, 192, 384, 768 }, ln_eps = 0 },
      "config field 'ln_eps' must be a positive number (got 0)" },
    { { family = "convnext", depths = { 3, 3, 9, 3 }, dims = { 96, 192, 384, 768 }, cardinality = 1 },
      "unknown config field 'cardinality' for family \"convnext\"" },
    { { family = "resnetv2", layers = { 3, 4, 6, 3 }, gn_groups = 48 },
      "config field 'stem_chs' must be a multiple of gn_groups (48) (got 64)" },
    { { family = "resnetv2", layers = { 3, 4, 6, 3 }, channels = { 256, 512, 1000, 2048 } },
      "config field 'channels' must hold multiples of 4 * gn_groups (128) (got 1000 at position 3)" },
    { { family = "resnetv2", layers = { 3, 4, 6, 3 }, width_factor = 2, channels = { 256, 512, 1024, 2048 } },
      "config fields 'stem_chs' and 'channels' must be 128 and {512, 1024, 2048, 4096} for width_factor 2" },
    { { family = "resnetv2", layers = { 3, 4, 6, 3 }, stem_type = "same" },
      "config field 'stem_type' must be \"\" or \"fixed\" (got \"same\")" },
    { { family = "resnetv2", layers = { 3, 4, 6, 3 }, preact = false },
      "unknown config field 'preact' for family \"resnetv2\"" },
    { { family = "convnext", depths = { 3, 3, 9, 3 }, dims = { 96, 192, 384, 768 }, generation = 2 },
      "unknown config field 'generation' for family \"convnext\"" },
    { { family = "convnext", depths = { 3, 3, 9, 3 }, dims = { 96, 192, 384, 768 }, head_norm_first = "yes" },
      "config field 'head_norm_first' must be true or false (got \"yes\")" },
  }
  for i, case in ipairs(cases) do
    local msg = user_error(registry.from_config, case[1], "cfg.lua")
    contains(msg, "cfg.lua: " .. case[2], string.format("case %d", i))
  end
end)

test("validate_rejects_a_broken_registry_variant", function()
  local v = registry.resolve("resnet50_a1_in1k")
  v.config.layers = { 3, 4, 6 }
  contains(user_error(registry.validate, v),
    "variant 'resnet50_a1_in1k': config field 'layers' must hold exactly four positive integers (got 3 values)",
    "layers")
  v = registry.resolve("convnext_tiny_fb_in1k")
  v.config.num_features = 1024
  contains(user_error(registry.validate, v), "config field 'num_features' must be 768 for this config (got 1024)",
    "num_features")
  v = registry.resolve("convnext_tiny_fb_in1k")
  v.num_classes = -1
  contains(user_error(registry.validate, v), "config field 'num_classes' must be a non-negative integer", "head")
  v = registry.resolve("convnext_tiny_fb_in1k")
  v.license = "wtfpl"
  contains(user_error(registry.validate, v), "license \"wtfpl\" has no entry", "license")
end)

-- ---------------------------------------------------------------- one owner per family config

-- The graph a variant builds (what the generated model is made of): every
-- node's op, name, attributes and output shape, and every parameter's shape.
local function graph_of(v, overrides)
  local g = require("graph").new({ variant = v.name })
  local mo = { num_classes = v.num_classes, in_chans = v.config.in_channels, size = v.input_size, batch = 1 }
  for k, x in pairs(overrides or {}) do mo[k] = x end
  registry.family(v.family).build(g, v.config, mo)
  return g
end

local function fingerprint(g)
  local out = {}
  for _, node in ipairs(g.nodes) do
    local attrs = {}
    for k, x in pairs(node.attrs) do attrs[#attrs + 1] = k .. "=" .. tostring(x) end
    table.sort(attrs)
    out[#out + 1] = string.format("%s %s [%s] -> %s", node.op, tostring(node.name), table.concat(attrs, " "),
      table.concat(g.values[node.output].shape, "x"))
  end
  for _, key in ipairs(g.param_order) do out[#out + 1] = key .. " " .. table.concat(g.params[key].shape, "x") end
  return table.concat(out, "\n")
end

test("every_accepted_config_field_changes_the_generated_model", function()
  -- pairs of user configs that differ in one field; together they must cover
  -- every field a family accepts, and each pair must build different graphs
  local cases = {
    resnet = { base = { layers = { 1, 1, 1, 1 }, cardinality = 1, base_width = 64 }, vary = {
      layers = { 1, 2, 1, 1 }, cardinality = 2, base_width = 32, block = "basic", avg_down = true,
      channels = { 32, 64, 128, 256 }, stem_type = "deep",
      stem_width = { with = { stem_type = "deep" }, value = 32 } } },
    resnetv2 = { base = { layers = { 1, 1, 1, 1 } }, vary = {
      layers = { 1, 2, 1, 1 }, width_factor = 2, stem_chs = 128, channels = { 512, 1024, 2048, 4096 },
      gn_groups = 16, std_conv_eps = 1e-6, gn_eps = 1e-6, stem_type = "" } },
    convnext = { base = { depths = { 1, 1, 1, 1 }, dims = { 8, 16, 32, 64 } }, vary = {
      depths = { 1, 2, 1, 1 }, dims = { 16, 16, 32, 64 }, conv_mlp = true, use_grn = true, layer_scale = true,
      head_norm_first = true, ln_eps = 1e-5 } },
  }
  for _, family in ipairs(registry.families()) do
    local c = cases[family]
    for field in pairs(registry.family(family).fields) do
      if c.vary[field] == nil then error(string.format("%s: no case varies accepted field '%s'", family, field)) end
    end
    for field, change in pairs(c.vary) do
      local a, b = { family = family }, { family = family }
      for k, x in pairs(c.base) do a[k], b[k] = x, x end
      if type(change) == "table" and change.with then
        for k, x in pairs(change.with) do a[k], b[k] = x, x end
        change = change.value
      end
      b[field] = change
      local fa = fingerprint(graph_of(registry.from_config(a, "a.lua")))
      local fb = fingerprint(graph_of(registry.from_config(b, "b.lua")))
      if fa == fb then error(string.format("%s: setting '%s' builds the same graph", family, field)) end
    end
  end
  local v = registry.from_config(cases.resnet.base)
  local base = fingerprint(graph_of(v))
  if fingerprint(graph_of(v, { num_classes = 10 })) == base or fingerprint(graph_of(v, { size = { 64, 96 } })) == base
      or fingerprint(graph_of(v, { in_chans = 1 })) == base then
    error("num_classes, input size or input channels do not change the graph")
  end
end)

test("convnext_head_norm_first_normalizes_the_feature_map_before_pooling", function()
  local cfg = { family = "convnext", depths = { 1, 1, 1, 1 }, dims = { 8, 16, 32, 64 } }
  local g = graph_of(registry.from_config(cfg))
  cfg.head_norm_first = true
  local hnf = graph_of(registry.from_config(cfg))
  local function tail(gr)
    local out = {}
    for i = #gr.nodes - 2, #gr.nodes do out[#out + 1] = gr.nodes[i].op .. " " .. gr.nodes[i].name end
    return out
  end
  eq(tail(g), { "global_avgpool head.global_pool", "layernorm head.norm", "linear head.fc" }, "default head")
  eq(tail(hnf), { "layernorm norm_pre", "global_avgpool head.global_pool", "linear head.fc" }, "_hnf head")
  eq({ hnf.params["norm_pre.weight"] ~= nil, hnf.params["head.norm.weight"] }, { true, nil }, "_hnf keys")
end)

test("resnetv2_stem_type_chooses_the_stem_pool_padding", function()
  local function pool(stem_type)
    local g = graph_of(registry.from_config({ family = "resnetv2", layers = { 1, 1, 1, 1 }, stem_type = stem_type }))
    for _, node in ipairs(g.nodes) do
      if node.name == "stem.pool" then return { node.attrs.pad, tostring(node.attrs.pad_value) } end
    end
  end
  eq(pool("fixed"), { 1, "0" }, "fixed: ConstantPad2d(1, 0) then pool")
  eq(pool(""), { 1, "nil" }, "'': MaxPool2d(3, 2, padding=1), -inf padding")
  local v = registry.resolve("resnetv2_50x1_bit_goog_in21k")
  v.config.stem_type = ""
  registry.validate(v)
  v.config.stem_type = "same"
  contains(user_error(registry.validate, v), "config field 'stem_type' must be \"\" or \"fixed\"", "registry row")
end)

test("registry_rows_and_user_configs_are_validated_by_the_family_module", function()
  -- the same rule, the same message, whichever way the config arrives
  local fam = registry.family("convnext")
  local v = registry.resolve("convnext_tiny_fb_in1k")
  v.config.ln_eps = -1
  local want = fam.validate(v.config)
  contains(user_error(registry.validate, v), want, "registry row")
  contains(user_error(registry.from_config, { family = "convnext", depths = { 3, 3, 9, 3 },
    dims = { 96, 192, 384, 768 }, ln_eps = -1 }), want, "user config")
  for _, name in ipairs(registry.families()) do
    local f = registry.family(name)
    for _, k in ipairs({ "fields", "defaults", "complete", "validate", "first_conv", "build" }) do
      if f[k] == nil then error(string.format("families/%s.lua has no %s", name, k)) end
    end
  end
end)

-- ---------------------------------------------------------------- label files

test("ships_label_files_with_one_wnid_and_lemma_per_class", function()
  local want = { ["imagenet-1k"] = 1000, ["imagenet-22k"] = 21841, ["imagenet-21k-goog"] = 21843 }
  for _, set in ipairs({ "imagenet-1k", "imagenet-22k", "imagenet-21k-goog" }) do
    local path = "variants/labels/" .. set .. ".txt"
    local f = assert(io.open(path, "rb"))
    local n = 0
    for line in f:lines() do
      n = n + 1
      if not line:match("^n%d%d%d%d%d%d%d%d\t[^\t\r]+$") then
        error(string.format("%s:%d: want 'wnid<TAB>lemma', got %q", path, n, line))
      end
    end
    f:close()
    eq(n, want[set], path .. " lines")
  end
  local first = io.open("variants/labels/imagenet-1k.txt"):read("l")
  eq(first, "n01440764\ttench, Tinca tinca", "first ImageNet-1k class")
  for _, v in ipairs(registry.list()) do
    if v.labels then eq(want[v.labels], v.num_classes, v.name .. " label count") end
  end
end)

check.run()
