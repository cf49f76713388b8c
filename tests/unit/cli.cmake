add_test(NAME unit_cli COMMAND ${LG_PYTHON} ${CMAKE_SOURCE_DIR}/tests/unit/test_cli.py $<TARGET_FILE:lucidgen>)
set_tests_properties(unit_cli PROPERTIES LABELS unit TIMEOUT 1200)
# A classifier against what a user hands it: FIFOs, devices and oversized
# files, thread counts past the machine, damaged weights, planted symlinks at
# its temporaries, signals.
add_test(NAME unit_classifier_hostile_inputs
  COMMAND ${LG_PYTHON} ${CMAKE_SOURCE_DIR}/tests/unit/test_classifier.py $<TARGET_FILE:lucidgen>)
set_tests_properties(unit_classifier_hostile_inputs PROPERTIES LABELS unit TIMEOUT 900)
