-- The model graph: plain Lua tables, so a pass is a function graph -> graph
-- that a test can run on a graph built by hand.
--   graph.values[id] = { id, shape = {N, C, H, W} or {N, C}, producer = node }
--   graph.nodes[i]   = { op, name (timm module), inputs = {value ids}, output = id,
--                        attrs = {...}, params = {role = checkpoint key} }
--   graph.params[key] = { shape = {...}, optional = bool }   -- what the checkpoint must hold
-- Shapes are logical NCHW; the kernels keep activations in NHWC (graph.nhwc).
-- Builders below compute output shapes so a family file reads like timm's forward().
local errors = require("errors")

local Graph = {}
Graph.__index = Graph

local graph = {}

function graph.new(meta)
  return setmetatable({ values = {}, nodes = {}, params = {}, param_order = {}, meta = meta or {} }, Graph)
end

function Graph:value(shape)
  local v = { id = #self.values + 1, shape = shape }
  self.values[v.id] = v
  return v.id
end

function Graph:shape(id) return self.values[id].shape end

function Graph:param(key, shape, optional)
  if self.params[key] then errors.internal("parameter %s declared twice", key) end
  self.params[key] = { shape = shape, optional = optional or false }
  self.param_order[#self.param_order + 1] = key
  return key
end

function Graph:add(op, name, inputs, out_shape, attrs, params)
  local out = self:value(out_shape)
  local node = { op = op, name = name, inputs = inputs, output = out, attrs = attrs or {}, params = params or {} }
  self.nodes[#self.nodes + 1] = node
  self.values[out].producer = node
  return out
end

function Graph:input(shape)
  self.input_id = self:value(shape)
  return self.input_id
end

function Graph:set_output(id) self.output_id = id end

local function conv_out(size, k, s, p) return (size + 2 * p - k) // s + 1 end

-- conv2d: a = {out, k, stride=1, pad=k//2, groups=1, bias=false, std_eps=nil, linear=false}
-- std_eps marks a weight-standardized conv (BiT StdConv2d); linear=true is a
-- per-pixel nn.Linear (1x1 conv whose checkpoint weight is 2-D [out, in]).
function Graph:conv(x, name, a)
  local n, c, h, w = table.unpack(self:shape(x))
  local k, s, g = a.k, a.stride or 1, a.groups or 1
  local p = a.pad or (k - 1) // 2
  if c % g ~= 0 or a.out % g ~= 0 then
    errors.user("%s: %d -> %d channels do not divide into %d groups", name, c, a.out, g)
  end
  local wshape = a.linear and { a.out, c } or { a.out, c // g, k, k }
  local params = { weight = self:param(name .. ".weight", wshape) }
  if a.bias then params.bias = self:param(name .. ".bias", { a.out }) end
  local oh, ow = conv_out(h, k, s, p), conv_out(w, k, s, p)
  if oh < 1 or ow < 1 then errors.user("%s: input %dx%d is too small for this model; use a larger --size", name, h, w) end
  return self:add("conv", name, { x }, { n, a.out, oh, ow },
    { k = k, stride = s, pad = p, groups = g, std_eps = a.std_eps }, params)
end

function Graph:batchnorm(x, name, eps)
  local c = self:shape(x)[2]
  local params = {}
  for _, role in ipairs({ "weight", "bias", "running_mean", "running_var" }) do
    params[role] = self:param(name .. "." .. role, { c })
  end
  self:param(name .. ".num_batches_tracked", {}, true)
  return self:add("batchnorm", name, { x }, self:shape(x), { eps = eps or 1e-5 }, params)
end

-- Norms over channels with affine weight/bias: layernorm (per position), groupnorm.
function Graph:layernorm(x, name, eps)
  local c = self:shape(x)[2]
  return self:add("layernorm", name, { x }, self:shape(x), { eps = eps },
    { weight = self:param(name .. ".weight", { c }), bias = self:param(name .. ".bias", { c }) })
end

function Graph:groupnorm(x, name, groups, eps)
  local c = self:shape(x)[2]
  if c % groups ~= 0 then errors.user("%s: %d channels do not divide into %d groups", name, c, groups) end
  return self:add("groupnorm", name, { x }, self:shape(x), { groups = groups, eps = eps },
    { weight = self:param(name .. ".weight", { c }), bias = self:param(name .. ".bias", { c }) })
end

function Graph:grn(x, name, eps)
  local c = self:shape(x)[2]
  return self:add("grn", name, { x }, self:shape(x), { eps = eps },
    { weight = self:param(name .. ".weight", { c }), bias = self:param(name .. ".bias", { c }) })
end

-- Per-channel multiply by a parameter (ConvNeXt layer scale `gamma`).
function Graph:scale(x, name, key)
  local c = self:shape(x)[2]
  return self:add("scale", name, { x }, self:shape(x), {}, { scale = self:param(key, { c }) })
end

function Graph:relu(x, name) return self:add("relu", name, { x }, self:shape(x)) end
function Graph:gelu(x, name) return self:add("gelu", name, { x }, self:shape(x)) end

function Graph:add_residual(x, shortcut, name)
  local a, b = self:shape(x), self:shape(shortcut)
  for i = 1, #a do
    if a[i] ~= b[i] then errors.internal("%s: residual shapes differ", name) end
  end
  return self:add("add", name, { x, shortcut }, a)
end

-- pad_value nil: -inf padding (nn.MaxPool2d); a number: explicit constant pad first.
function Graph:maxpool(x, name, k, s, p, pad_value)
  local n, c, h, w = table.unpack(self:shape(x))
  return self:add("maxpool", name, { x }, { n, c, conv_out(h, k, s, p), conv_out(w, k, s, p) },
    { k = k, stride = s, pad = p, pad_value = pad_value })
end

-- AvgPool2d(k, s, ceil_mode, count_include_pad=False), padding 0.
function Graph:avgpool(x, name, k, s, ceil_mode)
  local n, c, h, w = table.unpack(self:shape(x))
  local function out(size)
    if not ceil_mode then return (size - k) // s + 1 end
    local o = (size - k + s - 1) // s + 1
    if (o - 1) * s >= size then o = o - 1 end
    return o
  end
  return self:add("avgpool", name, { x }, { n, c, out(h), out(w) }, { k = k, stride = s, ceil_mode = ceil_mode })
end

function Graph:global_avgpool(x, name)
  local n, c = table.unpack(self:shape(x))
  return self:add("global_avgpool", name, { x }, { n, c })
end

-- Linear on [N, C]; `conv_weight` accepts a [OUT, IN, 1, 1] checkpoint weight (BiT's 1x1-conv head).
function Graph:linear(x, name, out, conv_weight)
  local n, c = table.unpack(self:shape(x))
  local wshape = conv_weight and { out, c, 1, 1 } or { out, c }
  return self:add("linear", name, { x }, { n, out },
    {}, { weight = self:param(name .. ".weight", wshape), bias = self:param(name .. ".bias", { out }) })
end

-- A logical NCHW (or [N, C]) shape as the N, H, W, C the kernels' NHWC layout uses.
function graph.nhwc(shape)
  if #shape == 2 then return shape[1], 1, 1, shape[2] end
  return shape[1], shape[3], shape[4], shape[2]
end

-- Multiply-adds of a node as the model defines them (whatever algorithm runs it):
-- a conv or linear does one per output element and weight element of its group.
function graph.macs(g, node)
  if node.op ~= "conv" and node.op ~= "linear" then return 0 end
  local w = g.params[node.params.weight].shape
  local per = 1
  for i = 2, #w do per = per * w[i] end
  return graph.numel(g.values[node.output].shape) * per
end

function graph.numel(shape)
  local n = 1
  for _, d in ipairs(shape) do n = n * d end
  return n
end

return graph
