# lucidgen_add_model() and lucidgen_add_classifier(): timm models compiled to
# C at build time, as CMake targets. Included by lucidgen's package config
# (find_package(lucidgen)) and by its source tree (add_subdirectory,
# FetchContent).
#
#   lucidgen_add_model([TARGET] name VARIANT variant
#                      [WEIGHTS file.safetensors | RANDOM_INIT [seed]]
#                      [NUM_CLASSES n] [SIZE h[xw]] [BATCH b] [TARGET isa]
#                      [NAME c_prefix] [EMBED_WEIGHTS] [OPTIONS lucidgen-option...])
#
# writes <name>.c, .h, .bin and .json into ${CMAKE_CURRENT_BINARY_DIR}/lucidgen/<name>/
# at build time and makes `name` a library of them: `#include "<name>.h"`
# (public include directory), API prefix NAME_ (default: name), compiled with
# the flags lucidgen says it needs (`cflags` of <name>.json: optimization, FP
# contraction, the target's ISA; kept in the response file <name>.cflags) and
# OpenMP when it is found
# (-fopenmp-simd otherwise). Properties: LUCIDGEN_BLOB (the .bin),
# LUCIDGEN_HEADER, LUCIDGEN_REPORT (the .json), LUCIDGEN_PREFIX (NAME_).
# EMBED_WEIGHTS links the blob into the library as
#   extern const unsigned char NAME_embedded_blob[], NAME_embedded_blob_end[];
# TARGET isa is lucidgen's --target (default native; required when
# cross-compiling). Without WEIGHTS or RANDOM_INIT lucidgen fetches the
# released checkpoint at build time (the hub cache; pin it with
# OPTIONS --revision R); RANDOM_INIT without a seed is seed 0. OPTIONS pass
# other lucidgen options (--in-chans 1, --prefix backbone., --no-strict,
# --offline, ...), not -o or what a keyword sets.
#
# A model is generated again only when lucidgen, the weights file or its
# options change: the options go into <name>.options at configure time, and
# that file is rewritten only when they differ.
#
#   lucidgen_add_classifier([TARGET] name VARIANT variant [the same options])
#
# is an executable: runtime/lg_classifier.c (the classifier `lucidgen build`
# links: images, --eval, --selftest, --bench) around the model, linked with
# lucidgen::lg_runtime and OpenMP, with the blob at $<TARGET_FILE:name>.bin
# (or inside it, EMBED_WEIGHTS).
#
# The generator is LUCIDGEN_EXECUTABLE when set (cross-compiling: a lucidgen
# that runs on the build host), else lucidgen::lucidgen (the package's, or
# the one the source tree builds).
include_guard(GLOBAL)

# Script mode (the second step of the generation command): copy the `cflags`
# array of a model's report into a compiler response file, one flag a line.
if(CMAKE_SCRIPT_MODE_FILE AND DEFINED LUCIDGEN_REPORT)
  file(READ ${LUCIDGEN_REPORT} _report)
  string(JSON _n LENGTH "${_report}" cflags)
  set(_flags "")
  if(_n GREATER 0)
    math(EXPR _last "${_n} - 1")
    foreach(_i RANGE ${_last})
      string(JSON _flag GET "${_report}" cflags ${_i})
      string(APPEND _flags "${_flag}\n")
    endforeach()
  endif()
  file(WRITE ${LUCIDGEN_CFLAGS_FILE} "${_flags}")
  return()
endif()

set_property(GLOBAL PROPERTY LUCIDGEN_CLASSIFIER_SOURCES ${LUCIDGEN_CLASSIFIER_SOURCES})

function(lucidgen_add_model)
  _lucidgen_generate(model ${ARGN})
endfunction()

function(lucidgen_add_classifier)
  _lucidgen_generate(classifier ${ARGN})
endfunction()

# Writes `content` to `path` only when it differs, so a file used as a
# dependency changes its time stamp only when its content changes.
function(_lucidgen_write_if_changed path content)
  if(EXISTS ${path})
    file(READ ${path} old)
    if(old STREQUAL content)
      return()
    endif()
  endif()
  file(WRITE ${path} "${content}")
endfunction()

function(_lucidgen_generate kind)
  set(args ${ARGN})
  list(POP_FRONT args name)
  if(name STREQUAL "TARGET")
    list(POP_FRONT args name)
  endif()
  set(fn lucidgen_add_${kind})
  if(NOT name)
    message(FATAL_ERROR "${fn}: no target name; write ${fn}(NAME VARIANT variant ...)")
  endif()
  cmake_parse_arguments(lg "EMBED_WEIGHTS" "VARIANT;WEIGHTS;RANDOM_INIT;NUM_CLASSES;SIZE;BATCH;TARGET;NAME"
    "OPTIONS" ${args})
  if(lg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "${fn}(${name}): unknown arguments '${lg_UNPARSED_ARGUMENTS}'; "
      "other lucidgen options go after OPTIONS")
  endif()
  # RANDOM_INIT without a seed is seed 0, as the CLI's bare --random-init
  if("RANDOM_INIT" IN_LIST lg_KEYWORDS_MISSING_VALUES)
    list(REMOVE_ITEM lg_KEYWORDS_MISSING_VALUES RANDOM_INIT)
    set(lg_RANDOM_INIT 0)
  endif()
  if(lg_KEYWORDS_MISSING_VALUES)
    message(FATAL_ERROR "${fn}(${name}): ${lg_KEYWORDS_MISSING_VALUES} needs a value")
  endif()
  # what the function sets itself: -o would write outside the build tree (and
  # leave the library's sources unmade), the others are given by keyword
  foreach(opt IN LISTS lg_OPTIONS)
    if(opt MATCHES "^(-o|--name|--weights|--random-init|--num-classes|--size|--batch|--target)(=.*)?$")
      message(FATAL_ERROR "${fn}(${name}): OPTIONS ${CMAKE_MATCH_1}: ${fn} sets that itself (the outputs go to "
        "${CMAKE_CURRENT_BINARY_DIR}/lucidgen/; NAME, WEIGHTS, RANDOM_INIT, NUM_CLASSES, SIZE, BATCH and TARGET "
        "are keywords)")
    endif()
  endforeach()
  if(NOT lg_VARIANT)
    message(FATAL_ERROR "${fn}(${name}): no VARIANT; give a timm tag such as resnet18_a1_in1k (lucidgen list)")
  endif()
  if(DEFINED lg_WEIGHTS AND DEFINED lg_RANDOM_INIT)
    message(FATAL_ERROR "${fn}(${name}): WEIGHTS and RANDOM_INIT exclude each other; pick one")
  endif()
  if(CMAKE_CROSSCOMPILING AND NOT lg_TARGET)
    message(FATAL_ERROR "${fn}(${name}): cross-compiling, so give TARGET avx512, avx2 or generic "
      "(native would describe the build host)")
  endif()

  # The library holding the model: the target itself, or the classifier's.
  if(kind STREQUAL "classifier")
    set(lib ${name}_model)
    set(default_prefix model)
  else()
    set(lib ${name})
    set(default_prefix ${name})
  endif()
  if(NOT lg_NAME)
    set(lg_NAME ${default_prefix})
  endif()
  if(NOT lg_NAME MATCHES "^[A-Za-z_][A-Za-z0-9_]*$")
    message(FATAL_ERROR "${fn}(${name}): '${lg_NAME}' is not a C identifier; give NAME c_prefix")
  endif()
  set(prefix ${lg_NAME}_)
  set(dir ${CMAKE_CURRENT_BINARY_DIR}/lucidgen/${lib})
  set(base ${dir}/${lib})
  file(MAKE_DIRECTORY ${dir})

  # lucidgen's command line, which is also what the options file records.
  set(cmd ${lg_VARIANT} -o ${base}.c --name ${lg_NAME})
  set(inputs "")
  if(DEFINED lg_WEIGHTS)
    get_filename_component(weights ${lg_WEIGHTS} ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
    list(APPEND cmd --weights ${weights})
    list(APPEND inputs ${weights})
  endif()
  if(DEFINED lg_RANDOM_INIT)
    list(APPEND cmd --random-init=${lg_RANDOM_INIT})
  endif()
  foreach(opt NUM_CLASSES SIZE BATCH TARGET)
    if(DEFINED lg_${opt})
      string(TOLOWER ${opt} flag)
      string(REPLACE "_" "-" flag ${flag})
      list(APPEND cmd --${flag} ${lg_${opt}})
    endif()
  endforeach()
  list(APPEND cmd ${lg_OPTIONS})
  set(outputs ${base}.c ${base}.h ${base}.bin ${base}.json ${base}.cflags)
  set(sources ${base}.c)
  if(kind STREQUAL "classifier")
    list(APPEND cmd --classifier-data ${base}_data.c)
    list(APPEND outputs ${base}_data.c)
    list(APPEND sources ${base}_data.c)
  endif()
  list(JOIN cmd "\n" options_text)
  _lucidgen_write_if_changed(${base}.options "${options_text}\n")

  if(LUCIDGEN_EXECUTABLE)
    if(NOT IS_ABSOLUTE ${LUCIDGEN_EXECUTABLE} OR NOT EXISTS ${LUCIDGEN_EXECUTABLE})
      message(FATAL_ERROR "${fn}(${name}): LUCIDGEN_EXECUTABLE '${LUCIDGEN_EXECUTABLE}' is not an existing "
        "file; give the full path of a lucidgen that runs on this machine")
    endif()
    set(generator ${LUCIDGEN_EXECUTABLE})
  elseif(TARGET lucidgen::lucidgen)
    set(generator $<TARGET_FILE:lucidgen::lucidgen>)
  else()
    message(FATAL_ERROR "${fn}(${name}): no lucidgen to run; set LUCIDGEN_EXECUTABLE to a lucidgen "
      "that runs on this machine (cross-compiling: the build host's)")
  endif()
  add_custom_command(
    OUTPUT ${outputs}
    COMMAND ${generator} ${cmd}
    COMMAND ${CMAKE_COMMAND} -DLUCIDGEN_REPORT=${base}.json -DLUCIDGEN_CFLAGS_FILE=${base}.cflags
            -P ${CMAKE_CURRENT_FUNCTION_LIST_FILE}
    DEPENDS ${generator} ${base}.options ${inputs} ${CMAKE_CURRENT_FUNCTION_LIST_FILE}
    COMMENT "lucidgen: generating ${lib} (${lg_VARIANT})"
    VERBATIM)

  if(lg_EMBED_WEIGHTS)
    # .incbin keeps a blob of any size out of the C compiler.
    string(CONCAT blob_text
      "/* Written by ${fn}: the weight blob of ${lib} inside the library. */\n"
      "__asm__(\".section .rodata\\n\"\n"
      "        \".balign 64\\n\"\n"
      "        \".global ${prefix}embedded_blob\\n\"\n"
      "        \"${prefix}embedded_blob:\\n\"\n"
      "        \".incbin \\\"${base}.bin\\\"\\n\"\n"
      "        \".global ${prefix}embedded_blob_end\\n\"\n"
      "        \"${prefix}embedded_blob_end:\\n\"\n"
      "        \".previous\\n\");\n")
    _lucidgen_write_if_changed(${base}_blob.c "${blob_text}")
    set_source_files_properties(${base}_blob.c PROPERTIES OBJECT_DEPENDS ${base}.bin)
    list(APPEND sources ${base}_blob.c)
  endif()

  find_package(OpenMP COMPONENTS C QUIET)
  if(kind STREQUAL "classifier")
    add_library(${lib} STATIC ${sources})
  else()
    add_library(${lib} ${sources})
  endif()
  target_include_directories(${lib} PUBLIC ${dir})
  target_compile_options(${lib} PRIVATE @${base}.cflags)
  if(OpenMP_C_FOUND)
    target_link_libraries(${lib} PRIVATE OpenMP::OpenMP_C)
  else()
    target_compile_options(${lib} PRIVATE -fopenmp-simd)
  endif()
  target_link_libraries(${lib} PRIVATE m)
  set_target_properties(${lib} PROPERTIES
    C_STANDARD 11 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF POSITION_INDEPENDENT_CODE ON
    LUCIDGEN_BLOB ${base}.bin LUCIDGEN_HEADER ${base}.h LUCIDGEN_REPORT ${base}.json
    LUCIDGEN_PREFIX ${prefix})
  if(kind STREQUAL "model")
    return()
  endif()

  # The classifier: lg_classifier.c and lg_profile.c, compiled for each model
  # (its ISA flags: the CPU check and the FMA peak must know its target)
  # through wrappers that name the model (LG_MODEL_HEADER, LG_MODEL(x)) and
  # the embedded blob.
  if(NOT OpenMP_C_FOUND)
    message(FATAL_ERROR "${fn}(${name}): the classifier needs OpenMP, which was not found "
      "(GCC has it; for clang install libomp-dev)")
  endif()
  set(defines
    "#define _POSIX_C_SOURCE 200809L\n"
    "#define _DEFAULT_SOURCE\n"
    "#define LG_MODEL_HEADER \"${lib}.h\"\n"
    "#define LG_MODEL(x) ${prefix}##x\n")
  if(lg_EMBED_WEIGHTS)
    list(APPEND defines
      "#define LG_EMBED_WEIGHTS\n"
      "#define lg_embedded_blob ${prefix}embedded_blob\n"
      "#define lg_embedded_blob_end ${prefix}embedded_blob_end\n")
  endif()
  string(JOIN "" defines ${defines})
  get_property(classifier_sources GLOBAL PROPERTY LUCIDGEN_CLASSIFIER_SOURCES)
  set(wrappers "")
  foreach(source ${classifier_sources})
    get_filename_component(stem ${source} NAME_WE)
    set(wrapper ${dir}/${name}_${stem}.c)
    _lucidgen_write_if_changed(${wrapper}
      "/* Written by ${fn}: ${stem}.c for the model ${lib}. */\n${defines}#include \"${source}\"\n")
    set_source_files_properties(${wrapper} PROPERTIES OBJECT_DEPENDS ${base}.cflags)
    list(APPEND wrappers ${wrapper})
  endforeach()
  add_executable(${name} ${wrappers})
  target_compile_options(${name} PRIVATE @${base}.cflags)
  target_link_libraries(${name} PRIVATE ${lib} lucidgen::lg_runtime OpenMP::OpenMP_C)
  set_target_properties(${name} PROPERTIES C_STANDARD 11 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
  if(NOT lg_EMBED_WEIGHTS)
    add_custom_command(TARGET ${name} POST_BUILD
      COMMAND ${CMAKE_COMMAND} -E copy_if_different ${base}.bin $<TARGET_FILE:${name}>.bin
      VERBATIM)
    set_target_properties(${name} PROPERTIES LUCIDGEN_BLOB $<TARGET_FILE:${name}>.bin)
  endif()
endfunction()
