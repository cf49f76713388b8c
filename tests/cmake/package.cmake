# The CMake package (cmake/LucidgenAddModel.cmake) in real projects: build-time
# generation that reruns only for changed inputs (Ninja and Makefiles), and
# cross-compiling with a host lucidgen. Label `unit`.
set(LG_PACKAGE_TEST ${CMAKE_CURRENT_LIST_DIR}/test_package.py)
foreach(generator Ninja "Unix Makefiles")
  string(REPLACE " " "_" gen ${generator})
  add_test(NAME unit_cmake_regenerates_only_changed_models_${gen}
    COMMAND ${LG_PYTHON} ${LG_PACKAGE_TEST} regenerate $<TARGET_FILE:lucidgen> ${PROJECT_SOURCE_DIR} ${generator})
  set_tests_properties(unit_cmake_regenerates_only_changed_models_${gen} PROPERTIES LABELS unit TIMEOUT 600)
endforeach()
add_test(NAME unit_cmake_cross_compile_uses_host_lucidgen
  COMMAND ${LG_PYTHON} ${LG_PACKAGE_TEST} cross-host $<TARGET_FILE:lucidgen> ${PROJECT_SOURCE_DIR})
add_test(NAME unit_cmake_cross_compile_aarch64_runs_under_qemu
  COMMAND ${LG_PYTHON} ${LG_PACKAGE_TEST} cross-aarch64 ${PROJECT_BINARY_DIR})
set_tests_properties(unit_cmake_cross_compile_uses_host_lucidgen unit_cmake_cross_compile_aarch64_runs_under_qemu
  PROPERTIES LABELS unit TIMEOUT 600 SKIP_RETURN_CODE 77)
