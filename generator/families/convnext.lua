-- timm ConvNeXt v1 (incl. DINOv3 / EUPE encoders) and ConvNeXt-V2
-- (timm/models/convnext.py) as a graph. Semantics pinned by tests/parity/ref_convnext.py.
-- config: depths[4], dims[4], conv_mlp, use_grn (V2), layer_scale (v1 `gamma`),
-- head_norm_first, ln_eps, num_features (= dims[4]).
-- Module names are timm's state-dict prefixes, so checkpoint keys line up.
local errors = require("errors")

local convnext = {}

local MLP_RATIO = 4
local GRN_EPS = 1e-6 -- timm GlobalResponseNorm default; no variant changes it

local function check_config(cfg)
  if cfg.head_norm_first then
    errors.user("convnext: head_norm_first (timm's _hnf variants: norm before pooling) is not supported")
  end
  if #cfg.depths ~= 4 or #cfg.dims ~= 4 then
    errors.user("convnext: expected 4 stages, got %d depths and %d dims", #cfg.depths, #cfg.dims)
  end
  if cfg.num_features and cfg.num_features ~= cfg.dims[4] then
    errors.user("convnext: num_features %d differs from the last stage width %d", cfg.num_features, cfg.dims[4])
  end
end

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
  check_config(cfg)
  local eps = cfg.ln_eps or 1e-6
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
  -- head (head_norm_first = false): pool, LayerNorm over C, Linear
  x = g:global_avgpool(x, "head.global_pool")
  g.values[x].dump_name = "head.global_pool"
  x = g:layernorm(x, "head.norm", eps)
  if opts.num_classes > 0 then
    x = g:linear(x, "head.fc", opts.num_classes)
    g.values[x].dump_name = "head.fc"
  end
  g:set_output(x)
  g.classifier = "head.fc"
  g.first_conv = "stem.0"
  return g
end

return convnext
