# Integer inference as a user meets it (label `unit`): calibration inputs of every
# kind and the one-line errors for bad ones, NAME_forward_int8 against NAME_forward,
# the int8 arena against fp32's, --int8-min-sqnr's mixed precision.
add_test(NAME unit_int8_calibration_and_entry_points
  COMMAND ${LG_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/test_int8.py $<TARGET_FILE:lucidgen>)
set_tests_properties(unit_int8_calibration_and_entry_points PROPERTIES LABELS unit TIMEOUT 600)
