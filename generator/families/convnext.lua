-- timm ConvNeXt v1 (incl. DINOv3 / EUPE encoders) and ConvNeXt-V2
-- (timm/models/convnext.py) as a graph. Semantics pinned by tests/parity/ref_convnext.py.
-- config: depths[4], dims[4], conv_mlp, use_grn (V2), layer_scale (v1 `gamma`),
-- head_norm_first (timm's _hnf: LayerNorm before pooling), ln_eps, num_features
-- (= dims[4]). This module owns the config: fields, defaults, validation.
-- Module names are timm's state-dict prefixes, so checkpoint keys line up.
local limits = require("limits")
local rules = require("config_rules")

local convnext = {}

local MLP_RATIO = 4
local GRN_EPS = 1e-6 -- timm GlobalResponseNorm default; no variant changes it

-- The fields a --config table may set, with their defaults; each changes the model.
convnext.fields = {
  depths = rules.REQUIRED, dims = rules.REQUIRED, conv_mlp = false, use_grn = false, layer_scale = false,
  head_norm_first = false, ln_eps = 1e-6,
}
-- timm's _cfg() for convnext.py: what a config's preprocessing defaults to.
convnext.defaults = { interpolation = "bicubic", mean = { 0.485, 0.456, 0.406 }, std = { 0.229, 0.224, 0.225 } }

function convnext.complete(cfg)
  rules.make_integers(cfg, { "depths", "dims", "in_channels" })
end

-- nil and the model's num_features, or the first problem.
function convnext.validate(c)
  local msg = rules.first_problem(
    rules.four_positive_integers("depths", c.depths, limits.stage_depth),
    rules.four_positive_integers("dims", c.dims, limits.width),
    rules.positive_integer("in_channels", c.in_channels, limits.in_chans),
    rules.boolean("conv_mlp", c.conv_mlp),
    rules.boolean("use_grn", c.use_grn),
    rules.boolean("layer_scale", c.layer_scale),
    rules.boolean("head_norm_first", c.head_norm_first),
    rules.positive_number("ln_eps", c.ln_eps)
  )
  if msg then return msg end
  return nil, c.dims[4]
end

function convnext.first_conv() return "stem.0" end

-- The block MLP's per-pixel Linear C -> out, run as a 1x1 conv over [N, C, H, W].
-- conv_mlp checkpoints hold a 1x1 nn.Conv2d weight [out, C, 1, 1]; the others an
-- nn.Linear weight [out, C] (linear = true declares that shape for strict loading).
local function pointwise(g, x, name, out, conv_mlp)
  return g:conv(x, name, { out = out, k = 1, pad = 0, bias = true, linear = not conv_mlp })
end

-- Block: x + gamma * fc2(grn(gelu(fc1(norm(conv_dw(x)))))), shape [N, C, H, W] kept.
local function block(g, x, name, cfg, eps)
  local c = g:shape(x)[2]
  local y = g:conv(x, name .. ".conv_dw", { out = c, k = 7, pad = 3, groups = c, bias = true })
  y = g:layernorm(y, name .. ".norm", eps)
  y = pointwise(g, y, name .. ".mlp.fc1", MLP_RATIO * c, cfg.conv_mlp)
  y = g:gelu(y, name .. ".mlp.act")
  if cfg.use_grn then y = g:grn(y, name .. ".mlp.grn", GRN_EPS) end
  y = pointwise(g, y, name .. ".mlp.fc2", c, cfg.conv_mlp)
  if cfg.layer_scale then y = g:scale(y, name .. ".gamma", name .. ".gamma") end
  return g:add_residual(y, x, name)
end

-- opts: num_classes (0 = pooled + normed features), in_chans, size {h, w}, batch
function convnext.build(g, cfg, opts)
  local eps = cfg.ln_eps
  local dims = cfg.dims
  local x = g:input({ opts.batch, opts.in_chans, opts.size[1], opts.size[2] })
  -- stem: 4x4/4 patchify conv, LayerNorm2d
  x = g:conv(x, "stem.0", { out = dims[1], k = 4, stride = 4, pad = 0, bias = true })
  x = g:layernorm(x, "stem.1", eps)
  g.values[x].dump_name = "stem"
  for i = 1, 4 do
    local stage = string.format("stages.%d", i - 1)
    if i > 1 then
      -- downsample: LayerNorm2d, 2x2/2 conv
      x = g:layernorm(x, stage .. ".downsample.0", eps)
      x = g:conv(x, stage .. ".downsample.1", { out = dims[i], k = 2, stride = 2, pad = 0, bias = true })
      g.values[x].dump_name = stage .. ".downsample"
    end
    for j = 1, cfg.depths[i] do
      local name = string.format("%s.blocks.%d", stage, j - 1)
      x = block(g, x, name, cfg, eps)
      g.values[x].dump_name = name
    end
  end
  if cfg.head_norm_first then
    -- timm's _hnf head: LayerNorm2d on the feature map (norm_pre), pool, Linear
    x = g:layernorm(x, "norm_pre", eps)
    g.values[x].dump_name = "norm_pre"
    x = g:global_avgpool(x, "head.global_pool")
    g.values[x].dump_name = "head.global_pool"
  else
    -- pool, LayerNorm over C, Linear
    x = g:global_avgpool(x, "head.global_pool")
    g.values[x].dump_name = "head.global_pool"
    x = g:layernorm(x, "head.norm", eps)
  end
  if opts.num_classes > 0 then
    x = g:linear(x, "head.fc", opts.num_classes)
    g.values[x].dump_name = "head.fc"
  end
  g:set_output(x)
  g.classifier = "head.fc"
  g.first_conv = convnext.first_conv()
  return g
end

return convnext
