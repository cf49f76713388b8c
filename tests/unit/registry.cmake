# Registry tests: the Lua unit test, and a cross-check of variants/*.lua against
# timm's metadata (../shared/reference/timm_variants.json beside the clone;
# reported as skipped when it is absent).
find_program(LG_LUA_EXECUTABLE lua5.4 REQUIRED)

add_test(NAME unit_registry
  COMMAND ${LG_LUA_EXECUTABLE} tests/unit/test_registry.lua
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
# "\;" keeps LUA_PATH one variable: a bare ";" would split the ENVIRONMENT list.
set_tests_properties(unit_registry PROPERTIES
  LABELS unit
  ENVIRONMENT "LUA_PATH=generator/?.lua\;./?.lua")

add_test(NAME unit_registry_matches_timm_json
  COMMAND ${LG_PYTHON} tests/unit/check_registry_vs_json.py
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(unit_registry_matches_timm_json PROPERTIES
  LABELS unit
  SKIP_RETURN_CODE 77)
