# Every example under examples/, built and run as a user would (label
# `examples`): the consumer project against an installed package with Ninja
# and with Makefiles, the batch classifier through FetchContent, the
# embedding search, and the CI recipe. (examples/embedded needs an emulated
# Cortex-M7: label `cross`, tests/cross/cross.cmake.)
set(LG_EXAMPLES_TEST ${CMAKE_CURRENT_LIST_DIR}/test_examples.py)
foreach(generator Ninja "Unix Makefiles")
  string(REPLACE " " "_" gen ${generator})
  add_test(NAME examples_consumer_against_installed_package_${gen}
    COMMAND ${LG_PYTHON} ${LG_EXAMPLES_TEST} consumer ${PROJECT_BINARY_DIR} ${generator})
endforeach()
add_test(NAME examples_classify_folder_in_batches_to_csv
  COMMAND ${LG_PYTHON} ${LG_EXAMPLES_TEST} classify-folder $<TARGET_FILE:lucidgen>)
add_test(NAME examples_features_nearest_neighbours
  COMMAND ${LG_PYTHON} ${LG_EXAMPLES_TEST} features ${PROJECT_BINARY_DIR})
add_test(NAME examples_ci_recipe_gates_and_publishes
  COMMAND ${LG_PYTHON} ${LG_EXAMPLES_TEST} ci-recipe $<TARGET_FILE:lucidgen>)
set_tests_properties(
  examples_consumer_against_installed_package_Ninja
  examples_consumer_against_installed_package_Unix_Makefiles
  examples_classify_folder_in_batches_to_csv
  examples_features_nearest_neighbours
  examples_ci_recipe_gates_and_publishes
  PROPERTIES LABELS examples TIMEOUT 600)
