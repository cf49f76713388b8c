# libFuzzer target for the safetensors reader and JSON parser. It is compiled
# by invoking clang directly on the few sources it needs, so the rest of the
# tree keeps whatever compiler it was configured with. Registered only when
# clang can link -fsanitize=fuzzer (needs compiler-rt, e.g. libclang-rt-14-dev).
find_program(LG_CLANG NAMES clang clang-18 clang-17 clang-16 clang-15 clang-14)

if(LG_CLANG AND NOT DEFINED LG_CLANG_HAS_LIBFUZZER)
  set(_probe ${CMAKE_BINARY_DIR}/fuzz/probe)
  file(WRITE ${_probe}/probe.c
    "#include <stddef.h>\n#include <stdint.h>\n"
    "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n")
  execute_process(
    COMMAND ${LG_CLANG} -fsanitize=fuzzer,address,undefined probe.c -o probe
    WORKING_DIRECTORY ${_probe} RESULT_VARIABLE _rc OUTPUT_QUIET ERROR_QUIET)
  if(_rc EQUAL 0)
    set(LG_CLANG_HAS_LIBFUZZER ON CACHE INTERNAL "clang links -fsanitize=fuzzer")
  else()
    set(LG_CLANG_HAS_LIBFUZZER OFF CACHE INTERNAL "clang links -fsanitize=fuzzer")
  endif()
endif()

if(NOT LG_CLANG)
  message(STATUS "fuzz: clang not found; fuzz_safetensors is not built or registered")
elseif(NOT LG_CLANG_HAS_LIBFUZZER)
  message(STATUS "fuzz: ${LG_CLANG} cannot link -fsanitize=fuzzer (install compiler-rt / "
                 "libclang-rt-dev); fuzz_safetensors is not built or registered")
else()
  message(STATUS "fuzz: building fuzz_safetensors with ${LG_CLANG}")
  set(LG_FUZZ_DIR ${CMAKE_BINARY_DIR}/fuzz/safetensors)
  set(LG_FUZZ_BIN ${CMAKE_BINARY_DIR}/fuzz/fuzz_safetensors)
  set(LG_FUZZ_SOURCES
    ${CMAKE_SOURCE_DIR}/runtime/lg_safetensors.c
    ${CMAKE_SOURCE_DIR}/runtime/lg_json.c
    ${CMAKE_SOURCE_DIR}/runtime/lg_status.c
    ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_safetensors.c)
  add_custom_command(
    OUTPUT ${LG_FUZZ_BIN}
    COMMAND ${LG_CLANG} -std=c11 -g -O1 -Wall -Wextra -Wno-unused-parameter
            -D_POSIX_C_SOURCE=200809L -I${CMAKE_SOURCE_DIR}/runtime
            -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
            ${LG_FUZZ_SOURCES} -lm -o ${LG_FUZZ_BIN}
    DEPENDS ${LG_FUZZ_SOURCES}
            ${CMAKE_SOURCE_DIR}/runtime/lg_safetensors.h
            ${CMAKE_SOURCE_DIR}/runtime/lg_json.h
            ${CMAKE_SOURCE_DIR}/runtime/lg_status.h
    COMMENT "Building libFuzzer target fuzz_safetensors with ${LG_CLANG}"
    VERBATIM)

  # The same file built normally, with -DLG_FUZZ_SEED_MAIN, writes the seed
  # corpus (a valid file and near misses) at build time.
  add_executable(fuzz_safetensors_seeds ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_safetensors.c)
  target_compile_definitions(fuzz_safetensors_seeds PRIVATE LG_FUZZ_SEED_MAIN)
  target_link_libraries(fuzz_safetensors_seeds PRIVATE lg_runtime)
  add_custom_command(
    OUTPUT ${LG_FUZZ_DIR}/seeds/seed_00.safetensors
    COMMAND ${CMAKE_COMMAND} -E make_directory ${LG_FUZZ_DIR}
    COMMAND fuzz_safetensors_seeds ${LG_FUZZ_DIR}/seeds ${LG_FUZZ_DIR}/corpus
    DEPENDS fuzz_safetensors_seeds
    COMMENT "Writing the fuzz_safetensors seed corpus"
    VERBATIM)

  add_custom_target(fuzz_safetensors ALL
    DEPENDS ${LG_FUZZ_BIN} ${LG_FUZZ_DIR}/seeds/seed_00.safetensors)

  # New inputs go to corpus/ (kept between runs); seeds/ is regenerated.
  add_test(NAME fuzz_safetensors
    COMMAND ${LG_FUZZ_BIN} -runs=1000000 -max_total_time=60 -max_len=4096
            -artifact_prefix=${LG_FUZZ_DIR}/ -print_final_stats=1
            ${LG_FUZZ_DIR}/corpus ${LG_FUZZ_DIR}/seeds)
  set_tests_properties(fuzz_safetensors PROPERTIES LABELS "unit;fuzz" TIMEOUT 180)
endif()
