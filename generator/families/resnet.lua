-- timm ResNet / ResNet-D / ResNeXt / Wide-ResNet (timm/models/resnet.py) as a graph.
-- config: block ("basic"|"bottleneck"), layers[4], channels[4] (planes), cardinality,
-- base_width, stem_type (nil|"deep"), stem_width (deep stems only), avg_down.
-- This module owns the config: which fields a user config may set (ResNeXtConfig's
-- rules), their defaults and their validation; the registry only calls it.
-- Module names are timm's state-dict prefixes, so checkpoint keys line up.
local limits = require("limits")
local rules = require("config_rules")

local resnet = {}

local EXPANSION = { basic = 1, bottleneck = 4 }

-- The fields a --config table may set, with their defaults; each changes the model.
resnet.fields = {
  layers = rules.REQUIRED, cardinality = rules.REQUIRED, base_width = rules.REQUIRED, block = "bottleneck",
  stem_width = 64, stem_type = rules.OPTIONAL, avg_down = false, channels = { 64, 128, 256, 512 },
}
-- timm's _cfg() for resnet.py: what a config's preprocessing defaults to.
resnet.defaults = { interpolation = "bilinear", mean = { 0.485, 0.456, 0.406 }, std = { 0.229, 0.224, 0.225 } }

-- Fills in what a user config may leave out beyond the defaults: basic blocks
-- have no groups, so ResNet-18/34 configs omit cardinality and base_width.
function resnet.complete(cfg)
  if cfg.block == "basic" then
    cfg.cardinality = cfg.cardinality == nil and 1 or cfg.cardinality
    cfg.base_width = cfg.base_width == nil and 64 or cfg.base_width
  end
  rules.make_integers(cfg, { "layers", "channels", "cardinality", "base_width", "stem_width", "in_channels" })
end

-- nil and the model's num_features, or the first problem.
function resnet.validate(c)
  local msg = rules.first_problem(
    rules.one_of("block", c.block, EXPANSION),
    rules.four_positive_integers("layers", c.layers, limits.stage_depth),
    rules.four_positive_integers("channels", c.channels, limits.width),
    rules.positive_integer("cardinality", c.cardinality, limits.width),
    rules.positive_integer("base_width", c.base_width, limits.width),
    rules.positive_integer("in_channels", c.in_channels, limits.in_chans),
    rules.positive_integer("stem_width", c.stem_width, limits.width),
    (c.stem_type ~= nil and c.stem_type ~= "deep")
      and string.format('config field \'stem_type\' must be nil or "deep" (got %s)', rules.describe(c.stem_type)),
    rules.boolean("avg_down", c.avg_down)
  )
  if msg then return msg end
  if c.block == "basic" and (c.cardinality ~= 1 or c.base_width ~= 64) then
    return string.format('config fields \'cardinality\' and \'base_width\' must be 1 and 64 for block "basic" '
      .. '(got %s and %s); use block = "bottleneck" for grouped or wide blocks', rules.describe(c.cardinality),
      rules.describe(c.base_width))
  end
  if c.stem_type ~= "deep" and c.stem_width ~= 64 then
    return string.format("config field 'stem_width' only applies to stem_type \"deep\" (the 7x7 stem is 64 wide; "
      .. "got %s); drop it or set stem_type = \"deep\"", rules.describe(c.stem_width))
  end
  return nil, c.channels[4] * EXPANSION[c.block]
end

-- The checkpoint key prefix of the first conv (timm's deep stem is a Sequential).
function resnet.first_conv(cfg)
  return cfg.stem_type == "deep" and "conv1.0" or "conv1"
end

local function conv_bn(g, x, conv_name, bn_name, a)
  return g:batchnorm(g:conv(x, conv_name, a), bn_name)
end

-- Stem: 7x7/2 conv, or ResNet-D's deep stem (3x3/2, 3x3, 3x3 with stem_width,
-- stem_width, 2*stem_width channels), then BN, ReLU and 3x3/2 max pool.
local function stem(g, x, cfg)
  local inplanes
  if cfg.stem_type == "deep" then
    local w = cfg.stem_width
    x = g:relu(conv_bn(g, x, "conv1.0", "conv1.1", { out = w, k = 3, stride = 2 }), "conv1.2")
    x = g:relu(conv_bn(g, x, "conv1.3", "conv1.4", { out = w, k = 3 }), "conv1.5")
    inplanes = 2 * w
    x = g:conv(x, "conv1.6", { out = inplanes, k = 3 })
  else
    inplanes = 64
    x = g:conv(x, "conv1", { out = inplanes, k = 7, stride = 2 })
  end
  x = g:relu(g:batchnorm(x, "bn1"), "act1")
  return g:maxpool(x, "maxpool", 3, 2, 1), inplanes
end

-- Projection shortcut: 1x1 conv (stride s) + BN, or with avg_down a 2x2
-- ceil-mode average pool (skipped at stride 1) before a 1x1 stride-1 conv.
local function downsample(g, x, name, out, stride, avg_down)
  if avg_down then
    if stride ~= 1 then x = g:avgpool(x, name .. ".0", 2, stride, true) end
    return conv_bn(g, x, name .. ".1", name .. ".2", { out = out, k = 1 })
  end
  return conv_bn(g, x, name .. ".0", name .. ".1", { out = out, k = 1, stride = stride })
end

local function basic_block(g, x, name, planes, stride, shortcut)
  local y = g:relu(conv_bn(g, x, name .. ".conv1", name .. ".bn1", { out = planes, k = 3, stride = stride }),
    name .. ".act1")
  y = conv_bn(g, y, name .. ".conv2", name .. ".bn2", { out = planes, k = 3 })
  return g:relu(g:add_residual(y, shortcut, name), name)
end

local function bottleneck_block(g, x, name, planes, stride, shortcut, cfg)
  -- timm: width = floor(planes * base_width / 64) * cardinality
  local width = (planes * cfg.base_width // 64) * cfg.cardinality
  local y = g:relu(conv_bn(g, x, name .. ".conv1", name .. ".bn1", { out = width, k = 1 }), name .. ".act1")
  y = g:relu(conv_bn(g, y, name .. ".conv2", name .. ".bn2",
    { out = width, k = 3, stride = stride, groups = cfg.cardinality }), name .. ".act2")
  y = conv_bn(g, y, name .. ".conv3", name .. ".bn3", { out = planes * 4, k = 1 })
  return g:relu(g:add_residual(y, shortcut, name), name)
end

-- opts: num_classes (0 = pooled features), in_chans, size {h, w}, batch
function resnet.build(g, cfg, opts)
  local x = g:input({ opts.batch, opts.in_chans, opts.size[1], opts.size[2] })
  local inplanes
  x, inplanes = stem(g, x, cfg)
  local expansion = EXPANSION[cfg.block]
  for stage = 1, 4 do
    local planes = cfg.channels[stage]
    for b = 1, cfg.layers[stage] do
      local name = string.format("layer%d.%d", stage, b - 1)
      local stride = (stage > 1 and b == 1) and 2 or 1
      local shortcut = x
      if b == 1 and (stride ~= 1 or inplanes ~= planes * expansion) then
        shortcut = downsample(g, x, name .. ".downsample", planes * expansion, stride, cfg.avg_down)
      end
      if cfg.block == "basic" then
        x = basic_block(g, x, name, planes, stride, shortcut)
      else
        x = bottleneck_block(g, x, name, planes, stride, shortcut, cfg)
      end
      g.values[x].dump_name = name
      inplanes = planes * expansion
    end
  end
  x = g:global_avgpool(x, "global_pool")
  g.values[x].dump_name = "global_pool"
  if opts.num_classes > 0 then
    x = g:linear(x, "fc", opts.num_classes)
    g.values[x].dump_name = "fc"
  end
  g:set_output(x)
  g.classifier = "fc"
  g.first_conv = resnet.first_conv(cfg)
  return g
end

return resnet
