# Tests that generate a model with the real lucidgen binary (label `unit`).
set(LG_GEN_TEST ${CMAKE_SOURCE_DIR}/tests/unit/generated_model_test.py)
function(lg_arena_guard variant)
  add_test(NAME unit_arena_guard_${variant}
    COMMAND ${LG_PYTHON} ${LG_GEN_TEST} $<TARGET_FILE:lucidgen> arena-guard ${variant} ${ARGN})
  set_tests_properties(unit_arena_guard_${variant} PROPERTIES LABELS unit)
endfunction()
lg_arena_guard(resnet18_a1_in1k)
lg_arena_guard(resnet50d_ra2_in1k --size 97x131)
# Same bits whatever the thread count: GEMMs, Winograd, GroupNorm (BiT), GRN and
# LayerNorm (ConvNeXt-V2) all split work by static schedules.
foreach(variant resnet18_a1_in1k resnetv2_50x1_bit_goog_distilled_in1k convnextv2_atto_fcmae_ft_in1k)
  add_test(NAME unit_threads_identical_${variant}
    COMMAND ${LG_PYTHON} ${LG_GEN_TEST} $<TARGET_FILE:lucidgen> threads-identical ${variant} --size 96)
  set_tests_properties(unit_threads_identical_${variant} PROPERTIES LABELS unit)
endforeach()
# Room for 2 threads in the Winograd layers (4 tasks at 160x160), run with 1, 2
# and 4: the threads past the slots wait, the output stays the same
add_test(NAME unit_threads_identical_past_max_threads
  COMMAND ${LG_PYTHON} ${LG_GEN_TEST} $<TARGET_FILE:lucidgen> threads-identical resnet18_a1_in1k --size 160
          --max-threads 2)
set_tests_properties(unit_threads_identical_past_max_threads PROPERTIES LABELS unit)
add_test(NAME unit_embed_weights_resnet18
  COMMAND ${LG_PYTHON} ${LG_GEN_TEST} $<TARGET_FILE:lucidgen> embed-weights resnet18_a1_in1k --size 64)
set_tests_properties(unit_embed_weights_resnet18 PROPERTIES LABELS unit)
add_test(NAME unit_classifier_on_a_cpu_without_its_isa
  COMMAND ${LG_PYTHON} ${LG_GEN_TEST} $<TARGET_FILE:lucidgen> foreign-cpu resnet18_a1_in1k --size 64)
set_tests_properties(unit_classifier_on_a_cpu_without_its_isa PROPERTIES LABELS unit SKIP_RETURN_CODE 77 TIMEOUT 900)
add_test(NAME unit_bf16_model_hardware_matches_emulation
  COMMAND ${LG_PYTHON} ${LG_GEN_TEST} $<TARGET_FILE:lucidgen> bf16-hardware-matches-emulation
          convnextv2_atto_fcmae_ft_in1k --size 64)
set_tests_properties(unit_bf16_model_hardware_matches_emulation PROPERTIES LABELS unit SKIP_RETURN_CODE 77)
file(GLOB LG_GENERATED_EXAMPLES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/generated/*/generate.args)
foreach(args ${LG_GENERATED_EXAMPLES})
  get_filename_component(dir ${args} DIRECTORY)
  get_filename_component(name ${dir} NAME)
  add_test(NAME unit_generated_${name}_is_current
    COMMAND ${LG_PYTHON} ${LG_GEN_TEST} $<TARGET_FILE:lucidgen> generated-is-current ${name})
  set_tests_properties(unit_generated_${name}_is_current PROPERTIES LABELS unit)
endforeach()
# Embedded builds on this machine: the blob linked in (--weights-format c|asm),
# byte order, --no-golden; activations in pools (--arena-pools, --io-in-arena).
add_test(NAME unit_weights_formats_byte_order_no_golden
  COMMAND ${LG_PYTHON} ${LG_GEN_TEST} $<TARGET_FILE:lucidgen> weights-formats --config
    ${CMAKE_SOURCE_DIR}/examples/embedded/model.lua)
add_test(NAME unit_arena_pools_io_in_arena
  COMMAND ${LG_PYTHON} ${LG_GEN_TEST} $<TARGET_FILE:lucidgen> arena-pools resnet18_a1_in1k --size 64)
set_tests_properties(unit_weights_formats_byte_order_no_golden unit_arena_pools_io_in_arena PROPERTIES LABELS unit)
