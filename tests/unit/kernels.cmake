# The microkernel tester (label `unit`): every kernel kind and strategy of
# generator/kernels/ against lg.refops over a sweep of shapes, on every target
# this CPU runs, with 1/2/3 threads required to give the same bits.
add_test(NAME unit_kernel_sweep
  COMMAND ${LG_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/kernel_sweep.py $<TARGET_FILE:lucidgen>)
set_tests_properties(unit_kernel_sweep PROPERTIES LABELS unit TIMEOUT 1200)
# lucidgen info plans from shapes: no weights are made, folded or packed.
add_test(NAME unit_info_plans_without_weights
  COMMAND ${LG_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/info_plan_lean.py $<TARGET_FILE:lucidgen>)
set_tests_properties(unit_info_plans_without_weights PROPERTIES LABELS unit)
