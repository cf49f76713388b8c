# The generated C and the project's own C are clang-format clean (label `unit`):
# small models of every family, target and option that changes the emitted text,
# checked against the repository's .clang-format (clang-format 14, .ci/install-deps).
add_test(NAME unit_generated_c_is_clang_format_clean
  COMMAND ${LG_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/clang_format_clean.py generated $<TARGET_FILE:lucidgen> $<TARGET_FILE:lua_unit>)
add_test(NAME unit_hand_written_c_is_clang_format_clean
  COMMAND ${LG_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/clang_format_clean.py hand-written)
set_tests_properties(unit_generated_c_is_clang_format_clean unit_hand_written_c_is_clang_format_clean
  PROPERTIES LABELS unit TIMEOUT 300)
