-- The kernel kinds. Each kind is a descriptor in generator/kernels/ that owns,
-- in one place: which nodes it runs (`applies`), the epilogues it can absorb
-- (`epilogues`, in the order it applies them), its weight layout and packing,
-- its template, and its name and work. Fusion asks `kernels.accepts` before it
-- fuses; lowering asks `kernels.select` for the same descriptor, so nothing
-- fusion attaches can be dropped by the kernel that runs.
--
-- A descriptor:
--   name                 kind name (OUT.json, info --layers)
--   applies(g, node, ctx) -> true when this kind runs the node
--   epilogues            { {slot = "residual"|"act"|"norm", ops = {op = true}}, ... } in order
--   takes_norm(g, node, ctx) -> true when the node can apply the per-channel affine
--                        (+ReLU) of the norm before it to its input (optional)
--   lower(g, node, ctx)  sets node.kernel = {template, vars, fn, needs, stack} and node.blob
--                        (items {role, bytes, make = function() -> packed tensor})
-- `stack` (and each `needs` entry's) is the bytes of the arrays the C keeps on the
-- stack (tiles of accumulators, row pointers, packed windows): NAME_STACK_BYTES
-- is bounded from them (emit.lua). `channel_blocks` (optional, 1 if absent): the
-- number of blocks of output channels the kernel's threads write, each block
-- with all its pixels; GroupNorm after it splits the same way
-- (kernels/simple.lua).
-- ctx = {target = targets entry, winograd = bool (false: --no-winograd), plan_only = bool (no weights:
--        `info`), precision = precision.options}
local errors = require("errors")

local kernels = {}

-- Most specific first: the first descriptor that applies runs the node.
local simple = require("kernels.simple")
local KINDS = {
  require("kernels.winograd"), require("kernels.dwconv"), require("kernels.grouped"), require("kernels.gemm"),
  simple.layernorm, simple.groupnorm, simple.grn, simple.maxpool, simple.avgpool, simple.global_avgpool,
  simple.add, simple.activation,
}
-- A node with int8 parameters (node.quant: passes/quantize.lua) runs one of these.
local qsimple = require("kernels.qsimple")
local QKINDS = {
  require("kernels.qdwconv"), require("kernels.qgrouped"), require("kernels.qgemm"), qsimple.layernorm, qsimple.groupnorm, qsimple.grn,
  qsimple.maxpool, qsimple.avgpool, qsimple.global_avgpool, qsimple.add, qsimple.lut, qsimple.quantize,
  qsimple.dequantize,
}

function kernels.select(g, node, ctx)
  for _, d in ipairs(node.quant and QKINDS or KINDS) do
    if d.applies(g, node, ctx) then return d end
  end
  errors.internal("no kernel runs op '%s' (%s)", node.op, node.name)
end

-- Lowers one node with the descriptor that runs it.
function kernels.lower(g, node, ctx)
  local d = kernels.select(g, node, ctx)
  d.lower(g, node, ctx)
  node.kernel.kind = d.name
end

-- Can `node` apply the norm before it as it reads its input (fuse_norm_apply)?
function kernels.takes_norm(g, node, ctx)
  local d = kernels.select(g, node, ctx)
  return d.takes_norm ~= nil and d.takes_norm(g, node, ctx)
end

-- Can `node` absorb its consumer `op` (add, relu, gelu, layernorm)? Only into a
-- slot its kernel has, and only while no later slot is taken: a kernel applies
-- its epilogues in order (conv -> + shortcut -> ReLU), never the other way round.
-- Returns the slot name or nil.
function kernels.accepts(g, node, op, ctx)
  local d = kernels.select(g, node, ctx)
  for i, e in ipairs(d.epilogues or {}) do
    if e.ops[op] then
      for j = i, #d.epilogues do
        if node.attrs[d.epilogues[j].slot] then return nil end
      end
      return e.slot
    end
  end
  return nil
end

return kernels
