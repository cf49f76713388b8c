-- timm ResNet / ResNet-D / ResNeXt / Wide-ResNet (timm/models/resnet.py) as a graph.
-- config: block ("basic"|"bottleneck"), layers[4], channels[4] (planes), cardinality,
-- base_width, stem_type (nil|"deep"), stem_width, avg_down.
-- Module names are timm's state-dict prefixes, so checkpoint keys line up.
local resnet = {}

local EXPANSION = { basic = 1, bottleneck = 4 }

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
  g.first_conv = cfg.stem_type == "deep" and "conv1.0" or "conv1"
  return g
end

return resnet
