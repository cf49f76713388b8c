-- The microkernel tester's models, written by
--   lua_unit tests/unit/kernel_cases.lua -o DIR [--target T] [--no-winograd] [--weights-dtype D] [--precision P]
-- (run from the repository root). Each case is a one- or two-layer graph whose shape stresses
-- one kernel kind and strategy (tile tails in M, N and K, groups, strides,
-- padding, every epilogue), compiled through the whole pipeline with seeded
-- random weights; its golden output comes from lg.refops on the unfolded graph
-- (double accumulation), so DIR/<case>.c's self-test checks the kernel against
-- the naive reference. With a weight dtype or bf16 compute the golden output
-- is the reference with the kernels' rounding (generator/reduced.lua), so the
-- same tight bound checks the widening loads, int8 scales and bf16 dot
-- products; then only the cases marked `numerics` run.
-- tests/unit/kernel_sweep.py compiles and runs every case for every target the
-- CPU runs. DIR/cases.txt: one line per case, its name, the bound its
-- self-test must meet: 2e-5 (one kernel against the reference), or under bf16
-- compute where a kernel's GEMM input is another kernel's fp32 output (the
-- reference's own sums may round to the other bf16 neighbour), the whole-model
-- tolerance; and 1 if it does bf16 dot products, else 0.
local errors = require("errors")
local generate = require("generate")
local host = require("lg.host")
local weights = require("weights")
local precision = require("precision")

local kernel_cases = {}

-- conv case: input [n, c, h, w], conv to `out` with kernel k, stride s, pad p,
-- groups; epi: nil | "relu" | "gelu" | "res" (shortcut = the input) | "res_relu" | "bn_relu"
local function conv(n, c, h, w, a)
  return {
    input = { n, c, h, w },
    build = function(g, x)
      local y = g:conv(x, "conv", { out = a.out, k = a.k, stride = a.s or 1, pad = a.p or (a.k - 1) // 2,
        groups = a.groups or 1, bias = a.epi ~= "bn_relu", linear = a.linear })
      if a.epi == "bn_relu" then y = g:relu(g:batchnorm(y, "bn"), "act") end
      if a.epi == "res" or a.epi == "res_relu" then y = g:add_residual(y, x, "residual") end
      if a.epi == "relu" or a.epi == "res_relu" then y = g:relu(y, "act") end
      if a.epi == "gelu" then y = g:gelu(y, "act") end
      if a.norm then y = g:layernorm(y, "norm", 1e-6) end
      return y
    end,
  }
end

local function unary(n, c, h, w, f) return { input = { n, c, h, w }, build = f } end

-- { name, case, expect }: names say kind, shape and what they stress; `expect` is
-- a Lua pattern that one of the case's layers ("kind strategy") must match (per
-- target where kinds differ), so a case cannot silently stop exercising its kernel.
-- `numerics`: one case per kind, strategy and epilogue, also run with each
-- weight dtype and bf16 compute (odd K per tap and per packed row among them:
-- bf16 pairs pad it)
local CASES = {
  -- GEMM, A rows in place (1x1, stride 1)
  { "gemm_k3_n7_m13", conv(1, 3, 13, 1, { out = 7, k = 1 }), "^gemm gemm", numerics = true },
  -- a 7x7 map: seven 7-row tiles where AVX-512 has them (kernels/gemm.lua exact_mr), else a 1-row last tile
  { "gemm_k64_n100_m49_relu", conv(1, 64, 7, 7, { out = 100, k = 1, epi = "relu" }),
    { avx512 = "^gemm gemm 7x64", avx2 = "^gemm gemm", neon = "^gemm gemm", ["cortex-m"] = "^gemm gemm",
      generic = "^gemm gemm" } },
  -- four 64-wide panels of K = 64 (66 KB) run one at a time over the tiles where AVX-512 has 6x64 tiles
  { "gemm_k64_n256_m144_relu_panel_by_panel", conv(1, 64, 12, 12, { out = 256, k = 1, epi = "relu" }),
    { avx512 = "^gemm gemm 6x64 tiles, %d+ tasks, panel by panel", avx2 = "^gemm gemm", neon = "^gemm gemm",
      ["cortex-m"] = "^gemm gemm", generic = "^gemm gemm" } },
  { "gemm_k17_n33_m25_gelu", conv(1, 17, 5, 5, { out = 33, k = 1, epi = "gelu" }), "^gemm gemm", numerics = true },
  { "gemm_k96_n384_m32_batch2_gelu", conv(2, 96, 4, 4, { out = 384, k = 1, epi = "gelu", linear = true }), "^gemm gemm" },
  { "gemm_k64_n64_m36_res_relu", conv(1, 64, 6, 6, { out = 64, k = 1, epi = "res_relu" }), "^gemm gemm", numerics = true },
  { "gemm_k40_n80_m9_bn_relu", conv(1, 40, 3, 3, { out = 80, k = 1, epi = "bn_relu" }), "^gemm gemm", numerics = true },
  { "gemv_k200_n1000", unary(1, 200, 1, 1, function(g, x) return g:linear(g:global_avgpool(x, "pool"), "fc", 1000) end), "^gemm gemm 1x", numerics = true },
  { "gemm_linear_k64_n10_batch3", unary(3, 64, 2, 2, function(g, x) return g:linear(g:global_avgpool(x, "pool"), "fc", 10) end), "^gemm gemm", numerics = true },
  -- indirect GEMM: strides, padding, kernel sizes, groups
  { "igemm_1x1s2_k96_n48", conv(1, 96, 9, 11, { out = 48, k = 1, s = 2 }), "indirect gemm" },
  { "igemm_3x3s2_k24_n24_relu", conv(1, 24, 15, 9, { out = 24, k = 3, s = 2, epi = "relu" }), "indirect gemm", numerics = true },
  { "igemm_5x5s1_k16_n20", conv(1, 16, 7, 7, { out = 20, k = 5 }), "indirect gemm", numerics = true },
  { "igemm_2x2s2p0_k40_n80", conv(1, 40, 8, 8, { out = 80, k = 2, s = 2, p = 0 }), "indirect gemm" },
  { "grouped_3x3_g4_cg4_og4_relu", conv(1, 16, 9, 9, { out = 16, k = 3, groups = 4, epi = "relu" }),
    { avx512 = "^grouped", avx2 = "^grouped", neon = "indirect gemm", ["cortex-m"] = "indirect gemm",
      generic = "indirect gemm" }, numerics = true },
  { "igemm_3x3s2_k33_n40", conv(1, 33, 9, 9, { out = 40, k = 3, s = 2 }), "indirect gemm", numerics = true }, -- odd K per tap
  { "grouped_3x3s2_g8_cg8_og8", conv(1, 64, 10, 10, { out = 64, k = 3, s = 2, groups = 8 }),
    { avx512 = "^grouped", avx2 = "indirect gemm", neon = "indirect gemm", ["cortex-m"] = "indirect gemm",
      generic = "indirect gemm" } },
  { "igemm_3x3_g2_cg16_og32_res", conv(1, 32, 7, 7, { out = 32, k = 3, groups = 2, epi = "res" }), "indirect gemm", numerics = true },
  { "igemm_3x3s2_k512_n72_kblocks_relu", conv(1, 512, 24, 24, { out = 72, k = 3, s = 2, epi = "relu" }),
    "K in %d+ blocks" },
  -- K in blocks with narrow weights too (int8: a 1-byte sliver, the scale after the last block)
  { "igemm_3x3_k1024_n64_kblocks_relu", conv(1, 1024, 10, 10, { out = 64, k = 3, epi = "relu" }), "K in %d+ blocks",
    numerics = true },
  -- few tiles (M = 25): each tile's row pointers found in the first K block serve the others
  { "igemm_3x3s2_k512_n64_m25_kblocks_rows_kept_relu", conv(1, 512, 9, 9, { out = 64, k = 3, s = 2, epi = "relu" }),
    "K in %d+ blocks %(row pointers kept%)" },
  { "gemm_1x1_k4096_n64_kblocks_gelu", conv(1, 4096, 10, 10, { out = 64, k = 1, epi = "gelu" }), "K in %d+ blocks" },
  { "grouped_3x3_g8_cg2_og2_res", conv(1, 16, 7, 7, { out = 16, k = 3, groups = 8, epi = "res" }),
    { avx512 = "^grouped", avx2 = "^grouped", neon = "^grouped", ["cortex-m"] = "indirect gemm",
      generic = "indirect gemm" } },
  { "grouped_3x3_g32_cg4_og4_batch2", conv(2, 128, 6, 6, { out = 128, k = 3, groups = 32, epi = "relu" }),
    { avx512 = "^grouped", avx2 = "^grouped", neon = "indirect gemm", ["cortex-m"] = "indirect gemm",
      generic = "indirect gemm" } },
  -- GEMM over packed windows (stems, and any conv whose tap row is short)
  { "packed_5x5s1_c8_n20", conv(1, 8, 7, 7, { out = 20, k = 5 }), "packed%-window gemm" },
  { "packed_7x7s2_c3_n64_relu", conv(1, 3, 23, 17, { out = 64, k = 7, s = 2, p = 3, epi = "bn_relu" }), "packed%-window gemm", numerics = true },
  { "packed_4x4s4_c3_n40", conv(1, 3, 16, 16, { out = 40, k = 4, s = 4, p = 0 }), "packed%-window gemm" },
  { "packed_3x3s2_c3_n32_relu", conv(1, 3, 11, 11, { out = 32, k = 3, s = 2, epi = "relu" }), "packed%-window gemm" },
  { "packed_7x7s2_c1_n24", conv(1, 1, 12, 12, { out = 24, k = 7, s = 2, p = 3 }), "packed%-window gemm", numerics = true },
  -- Winograd F(4x4,3x3): ragged tiles, channel tails, epilogues, batch
  { "winograd_17x19_k16_n24_relu", conv(1, 16, 17, 19, { out = 24, k = 3, epi = "relu" }), "^winograd" },
  { "winograd_16x16_k32_n32_res_relu", conv(1, 32, 16, 16, { out = 32, k = 3, epi = "res_relu" }), "^winograd", numerics = true },
  { "winograd_13x21_k20_n70_batch2", conv(2, 20, 13, 21, { out = 70, k = 3 }), "^winograd", numerics = true },
  -- 49 tiles: fused in two blocks where L2 holds a 24-tile block (avx512), one panel-major
  -- block elsewhere (kernels/winograd.lua); an M tail, a channel tail
  { "winograd_26x26_k80_n80_res", conv(1, 80, 26, 26, { out = 80, k = 3, epi = "res" }), "^winograd", numerics = true },
  -- narrow weights expand U at run time, here in 2 K-blocks on avx2 (kernels/winograd.lua)
  { "winograd_16x15_k344_n16_relu", conv(1, 344, 16, 15, { out = 16, k = 3, epi = "relu" }), "^winograd", numerics = true },
  -- depthwise, with and without the fused LayerNorm
  { "dwconv_7x7_c40_ln", conv(1, 40, 9, 11, { out = 40, k = 7, groups = 40, norm = true }), "^dwconv", numerics = true },
  { "dwconv_7x7_c96", conv(1, 96, 14, 14, { out = 96, k = 7, groups = 96 }), "^dwconv" },
  { "dwconv_3x3s2_c24", conv(1, 24, 9, 9, { out = 24, k = 3, s = 2, groups = 24 }), "^dwconv", numerics = true },
  { "dwconv_7x7_c20_relu_unfused", conv(1, 20, 8, 8, { out = 20, k = 7, groups = 20, epi = "relu" }), "^eltwise" },
  -- norms and pools
  { "layernorm_c40", unary(1, 40, 3, 5, function(g, x) return g:layernorm(x, "norm", 1e-6) end), "^layernorm" },
  { "groupnorm_g8_c64_relu", unary(2, 64, 9, 9, function(g, x) return g:relu(g:groupnorm(x, "norm", 8, 1e-5), "act") end), "^groupnorm" },
  { "groupnorm_g4_c20", unary(1, 20, 5, 7, function(g, x) return g:groupnorm(x, "norm", 4, 1e-5) end), "^groupnorm" },
  { "grn_c40", unary(2, 40, 7, 7, function(g, x) return g:grn(x, "mlp.grn", 1e-6) end), "^grn" },
  { "maxpool_3x3s2p1_c20", unary(1, 20, 11, 11, function(g, x) return g:maxpool(x, "pool", 3, 2, 1) end), "^maxpool" },
  { "maxpool_zero_pad_c16", unary(1, 16, 10, 10, function(g, x) return g:maxpool(x, "pool", 3, 2, 1, 0) end), "^maxpool" },
  { "avgpool_2x2s2_ceil_c16", unary(1, 16, 7, 9, function(g, x) return g:avgpool(x, "pool", 2, 2, true) end), "^avgpool" },
  { "global_avgpool_c50", unary(2, 50, 9, 7, function(g, x) return g:global_avgpool(x, "pool") end), "^global_avgpool" },
  { "add_relu_unfused", unary(1, 24, 5, 5, function(g, x)
    return g:relu(g:add_residual(g:relu(x, "a"), x, "residual"), "act")
  end), "^eltwise" },
}

-- What runs a case under --precision int8 (kernels/qgemm.lua, qdwconv.lua, qsimple.lua).
local INT8_EXPECT = {
  ["^gemm gemm"] = "^qgemm int8 gemm", ["^gemm gemm 7x64"] = "^qgemm int8 gemm",
  ["^gemm gemm 6x64 tiles, %d+ tasks, panel by panel"] = "^qgemm int8 gemm", ["^gemm gemm 1x"] = "^qgemm int8 gemm 1x",
  ["indirect gemm"] = "int8 indirect gemm", ["^grouped"] = "^qg", ["^winograd"] = "^qgemm int8",
  ["K in %d+ blocks"] = "^qgemm", ["K in %d+ blocks %(row pointers kept%)"] = "^qgemm",
  ["packed%-window gemm"] = "int8 packed%-window gemm", ["^eltwise"] = "^q",
}

-- The record generate.run renders a header from.
local function case_variant(name)
  return { name = name, family = "kernel test case", num_classes = 0, crop_pct = 1.0, interpolation = "bilinear",
    mean = { 0, 0, 0 }, std = { 1, 1, 1 } }
end

function kernel_cases.run(o)
  local dir = o.out or errors.user("no output directory given; add -o DIR")
  host.mkdir(dir)
  local names = {}
  for i, case in ipairs(CASES) do
    local name, c = case[1], case[2]
    local graph = require("graph").new({ variant = name })
    local x = graph:input(c.input)
    graph:set_output(c.build(graph, x))
    local int8 = o.precision == "int8"
    local reduced = (o.weights_dtype or "f32") ~= "f32" or (o.precision or "fp32") ~= "fp32"
    -- int8 has a kernel of its own for every kind: every case runs
    if reduced and not int8 and not case.numerics then goto next_case end
    local opts = { out = dir .. "/" .. name .. ".c", target = o.target, winograd = o.winograd, quiet = true,
      weights_dtype = o.weights_dtype, precision = o.precision, error_inputs = 1 }
    local compiled = generate.compile_graph(graph, function()
      return weights.bind(graph, { random_seed = i }, { strict = true, quiet = true, seed = i, num_classes = 0 })
    end, opts, {})
    local shape = c.input
    compiled.mo = { num_classes = 0, in_chans = shape[2], size = { shape[3], shape[4] }, batch = shape[1] }
    compiled.summary = { source = "random (seed " .. i .. ")" }
    local _, report = generate.run(case_variant(name), opts, nil, compiled)
    local t = compiled.target
    local expect = type(case[3]) == "table" and case[3][t.tiles or t.name] or case[3]
    if int8 then expect = INT8_EXPECT[expect] or expect:gsub("^%^", "^q") end
    -- bf16 compute keeps 3x3 convs direct and K whole (kernels/winograd.lua, gemm.lua)
    if (o.winograd == false or o.precision == "bf16") and expect == "^winograd" then expect = "^gemm" end
    if reduced and not int8 and o.precision ~= "bf16" and expect == "^winograd" then expect = "^winograd .* from %w+ 3x3 weights" end
    if o.precision == "bf16" and expect:find("^K in") then expect = "^gemm" end

    local seen = {}
    for _, l in ipairs(report.layers) do seen[#seen + 1] = l.kind .. " " .. (l.strategy or "") end
    local found = false
    for _, what in ipairs(seen) do found = found or what:find(expect) ~= nil end
    if not found then
      errors.internal("kernel case %s on %s no longer runs '%s' (its layers: %s)", name, compiled.target.name, expect,
        table.concat(seen, "; "))
    end
    local tol, dot = int8 and 0 or 2e-5, 0 -- int8: exactly the scheme's reference
    for _, node in ipairs(compiled.g.nodes) do
      local n = node.kernel.numerics
      if n and n.inputs == "bf16" then
        dot = 1
        if node.inputs[1] ~= compiled.g.input_id then tol = precision.SELFTEST_TOL.bf16 end
      end
    end
    names[#names + 1] = string.format("%s %g %d", name, tol, dot)
    ::next_case::
  end
  host.write_file(dir .. "/cases.txt", table.concat(names, "\n") .. "\n")
  if not o.quiet then io.stderr:write(string.format("lucidgen: %d kernel cases in %s\n", #names, dir)) end
  return 0
end

os.exit(kernel_cases.run(require("cli").parse(arg)))
