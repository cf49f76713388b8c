# libFuzzer targets for every reader of untrusted bytes (label `fuzz`). Each
# is compiled by invoking clang directly on the few sources it needs, so the
# rest of the tree keeps whatever compiler it was configured with. Registered
# only when clang can link -fsanitize=fuzzer (needs compiler-rt, e.g.
# libclang-rt-14-dev). CTest runs each for a bounded time over its seed
# corpus (tests/fuzz/corpus/<name>, crash and hang regressions included)
# plus the inputs earlier runs found (build/fuzz/<name>/corpus).
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
  message(STATUS "fuzz: building the libFuzzer targets with ${LG_CLANG}")

  # lg_fuzz_target(NAME SOURCES file... [FLAGS ...] [LIBS ...] [DICT file]
  #                [SEEDS dir...] SECONDS n MAX_LEN n): tests/fuzz/fuzz_NAME.c + SOURCES.
  function(lg_fuzz_target name)
    cmake_parse_arguments(F "" "DICT;SECONDS;MAX_LEN" "SOURCES;FLAGS;LIBS;SEEDS" ${ARGN})
    set(dir ${CMAKE_BINARY_DIR}/fuzz/${name})
    set(bin ${CMAKE_BINARY_DIR}/fuzz/fuzz_${name})
    set(sources ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_${name}.c ${F_SOURCES})
    file(MAKE_DIRECTORY ${dir}/corpus)
    file(GLOB headers ${CMAKE_SOURCE_DIR}/runtime/*.h ${CMAKE_SOURCE_DIR}/checkpoint/*.h ${CMAKE_SOURCE_DIR}/hub/*.h
         ${CMAKE_SOURCE_DIR}/host/*.h ${CMAKE_SOURCE_DIR}/tests/fuzz/*.h)
    add_custom_command(
      OUTPUT ${bin}
      COMMAND ${LG_CLANG} -std=c11 -g -O1 -Wall -Wextra -Wno-unused-parameter
              -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DLUCIDGEN_VERSION="${PROJECT_VERSION}"
              -I${CMAKE_SOURCE_DIR}/runtime -I${CMAKE_SOURCE_DIR}/checkpoint -I${CMAKE_SOURCE_DIR}/hub
              -I${CMAKE_SOURCE_DIR}/host ${F_FLAGS}
              -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
              ${sources} ${F_LIBS} -lm -o ${bin}
      DEPENDS ${sources} ${headers}
      COMMENT "Building libFuzzer target fuzz_${name} with ${LG_CLANG}"
      VERBATIM)
    add_custom_target(fuzz_${name} ALL DEPENDS ${bin})
    set(dict)
    if(F_DICT)
      set(dict -dict=${F_DICT})
    endif()
    set(seeds ${F_SEEDS})
    if(IS_DIRECTORY ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${name})
      list(APPEND seeds ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${name})
    endif()
    add_test(NAME fuzz_${name}
      COMMAND ${bin} -max_total_time=${F_SECONDS} -max_len=${F_MAX_LEN} -timeout=25 -rss_limit_mb=2560
              -artifact_prefix=${dir}/ -print_final_stats=1 ${dict} ${dir}/corpus ${seeds})
    math(EXPR timeout "${F_SECONDS} * 3 + 60")
    set_tests_properties(fuzz_${name} PROPERTIES LABELS fuzz TIMEOUT ${timeout})
  endfunction()

  set(R ${CMAKE_SOURCE_DIR}/runtime)
  set(C ${CMAKE_SOURCE_DIR}/checkpoint)
  set(H ${CMAKE_SOURCE_DIR}/host)
  # The safetensors seeds are written at build time by the same file built
  # normally with -DLG_FUZZ_SEED_MAIN (a valid file and near misses).
  set(st_seeds ${CMAKE_BINARY_DIR}/fuzz/safetensors/seeds)
  lg_fuzz_target(safetensors SOURCES ${C}/lg_safetensors.c ${C}/lg_json.c ${R}/lg_status.c
                 SEEDS ${st_seeds} SECONDS 45 MAX_LEN 4096)
  lg_fuzz_target(json SOURCES ${C}/lg_json.c ${R}/lg_status.c SECONDS 30 MAX_LEN 4096)
  lg_fuzz_target(image SOURCES ${R}/lg_image.c ${R}/lg_file.c ${R}/lg_preprocess.c ${R}/lg_status.c
                 LIBS ${JPEG_LIBRARIES} ${PNG_LIBRARIES} SECONDS 30 MAX_LEN 8192)
  lg_fuzz_target(blob SOURCES ${R}/lg_blob.c ${R}/lg_file.c ${R}/lg_sha256.c ${R}/lg_status.c SECONDS 30 MAX_LEN 2048)
  list(TRANSFORM LUA_INCLUDE_DIRS PREPEND -I OUTPUT_VARIABLE lua_includes)
  lg_fuzz_target(config SOURCES ${H}/lua_sandbox.c ${H}/lua_args.c
                 FLAGS ${lua_includes} -DLG_LIMITS_LUA="${CMAKE_SOURCE_DIR}/generator/limits.lua"
                 LIBS ${LUA_LINK_LIBRARIES} DICT ${CMAKE_SOURCE_DIR}/tests/fuzz/lua.dict
                 SECONDS 30 MAX_LEN 2048)
  lg_fuzz_target(hub_headers SOURCES ${CMAKE_SOURCE_DIR}/hub/hf_cache.c ${R}/lg_sha256.c ${R}/lg_status.c
                 LIBS ${CURL_LIBRARIES} SECONDS 30 MAX_LEN 4096)

  add_executable(fuzz_safetensors_seeds ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_safetensors.c)
  target_compile_definitions(fuzz_safetensors_seeds PRIVATE LG_FUZZ_SEED_MAIN)
  target_link_libraries(fuzz_safetensors_seeds PRIVATE lucidgen_checkpoint)
  add_custom_command(
    OUTPUT ${st_seeds}/seed_00.safetensors
    COMMAND fuzz_safetensors_seeds ${st_seeds}
    DEPENDS fuzz_safetensors_seeds
    COMMENT "Writing the fuzz_safetensors seed corpus"
    VERBATIM)
  add_custom_target(fuzz_safetensors_seed_corpus ALL DEPENDS ${st_seeds}/seed_00.safetensors)
endif()
