-- Emits the generated C from templates/ (STYLE rule 5: templates hold C, Lua
-- holds decisions): one kernel instance per distinct layer shape, one
-- commented section per layer, the header with the model's contract, and the
-- per-layer report.
local template = require("template")
local graph = require("graph")

local emit = {}

local function nhwc(shape)
  if #shape == 2 then return { shape[1], 1, 1, shape[2] } end
  return { shape[1], shape[3], shape[4], shape[2] }
end

-- Names say what a kernel is: conv3x3s2_g32_56x56x128_128_relu_res, dwconv7x7_56x56x96_ln, ...
local function kernel_name(node)
  local v = node.kernel.vars
  local t = node.kernel.template
  if t == "conv_igemm.c.in" then
    local base
    if node.op == "linear" then
      base = string.format("linear_%d_%d", v.IC, v.OC)
    else
      base = string.format("conv%dx%ds%d%s_%dx%dx%d_%d", v.KH, v.KW, v.SH, v.GROUPS > 1 and ("_g" .. v.GROUPS) or "",
        v.IH, v.IW, v.IC, v.OC)
    end
    if v.N > 1 then base = base .. "_n" .. v.N end
    return base .. (v.RESIDUAL == 1 and "_res" or "") .. (v.RELU == 1 and "_relu" or "") .. (v.GELU == 1 and "_gelu" or "")
  elseif t == "dwconv.c.in" then
    return string.format("dwconv%dx%ds%d_%dx%dx%d%s%s", v.KH, v.KW, v.SH, v.IH, v.IW, v.C,
      v.N > 1 and ("_n" .. v.N) or "", v.NORM == 1 and "_ln" or "")
  end
  local op = t:gsub("%.c%.in$", "")
  return string.format("%s_%dx%dx%d%s%s", op, v.IH, v.IW, v.C, v.N > 1 and ("_n" .. v.N) or "",
    v.RELU == 1 and "_relu" or "")
end

local function vars_key(node)
  local keys = {}
  for k in pairs(node.kernel.vars) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = { node.kernel.template }
  for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. tostring(node.kernel.vars[k]) end
  return table.concat(parts, ";")
end

function emit.macs(node)
  local v = node.kernel.vars
  local t = node.kernel.template
  if t == "conv_igemm.c.in" then return v.N * v.OH * v.OW * v.OC * v.TAPS * v.CG end
  if t == "dwconv.c.in" then return v.N * v.OH * v.OW * v.C * v.KH * v.KW end
  return 0
end

local function fmt_floats(list)
  local out = {}
  for i, x in ipairs(list) do out[i] = string.format("%.8gf", x) end
  return table.concat(out, ", ")
end

-- ctx: { prefix, variant (registry record), options_text, weight_source, target,
--        c_file, h_file, blob_file, blob_sha, blob_plan, num_classes, in_chans, size, batch }
function emit.generate(g, ctx)
  local P = ctx.prefix
  local instances, order, by_key = {}, {}, {}
  local used_names = {}
  local body = {}
  local report = { layers = {} }
  local total_macs = 0
  local needs_gelu = false

  for _, node in ipairs(g.nodes) do
    local key = vars_key(node)
    local fn = by_key[key]
    if not fn then
      fn = kernel_name(node)
      if used_names[fn] then
        used_names[fn] = used_names[fn] + 1
        fn = fn .. "_v" .. used_names[fn]
      else
        used_names[fn] = 1
      end
      by_key[key] = fn
      local vars = {}
      for k, v in pairs(node.kernel.vars) do vars[k] = v end
      vars.FN = fn
      instances[fn] = template.render(node.kernel.template, vars)
      order[#order + 1] = fn
    end
    needs_gelu = needs_gelu or node.kernel.vars.GELU == 1

    local out = g.values[node.output]
    local s = nhwc(out.shape)
    local args = { string.format("ACT(%d)", g.values[node.inputs[1]].offset) }
    local weight_bytes = 0
    for _, it in ipairs(node.blob) do
      args[#args + 1] = string.format("WGT(%d)", it.offset)
      weight_bytes = weight_bytes + it.tensor:numel() * 4
    end
    args[#args + 1] = string.format("ACT(%d)", out.offset)
    if node.attrs.residual then args[#args + 1] = string.format("ACT(%d)", g.values[node.attrs.residual].offset) end
    local fused = node.absorbed and (" + " .. table.concat(node.absorbed, " + ")) or ""
    local label = out.dump_name or node.name
    local macs = emit.macs(node)
    total_macs = total_macs + macs
    body[#body + 1] = string.format("\n  /* %s%s -> [%d,%d,%d,%d] */", node.name, fused, s[1], s[2], s[3], s[4])
    body[#body + 1] = string.format("  %s(%s);", fn, table.concat(args, ", "))
    body[#body + 1] = string.format("  if (hook) hook(ctx, \"%s\", ACT(%d), %d, %d, %d, %d);", label, out.offset,
      s[1], s[2], s[3], s[4])

    local live = 0
    for _, v in pairs(g.values) do
      if v.live and v.live[1] <= out.live[1] and out.live[1] <= v.live[2] then live = live + v.bytes end
    end
    report.layers[#report.layers + 1] = {
      name = node.name, op = node.op, fused = node.absorbed or {}, kernel = fn, output = label,
      shape_nhwc = s, macs = macs, weight_bytes = weight_bytes, arena_offset = out.offset, live_bytes = live,
    }
  end

  local t = ctx.target
  local in_shape = g.values[g.input_id].shape
  local out_shape = g.values[g.output_id].shape
  local v = ctx.variant
  local common = {
    VERSION = ctx.version, VARIANT = v.name, TIMM_NAME = v.timm_name or v.name, FAMILY = v.family,
    OPTIONS = ctx.options_text, WEIGHT_SOURCE = ctx.weight_source, P = P,
    C_FILE = ctx.c_file, H_FILE = ctx.h_file, BLOB_FILE = ctx.blob_file, BLOB_SHA256 = ctx.blob_sha,
    TARGET = t.name, ISA = t.isa, MR = t.mr, NR = t.nr, CFLAGS = table.concat(t.cflags, " "),
    BATCH = in_shape[1], IN_CHANS = in_shape[2], IN_H = in_shape[3], IN_W = in_shape[4],
    OUT_DIM = out_shape[2], NUM_CLASSES = ctx.num_classes, LABEL_SET = ctx.num_classes > 0 and ctx.labels or "",
    CROP_PCT = template.c_float(v.crop_pct or 0.875), INTERPOLATION = v.interpolation or "bicubic",
    MEAN = fmt_floats(v.mean or { 0.485, 0.456, 0.406 }), STD = fmt_floats(v.std or { 0.229, 0.224, 0.225 }),
    ARENA_BYTES = g.arena_bytes, ACTIVATION_BYTES = g.activation_bytes,
    WEIGHT_BYTES = ctx.blob_plan.weight_bytes, BLOB_BYTES = ctx.blob_plan.payload_bytes + 512,
    NUM_LAYERS = #g.nodes, MACS = total_macs, SELFTEST_TOL = "1e-4",
    GUARD = (P .. "H"):upper():gsub("[^%w]", "_"),
    INTRINSICS = t.name ~= "generic" and 1 or 0,
    INPUT_OFFSET = g.values[g.input_id].offset, OUTPUT_OFFSET = g.values[g.output_id].offset,
    GOLDEN_IN_OFFSET = ctx.blob_plan.golden_in, GOLDEN_OUT_OFFSET = ctx.blob_plan.golden_out,
  }
  local kernels = {}
  for i, fn in ipairs(order) do kernels[i] = instances[fn] end
  common.UKERNEL = template.render(t.ukernel, {})
  common.HELPERS = needs_gelu and template.render("gelu_erf.c.in", {}) or ""
  common.INPUT_KERNEL = template.render("input_nchw_to_nhwc.c.in",
    { N = in_shape[1], C = in_shape[2], H = in_shape[3], W = in_shape[4] })
  common.KERNELS = table.concat(kernels, "\n")
  common.BODY = table.concat(body, "\n")

  report.totals = { macs = total_macs, weight_bytes = ctx.blob_plan.weight_bytes, arena_bytes = g.arena_bytes,
    activation_bytes = g.activation_bytes, layers = #g.nodes, kernels = #order }
  report.variant, report.target, report.blob_sha256 = v.name, t.name, ctx.blob_sha
  report.input_nchw = { in_shape[1], in_shape[2], in_shape[3], in_shape[4] }
  report.output = { out_shape[1], out_shape[2] }

  return template.render("model.c.in", common), template.render("model.h.in", common), report
end

return emit
