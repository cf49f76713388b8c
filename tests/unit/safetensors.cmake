# Unit tests for the safetensors reader (checkpoint/lg_safetensors.c) and the
# JSON parser under it (checkpoint/lg_json.c). Both build their inputs in memory.
add_executable(unit_safetensors ${CMAKE_SOURCE_DIR}/tests/unit/test_safetensors.c)
target_link_libraries(unit_safetensors PRIVATE lucidgen_checkpoint)
add_test(NAME unit_safetensors COMMAND unit_safetensors)

add_executable(unit_json ${CMAKE_SOURCE_DIR}/tests/unit/test_json.c)
target_link_libraries(unit_json PRIVATE lucidgen_checkpoint)
add_test(NAME unit_json COMMAND unit_json)

set_tests_properties(unit_safetensors unit_json PROPERTIES LABELS unit)
