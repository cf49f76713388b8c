-- The lucidgen command line. Parses argv, resolves the variant and the weight
-- source, and hands off to generate / build / the hub cache. Every user error
-- is one line naming the thing and the fix (errors.user -> exit 2).
local errors = require("errors")
local host = require("lg.host")
local hub = require("lg.hub")
local registry = require("registry")
local json = require("json")
local limits = require("limits")
local winograd = require("kernels.winograd")

local cli = {}

local USAGE = [[
lucidgen %s: compiles timm image classifiers into standalone C

usage:
  lucidgen list [--family F] [--json]
  lucidgen info VARIANT [--json] [--layers] [model options]
  lucidgen VARIANT -o OUT.c [options]       writes OUT.c, OUT.h, the blob OUT.bin and OUT.json
  lucidgen build VARIANT -o EXE [options]   generates, compiles and links a classifier EXE (+ EXE.bin)
  lucidgen --config FILE.lua -o OUT.c [options]
  lucidgen fetch VARIANT [--revision R] [--cache-dir D] [--offline] [--quiet]
  lucidgen cache list|verify [--cache-dir D]
  lucidgen cache path VARIANT [--revision R] [--cache-dir D]
                                            (developers: the microkernel tester's models)

VARIANT is a timm pretrained tag with '.' -> '_' (convnext_tiny_fb_in1k) or a bare
architecture (convnext_tiny), which resolves to timm's default tag for it.

weights (default: model.safetensors of timm/<arch>.<tag> from the Hugging Face hub,
through the huggingface_hub cache):
  --weights FILE.safetensors   a checkpoint with timm key names (strict)
  --random-init[=SEED]         deterministic random weights (default seed 0)
  --no-strict                  load what matches, random-init the rest, warn
  --prefix STR                 strip STR from checkpoint keys (e.g. backbone.)
  --check-finite               refuse a checkpoint with NaN or Inf weights (default: warn)
  --revision R                 hub branch, tag or commit (default main)
  --cache-dir DIR              hub cache (default $HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub)
  --offline                    use the cache only (also HF_HUB_OFFLINE=1, or TRANSFORMERS_OFFLINE=1 when that is unset)
model (within lucidgen's limits, SECURITY.md, and this machine's memory):
  --num-classes N              0 = pooled features; N != the checkpoint's = new random head; N <= %d
  --in-chans N                 input channels (first conv adapted like timm); N <= %d
  --size H[xW]                 input size (default: the variant's); H, W <= %d
  --batch N                    batch size (default 1); N <= %d
numerics (the error against fp32 is measured and reported; the self-test checks the kernels):
  --weights-dtype D            f32 (default), bf16, f16 or int8 (one scale per output channel):
                               how conv/linear weights are stored; kernels widen them to fp32
  --precision P                fp32 (default); bf16: GEMM inputs and weights rounded to bf16,
                               sums in fp32 (AVX512-BF16 on avx512bf16, which native picks for it;
                               the same numbers emulated on the other targets); int8: integer
                               inference, bit-exact on every target (docs/int8.md)
  --calibrate SRC              int8: the inputs that choose the activation scales: a folder of
                               images, a list of image paths (.csv/.txt) or a .f32 file of NCHW
                               inputs (default: seeded random inputs, with a warning); a quarter is
                               held out to measure the error
  --int8-range M               int8: minmax, percentile or mse (default): how a scale covers the
                               values calibration saw
  --int8-min-sqnr DB           int8: keep in fp32 the convs and linears whose own SQNR against fp32
                               is below DB (0 .. %d; default 0: none)
  --keep-head-f32              the classifier head keeps f32 weights and fp32 compute
  --error-inputs N             inputs the reduced path's error is measured on (default 32; N <= %d)
code:
  --name C_IDENT               symbol prefix of the generated API (default: the variant name; <= 64 characters)
  --target T                   native (default: this CPU's best), avx512bf16 (--precision bf16),
                               avx512vnni and avxvnni (int8 dot products), avx512, avx2, neon (AArch64),
                               neon-dotprod (ARMv8.2-A sdot), cortex-m (alias mcu: Cortex-M4F/M7/M33
                               class, one thread; int8 on the DSP extension), cortex-m55 (Helium int8)
                               or generic (portable C11)
  --no-winograd                3x3 convs as direct GEMMs (default: Winograd F(4x4,3x3) where it pays)
  --max-threads N              threads the Winograd layers make room for, a scratch slot each
                               (default %d; N <= %d): fewer shrink the arena, and more threads
                               than N still give the same output, N of them working in those layers
  --weights-format F           bin (default): OUT.bin, read at run time; c: also OUT_weights.c, the blob
                               as an aligned const array; asm: also OUT_weights.S, an .incbin object
                               (big blobs); both define NAME_blob in a section a linker script puts in flash
  --weights-section NAME       that section (default .rodata.lucidgen)
  --arena-pools NAME:SIZE,...  place activations in up to 8 named pools, tried in order (e.g.
                               dtcm:128K,sram:512K,sdram; sizes in bytes, K or M; the last may have none);
                               the header gets NAME_POOL_<NAME>_BYTES each and NAME_forward_pools
  --io-in-arena                the input and output get places in the arena (NAME_IN_OFFSET, NAME_OUT_OFFSET)
  --no-golden                  leave the self-test data out of the blob (NAME_selftest returns 2)
  --byte-order little|big      of the blob's floats (default: the target's; generic builds either)
  --embed-weights              (build) compile the blob into the executable
  --classifier-data FILE.c     (with -o OUT.c) also write the labels and published accuracy that
                               runtime/lg_classifier.c links (CMake's lucidgen_add_classifier)
  --verbose                    Lua tracebacks on errors
  --quiet                      no progress or warnings on stderr
  --help, -h, --version
environment:
  HF_ENDPOINT, HF_TOKEN, HF_HUB_CACHE, HF_HOME, HF_HUB_OFFLINE   as in huggingface_hub
  CC                           compiler for `build`, with arguments of its own split at blanks
                               ("ccache gcc"; default, and when empty: the one lucidgen was built with)
]]

-- Options that take a value, and the flags.
local VALUED = {
  ["-o"] = "out", ["--weights"] = "weights", ["--num-classes"] = "num_classes", ["--in-chans"] = "in_chans",
  ["--size"] = "size", ["--batch"] = "batch", ["--prefix"] = "prefix", ["--revision"] = "revision",
  ["--cache-dir"] = "cache_dir", ["--name"] = "name", ["--target"] = "target", ["--family"] = "family",
  ["--config"] = "config", ["--classifier-data"] = "classifier_data", ["--weights-format"] = "weights_format",
  ["--weights-section"] = "weights_section", ["--byte-order"] = "byte_order", ["--arena-pools"] = "arena_pools",
  ["--weights-dtype"] = "weights_dtype", ["--precision"] = "precision", ["--error-inputs"] = "error_inputs",
  ["--calibrate"] = "calibrate", ["--int8-range"] = "int8_range", ["--int8-min-sqnr"] = "int8_min_sqnr",
  ["--max-threads"] = "max_threads",
}
local FLAGS = {
  ["--no-strict"] = "no_strict", ["--check-finite"] = "check_finite", ["--offline"] = "offline", ["--json"] = "json", ["--layers"] = "layers",
  ["--embed-weights"] = "embed_weights", ["--verbose"] = "verbose", ["--quiet"] = "quiet", ["--help"] = "help",
  ["-h"] = "help", ["--version"] = "version", ["--no-winograd"] = "no_winograd", ["--no-golden"] = "no_golden",
  ["--io-in-arena"] = "io_in_arena",
  ["--keep-head-f32"] = "keep_head_f32",
}

local function parse_int(opt, s, min, max)
  local n = math.tointeger(tonumber(s))
  if not n or n < min then
    errors.user("%s must be an integer >= %d, got '%s'", opt, min, tostring(s))
  end
  if max and n > max then
    errors.user("%s may be at most %d, lucidgen's limit (got %d); see SECURITY.md for the limits", opt, max, n)
  end
  return n
end

local MAX_POOLS = 8

-- Names a pool may not have: its name becomes a member of NAME_pools (C11's keywords)
local C_KEYWORDS = {}
for k in ([[auto break case char const continue default do double else enum extern float for goto if inline int
  long register restrict return short signed sizeof static struct switch typedef union unsigned void volatile while
  _Alignas _Alignof _Atomic _Bool _Complex _Generic _Imaginary _Noreturn _Static_assert _Thread_local]]):gmatch("%S+") do
  C_KEYWORDS[k] = true
end

-- "dtcm:128K,sram:512K,sdram" -> { {name = "dtcm", size = 131072}, ..., {name = "sdram"} }
local function parse_pools(spec)
  local pools, seen = {}, {}
  for item in (spec .. ","):gmatch("([^,]*),") do
    local name, size = item:match("^([%a_][%w_]*):(%d+[KkMm]?)$")
    if not name then name = item:match("^([%a_][%w_]*)$") end
    if not name then
      errors.user("--arena-pools: '%s' is not NAME:SIZE or NAME (e.g. dtcm:128K,sram:512K,sdram)", item)
    end
    if C_KEYWORDS[name] then
      errors.user("--arena-pools: pool '%s' is a C keyword (it names a member of NAME_pools); rename it", name)
    end
    -- the header's macro is NAME_POOL_<UPPER>_BYTES: names equal but for case would define it twice
    local upper = name:upper()
    if seen[upper] == name then errors.user("--arena-pools: pool '%s' is named twice", name) end
    if seen[upper] then
      errors.user("--arena-pools: pools '%s' and '%s' both give NAME_POOL_%s_BYTES; rename one", seen[upper], name,
        upper)
    end
    seen[upper] = name
    local bytes
    if size then
      local unit = ({ k = 1024, m = 1024 * 1024 })[size:sub(-1):lower()] or 1
      local n = tonumber(size:match("^%d+")) + 0.0 -- a float: 2^44 M in integers wraps to 0
      if n * unit > limits.activation_bytes then
        errors.user("--arena-pools: pool '%s' of %s bytes; a pool may be at most %s (lucidgen's activation limit)",
          name, size, limits.bytes_text(limits.activation_bytes))
      end
      bytes = math.tointeger(n * unit)
      if bytes < 1 then errors.user("--arena-pools: pool '%s' has size %s; give at least 1 byte", name, size) end
    end
    if #pools > 0 and not pools[#pools].size then
      errors.user("--arena-pools: only the last pool may be without a size ('%s' is not last)", pools[#pools].name)
    end
    pools[#pools + 1] = { name = name, size = bytes }
  end
  if #pools > MAX_POOLS then errors.user("--arena-pools: %d pools; at most %d", #pools, MAX_POOLS) end
  return pools
end

function cli.parse(argv)
  local o, pos = { strict = true }, {}
  local i = 1
  while i <= #argv do
    local a = argv[i]
    local key, inline = a:match("^(%-%-[%w-]+)=(.*)$")
    if a:match("^%-%-random%-init") then
      if o.random_seed then errors.user("--random-init is given twice; give it once") end
      local seed = a:match("^%-%-random%-init=(.*)$")
      o.random_seed = seed and parse_int("--random-init", seed, 0) or 0
    elseif VALUED[key or a] then
      local opt = key or a
      local v = inline
      if not v then
        i = i + 1
        v = argv[i]
        if v == nil then errors.user("%s needs a value; see lucidgen --help", opt) end
      end
      -- a second value would silently win over the first (two -o: one output set lost)
      if o[VALUED[opt]] ~= nil then errors.user("%s is given twice; give it once", opt) end
      o[VALUED[opt]] = v
    elseif FLAGS[a] then
      o[FLAGS[a]] = true
    elseif a:sub(1, 1) == "-" and #a > 1 then
      errors.user("unknown option '%s'; see lucidgen --help", a)
    else
      pos[#pos + 1] = a
    end
    i = i + 1
  end
  if o.no_strict then o.strict = false end
  if o.no_winograd then o.winograd = false end
  if o.weights_format and o.weights_format ~= "bin" and o.weights_format ~= "c" and o.weights_format ~= "asm" then
    errors.user("--weights-format must be bin, c or asm, got '%s'", o.weights_format)
  end
  if o.weights_section and not o.weights_section:match("^[%a_.][%w_.]*$") then
    errors.user("--weights-section '%s' is not a section name; use letters, digits, _ and . (e.g. .rodata.lucidgen)",
      o.weights_section)
  end
  if o.arena_pools then o.arena_pools = parse_pools(o.arena_pools) end
  if o.byte_order and o.byte_order ~= "little" and o.byte_order ~= "big" then
    errors.user("--byte-order must be little or big, got '%s'", o.byte_order)
  end
  if o.num_classes then o.num_classes = parse_int("--num-classes", o.num_classes, 0, limits.num_classes) end
  if o.in_chans then o.in_chans = parse_int("--in-chans", o.in_chans, 1, limits.in_chans) end
  if o.batch then o.batch = parse_int("--batch", o.batch, 1, limits.batch) end
  if o.error_inputs then o.error_inputs = parse_int("--error-inputs", o.error_inputs, 1, limits.error_inputs) end
  if o.max_threads then o.max_threads = parse_int("--max-threads", o.max_threads, 1, limits.max_threads) end
  if o.int8_min_sqnr then
    local db = tonumber(o.int8_min_sqnr)
    if not db or db < 0 or db > limits.int8_min_sqnr then
      errors.user("--int8-min-sqnr must be a number of dB in 0 .. %d, got '%s'", limits.int8_min_sqnr, o.int8_min_sqnr)
    end
    o.int8_min_sqnr = db
  end
  if o.size then
    local h, w = o.size:match("^(%d+)x(%d+)$")
    if not h then h = o.size:match("^(%d+)$"); w = h end
    if not h then errors.user("--size must be H or HxW (e.g. 224 or 160x192), got '%s'", o.size) end
    o.size = { parse_int("--size", h, 1, limits.size), parse_int("--size", w, 1, limits.size) }
  end
  return o, pos
end

local function resolve_variant(name, o)
  if o.config then
    local src, why = host.read_file(o.config, limits.config_file_bytes, "config")
    if not src then errors.user("%s (a Lua file that returns a table)", why) end
    return registry.from_config(require("lg.sandbox").eval(src, o.config, limits), o.config)
  end
  if not name then errors.user("no VARIANT given; see lucidgen list") end
  local v = registry.resolve(name)
  if v.resolved_from and not o.quiet and not o.json then
    io.stderr:write(string.format("lucidgen: %s -> %s (timm's default pretrained tag)\n", v.resolved_from, v.name))
  end
  return v
end

-- Where the weights come from: --weights, --random-init, or the hub.
local function weight_source(v, o)
  if o.weights and o.random_seed then errors.user("--weights and --random-init exclude each other; pick one") end
  if o.weights then
    if not host.exists(o.weights) then errors.user("weights file %s does not exist; check the path", o.weights) end
    return { path = o.weights }
  end
  if o.random_seed then return { random_seed = o.random_seed } end
  if not v.hub_repo then
    errors.user("%s has no released weights; pass --weights FILE.safetensors or --random-init", v.name)
  end
  local path = hub.fetch({ repo = v.hub_repo, revision = o.revision, cache_dir = o.cache_dir,
    offline = o.offline, quiet = o.quiet })
  return { path = path }
end

local function cmd_list(o)
  local rows = registry.list(o.family)
  if o.json then
    print(json.encode(rows, true))
    return 0
  end
  print(string.format("%-52s %-9s %8s %7s %7s  %s", "variant (* = named by users)", "family", "classes", "size",
    "acc@1", "license"))
  for _, v in ipairs(rows) do
    print(string.format("%-52s %-9s %8d %7s %7s  %s", v.name .. (v.seeded and " *" or ""), v.family, v.num_classes,
      v.input_size[1] == v.input_size[2] and tostring(v.input_size[1]) or (v.input_size[1] .. "x" .. v.input_size[2]),
      v.acc1 and string.format("%.2f", v.acc1) or "-", v.license or "-"))
  end
  return 0
end

local function cmd_info(name, o)
  local generate = require("generate")
  local v = resolve_variant(name, o)
  local mo = generate.model_options(v, o)
  local g = generate.build_graph(v, mo)
  local params = 0
  for _, key in ipairs(g.param_order) do
    if not g.params[key].optional then params = params + require("graph").numel(g.params[key].shape) end
  end
  local macs = 0
  for _, node in ipairs(g.nodes) do macs = macs + require("graph").macs(g, node) end
  local info = {}
  for k, val in pairs(v) do info[k] = val end
  info.model = { num_classes = mo.num_classes, in_chans = mo.in_chans, size = mo.size, batch = mo.batch,
    params = params, macs = macs, layers = #g.nodes }
  -- int8 with a weight source: calibrate and measure, for the layers' SQNR
  local measure = o.precision == "int8" and (o.weights or o.random_seed)
  local report = generate.report(v, o, measure and weight_source(v, o) or nil)
  info.totals, info.precision = report.totals, report.precision
  if o.layers then info.layers = report.layers end
  if o.json then
    print(json.encode(info, true))
    return 0
  end
  local function line(k, val) print(string.format("%-16s %s", k, tostring(val))) end
  line("variant", v.name .. (v.resolved_from and ("  (default tag of " .. v.resolved_from .. ")") or ""))
  line("timm", v.timm_name or "-")
  line("family", v.family)
  line("hub repo", v.hub_repo or "-")
  local keys, cfg = {}, {}
  for k in pairs(v.config) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local val = v.config[k]
    cfg[#cfg + 1] = k .. "=" .. (type(val) == "table" and ("{" .. table.concat(val, ",") .. "}") or tostring(val))
  end
  line("config", table.concat(cfg, " "))
  line("num_classes", string.format("%d (checkpoint %d)", mo.num_classes, v.num_classes))
  line("input", string.format("%dx%dx%d (batch %d); test size %s", mo.in_chans, mo.size[1], mo.size[2], mo.batch,
    v.test_input_size and (v.test_input_size[1] .. "x" .. v.test_input_size[2]) or "-"))
  line("preprocess", string.format("crop_pct %s, crop_mode %s, %s, mean {%s}, std {%s}", tostring(v.crop_pct), v.crop_mode,
    v.interpolation or "-", table.concat(v.mean or {}, ", "), table.concat(v.std or {}, ", ")))
  line("labels", v.labels or "none")
  line("license", (v.license or "-") .. (v.license_warning and ("  WARNING: " .. v.license_warning) or ""))
  line("accuracy", v.acc1 and string.format("acc@1 %.3f, acc@5 %.3f", v.acc1, v.acc5 or 0) or "-")
  line("params", string.format("%d (%.2f M)", params, params / 1e6))
  line("MACs", string.format("%d (%.2f G)", macs, macs / 1e9))
  local t = info.totals
  line("plan", string.format("%d layers after fusion, %d kernels; arena %d bytes = %.1f%% of the %d bytes all "
    .. "activations would take; packed weights %d bytes", t.layers, t.kernels, t.arena_bytes,
    100 * t.arena_bytes / t.activation_bytes, t.activation_bytes, t.weight_bytes))
  local rp = info.precision
  line("numerics", require("precision").describe({ dtype = rp.weights_dtype, precision = rp.precision,
    keep_head_f32 = rp.keep_head_f32 }))
  if o.layers then
    -- int8 with weights: each layer's SQNR against fp32 (its own, and as the model sees it)
    local sqnr = measure and string.format(" %15s", "SQNR dB own/e2e") or ""
    print("")
    print(string.format("%-34s %-28s %-18s %10s %10s %10s %10s%s  %s", "layer (timm module) + fused", "kernel",
      "output NHWC", "MACs", "weights B", "arena off", "live B", sqnr, "strategy"))
    for _, l in ipairs(info.layers) do
      local name = l.name .. (#l.fused > 0 and (" +" .. #l.fused) or "")
      local q = l.int8
      local col = measure and (q and q.sqnr_db and string.format(" %7s/%7.1f", q.local_sqnr_db and
        string.format("%.1f", q.local_sqnr_db) or "-", q.sqnr_db) or string.format(" %15s", "-")) or ""
      print(string.format("%-34s %-28s %-18s %10d %10d %10d %10d%s  %s%s%s", name, l.kernel,
        table.concat(l.shape_nhwc, "x"), l.macs, l.weight_bytes, l.arena_offset, l.live_bytes, col,
        l.strategy or l.kind,
        l.algorithm_error and string.format(" (adds %.1e relative error)", l.algorithm_error) or "",
        q and q.kept_fp32 and " (kept in fp32)" or ""))
    end
    print(string.format("totals: %d layers, %d kernels, %.3f GMACs, weights %d bytes, arena %d bytes "
      .. "(%.1f%% of the %d bytes all activations would take)", t.layers, t.kernels, t.macs / 1e9, t.weight_bytes,
      t.arena_bytes, 100 * t.arena_bytes / t.activation_bytes, t.activation_bytes))
  end
  return 0
end

local function cmd_generate(name, o)
  if not o.out then errors.user("no output given; add -o OUT.c") end
  if o.embed_weights then
    errors.user("--embed-weights is for `lucidgen build`; with -o OUT.c, use --weights-format c or asm to link the blob in")
  end
  if not o.out:match("%.c$") then errors.user("-o %s: the output must end in .c (OUT.h, OUT.bin and OUT.json go beside it)", o.out) end
  -- "-o dir/.c" wrote the hidden files .c, .h, .bin and .json
  if o.out:match("^%.c$") or o.out:match("/%.c$") then
    errors.user("-o %s: the name before .c is empty; name the output (e.g. model.c)", o.out)
  end
  -- the file name is written into OUT.c's #include "OUT.h" and an .incbin "OUT.bin"
  if o.out:match("[\"\\%c]") then
    errors.user("-o '%s': a name with quotes, backslashes or control characters (shown as ?) cannot be written into "
      .. "the generated #include; rename it", (o.out:gsub("%c", "?")))
  end
  -- one file written twice in one set: the second rename found nothing ("No such file or directory")
  if o.classifier_data then
    local function plain(p) return (p:gsub("^%./+", ""):gsub("/%./", "/"):gsub("//+", "/")) end
    local base = plain(o.out):sub(1, -3)
    local weights = { c = "_weights.c", asm = "_weights.S" }
    for _, ext in ipairs({ ".c", ".h", ".bin", ".json", weights[o.weights_format] }) do
      if plain(o.classifier_data) == base .. ext then
        errors.user("--classifier-data %s is also one of -o's outputs (OUT.c, .h, .bin, .json, _weights.c/.S); "
          .. "give it a name of its own", o.classifier_data)
      end
    end
  end
  local v = resolve_variant(name, o)
  require("generate").run(v, o, weight_source(v, o))
  return 0
end

local function cmd_fetch(name, o)
  local v = resolve_variant(name, o)
  if not v.hub_repo then errors.user("%s has no hub repo", v.name) end
  print(hub.fetch({ repo = v.hub_repo, revision = o.revision, cache_dir = o.cache_dir, offline = o.offline, quiet = o.quiet }))
  return 0
end

local function cmd_cache(pos, o)
  local sub = pos[2]
  local dir = hub.cache_dir(o.cache_dir)
  if sub == "list" then
    hub.cache_list(dir)
    return 0
  elseif sub == "verify" then
    return hub.cache_verify(dir) and 0 or 1
  elseif sub == "path" then
    local v = resolve_variant(pos[3], o)
    print(hub.fetch({ repo = v.hub_repo, revision = o.revision, cache_dir = o.cache_dir, offline = true, quiet = true }))
    return 0
  end
  errors.user("usage: lucidgen cache list|verify|path VARIANT")
end

-- The usage text and the options it documents, for the man page and tests
-- (tests/unit/test_cli_options.lua checks each option parsed is documented).
cli.USAGE, cli.VALUED, cli.FLAGS = USAGE, VALUED, FLAGS

function cli.main(argv)
  local most = limits.threads_per_processor * host.processors
  if host.max_threads > most then
    errors.user("OMP_NUM_THREADS asks for %d threads; at most %d (%d per processor) help; set it lower or unset it",
      host.max_threads, most, limits.threads_per_processor)
  end
  local o, pos = cli.parse(argv)
  if o.version then
    print("lucidgen " .. host.version)
    return 0
  end
  if o.help or (#pos == 0 and not o.config) then
    io.write(string.format(USAGE, host.version, limits.num_classes, limits.in_chans, limits.size, limits.batch,
      limits.int8_min_sqnr, limits.error_inputs, winograd.MAX_SLOTS, limits.max_threads))
    return o.help and 0 or 2
  end
  local cmd = pos[1]
  -- one VARIANT at most (none with --config): an extra one was dropped without a word
  local takes = ({ list = 1, info = 2, build = 2, fetch = 2, cache = #pos })[cmd] or 1
  if o.config and cmd ~= "list" and cmd ~= "cache" then takes = takes - 1 end
  if #pos > takes then
    errors.user("unexpected argument '%s'%s; see lucidgen --help", pos[takes + 1],
      o.config and " (--config names the model)" or "")
  end
  if cmd == "list" then return cmd_list(o) end
  if cmd == "info" then return cmd_info(pos[2], o) end
  if cmd == "build" then
    if o.classifier_data then errors.user("--classifier-data goes with -o OUT.c; `lucidgen build` writes its own") end
    return require("build").run(resolve_variant(pos[2], o), o, weight_source)
  end
  if cmd == "fetch" then return cmd_fetch(pos[2], o) end
  if cmd == "cache" then return cmd_cache(pos, o) end
  return cmd_generate(o.config and nil or cmd, o)
end

return cli
