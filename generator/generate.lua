-- The pipeline: variant config -> graph -> weights -> golden reference ->
-- passes -> blob + C. Every stage is a module of its own; this file only
-- strings them together in the order the data flows.
local errors = require("errors")
local host = require("lg.host")
local T = require("lg.tensor")
local graph = require("graph")
local registry = require("registry")
local weights = require("weights")
local reference = require("reference")
local targets = require("targets")
local precision = require("precision")
local reduced = require("reduced")
local qreplay = require("qreplay")
local blob = require("blob")
local output_set = require("output_set")
local emit = require("emit")
local template = require("template")
local json = require("json")
local limits = require("limits")

local generate = {}

local GOLDEN_SEED = 20240601

-- Resolved model options with the variant's defaults filled in.
function generate.model_options(variant, o)
  local size = o.size or variant.input_size
  return {
    num_classes = o.num_classes or variant.num_classes,
    in_chans = o.in_chans or variant.config.in_channels,
    size = { size[1], size[2] },
    batch = o.batch or 1,
  }
end

-- Builds the graph of `variant` (no weights yet).
function generate.build_graph(variant, mo)
  local g = graph.new({ variant = variant.name })
  registry.family(variant.family).build(g, variant.config, mo)
  return g
end

local function log(o, fmt, ...)
  if not o.quiet then io.stderr:write(string.format(fmt, ...) .. "\n") end
end

-- C identifier prefix of the generated API.
function generate.prefix(o, variant)
  local name = o.name or variant.name
  local problem = limits.c_name_problem(name)
  if problem then errors.user("--name '%s' %s", #name > 40 and name:sub(1, 40) .. "..." or name, problem) end
  if name:lower() == "lg" then
    errors.user("--name %s: lg_ is the runtime's prefix (lg_blob_check, ...); pick another name", name)
  end
  return name .. "_"
end

-- Refuses a graph whose weights or activations (float32; their sum bounds the
-- arena) pass lucidgen's limits or this machine's memory, before anything of
-- that size is allocated. Counted in floating point: no integer overflow.
local function check_model_size(g, variant, mo)
  local function bytes(shape)
    local n = 4.0
    for _, d in ipairs(shape) do n = n * d end
    return n
  end
  local weight_bytes, activation_bytes = 0.0, 0.0
  for _, key in ipairs(g.param_order) do weight_bytes = weight_bytes + bytes(g.params[key].shape) end
  for _, v in ipairs(g.values) do activation_bytes = activation_bytes + bytes(v.shape) end
  local what = string.format("%s at batch %d, %dx%d", variant.name, mo.batch, mo.size[1], mo.size[2])
  local B = limits.bytes_text
  if weight_bytes > limits.weight_bytes then
    errors.user("%s has %s of weights, more than lucidgen's limit of %s; lower --num-classes or the config's widths",
      what, B(weight_bytes), B(limits.weight_bytes))
  end
  if activation_bytes > limits.activation_bytes then
    errors.user("%s needs %s of activations, more than lucidgen's limit of %s; lower --batch or --size",
      what, B(activation_bytes), B(limits.activation_bytes))
  end
  if host.memory_bytes > 0 and weight_bytes + activation_bytes > host.memory_bytes then
    errors.user("%s needs %s (weights %s + activations %s), more than this machine's %s of memory; "
      .. "lower --batch or --size", what, B(weight_bytes + activation_bytes), B(weight_bytes), B(activation_bytes),
      B(host.memory_bytes))
  end
end

-- A graph and the function that binds its weights (returns the store: key ->
-- tensor, and a summary) -> golden reference -> passes -> kernels -> arena
-- plan. The store lives only here and is dropped once bind_tensors has handed
-- its tensors to the graph: a weight a pass replaces is then garbage, and the
-- collector frees it (tensor storage is visible to it). Returns the lowered
-- graph and what the emitter needs; writes nothing. A reduced-precision
-- model's golden output is the reference of its own arithmetic, and the error
-- of that arithmetic is measured (generator/reduced.lua).
function generate.compile_graph(g, bind, o, src, variant)
  local p = precision.options(o)
  local target = targets.resolve(o.target or "native", p.precision)
  precision.check_byte_order(p, o)
  if not src.plan_only then
    -- Tensors keep their floats inside their userdata, so with weights bound
    -- the heap is mostly weights: start a cycle as soon as it outgrows what the
    -- last one kept (pause 100, not Lua's 200), so a replaced or written weight
    -- is freed before the next few are made. A plan alone keeps the default: its
    -- heap is small tables, which a continuous collector would slow tenfold.
    collectgarbage("incremental", 100)
  end
  local store, summary = bind()
  -- Golden self-test: a seeded input through the unfolded graph.
  -- (--no-golden: none, but reduced precision still measures its error on
  -- seeded inputs; a plan without weights: zeros stand in)
  local golden_in, golden_out
  if not o.no_golden or (precision.reduced(p) and not src.plan_only) then
    golden_in = T.normal(g.values[g.input_id].shape, GOLDEN_SEED, 0, 1)
    golden_out = src.plan_only and T.zeros(g.values[g.output_id].shape) or reference.run(g, store, golden_in)
  end
  local kctx = { target = target, winograd = o.winograd ~= false, plan_only = src.plan_only, precision = p,
    max_threads = o.max_threads }
  g = require("passes.bind_tensors")(g, store)
  store = nil
  g = require("passes.fold_batchnorm")(g)
  g = require("passes.fold_layer_scale")(g)
  g = require("passes.fuse_epilogues")(g, kctx)
  local held_out
  if p.precision == "int8" then
    local set = not src.plan_only
      and require("calibration").inputs(p.calibrate, variant or {}, g.values[g.input_id].shape, o)
    g = require("passes.quantize")(g, set, p, o.quiet)
    held_out = set and set.held_out
  end
  g = require("passes.lower_kernels")(g, kctx)
  local measured
  if held_out then
    if not o.quiet then
      io.stderr:write(string.format("lucidgen: measuring int8 against fp32 on %d held-out input%s ...\n", #held_out,
        #held_out > 1 and "s" or ""))
    end
    local fp32_golden = golden_out
    golden_out, measured = qreplay.measure(g, golden_in, held_out)
    local err, mag, cos = require("lg.refops").compare(golden_out, fp32_golden, 0)
    measured.golden = { max_rel = mag > 0 and err / mag or err, cosine = cos }
    measured.exact = precision.all_int8(g)
    for _, node in ipairs(g.nodes) do measured.fp32_into_int8 = measured.fp32_into_int8 or node.op == "quantize" end
  elseif precision.reduced(p) and not src.plan_only then
    -- at least 32 images by default: a batch of 8 needs 4 inputs, not 32
    local count = o.error_inputs or math.ceil(32 / golden_in:shape()[1])
    if not o.quiet then
      io.stderr:write(string.format("lucidgen: measuring %s against fp32 on %d input%s ...\n",
        precision.describe(p), count, count > 1 and "s" or ""))
    end
    golden_out, measured = reduced.measure(g, golden_in, golden_out, count, GOLDEN_SEED)
  end
  -- a feature map comes out in the kernels' NHWC layout
  if golden_out and #golden_out:shape() == 4 then golden_out = require("lg.refops").nhwc(golden_out) end
  if o.no_golden then golden_in, golden_out = nil, nil end
  g = require("passes.fuse_norm_apply")(g, kctx)
  g = require("passes.plan_arena")(g, o.arena_pools, o.io_in_arena)
  collectgarbage()
  return { g = g, target = target, summary = summary, precision = p, measured = measured, golden_in = golden_in,
    golden_out = golden_out }
end

-- The variant's graph and weights, compiled (see compile_graph).
function generate.compile(variant, o, src)
  local mo = generate.model_options(variant, o)
  local g = generate.build_graph(variant, mo)
  check_model_size(g, variant, mo)
  local c = generate.compile_graph(g, function()
    return weights.bind(g, src, {
      strict = o.strict ~= false, prefix = o.prefix, num_classes = mo.num_classes, quiet = o.quiet,
      check_finite = o.check_finite,
      head_swapped = mo.num_classes ~= variant.num_classes, seed = src.random_seed or 0,
    })
  end, o, src, variant)
  c.mo = mo
  return c
end

local function file_name(p) return p:match("([^/]+)$") end

-- The payload's byte order: the target's, or --byte-order for a portable build.
function generate.byte_order(o, target)
  local order = o.byte_order or target.byte_order
  if order ~= target.byte_order and target.name ~= "generic" then
    errors.user("--byte-order %s: target %s is %s-endian; only --target generic builds for either order", order,
      target.name, target.byte_order)
  end
  return order
end

-- Renders C, header and report for a compiled model with a planned blob.
function generate.render(variant, o, c, paths, plan, sha)
  local mo = c.mo
  local format = o.weights_format or "bin"
  local p = c.precision
  local options_text = string.format("num_classes=%d in_chans=%d size=%dx%d batch=%d target=%s%s%s%s%s%s%s%s%s",
    mo.num_classes, mo.in_chans, mo.size[1], mo.size[2], mo.batch, c.target.name,
    o.winograd == false and " no-winograd" or "", o.max_threads and (" max-threads=" .. o.max_threads) or "",
    precision.reduced(p) and string.format(" weights_dtype=%s precision=%s%s", p.dtype, p.precision,
      p.keep_head_f32 and " keep_head_f32" or "") or "",
    o.prefix and (" prefix=" .. o.prefix) or "", o.strict == false and " no-strict" or "",
    format ~= "bin" and (" weights-format=" .. format) or "", o.no_golden and " no-golden" or "",
    o.byte_order and (" byte-order=" .. o.byte_order) or "")
  local c_text, h_text, report = emit.generate(c.g, {
    prefix = generate.prefix(o, variant), variant = variant, options_text = options_text,
    weight_source = c.summary.source, target = c.target, version = host.version, c_file = file_name(paths.c),
    h_file = file_name(paths.h), blob_file = file_name(paths.bin), blob_sha = sha, blob_plan = plan,
    byte_order = generate.byte_order(o, c.target), num_classes = mo.num_classes, labels = variant.labels or "",
    precision = p, measured = c.measured,
    weights = { format = format, file = paths.weights and file_name(paths.weights),
      section = o.weights_section or generate.WEIGHTS_SECTION },
  })
  report.options, report.weights = options_text, c.summary.source
  return c_text, h_text, report
end

generate.WEIGHTS_SECTION = ".rodata.lucidgen"

-- --weights-format c|asm: the blob as a source file the model links, in a
-- named section a linker script can place in flash.
-- Written from the finished blob's temporary, in the same output set.
local function write_linked_weights(set, variant, o, paths, plan, sha, prefix)
  local vars = { VERSION = host.version, VARIANT = variant.name, BLOB_FILE = file_name(paths.bin),
    BLOB_BYTES = plan.payload_bytes + require("lg.blob_writer").layout.HEADER_BYTES, BLOB_SHA256 = sha, ALIGN = blob.ALIGN,
    SECTION = o.weights_section or generate.WEIGHTS_SECTION, P = prefix, H_FILE = file_name(paths.h),
    BYTES = "\1" } -- where blob_source writes the bytes
  -- the attribute shares the declaration's line when both fit, as clang-format lays them out
  local decl = string.format('__attribute__((aligned(%d), section("%s"))) const unsigned char %sblob[%sBLOB_BYTES] =',
    vars.ALIGN, vars.SECTION, prefix, prefix)
  vars.ATTRIBUTE_SEP = #decl <= template.COLUMNS and " " or "\n"
  if o.weights_format == "asm" then
    set:write_file(paths.weights, template.render("weights_incbin.S.in", vars))
  else
    local text = template.render("weights_array.c.in", vars)
    local at = text:find("\1", 1, true)
    require("lg.blob_writer").source(set:staged(paths.bin), set:add(paths.weights), paths.weights,
      text:sub(1, at - 1), text:sub(at + 1))
  end
end

-- o: CLI options (out = path of the .c file); src: {path=} or {random_seed=};
-- compiled: an already compiled model (kernel test cases), else compiled here.
-- Writes OUT.c, OUT.h, OUT.bin and OUT.json (and OUT_weights.c|.S, --classifier-data's file)
-- as one set (output_set: all of them or, on any failure, none, leaving an
-- older set as it was); returns the paths and report.
function generate.run(variant, o, src, compiled)
  local t0 = host.clock()
  local prefix = generate.prefix(o, variant)
  local base = o.out:gsub("%.c$", "")
  local paths = { c = base .. ".c", h = base .. ".h", bin = base .. ".bin", json = base .. ".json" }
  if host.is_dir(paths.c) then
    errors.user("-o %s is a directory; name the .c file to write (e.g. %s/model.c)", paths.c, paths.c)
  end
  local dir = paths.c:match("^(.*)/[^/]*$") or "."
  if not host.is_dir(dir) then errors.user("-o %s: directory %s does not exist; create it first", paths.c, dir) end
  if variant.license_warning then log(o, "lucidgen: warning: %s: %s", variant.name, variant.license_warning) end
  local c = compiled or generate.compile(variant, o, src)
  local format = o.weights_format or "bin"
  if format ~= "bin" then paths.weights = base .. (format == "c" and "_weights.c" or "_weights.S") end
  local plan = blob.plan(c.g, c.golden_in, c.golden_out)
  local report = output_set.run(function(set)
    local sha = set:write_blob(paths.bin, { variant = variant.name, target = c.target.name,
      generator = host.version, byte_order = generate.byte_order(o, c.target), payload_bytes = plan.payload_bytes,
      items = plan.items })
    if paths.weights then write_linked_weights(set, variant, o, paths, plan, sha, prefix) end
    local c_text, h_text, report = generate.render(variant, o, c, paths, plan, sha)
    set:write_file(paths.h, h_text)
    set:write_file(paths.c, c_text)
    set:write_file(paths.json, json.encode(report, true) .. "\n")
    if o.classifier_data then -- --classifier-data FILE: the classifier main's labels and accuracy, in the same set
      local labels = c.mo.num_classes > 0 and variant.labels or nil
      set:write_file(o.classifier_data, require("build").classifier_data_c(variant, o, src, labels))
    end
    return report
  end)
  log(o, "lucidgen: %s -> %s (+ .h .bin .json): %d layers, %d kernels, arena %d bytes (activations %d), weights %d bytes, %.1f s",
    variant.name, paths.c, report.totals.layers, report.totals.kernels, c.g.arena_bytes, c.g.activation_bytes,
    plan.weight_bytes, host.clock() - t0)
  if c.measured then
    log(o, "lucidgen: %s vs fp32: %s; self-test tolerance %g", precision.describe(c.precision),
      reduced.summary(c.measured), precision.selftest_tol(c.precision, c.measured))
    if c.g.int8 then
      for _, line in ipairs(qreplay.summary_lines(c.g)) do log(o, "lucidgen: %s", line) end
    end
  end
  return paths, report, { prefix = prefix, target = c.target, labels = c.mo.num_classes > 0 and variant.labels or nil }
end

-- The per-layer report of a model without writing anything: shapes, fusion,
-- kernels and the arena plan do not depend on weight values, so none are made;
-- with `src` (int8 with --weights or --random-init) the model is calibrated and
-- measured too, for its per-layer SQNR.
function generate.report(variant, o, src)
  local c = generate.compile(variant, o, src or { plan_only = true })
  local plan = blob.plan(c.g, c.golden_in, c.golden_out)
  local _, _, report = generate.render(variant, o, c, { c = "model.c", h = "model.h", bin = "model.bin" }, plan, "-")
  return report
end

return generate
