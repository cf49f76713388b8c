# Registry tests: the Lua unit test (run by lua_unit), and a cross-check of variants/*.lua against
# timm's metadata (../shared/reference/timm_variants.json beside the clone;
# reported as skipped when it is absent).
add_test(NAME unit_registry
  COMMAND lua_unit tests/unit/test_registry.lua
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(unit_registry PROPERTIES LABELS unit)

add_test(NAME unit_registry_matches_timm_json
  COMMAND ${LG_PYTHON} tests/unit/check_registry_vs_json.py $<TARGET_FILE:lua_unit>
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(unit_registry_matches_timm_json PROPERTIES
  LABELS unit
  SKIP_RETURN_CODE 77)
