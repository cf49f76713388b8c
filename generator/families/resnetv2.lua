-- timm ResNetV2 with Big Transfer weights (timm/models/resnetv2.py, _create_resnetv2_bit)
-- as a graph. Semantics pinned by tests/parity/ref_resnetv2.py.
-- config: layers[4], stem_chs and channels[4] = timm's widths after width_factor
-- (64*wf and {256, 512, 1024, 2048}*wf), std_conv_eps, gn_groups, gn_eps,
-- stem_type ("fixed": zero pad + 3x3/2 max pool | "": max pool padded with -inf),
-- preact (must be true). This module owns the config: fields, defaults, validation.
-- Every conv is a StdConv2d (weight standardized, no bias); every norm is
-- GroupNormAct = GroupNorm + ReLU. Module names are timm's state-dict prefixes.
local limits = require("limits")
local rules = require("config_rules")

local resnetv2 = {}

local BOTTLE_RATIO = 0.25
local BIT_WIDTHS = { 256, 512, 1024, 2048 } -- stage widths at width_factor 1; the stem is 64

-- The fields a --config table may set, with their defaults; each changes the
-- model. width_factor derives stem_chs and channels (set it or them).
resnetv2.fields = {
  layers = rules.REQUIRED, width_factor = rules.OPTIONAL, stem_chs = rules.DERIVED, channels = rules.DERIVED,
  gn_groups = 32, std_conv_eps = 1e-8, gn_eps = 1e-5, stem_type = "fixed",
}
-- timm's _cfg() for resnetv2.py (BiT): what a config's preprocessing defaults to.
resnetv2.defaults = { interpolation = "bilinear", mean = { 0.5, 0.5, 0.5 }, std = { 0.5, 0.5, 0.5 } }

local function widths(wf)
  local out = {}
  for i, w in ipairs(BIT_WIDTHS) do out[i] = w * wf end
  return out
end

-- Derives the widths a user config left out (from width_factor, else x1).
function resnetv2.complete(cfg)
  rules.make_integers(cfg, { "layers", "channels", "width_factor", "stem_chs", "gn_groups", "in_channels" })
  cfg.preact = true
  local wf = cfg.width_factor == nil and 1 or rules.as_integer(cfg.width_factor)
  if wf then
    cfg.stem_chs = cfg.stem_chs == nil and 64 * wf or cfg.stem_chs
    cfg.channels = cfg.channels == nil and widths(wf) or cfg.channels
  end
end

-- nil and the model's num_features, or the first problem.
function resnetv2.validate(c)
  local msg = rules.first_problem(
    rules.four_positive_integers("layers", c.layers, limits.stage_depth),
    c.width_factor ~= nil and rules.positive_integer("width_factor", c.width_factor, limits.width),
    rules.positive_integer("stem_chs", c.stem_chs, limits.width),
    rules.four_positive_integers("channels", c.channels, limits.width),
    rules.positive_integer("in_channels", c.in_channels, limits.in_chans),
    rules.positive_integer("gn_groups", c.gn_groups, limits.width),
    rules.positive_number("std_conv_eps", c.std_conv_eps),
    rules.positive_number("gn_eps", c.gn_eps),
    rules.one_of("stem_type", c.stem_type, { fixed = true, [""] = true }),
    c.preact ~= true and string.format("config field 'preact' must be true (got %s)", rules.describe(c.preact))
  )
  if msg then return msg end
  if c.width_factor ~= nil then
    local want = widths(c.width_factor)
    for i = 1, 4 do
      if c.channels[i] ~= want[i] or c.stem_chs ~= 64 * c.width_factor then
        return string.format("config fields 'stem_chs' and 'channels' must be %d and {%s} for width_factor %d "
          .. "(got %d and {%s}); set width_factor or them, not both", 64 * c.width_factor, table.concat(want, ", "),
          c.width_factor, c.stem_chs, table.concat(c.channels, ", "))
      end
    end
  end
  -- GroupNorm runs on each block's input (stem_chs, then stage widths) and on
  -- its bottleneck (stage width / 4).
  if c.stem_chs % c.gn_groups ~= 0 then
    return string.format("config field 'stem_chs' must be a multiple of gn_groups (%d) (got %d)", c.gn_groups,
      c.stem_chs)
  end
  for i = 1, 4 do
    if c.channels[i] % (4 * c.gn_groups) ~= 0 then
      return string.format("config field 'channels' must hold multiples of 4 * gn_groups (%d) (got %d at position %d)",
        4 * c.gn_groups, c.channels[i], i)
    end
  end
  return nil, c.channels[4]
end

function resnetv2.first_conv() return "stem.conv" end

-- timm/layers/helpers.py make_divisible(v, 8): round to a multiple of 8, never
-- below 8 and never more than 10% below v.
local function make_divisible(v)
  local d = 8
  local new_v = math.max(d, math.floor(v + d / 2) // d * d)
  if new_v < 0.9 * v then new_v = new_v + d end
  return math.tointeger(new_v)
end

-- opts: num_classes (0 = pooled features), in_chans, size {h, w}, batch
function resnetv2.build(g, cfg, opts)
  local eps, groups, gn_eps = cfg.std_conv_eps, cfg.gn_groups, cfg.gn_eps
  local function conv(x, name, out, k, stride)
    -- timm get_padding(k, stride) = ((stride - 1) + (k - 1)) // 2
    return g:conv(x, name, { out = out, k = k, stride = stride, pad = ((stride - 1) + (k - 1)) // 2, std_eps = eps })
  end
  local function gn_relu(x, name)
    return g:relu(g:groupnorm(x, name, groups, gn_eps), name .. ".act")
  end

  local x = g:input({ opts.batch, opts.in_chans, opts.size[1], opts.size[2] })
  -- stem: 7x7/2 conv (no norm: the first block pre-activates), 3x3/2 max pool;
  -- "fixed" pads with constant 0 first (ConstantPad2d(1, 0) + MaxPool2d(3, 2, 0))
  x = conv(x, "stem.conv", cfg.stem_chs, 7, 2)
  x = g:maxpool(x, "stem.pool", 3, 2, 1, cfg.stem_type == "fixed" and 0 or nil)
  g.values[x].dump_name = "stem"

  for i, depth in ipairs(cfg.layers) do
    local out = cfg.channels[i]
    local mid = make_divisible(out * BOTTLE_RATIO)
    for j = 1, depth do
      local name = string.format("stages.%d.blocks.%d", i - 1, j - 1)
      local stride = (i > 1 and j == 1) and 2 or 1
      -- PreActBottleneck: x_preact = relu(norm1(x)); the projection shortcut (block 0
      -- of every stage) reads x_preact, the identity shortcut reads x
      local preact = gn_relu(x, name .. ".norm1")
      local shortcut = x
      if j == 1 then shortcut = conv(preact, name .. ".downsample.conv", out, 1, stride) end
      local y = conv(preact, name .. ".conv1", mid, 1, 1)
      y = conv(gn_relu(y, name .. ".norm2"), name .. ".conv2", mid, 3, stride)
      y = conv(gn_relu(y, name .. ".norm3"), name .. ".conv3", out, 1, 1)
      x = g:add_residual(y, shortcut, name)
      g.values[x].dump_name = name
    end
  end

  x = gn_relu(x, "norm")
  g.values[x].dump_name = "norm"
  x = g:global_avgpool(x, "head.global_pool")
  g.values[x].dump_name = "head.global_pool"
  if opts.num_classes > 0 then
    x = g:linear(x, "head.fc", opts.num_classes, true) -- checkpoint holds a 1x1 conv [nc, C, 1, 1]
    g.values[x].dump_name = "head.fc"
  end
  g:set_output(x)
  g.classifier = "head.fc"
  g.first_conv = resnetv2.first_conv()
  return g
end

return resnetv2
