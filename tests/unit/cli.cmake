add_test(NAME unit_cli COMMAND ${LG_PYTHON} ${CMAKE_SOURCE_DIR}/tests/unit/test_cli.py $<TARGET_FILE:lucidgen>)
set_tests_properties(unit_cli PROPERTIES LABELS unit TIMEOUT 1200)
