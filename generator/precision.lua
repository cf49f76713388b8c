-- Reduced precision: what --weights-dtype, --precision and --keep-head-f32 ask
-- of the kernels, checked once here.
--   dtype      how conv/linear weights are stored in the blob; the kernels expand
--              them to fp32 as they load them: f32 (default), bf16, f16, int8
--              (symmetric, one scale per output channel)
--   precision  fp32 (default); bf16: GEMM inputs and weights rounded to bf16,
--              products accumulated in fp32 (AVX512-BF16 vdpbf16ps on the
--              avx512bf16 target, a bit-identical emulation on the others);
--              int8: integer inference (docs/int8.md: int8 weights and
--              activations, int32 sums, calibrated scales; passes/quantize.lua)
--   keep_head_f32  the classifier head keeps f32 weights and fp32 multiply-adds
--   calibrate, int8_range, int8_min_sqnr   int8's calibration inputs, range
--              method and the SQNR below which a layer stays in fp32
-- Per layer the kernel descriptor decides what it runs (kernels/*.lua) and
-- records it in node.kernel.numerics = {weights = dtype, inputs = "bf16"|nil},
-- which generator/reduced.lua replays to measure the error.
local errors = require("errors")

local precision = {}

-- bytes per stored weight
precision.DTYPE_BYTES = { f32 = 4, bf16 = 2, f16 = 2, int8 = 1 }
local DTYPES = "f32, bf16, f16 or int8"

-- Self-test tolerance (max|diff| / max|golden|), the golden being the reference
-- with the kernels' own rounding (generator/reduced.lua). Weight dtypes round
-- only the weights, which the reference rounds alike: what is left is fp32
-- summation order, as for fp32. bf16 compute also rounds every GEMM input; an
-- activation that sits within fp32 noise of a bf16 rounding boundary rounds the
-- other way in the kernels than in the reference, and those flips add up
-- through the depth of the model (measured on resnet50, convnext_tiny, BiT-50x1).
-- int8: exact where every layer is integer; a layer kept in fp32 sums in another
-- order than the reference, and an int8 layer after it may round one step the
-- other way (int8_mixed).
precision.SELFTEST_TOL = { fp32 = 1e-4, bf16 = 1e-2, int8_mixed = 2e-2 }

-- The self-test tolerance of one model: under bf16 compute no less than the
-- error bf16 itself makes on the golden input (measured: generator/reduced.lua).
-- A flipped rounding is a perturbation no bigger than rounding everything, and
-- a model that amplifies one amplifies the other: a BiT with random weights
-- turns 1e-2 of flips into 3e-2 where bf16 vs fp32 is 7e-2. A kernel bug
-- still shows: it is not bf16 noise.
function precision.selftest_tol(p, measured)
  if p.precision == "int8" then
    if measured and measured.exact then return 0 end
    -- fp32 layers whose outputs no int8 layer reads (a head kept in fp32) differ by fp32 sums only
    return measured and not measured.fp32_into_int8 and precision.SELFTEST_TOL.fp32 or precision.SELFTEST_TOL.int8_mixed
  end
  local tol = precision.SELFTEST_TOL[p.precision]
  if p.precision == "bf16" and measured then tol = math.max(tol, measured.golden.max_rel) end
  return tol
end

-- o: CLI options -> { dtype, precision, keep_head_f32 } (target checks: targets.resolve)
function precision.options(o)
  local p = o.precision or "fp32"
  if p ~= "fp32" and p ~= "bf16" and p ~= "int8" then
    errors.user("unknown --precision '%s'; use fp32, bf16 or int8", tostring(p))
  end
  local dtype = o.weights_dtype
  if dtype and not precision.DTYPE_BYTES[dtype] then
    errors.user("unknown --weights-dtype '%s'; use %s", tostring(dtype), DTYPES)
  end
  if p ~= "fp32" and dtype and dtype ~= (p == "bf16" and "bf16" or "int8") then
    local own = p == "bf16" and "bf16" or "int8"
    errors.user("--precision %s multiplies %s weights, not %s; drop --weights-dtype (%s is implied) "
      .. "or use --precision fp32 with --weights-dtype %s", p, own, dtype, own, dtype)
  end
  for _, opt in ipairs({ { "calibrate", "--calibrate" }, { "int8_min_sqnr", "--int8-min-sqnr" },
    { "int8_range", "--int8-range" } }) do
    if o[opt[1]] and p ~= "int8" then
      errors.user("%s is for integer inference; add --precision int8", opt[2])
    end
  end
  if o.int8_range and not require("ranges").METHODS[o.int8_range] then
    errors.user("unknown --int8-range '%s'; use minmax, percentile or mse", tostring(o.int8_range))
  end
  return { dtype = dtype or (p == "fp32" and "f32" or p), precision = p, keep_head_f32 = o.keep_head_f32 or false,
    calibrate = o.calibrate, int8_range = o.int8_range, int8_min_sqnr = o.int8_min_sqnr }
end

function precision.reduced(p) return p.dtype ~= "f32" or p.precision ~= "fp32" end

-- Does every layer run in int8 (exact self-test), or are some kept in fp32?
function precision.all_int8(g)
  for _, node in ipairs(g.nodes) do
    if not node.quant then return false end
  end
  return true
end

-- What the blob byte order cannot carry: narrow weights are packed as
-- little-endian bytes (the writer swaps 4-byte floats only).
function precision.check_byte_order(p, o)
  if p.dtype ~= "f32" and o.byte_order == "big" then
    errors.user("--weights-dtype %s is packed little-endian; --byte-order big takes f32 weights only", p.dtype)
  end
end

-- The classifier head: the linear (or BiT's 1x1 conv) that writes the output.
function precision.is_head(g, node)
  return node.output == g.output_id and (node.op == "linear" or node.op == "conv")
end

-- How this node's conv/linear weights are stored.
function precision.weight_dtype(ctx, g, node)
  local p = ctx.precision
  if p.keep_head_f32 and precision.is_head(g, node) then return "f32" end
  if p.precision == "int8" then return node.quant and "int8" or "f32" end -- a layer int8 would spoil keeps f32
  return p.dtype
end

-- "bf16 weights", "int8 weights, head f32", "bf16 compute", ... for logs and headers.
function precision.describe(p)
  local what = p.precision == "bf16" and "bf16 compute (bf16 weights and GEMM inputs, fp32 sums)"
    or p.precision == "int8" and "int8 compute (int8 weights and activations, int32 sums)"
    or (p.dtype .. " weights, fp32 compute")
  return what .. (p.keep_head_f32 and ", head f32" or "")
end

return precision
