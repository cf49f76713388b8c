# Lua unit tests against lucidgen's own C modules (label `unit`): the passes
# alone on hand-built graphs, tensor memory, the streaming blob writer, output
# sets.
add_executable(lua_unit ${CMAKE_CURRENT_LIST_DIR}/lua_unit_main.c)
target_link_libraries(lua_unit PRIVATE lucidgen_host)
foreach(name passes tensor blob_writer output_set cli_options template fuse_and_lower emit_and_pack)
  add_test(NAME unit_lua_${name}
    COMMAND lua_unit tests/unit/test_${name}.lua
    WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(unit_lua_${name} PROPERTIES LABELS unit TIMEOUT 300)
endforeach()
