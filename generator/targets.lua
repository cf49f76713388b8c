-- Kernel targets: what the generated code may assume about the CPU it runs on.
-- The ISA-specific C is only the vector vocabulary (templates/vec_<target>.c.in:
-- lg_vf, lg_vload, lg_vfma, ...); microkernels and drivers are written once over
-- it. Lowering sizes tiles from `vw` (floats per vector) and `vregs`, and blocks
-- from the cache sizes. The blob is packed for one target's tiles and written in
-- its byte order, so code and blob travel together.
--   include      the intrinsics header the vocabulary needs (nil: plain C11)
--   cflags       what the compiler must be told to use the ISA (targets.cflags adds
--                the flags every target's code is compiled with)
--   openmp       false: a bare-metal core; the header's build line says -fopenmp-simd
--   bare_cc, bare_cflags   that build line's compiler and flags (default: cc and cflags)
--   byte_order   of the payload floats the target reads ("little" or "big")
--   prefetch     the vocabulary has lg_prefetch_l2: GEMM tasks pull the next
--                task's weights into L2 while they compute (gemm.c.in)
-- `bf16_dot` marks a target whose CPU multiplies bf16 pairs (--precision bf16
-- in hardware); the others emulate it bit for bit.
--   int8         how the target runs --precision int8 (docs/int8.md): its integer
--                vocabulary (templates/qvec_*.c.in, rendered with `vars`), int32
--                lanes `qw` and dot-product group `kg` in bytes, its tile table
--                in kernels/qgemm.lua; `signed`: its dot product takes signed
--                activations, so the kernels feed it u - 128 and the packed bias
--                adds 128 * the channel's weights back (exact: integers); `pick`:
--                it can permute a vector's bytes (kernels/qgrouped.lua); `wide`: its
--                dot product multiplies 16-bit pairs, so a GEMM widens each tile's
--                activation rows once (lg_qa_widen) for all the tile's panels and the
--                microkernel broadcasts a pair with one load (kernels/qgemm.lua); nil: no
--                int8 (a one-line error names those that have it). Every
--                vocabulary computes the same numbers.
local errors = require("errors")

local INT8_SCALAR = { vec = "qvec_scalar.c.in", qw = 1, kg = 1, tiles = "scalar", vars = {} }

local targets = {
  avx512 = { isa = "AVX-512F + FMA", vec = "vec_avx512.c.in", vw = 16, vregs = 32,
             l1 = 32 * 1024, l2 = 1024 * 1024, include = "immintrin.h", openmp = true, byte_order = "little",
             prefetch = true, cflags = { "-mavx512f", "-mavx512dq", "-mavx512vl", "-mavx2", "-mfma" } },
  -- AVX-512 with vdpbf16ps: the avx512 kernels, and bf16 dot products in hardware
  avx512bf16 = { isa = "AVX-512F + AVX512-BF16 + FMA", vec = "vec_avx512.c.in", vw = 16, vregs = 32,
                 l1 = 32 * 1024, l2 = 1024 * 1024, include = "immintrin.h", openmp = true, byte_order = "little",
                 bf16_dot = true, tiles = "avx512", prefetch = true,
                 cflags = { "-mavx512f", "-mavx512dq", "-mavx512vl", "-mavx512bf16", "-mavx2", "-mfma" } },
  -- AVX-512 with VNNI (vpdpbusd: 4 uint8 x int8 products a lane): the avx512 kernels, and int8
  avx512vnni = { isa = "AVX-512F/BW + VNNI + FMA", vec = "vec_avx512.c.in", vw = 16, vregs = 32,
                 l1 = 32 * 1024, l2 = 1024 * 1024, include = "immintrin.h", openmp = true, byte_order = "little",
                 tiles = "avx512", prefetch = true,
                 int8 = { vec = "qvec_avx512vnni.c.in", qw = 16, kg = 4, tiles = "avx512vnni", pick = true, vars = {} },
                 cflags = { "-mavx512f", "-mavx512dq", "-mavx512vl", "-mavx512bw", "-mavx512vnni", "-mavx2", "-mfma" } },
  -- F16C (every AVX2 CPU has it) widens f16 weights; int8 multiplies 16-bit pairs (vpmaddwd)
  avx2 = { isa = "AVX2 + FMA + F16C", vec = "vec_avx2.c.in", vw = 8, vregs = 16, l1 = 32 * 1024, l2 = 256 * 1024,
           include = "immintrin.h", openmp = true, prefetch = true, byte_order = "little",
           int8 = { vec = "qvec_avx2.c.in", qw = 8, kg = 2, tiles = "avx2", pick = true, wide = true,
                   vars = { VNNI = 0 } },
           cflags = { "-mavx2", "-mfma", "-mf16c" } },
  -- AVX2 with AVX-VNNI (vpdpbusd on ymm: Alder Lake, Zen 5): the avx2 kernels, and int8
  avxvnni = { isa = "AVX2 + AVX-VNNI + FMA + F16C", vec = "vec_avx2.c.in", vw = 8, vregs = 16, l1 = 32 * 1024,
              l2 = 256 * 1024, include = "immintrin.h", openmp = true, prefetch = true, byte_order = "little",
              tiles = "avx2", int8 = { vec = "qvec_avx2.c.in", qw = 8, kg = 4, tiles = "avxvnni", pick = true,
                vars = { VNNI = 1 } },
              cflags = { "-mavx2", "-mfma", "-mf16c", "-mavxvnni" } },
  -- AArch64: Advanced SIMD is part of the base ISA, so no flag is needed; caches of
  -- a Cortex-A55/A76-class core (its share of the cluster's L2)
  -- int8 multiply-accumulates 16-bit products (smlal)
  neon = { isa = "AArch64 NEON (Advanced SIMD)", vec = "vec_neon.c.in", vw = 4, vregs = 32,
           l1 = 32 * 1024, l2 = 256 * 1024, include = "arm_neon.h", openmp = true, byte_order = "little",
           int8 = { vec = "qvec_neon.c.in", qw = 4, kg = 1, tiles = "neon", vars = { DOTPROD = 0 } }, cflags = {} },
  -- ARMv8.2-A's dot product (sdot: 4 int8 products a lane; Cortex-A55/A76 and later,
  -- Apple M1, Graviton2): neon's fp32, and int8 through sdot
  ["neon-dotprod"] = { isa = "AArch64 NEON + dot product (ARMv8.2-A)", vec = "vec_neon.c.in", vw = 4, vregs = 32,
                       l1 = 32 * 1024, l2 = 256 * 1024, include = "arm_neon.h", openmp = true, byte_order = "little",
                       tiles = "neon",
                       int8 = { vec = "qvec_neon.c.in", qw = 4, kg = 4, tiles = "neondot", signed = true,
                                vars = { DOTPROD = 1 } },
                       cflags = { "-march=armv8.2-a+dotprod" } },
  -- Cortex-M4F/M7/M33/M55 class MCUs: scalar single-precision FPU with 32 s-registers,
  -- one core, no OpenMP; tiles keep their accumulators in those registers (gemm.lua)
  ["cortex-m"] = { isa = "Cortex-M single-precision FPU (scalar)", vec = "vec_scalar.c.in", vw = 1, vregs = 32,
                   l1 = 16 * 1024, l2 = 64 * 1024, openmp = false, byte_order = "little", cflags = {},
                   -- int8: the DSP extension's smlad (two 16-bit products) where the core has
                   -- it (M4/M7/M33), the same arithmetic in C elsewhere
                   int8 = { vec = "qvec_scalar.c.in", qw = 1, kg = 4, tiles = "cortex_m", vars = { DSP = 1 } },
                   bare_cc = "arm-none-eabi-gcc", -- and the core's flags; -fno-math-errno makes sqrtf one instruction
                   bare_cflags = { "-mthumb", "-mcpu=cortex-m7", "-mfpu=fpv5-sp-d16", "-mfloat-abi=hard", "-fno-math-errno" } },
  -- Cortex-M55/M85 with Helium (MVE): fp32 on its scalar FPU as cortex-m, int8
  -- through vmladava (16 int8 products summed into one int32)
  ["cortex-m55"] = { isa = "Cortex-M55 Helium (MVE) + FPU", vec = "vec_scalar.c.in", vw = 1, vregs = 32,
                     l1 = 16 * 1024, l2 = 64 * 1024, openmp = false, byte_order = "little", tiles = "cortex-m",
                     -- GCC 12's MVE auto-vectorization of the scalar fp32 kernels took
                     -- 1.7x the instructions (pico ConvNeXt-V2 on the AN547: 14.7 M, 8.5 M
                     -- without); the int8 kernels say their MVE themselves
                     cflags = { "-fno-tree-vectorize" },
                     int8 = { vec = "qvec_scalar.c.in", qw = 1, kg = 16, tiles = "mve", signed = true,
                              vars = { MVE = 1 } },
                     bare_cc = "arm-none-eabi-gcc",
                     bare_cflags = { "-mthumb", "-mcpu=cortex-m55", "-mfloat-abi=hard", "-fno-math-errno",
                                    "-fno-tree-vectorize" } },
  -- portable C11: scalar "vectors" the compiler may vectorize; 16 accumulators
  -- a row keeps the tile in registers on any FPU with 32 registers
  generic = { isa = "portable C (auto-vectorized)", vec = "vec_scalar.c.in", vw = 1, vregs = 32,
              l1 = 32 * 1024, l2 = 256 * 1024, openmp = true, byte_order = "little", int8 = INT8_SCALAR, cflags = {} },
}

-- the integer vocabularies are rendered with their dot-product group
for _, t in pairs(targets) do
  if t.int8 then t.int8.vars.KG = t.int8.kg end
end

-- Every generated file is compiled with these, whatever the target; OUT.json's
-- `cflags` (read by build.lua, the CMake package and the tests) and the
-- header's build line carry them. -ffp-contract=fast lets the compiler fuse a
-- multiply and an add into one FMA, as the kernels are written to expect (the
-- self-test tolerances and the cross-target comparisons assume it).
targets.CODEGEN_CFLAGS = { "-O3", "-ffp-contract=fast" }

-- The flags a target's generated C is compiled with (beyond -std=c11 and OpenMP).
function targets.cflags(t)
  local flags = { table.unpack(targets.CODEGEN_CFLAGS) }
  for _, f in ipairs(t.cflags) do flags[#flags + 1] = f end
  return flags
end

local NAMES = "native, avx512bf16, avx512vnni, avx512, avxvnni, avx2, neon, neon-dotprod, cortex-m (mcu), cortex-m55 "
  .. "or generic"
local INT8_NAMES = "avx512vnni, avxvnni, avx2, neon-dotprod, neon, cortex-m55, cortex-m or generic"

-- "native" picks the best target this machine runs for `prec` (--precision):
-- bf16 hardware only when bf16 is asked for, and never an emulation, which
-- computes the same numbers slower than fp32 (name the target to get it).
function targets.resolve(name, prec)
  if name == "native" then
    local cpu = require("lg.host").cpu_features()
    name = cpu.avx512f and "avx512" or cpu.avx2 and "avx2" or cpu.neon and "neon" or "generic"
    if prec == "int8" then
      name = cpu.avx512vnni and "avx512vnni" or cpu.avxvnni and "avxvnni" or cpu.dotprod and "neon-dotprod"
        or name == "avx512" and "avx2" or name
    end
    if prec == "bf16" then
      if not cpu.avx512bf16 then
        errors.user("--precision bf16: this CPU (target %s) has no AVX512-BF16; name a target for the portable "
          .. "emulation (same numbers, slower than fp32): --target avx512, avx2, neon or generic, or use "
          .. "--precision fp32", name)
      end
      name = "avx512bf16"
    end
  end
  if name == "mcu" then name = "cortex-m" end
  local t = targets[name]
  if type(t) ~= "table" or not t.vw then
    errors.user("unknown --target '%s'; use %s", tostring(name), NAMES)
  end
  if prec == "int8" and not t.int8 then
    errors.user("--target %s has no int8 dot product; --precision int8 runs on %s", name, INT8_NAMES)
  end
  if t.bf16_dot and prec ~= "bf16" then
    errors.user("--target %s runs --precision bf16; add --precision bf16, or use --target avx512 for fp32", name)
  end
  t.name = name
  return t
end

return targets
