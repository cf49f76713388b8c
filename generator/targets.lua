-- Kernel targets: GEMM tile shape, microkernel template and compiler flags.
-- The blob is packed for one target (panel width NR), so code and blob travel together.
local targets = {
  avx512 = { mr = 8, nr = 32, ukernel = "ukernel_gemm_avx512.c.in", isa = "AVX-512F + FMA",
             cflags = { "-mavx512f", "-mavx512dq", "-mavx512vl", "-mavx2", "-mfma" } },
  avx2 = { mr = 6, nr = 16, ukernel = "ukernel_gemm_avx2.c.in", isa = "AVX2 + FMA",
           cflags = { "-mavx2", "-mfma" } },
  generic = { mr = 4, nr = 16, ukernel = "ukernel_gemm_generic.c.in", isa = "portable C (auto-vectorized)",
              cflags = {} },
}

-- "native" picks the best target this machine runs.
function targets.resolve(name)
  local errors = require("errors")
  if name == "native" then
    local cpu = require("lg.host").cpu_features()
    name = cpu.avx512f and "avx512" or cpu.avx2 and "avx2" or "generic"
  end
  local t = targets[name]
  if type(t) ~= "table" or not t.mr then
    errors.user("unknown --target '%s'; use native, avx512, avx2 or generic", tostring(name))
  end
  t.name = name
  return t
end

return targets
