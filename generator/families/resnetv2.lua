-- timm ResNetV2 with Big Transfer weights (timm/models/resnetv2.py, _create_resnetv2_bit)
-- as a graph. Semantics pinned by tests/parity/ref_resnetv2.py.
-- config: layers[4], stem_chs and channels[4] = timm's widths after width_factor
-- (64*wf and {256, 512, 1024, 2048}*wf), std_conv_eps, gn_groups, gn_eps,
-- stem_type ("fixed" | ""), preact (must be true).
-- Every conv is a StdConv2d (weight standardized, no bias); every norm is
-- GroupNormAct = GroupNorm + ReLU. Module names are timm's state-dict prefixes.
local errors = require("errors")

local resnetv2 = {}

local BOTTLE_RATIO = 0.25

-- timm/layers/helpers.py make_divisible(v, 8): round to a multiple of 8, never
-- below 8 and never more than 10% below v.
local function make_divisible(v)
  local d = 8
  local new_v = math.max(d, math.floor(v + d / 2) // d * d)
  if new_v < 0.9 * v then new_v = new_v + d end
  return math.tointeger(new_v)
end

local function check_config(cfg)
  if cfg.preact == false then errors.user("resnetv2: only pre-activation (BiT) models are supported") end
  local stem_type = cfg.stem_type or "fixed"
  if stem_type ~= "fixed" and stem_type ~= "" then
    errors.user("resnetv2: stem_type '%s' is not supported; use \"fixed\" or \"\"", stem_type)
  end
  if #cfg.layers ~= #cfg.channels then
    errors.user("resnetv2: %d stages in layers but %d in channels", #cfg.layers, #cfg.channels)
  end
  if cfg.num_features and cfg.num_features ~= cfg.channels[#cfg.channels] then
    errors.user("resnetv2: num_features %d differs from the last stage width %d",
      cfg.num_features, cfg.channels[#cfg.channels])
  end
  return stem_type
end

-- opts: num_classes (0 = pooled features), in_chans, size {h, w}, batch
function resnetv2.build(g, cfg, opts)
  local stem_type = check_config(cfg)
  local eps, groups, gn_eps = cfg.std_conv_eps or 1e-8, cfg.gn_groups or 32, cfg.gn_eps or 1e-5
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
  x = g:maxpool(x, "stem.pool", 3, 2, 1, stem_type == "fixed" and 0 or nil)
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
  g.first_conv = "stem.conv"
  return g
end

return resnetv2
