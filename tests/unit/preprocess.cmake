# The classifier runtime's image side: decode, timm eval preprocessing,
# labels, softmax/top-k.
#   unit_preprocess              C unit tests (geometry, resampler, labels, top-k)
#   unit_preprocess_matches_pil  the runtime vs PIL + torchvision, stage by stage
add_executable(test_preprocess ${CMAKE_CURRENT_LIST_DIR}/test_preprocess.c)
target_link_libraries(test_preprocess PRIVATE lg_runtime)
add_test(NAME unit_preprocess COMMAND test_preprocess)
set_tests_properties(unit_preprocess PROPERTIES LABELS unit)

add_executable(lg_preprocess_dump ${CMAKE_CURRENT_LIST_DIR}/preprocess_dump.c)
target_link_libraries(lg_preprocess_dump PRIVATE lg_runtime)
add_test(NAME unit_preprocess_matches_pil
  COMMAND ${LG_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/preprocess_vs_pil.py
          --dump $<TARGET_FILE:lg_preprocess_dump>
          --workdir ${CMAKE_CURRENT_BINARY_DIR}/preprocess_vs_pil)
set_tests_properties(unit_preprocess_matches_pil PROPERTIES LABELS unit TIMEOUT 600)

# The classifier end to end on a squash tag (ConvNeXt-V2 _384 fine-tune) at a
# small size: its input is timm's eval transform in the tag's crop mode,
# --output-raw keeps every image, --verify / --selftest re-hash the payload.
add_test(NAME unit_classifier_end_to_end
  COMMAND ${LG_PYTHON} ${CMAKE_SOURCE_DIR}/tests/unit/generated_model_test.py $<TARGET_FILE:lucidgen>
          classifier convnextv2_nano_fcmae_ft_in22k_in1k_384 --size 64 --batch 2)
set_tests_properties(unit_classifier_end_to_end PROPERTIES LABELS unit TIMEOUT 600)

# What a classifier reads by a user's name and what an accuracy gate counts:
# FIFOs, devices, directories and oversized files refused before reading,
# the list's header rule, NUL bytes and byte-order marks, the report's
# escaping, outputs that are not finite.
add_executable(test_eval_inputs ${CMAKE_CURRENT_LIST_DIR}/test_eval_inputs.c)
target_link_libraries(test_eval_inputs PRIVATE lg_runtime)
add_test(NAME unit_eval_inputs COMMAND test_eval_inputs)
set_tests_properties(unit_eval_inputs PROPERTIES LABELS unit TIMEOUT 120)
