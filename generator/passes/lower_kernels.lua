-- Chooses the kernel for every node and packs its weights into the layout that
-- kernel reads (NHWC activations throughout). After this pass each node has
--   node.kernel = { template = "...", vars = {...literal shape constants...} }
--   node.blob   = { {role=, tensor=} ... }   -- tensors in the order the kernel takes them
local errors = require("errors")
local T = require("lg.tensor")

local function nhwc(shape)
  if #shape == 2 then return shape[1], 1, 1, shape[2] end
  return shape[1], shape[3], shape[4], shape[2]
end

local function cdiv(a, b) return (a + b - 1) // b end

local lower = {}

function lower.conv(g, node, target)
  local a = node.attrs
  local n, ih, iw, ic = nhwc(g.values[node.inputs[1]].shape)
  local _, oh, ow, oc = nhwc(g.values[node.output].shape)
  local w = node.tensors.weight
  local wshape = w:shape()
  if a.groups > 1 and a.groups == ic and a.groups == oc then
    node.kernel = { template = "dwconv.c.in", vars = {
      N = n, IH = ih, IW = iw, C = ic, OH = oh, OW = ow, KH = a.k, KW = a.k, SH = a.stride, SW = a.stride,
      PH = a.pad, PW = a.pad, NORM = a.norm and 1 or 0, EPS = a.norm and a.norm.eps or 0 } }
    node.blob = { { role = "weight", tensor = T.pack_depthwise(w, node.tensors.bias) } }
    if a.norm then
      table.insert(node.blob, { role = "norm_weight", tensor = node.tensors.norm_weight })
      table.insert(node.blob, { role = "norm_bias", tensor = node.tensors.norm_bias })
    end
    return
  end
  if a.norm or (a.act and a.act ~= "relu" and a.act ~= "gelu") then
    errors.internal("%s: conv epilogue %s not supported", node.name, a.act or "norm")
  end
  local cg, og = ic // a.groups, oc // a.groups
  local kh, kw = wshape[3] or 1, wshape[4] or 1 -- 2-d weights are per-pixel Linear layers
  local nr = target.nr
  node.kernel = { template = "conv_igemm.c.in", vars = {
    N = n, IH = ih, IW = iw, IC = ic, OH = oh, OW = ow, OC = oc, KH = kh, KW = kw,
    SH = a.stride, SW = a.stride, PH = a.pad, PW = a.pad, GROUPS = a.groups, CG = cg, OG = og,
    MR = target.mr, NR = nr, PANELS = cdiv(og, nr), P = n * oh * ow, MTILES = cdiv(n * oh * ow, target.mr),
    TAPS = kh * kw, PANEL_FLOATS = nr + kh * kw * cg * nr,
    RESIDUAL = a.residual and 1 or 0, RELU = a.act == "relu" and 1 or 0, GELU = a.act == "gelu" and 1 or 0 } }
  node.blob = { { role = "weight", tensor = T.pack_igemm(w, node.tensors.bias, a.groups, nr) } }
end

-- A linear layer is a 1x1 conv over N "pixels".
function lower.linear(g, node, target)
  node.attrs.groups, node.attrs.stride, node.attrs.pad = 1, 1, 0
  local w = node.tensors.weight
  local s = w:shape()
  if #s == 4 then node.tensors.weight = w:clone({ s[1], s[2] }) end
  lower.conv(g, node, target)
end

local function simple(template)
  return function(g, node)
    local n, ih, iw, c = nhwc(g.values[node.inputs[1]].shape)
    local _, oh, ow, oc = nhwc(g.values[node.output].shape)
    local a = node.attrs
    node.kernel = { template = template, vars = {
      N = n, IH = ih, IW = iw, C = c, OH = oh, OW = ow, OC = oc, K = a.k or 0, S = a.stride or 0, PAD = a.pad or 0,
      PAD_ZERO = (a.pad_value == 0) and 1 or 0, EPS = a.eps or 0, GROUPS = a.groups or 0,
      CG = a.groups and c // a.groups or 0, RELU = a.act == "relu" and 1 or 0 } }
    node.blob = {}
    for _, role in ipairs({ "weight", "bias" }) do
      if node.tensors[role] then table.insert(node.blob, { role = role, tensor = node.tensors[role] }) end
    end
  end
end

lower.maxpool = simple("maxpool.c.in")
lower.avgpool = simple("avgpool.c.in")
lower.global_avgpool = simple("global_avgpool.c.in")
lower.layernorm = simple("layernorm.c.in")
lower.groupnorm = simple("groupnorm.c.in")
lower.grn = simple("grn.c.in")

return function(g, target)
  for _, node in ipairs(g.nodes) do
    local f = lower[node.op] or errors.internal("no kernel for op '%s' (%s)", node.op, node.name)
    f(g, node, target)
  end
  return g
end
