-- Kernel targets: what the generated code may assume about the CPU it runs on.
-- The ISA-specific C is only the vector vocabulary (templates/vec_<target>.c.in:
-- lg_vf, lg_vload, lg_vfma, ...); microkernels and drivers are written once over
-- it. Lowering sizes tiles from `vw` (floats per vector) and `vregs`, and blocks
-- from the cache sizes. The blob is packed for one target's tiles, so code and
-- blob travel together.
local errors = require("errors")

local targets = {
  avx512 = { isa = "AVX-512F + FMA", vec = "vec_avx512.c.in", vw = 16, vregs = 32,
             l1 = 32 * 1024, l2 = 1024 * 1024, intrinsics = true,
             cflags = { "-mavx512f", "-mavx512dq", "-mavx512vl", "-mavx2", "-mfma" } },
  avx2 = { isa = "AVX2 + FMA", vec = "vec_avx2.c.in", vw = 8, vregs = 16,
           l1 = 32 * 1024, l2 = 256 * 1024, intrinsics = true, cflags = { "-mavx2", "-mfma" } },
  -- portable C11: scalar "vectors" the compiler may vectorize; 16 accumulators
  -- a row keeps the tile in registers on any FPU with 32 registers
  generic = { isa = "portable C (auto-vectorized)", vec = "vec_scalar.c.in", vw = 1, vregs = 32,
              l1 = 32 * 1024, l2 = 256 * 1024, intrinsics = false, cflags = {} },
}

-- "native" picks the best target this machine runs.
function targets.resolve(name)
  if name == "native" then
    local cpu = require("lg.host").cpu_features()
    name = cpu.avx512f and "avx512" or cpu.avx2 and "avx2" or "generic"
  end
  local t = targets[name]
  if type(t) ~= "table" or not t.vw then
    errors.user("unknown --target '%s'; use native, avx512, avx2 or generic", tostring(name))
  end
  t.name = name
  return t
end

return targets
