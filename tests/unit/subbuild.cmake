# The tree built a second way, from a test, so CI covers more than the
# configuration it was given (tests/unit/subbuild.py; the sub-builds live in
# build/subbuild-* and are reused between runs):
#   unit_clang_builds_and_runs_the_c_unit_tests  clang: C unit tests, and a
#                                                classifier for --target avx512
#   sanitize_subset_passes_under_asan_and_ubsan  -DLUCIDGEN_SANITIZE=ON: C unit,
#                                                fetch, CLI tests, a parity case
set(LG_SUBBUILD ${CMAKE_CURRENT_LIST_DIR}/subbuild.py)
if(LG_CLANG AND NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
  add_test(NAME unit_clang_builds_and_runs_the_c_unit_tests
    COMMAND ${LG_PYTHON} ${LG_SUBBUILD} clang ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR}/subbuild-clang
            $<TARGET_FILE:lucidgen>)
  set_tests_properties(unit_clang_builds_and_runs_the_c_unit_tests PROPERTIES LABELS unit TIMEOUT 900)
endif()
if(NOT LUCIDGEN_SANITIZE)
  add_test(NAME sanitize_subset_passes_under_asan_and_ubsan
    COMMAND ${LG_PYTHON} ${LG_SUBBUILD} sanitize ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR}/subbuild-sanitize)
  set_tests_properties(sanitize_subset_passes_under_asan_and_ubsan PROPERTIES
    LABELS sanitize TIMEOUT 1800 ENVIRONMENT "LG_PARENT_C_COMPILER=${CMAKE_C_COMPILER}")
endif()
