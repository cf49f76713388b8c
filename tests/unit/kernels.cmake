# The microkernel tester (label `unit`): every kernel kind and strategy of
# generator/kernels/ against lg.refops over a sweep of shapes, on every target
# this CPU runs, with 1/2/3 threads required to give the same bits.
add_test(NAME unit_kernel_sweep
  COMMAND ${LG_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/kernel_sweep.py $<TARGET_FILE:lua_unit>)
set_tests_properties(unit_kernel_sweep PROPERTIES LABELS unit TIMEOUT 1200)
# lucidgen info plans from shapes: no weights are made, folded or packed.
add_test(NAME unit_info_plans_without_weights
  COMMAND ${LG_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/info_plan_lean.py $<TARGET_FILE:lucidgen>)
set_tests_properties(unit_info_plans_without_weights PROPERTIES LABELS unit)
# Reduced precision: every weight dtype on every target (label `unit`), and
# bf16 compute on every target with the outputs of its bf16 dot products
# required bit-identical across them (AVX512-BF16 in hardware where the CPU
# has it, the emulation elsewhere).
add_test(NAME unit_kernel_sweep_weight_dtypes
  COMMAND ${LG_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/kernel_sweep.py $<TARGET_FILE:lua_unit> --numerics dtypes)
add_test(NAME unit_kernel_sweep_bf16_compute
  COMMAND ${LG_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/kernel_sweep.py $<TARGET_FILE:lua_unit> --numerics bf16)
set_tests_properties(unit_kernel_sweep_weight_dtypes unit_kernel_sweep_bf16_compute PROPERTIES LABELS unit TIMEOUT 1200)
# The bf16 vocabulary of each target against vdpbf16ps (skips without AVX512-BF16)
# and against runtime/lg_half.h, on operands weighted towards the edges.
add_test(NAME unit_bf16_emulations_agree
  COMMAND ${LG_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/bf16_emulation.py)
add_test(NAME unit_bf16_emulation_matches_vdpbf16ps
  COMMAND ${LG_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/bf16_emulation.py --hardware)
set_tests_properties(unit_bf16_emulations_agree unit_bf16_emulation_matches_vdpbf16ps PROPERTIES
  LABELS unit SKIP_RETURN_CODE 77 TIMEOUT 300)
# Integer inference: every kernel case in int8 on every x86 target this CPU runs
# (avx512vnni, avxvnni, avx2) and portable C, each equal to the scheme's scalar
# reference exactly (docs/int8.md) and so to each other, bit for bit.
add_test(NAME unit_kernel_sweep_int8
  COMMAND ${LG_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/kernel_sweep.py $<TARGET_FILE:lua_unit> --numerics int8)
set_tests_properties(unit_kernel_sweep_int8 PROPERTIES LABELS unit TIMEOUT 1200)
