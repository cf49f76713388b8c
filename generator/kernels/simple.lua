-- The kinds with plain per-channel parameters: pools and norms. Each reads its
-- weight/bias vectors as checkpoint tensors (no packing) and runs one template.
-- Norms whose statistics span pixels (GroupNorm, GRN) reduce over fixed chunks
-- of pixels into arena scratch, so their results never depend on the thread count.
local graph = require("graph")

local simple = {}

local sizes = require("kernels.sizes")
local cdiv, round_up = sizes.cdiv, sizes.round_up

-- Chunks of at most 64 KB of activations (two passes hit the cache), at least 8
-- per image while there are pixels to split.
local function chunks(v)
  local hw = v.IH * v.IW
  local n = math.max(cdiv(hw * v.C * 4, 64 * 1024), math.min(hw, 8))
  v.CHUNK = cdiv(hw, n)
  v.CHUNKS = cdiv(hw, v.CHUNK)
end

-- extra(v, g, node, vw) -> scratch bytes in the arena, stack bytes of per-channel
-- arrays (nil: a few vectors), the microkernels it calls (nil: none)
local function kind(op, template, epilogues, extra)
  local d = { name = op, epilogues = epilogues or {} }
  function d.applies(_, node) return node.op == op end
  function d.lower(g, node, ctx)
    local n, ih, iw, c = graph.nhwc(g.values[node.inputs[1]].shape)
    local _, oh, ow, oc = graph.nhwc(g.values[node.output].shape)
    local a = node.attrs
    local vw = ctx.target.vw
    local v = { N = n, IH = ih, IW = iw, C = c, OH = oh, OW = ow, OC = oc, K = a.k or 0, S = a.stride or 0,
      PAD = a.pad or 0, PAD_ZERO = (a.pad_value == 0) and 1 or 0, EPS = a.eps or 0, GROUPS = a.groups or 0,
      CG = a.groups and c // a.groups or 0, RELU = a.act == "relu" and 1 or 0, CP = round_up(c, vw) }
    -- a norm whose apply the next layer does (passes/fuse_norm_apply.lua) writes only
    -- its per-image scale and shift
    v.AFFINE = a.applied_by and 1 or 0
    v.PADDED = v.CP > c and 1 or 0
    local scratch, stack, needs = 0, 8 * vw * 4, nil -- a few vectors (global pool: 8)
    if extra then
      local arrays
      scratch, arrays, needs = extra(v, g, node, vw)
      stack = arrays or stack
    end
    node.kernel = { template = template, vars = v, scratch_bytes = scratch, stack = stack, needs = needs,
      fn = string.format("%s_%dx%dx%d%s%s%s", op, ih, iw, c, n > 1 and ("_n" .. n) or "", a.act and ("_" .. a.act) or "",
        a.applied_by and "_affine" or "") .. ((v.GB or 1) > 1 and ("_cb" .. v.GB) or ""),
      strategy = a.applied_by and string.format("statistics and the per-channel affine; %s applies it", a.applied_by) }
    node.blob = {}
    for _, role in ipairs({ "weight", "bias" }) do
      if node.params[role] then
        node.blob[#node.blob + 1] = { role = role, bytes = c * 4, make = function() return node.tensors[role] end }
      end
    end
  end
  return d
end

-- runs of PB pixels a task
simple.layernorm = kind("layernorm", "layernorm.c.in", nil, function(v, _, _, vw)
  v.PB = 16
  local rows = simple.layernorm_rows(v.C, v.C, vw)
  v.ROWS = rows.name
  return 0, 8 * vw * 4 + 2 * v.PB * 4, { rows } -- a few vectors, mean and rstd [PB]
end)

-- The LayerNorm of a run of pixels (layernorm_rows.c.in) that the LayerNorm kind
-- and the depthwise conv's fused norm share: one microkernel per channel count c
-- and input row stride xs; rows of whole vectors (xs a multiple of vw: a padded
-- tile, or c itself) are read with whole-vector loads.
function simple.layernorm_rows(c, xs, vw)
  local name = xs == c and string.format("layernorm_rows_%d", c) or string.format("layernorm_rows_%d_s%d", c, xs)
  return { name = name, template = "layernorm_rows.c.in",
    vars = { NAME = name, C = c, XS = xs, WHOLE = xs % vw == 0 and 1 or 0 } }
end

-- GroupNorm's tasks take blocks of groups where the kernel before it split the
-- channels over the threads (a small map: its `channel_blocks`, kernels.lua), so
-- a thread reads back mostly what it wrote (every channel of its pixels came
-- half from the other core's cache: the 14x14x1024 ones ran slower at 2
-- threads than at 1); otherwise all groups, the pixels split in chunks. (GRN
-- split the same way measured no faster: its 7x7x1280 ones read 250 KB; nor
-- BiT's 14x14x256 GroupNorms after a Winograd conv whose tasks each wrote a
-- panel: 0.014-0.016 -> 0.025 ms at 2 threads, so Winograd sets no blocks.)
local function group_blocks(g, node, v, vw)
  local producer = g.values[node.inputs[1]].producer
  local gb = math.min(producer and producer.kernel and producer.kernel.channel_blocks or 1, v.GROUPS)
  while gb > 1 and (v.GROUPS % gb ~= 0 or v.C // gb % vw ~= 0) do gb = gb - 1 end
  v.GB, v.GPB, v.CB = gb, v.GROUPS // gb, v.C // gb
  v.CBP = round_up(v.CB, vw)
end

simple.groupnorm = kind("groupnorm", "groupnorm.c.in", { { slot = "act", ops = { relu = true } } },
  function(v, g, node, vw)
    chunks(v)
    group_blocks(g, node, v, vw)
    -- partial statistics, then (unless the next layer applies them) scale and
    -- shift per image; stack: a task's acc, center [CBP] and mean [GPB], and
    -- where the next layer applies them scale, shift [CP]
    local scratch = v.N * v.CHUNKS * v.GROUPS * 2 * 4 + (v.AFFINE == 1 and 0 or v.N * 2 * v.CP * 4)
    return scratch, (2 * v.CBP + v.GPB) * 4 + (v.AFFINE == 1 and 2 * v.CP * 4 or 0)
  end)
simple.grn = kind("grn", "grn.c.in", nil, function(v)
  chunks(v)
  -- partial sums, then the factors per image, there unless the next layer
  -- applies them (on the stack then: factor[CP])
  if v.AFFINE == 1 then return v.N * v.CHUNKS * v.CP * 4, v.CP * 4 end
  return v.N * (v.CHUNKS + 1) * v.CP * 4
end)
simple.maxpool = kind("maxpool", "maxpool.c.in")
simple.avgpool = kind("avgpool", "avgpool.c.in")
simple.global_avgpool = kind("global_avgpool", "global_avgpool.c.in")

-- What no producer could absorb (e.g. a ReLU after a depthwise conv in a --config
-- model, or a residual add whose shortcut is computed later).
local function eltwise(ops, epilogues)
  local d = { name = "eltwise", epilogues = epilogues }
  function d.applies(_, node) return ops[node.op] end
  function d.lower(g, node)
    local act = node.op == "add" and node.attrs.act or node.op
    local count = graph.numel(g.values[node.output].shape)
    node.kernel = { template = "eltwise.c.in", vars = { COUNT = count, ADD = node.op == "add" and 1 or 0,
      RELU = act == "relu" and 1 or 0, GELU = act == "gelu" and 1 or 0 },
      fn = string.format("%s%s_%d", node.op, (node.op == "add" and act) and ("_" .. act) or "", count) }
    node.blob = {}
  end
  return d
end
simple.add = eltwise({ add = true }, { { slot = "act", ops = { relu = true, gelu = true } } })
simple.activation = eltwise({ relu = true, gelu = true }, {})

return simple
