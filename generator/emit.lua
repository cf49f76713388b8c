-- Emits the generated C from templates/ (templates hold C, Lua holds the
-- decisions: no C is assembled from strings in the passes): the target's vector vocabulary, each microkernel and each
-- kernel instance once (one per distinct layer shape), one commented section
-- per layer inside one parallel region, the header with the model's contract,
-- and the per-layer report.
local template = require("template")
local graph = require("graph")
local targets = require("targets")

local emit = {}

local function vars_key(kernel)
  local keys = {}
  for k in pairs(kernel.vars) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = { kernel.template }
  for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. tostring(kernel.vars[k]) end
  return table.concat(parts, ";")
end

local function fmt_floats(list)
  local out = {}
  for i, x in ipairs(list) do out[i] = string.format("%.8gf", x) end
  return table.concat(out, ", ")
end

-- Where an activation lives: ACT(offset) in the arena, ACT(pool, offset) with
-- pools; ACTQ for a uint8 one (int8 models).
local function act(g, id)
  local v = g.values[id]
  local m = v.q and "ACTQ" or "ACT"
  if #g.pools == 1 then return string.format("%s(%d)", m, v.offset) end
  return string.format("%s(%d, %d)", m, v.pool - 1, v.offset)
end

-- The arguments of a kernel call: inputs (but the fused shortcut), weights in
-- blob order, the output, the shortcut, the scratch.
local function call_args(g, node)
  local args = {}
  -- fusion appends the shortcut as the last input
  for i = 1, #node.inputs - (node.attrs.residual and 1 or 0) do args[#args + 1] = act(g, node.inputs[i]) end
  for _, it in ipairs(node.blob) do args[#args + 1] = string.format("WGT(%d)", it.offset) end
  args[#args + 1] = act(g, node.output)
  if node.attrs.residual then args[#args + 1] = act(g, node.attrs.residual) end
  if node.scratch then args[#args + 1] = act(g, node.scratch) end
  return args
end

-- The pools' part of the header and the forward functions (--arena-pools).
local function pool_vars(g, P, vars)
  local macros, fields, bases, members = {}, {}, {}, {}
  for i, pool in ipairs(g.pools) do
    macros[i] = string.format("#define %sPOOL_%s_BYTES %du", P, pool.name:upper(), pool.bytes)
    fields[i] = string.format("  void *%s; /* %s%sPOOL_%s_BYTES */", pool.name, pool.size and
      string.format("at most %d bytes; ", pool.size) or "", P, pool.name:upper())
    bases[i] = string.format("arena_ + %d", pool.base)
    members[i] = string.format("pools->%s", pool.name)
  end
  vars.POOLS, vars.NUM_POOLS = #g.pools > 1 and 1 or 0, #g.pools
  vars.POOL_MACROS, vars.POOL_FIELDS = table.concat(macros, "\n"), table.concat(fields, "\n")
  vars.POOL_BASES, vars.POOL_MEMBERS = table.concat(bases, ", "), table.concat(members, ", ")
  local spec = {}
  for i, pool in ipairs(g.pools) do spec[i] = pool.name .. (pool.size and (":" .. pool.size) or "") end
  vars.POOL_SPEC = table.concat(spec, ",")
  -- --io-in-arena: where the caller writes the input and reads the output
  local io = g.input_nchw_id ~= nil
  vars.IO_IN_ARENA = io and 1 or 0
  if io then
    local i, o = g.values[g.input_nchw_id], g.values[g.output_id]
    vars.INPUT_NCHW_ACT = act(g, g.input_nchw_id)
    vars.IN_OFFSET, vars.OUT_OFFSET = i.offset, o.offset
    vars.IN_POOL, vars.OUT_POOL = g.pools[i.pool].name, g.pools[o.pool].name
  end
end

local function uses_gelu(vars) return vars.GELU == 1 end

-- The parts of the target's vector vocabulary the kernels use beyond fp32:
-- widening loads per stored weight dtype, bf16 dot products.
local function vocabulary(g, target)
  local v = { WIDEN_BF16 = 0, WIDEN_F16 = 0, WIDEN_I8 = 0, BF16_HW = 0, BF16_EMU = 0, PREFETCH = 0 }
  local widen = { bf16 = "WIDEN_BF16", f16 = "WIDEN_F16", int8 = "WIDEN_I8" }
  for _, node in ipairs(g.nodes) do
    if node.kernel.vars and node.kernel.vars.PREFETCH == 1 then v.PREFETCH = 1 end
    local n = node.kernel.numerics
    if n and n.inputs == "bf16" then
      v[target.bf16_dot and "BF16_HW" or "BF16_EMU"] = 1
    elseif n and widen[n.weights] then
      v[widen[n.weights]] = 1
    end
  end
  return v
end

-- "int8 (12 layers), f32 (1 layer)": the weight dtypes of a model's convs and linears
local function dtype_counts(g)
  local counts, order = {}, {}
  for _, node in ipairs(g.nodes) do
    local n = node.kernel.numerics
    if n then
      local key = n.weights .. (n.inputs == "bf16" and " (bf16 dot)" or "")
      if not counts[key] then order[#order + 1] = key end
      counts[key] = (counts[key] or 0) + 1
    end
  end
  local parts = {}
  for _, key in ipairs(order) do
    parts[#parts + 1] = string.format("%s: %d layer%s", key, counts[key], counts[key] > 1 and "s" or "")
  end
  return table.concat(parts, ", ")
end

-- NAME_STACK_BYTES, an estimate from the arrays kernels keep on the stack (their
-- own and their microkernels', which the compiler may inline side by side): a
-- kernel inlined into the forward function keeps its arrays in the forward
-- frame (sequential kernels share those slots) while the kernel it calls next
-- has its own, so twice the largest, plus the frames of the call chain and the
-- registers they save and spill. examples/embedded measures it on a Cortex-M7.
local FRAME_BYTES = 1024
local function stack_bytes(kernel)
  local bytes = kernel.stack or 0
  for _, uk in ipairs(kernel.needs or {}) do bytes = bytes + (uk.stack or 0) end
  return bytes
end

-- One kernel instance per distinct kernel (template + vars), named by its
-- shape (a second instance of the same name gets _v2, ...), and each
-- microkernel once. Returns { fn = node -> instance name, instances = C texts in
-- order, ukernels = C texts in order, needs_gelu, stack = the largest kernel's }.
local function kernel_instances(g)
  local fn_of, by_key, used_names = {}, {}, {}
  local out = { instances = {}, ukernels = {}, needs_gelu = false, stack = 0 }
  local seen_uk = {}
  for _, node in ipairs(g.nodes) do
    local k = node.kernel
    local key = vars_key(k)
    local fn = by_key[key]
    if not fn then
      fn = k.fn
      if used_names[fn] then
        used_names[fn] = used_names[fn] + 1
        fn = fn .. "_v" .. used_names[fn]
      else
        used_names[fn] = 1
      end
      by_key[key] = fn
      local vars = { FN = fn }
      for name, val in pairs(k.vars) do vars[name] = val end
      out.instances[#out.instances + 1] = template.render(k.template, vars)
      for _, uk in ipairs(k.needs or {}) do
        if not seen_uk[uk.name] then
          seen_uk[uk.name] = true
          out.ukernels[#out.ukernels + 1] = template.render(uk.template, uk.vars)
          out.needs_gelu = out.needs_gelu or uses_gelu(uk.vars)
        end
      end
    end
    fn_of[node] = fn
    out.needs_gelu = out.needs_gelu or uses_gelu(k.vars)
    out.stack = math.max(out.stack, stack_bytes(k))
  end
  out.fn = function(node) return fn_of[node] end
  return out
end

-- A layer's int8 facts for the report (docs/int8.md): the scales and zero points
-- (TFLite's convention: int8 q = u - 128 with zero point zu - 128; the int16
-- between a depthwise conv and its LayerNorm is symmetric, zero point 0, as
-- TFLite's int16) of its input and output and of what it rounds in between,
-- and its SQNR and cosine against fp32 on the held-out inputs; or that it was
-- kept in fp32 and why.
local function int8_row(g, node)
  local function scale(q)
    return q and { scale = q.s, zero_point = q.int16 and q.zu or q.zu - 128, int16 = q.int16 or nil }
  end
  local r = node.qreport
  local row = { sqnr_db = r and math.min(r.sqnr_db, 999), cosine = r and r.cosine,
    local_sqnr_db = r and r.local_sqnr_db and math.min(r.local_sqnr_db, 999) }
  if node.quant then
    local q = node.quant
    row.input = scale(g.values[node.inputs[1]].q)
    row.output = scale(g.values[node.output].q) or (q.out and q.out.kind == "float" and { float = true })
    row.pre = scale(q.pre)
  elseif node.kept_fp32 then
    row.kept_fp32 = true
  else
    return nil
  end
  return row
end

-- Per layer, in order: its commented section of the forward pass (the call and
-- the debug hook), its row of the layer table, its row of the report.
-- Returns body lines, table rows, report rows and the model's multiply-adds.
local function layer_sections(g, fn_of)
  local body, table_rows, rows, total_macs = {}, {}, {}, 0
  for _, node in ipairs(g.nodes) do
    local k, fn = node.kernel, fn_of(node)
    local out = g.values[node.output]
    local n, h, w, c = graph.nhwc(out.shape)
    local weight_bytes = 0
    for _, it in ipairs(node.blob) do weight_bytes = weight_bytes + it.bytes end
    local fused = node.absorbed and (" + " .. table.concat(node.absorbed, " + ")) or ""
    local label = out.dump_name or node.name
    local macs = graph.macs(g, node)
    total_macs = total_macs + macs
    local shape = out.table and string.format("scale, shift [%d][2][%d]", n, c // 2)
      or string.format("[%d,%d,%d,%d]", n, h, w, c)
    body[#body + 1] = string.format("\n    /* %s%s -> %s%s */", node.name, fused, shape,
      k.strategy and (": " .. k.strategy) or "")
    body[#body + 1] = template.list("    " .. fn .. "(", call_args(g, node), ");")
    table_rows[#table_rows + 1] = string.format('    {"%s", "%s", %.17g},', label, k.kind, macs)
    body[#body + 1] = "    if (hook) {\n      OMP_SINGLE"
    -- a uint8 output is not floats, a norm's scale and shift table (fuse_norm_apply) not
    -- an activation: the hook is told the layer ran, with no data
    local data = (out.q or out.table) and "NULL" or act(g, node.output)
    body[#body + 1] = string.format("      hook(ctx, \"%s\", %s, %d, %d, %d, %d);\n    }", label, data, n, h, w, c)

    local live = 0
    for _, v in pairs(g.values) do
      if v.live and v.live[1] <= out.live[1] and out.live[1] <= v.live[2] then live = live + v.bytes end
    end
    rows[#rows + 1] = {
      name = node.name, op = node.op, fused = node.absorbed or {}, kernel = fn, kind = k.kind,
      strategy = k.strategy, output = label, shape_nhwc = { n, h, w, c }, macs = macs,
      weight_bytes = weight_bytes, arena_offset = out.offset, pool = #g.pools > 1 and g.pools[out.pool].name or nil,
      live_bytes = live, algorithm_error = k.error,
      weights_dtype = k.numerics and k.numerics.weights, compute = k.numerics and (k.numerics.inputs or "fp32"),
      int8 = int8_row(g, node),
    }
  end
  return body, table_rows, rows, total_macs
end

-- Text a user chose (a weights path, a checkpoint prefix) inside the header's
-- /* */ comment: a newline or "*/" in it would end the comment and make the
-- rest C, so control characters become '?' and "*/" becomes "* /".
local function comment_text(s)
  return (s:gsub("%c", "?"):gsub("%*/", "* /"))
end

-- The values model.c.in and model.h.in are rendered with: the model's facts,
-- the blob layout, the numerics, the pools; the C texts come separately.
local function header_values(g, ctx, stack, total_macs)
  local P, t, v = ctx.prefix, ctx.target, ctx.variant
  local p, m = ctx.precision, ctx.measured
  local in_shape = g.values[g.input_id].shape
  local out_shape = g.values[g.output_id].shape
  local layout = require("lg.blob_writer").layout
  local wf = ctx.weights or { format = "bin" }
  local values = {
    VERSION = ctx.version, VARIANT = v.name, TIMM_NAME = v.timm_name or v.name, FAMILY = v.family,
    OPTIONS = comment_text(ctx.options_text), WEIGHT_SOURCE = comment_text(ctx.weight_source), P = P,
    C_FILE = ctx.c_file, H_FILE = ctx.h_file, BLOB_FILE = ctx.blob_file, BLOB_SHA256 = ctx.blob_sha,
    TARGET = t.name, ISA = t.isa, CODEGEN_CFLAGS = table.concat(targets.CODEGEN_CFLAGS, " "),
    CFLAGS = table.concat(t.cflags, " "), OPENMP = t.openmp and 1 or 0,
    BARE_CC = t.bare_cc or "cc", BARE_CFLAGS = table.concat(t.bare_cflags or t.cflags, " "),
    BATCH = in_shape[1], IN_CHANS = in_shape[2], IN_H = in_shape[3], IN_W = in_shape[4],
    OUT_DIM = graph.numel(out_shape) // out_shape[1], NUM_CLASSES = ctx.num_classes, LABEL_SET = ctx.num_classes > 0 and ctx.labels or "",
    CROP_PCT = template.c_float(v.crop_pct or 0.875), CROP_MODE = v.crop_mode or "center", INTERPOLATION = v.interpolation or "bicubic",
    MEAN = fmt_floats(v.mean or { 0.485, 0.456, 0.406 }), STD = fmt_floats(v.std or { 0.229, 0.224, 0.225 }),
    ARENA_BYTES = g.arena_bytes, ACTIVATION_BYTES = g.activation_bytes,
    WEIGHT_BYTES = ctx.blob_plan.weight_bytes, BLOB_BYTES = ctx.blob_plan.payload_bytes + layout.HEADER_BYTES,
    BLOB_HEADER_BYTES = layout.HEADER_BYTES, BLOB_MAGIC = layout.MAGIC, BLOB_VERSION = layout.VERSION,
    BLOB_ALIGN = layout.ALIGN, BLOB_BYTE_ORDER_MARK = string.format("0x%08x", layout.BYTE_ORDER_MARK),
    BLOB_BYTE_ORDER_SWAPPED = string.format("0x%08x", (layout.BYTE_ORDER_MARK & 0xff) << 24
      | (layout.BYTE_ORDER_MARK >> 8 & 0xff) << 16 | (layout.BYTE_ORDER_MARK >> 16 & 0xff) << 8
      | layout.BYTE_ORDER_MARK >> 24),
    BLOB_OFF_HEADER_BYTES = layout.OFF_HEADER_BYTES,
    BLOB_OFF_VERSION = layout.OFF_VERSION, BLOB_OFF_TOTAL = layout.OFF_TOTAL, BLOB_OFF_PAYLOAD = layout.OFF_PAYLOAD,
    BLOB_OFF_SHA256 = layout.OFF_SHA256, BLOB_OFF_VARIANT = layout.OFF_VARIANT,
    BLOB_OFF_BYTE_ORDER = layout.OFF_BYTE_ORDER, BYTE_ORDER = ctx.byte_order or t.byte_order,
    LINKED = wf.format ~= "bin" and 1 or 0, WEIGHTS_FORMAT = wf.format, WEIGHTS_FILE = wf.file or "",
    WEIGHTS_SECTION = wf.section or "", STACK_BYTES = FRAME_BYTES + 2 * stack,
    GOLDEN = ctx.blob_plan.golden_in and 1 or 0,
    NUM_LAYERS = #g.nodes, MACS = total_macs,
    SELFTEST_TOL = string.format("%g", require("precision").selftest_tol(p, m)):gsub("^0$", "0.0"),
    WEIGHTS_DTYPE = p.dtype, PRECISION = p.precision, KEEP_HEAD_F32 = p.keep_head_f32 and 1 or 0,
    BF16_EMULATED = p.precision == "bf16" and not t.bf16_dot and 1 or 0, LAYER_DTYPES = dtype_counts(g),
    REDUCED = m and 1 or 0, MEASURED = m and require("reduced").summary(m) or "",
    -- "_MODEL_H": no runtime header (LG_BLOB_H, ...) can share it, whatever --name is
    GUARD = (P .. "MODEL_H"):upper():gsub("[^%w]", "_"),
    INCLUDE = t.include or false,
    INPUT_ACT = act(g, g.input_id), OUTPUT_ACT = act(g, g.output_id),
    GOLDEN_IN_OFFSET = ctx.blob_plan.golden_in, GOLDEN_OUT_OFFSET = ctx.blob_plan.golden_out,
  }
  pool_vars(g, P, values)
  -- clang-format moves a #define's value too long for the line to the next one
  local sha_line = string.format('#define %sBLOB_SHA256 "%s"', P, ctx.blob_sha)
  values.SHA256_SEP = #sha_line > template.COLUMNS and " \\\n  " or " "
  values.EXTERN_BLOB = template.declaration("extern const unsigned char", P .. "blob", "[" .. P .. "BLOB_BYTES];")
  values.EXTERN_LAYERS = template.declaration("extern const " .. P .. "layer_info", P .. "layers", "[];")
  -- int8 (docs/int8.md): a uint8 input is quantized as it is transposed, a uint8
  -- output dequantized as it is copied out; scales in TFLite's int8 convention
  local q_in, q_out = g.values[g.input_id].q, g.values[g.output_id].q
  values.INT8 = p.precision == "int8" and 1 or 0
  values.IN_U8, values.OUT_U8 = q_in and 1 or 0, q_out and 1 or 0
  local Q = require("lg.qref")
  if q_in then values.IN_SCALE, values.IN_ZERO_POINT = template.c_float(Q.f32(q_in.s)), q_in.zu - 128 end
  if q_out then
    values.OUT_SCALE, values.OUT_ZU = template.c_float(Q.f32(q_out.s)), q_out.zu
  end
  -- forward_int8's output: the uint8 output's own scale, or calibration's range of the float logits
  local oq = q_out or g.out_q
  if oq then
    values.OUT_QSCALE, values.OUT_QZERO_POINT = template.c_float(Q.f32(oq.s)), oq.zu - 128
    values.OUT_INV_S, values.OUT_QZU = template.c_float(oq.inv_s), oq.zu
  end
  values.INPUT_KERNEL = template.render("input_nchw_to_nhwc.c.in",
    { N = in_shape[1], C = in_shape[2], H = in_shape[3], W = in_shape[4], QUANTIZE = q_in and 1 or 0,
      INV_S = q_in and template.c_float(q_in.inv_s), ZU = q_in and q_in.zu })
  return values
end

-- OUT.json (and `info --layers`): the model's totals, numerics and per-layer rows.
local function report(g, ctx, rows, total_macs, kernels)
  local t, p = ctx.target, ctx.precision
  local in_shape = g.values[g.input_id].shape
  local out_shape = g.values[g.output_id].shape
  local r = { layers = rows }
  r.totals = { macs = total_macs, weight_bytes = ctx.blob_plan.weight_bytes, arena_bytes = g.arena_bytes,
    activation_bytes = g.activation_bytes, layers = #g.nodes, kernels = kernels }
  if #g.pools > 1 then
    r.totals.pools = {}
    for i, pool in ipairs(g.pools) do r.totals.pools[i] = { name = pool.name, bytes = pool.bytes, size = pool.size } end
  end
  r.variant, r.target, r.blob_sha256 = ctx.variant.name, t.name, ctx.blob_sha
  r.cflags = targets.cflags(t) -- what the model's C is compiled with (build systems read it)
  r.precision = { weights_dtype = p.dtype, precision = p.precision, keep_head_f32 = p.keep_head_f32,
    bf16_dot = p.precision == "bf16" and (t.bf16_dot and "hardware" or "emulated") or nil,
    selftest_tolerance = require("precision").selftest_tol(p, ctx.measured), error = ctx.measured }
  if g.int8 then
    -- int8: how it was calibrated, what stayed in fp32 and what that costs
    local s = require("qreplay").summary(g)
    local q_in = g.values[g.input_id].q
    r.precision.int8 = { calibration = g.int8.calibration, range = g.int8.range, held_out = g.int8.held_out,
      min_sqnr_db = g.int8.min_sqnr_db, input = q_in and { scale = q_in.s, zero_point = q_in.zu - 128 },
      kept_fp32 = s.kept_fp32, kept_fp32_macs = s.kept_macs, kept_fp32_extra_weight_bytes = s.kept_extra_weight_bytes }
  end
  r.input_nchw = { in_shape[1], in_shape[2], in_shape[3], in_shape[4] }
  r.output = { out_shape[1], graph.numel(out_shape) // out_shape[1] }
  return r
end

-- ctx: { prefix, variant (registry record), options_text, weight_source, target,
--        c_file, h_file, blob_file, blob_sha, blob_plan, byte_order, num_classes, labels,
--        weights = {format = "bin"|"c"|"asm", file, section},
--        precision (precision.options), measured (reduced.measure's report or nil) }
-- Returns the C file, the header and the report.
function emit.generate(g, ctx)
  local k = kernel_instances(g)
  local body, table_rows, rows, total_macs = layer_sections(g, k.fn)
  local values = header_values(g, ctx, k.stack, total_macs)
  local vocab = vocabulary(g, ctx.target)
  values.VECTOR = template.render(ctx.target.vec, vocab)
  values.HELPERS = (k.needs_gelu and template.render("gelu_erf.c.in", {}) .. "\n" or "")
    .. (vocab.BF16_EMU == 1 and template.render("bf16_pairs.c.in", {}) .. "\n" or "")
  if values.INT8 == 1 then
    -- the scheme's scalar arithmetic, then the target's integer vocabulary over it
    local q = ctx.target.int8
    values.HELPERS = values.HELPERS .. template.render("int8_scheme.c.in", {}) .. "\n" .. template.render(q.vec, q.vars)
      .. "\n"
  end
  values.UKERNELS = table.concat(k.ukernels, "\n")
  values.KERNELS = table.concat(k.instances, "\n")
  values.BODY = table.concat(body, "\n")
  values.LAYER_TABLE = table.concat(table_rows, "\n")
  return template.render("model.c.in", values), template.render("model.h.in", values),
    report(g, ctx, rows, total_macs, #k.instances)
end

return emit
