# Every seeded variant generates and compiles. CI takes the small ones (and
# runs their self-tests); the slow label generates and compiles all 69.
set(LG_SEEDED ${CMAKE_SOURCE_DIR}/tests/unit/generate_seeded.py)
foreach(family resnet convnext resnetv2)
  add_test(NAME unit_seeded_${family}_small_build_and_selftest
    COMMAND ${LG_PYTHON} ${LG_SEEDED} $<TARGET_FILE:lucidgen> --family ${family} --max-params 30000000 --selftest)
  set_tests_properties(unit_seeded_${family}_small_build_and_selftest PROPERTIES LABELS unit TIMEOUT 1800)
  add_test(NAME slow_seeded_${family}_all_generate_and_compile
    COMMAND ${LG_PYTHON} ${LG_SEEDED} $<TARGET_FILE:lucidgen> --family ${family} --compile)
  set_tests_properties(slow_seeded_${family}_all_generate_and_compile PROPERTIES LABELS slow TIMEOUT 14400)
endforeach()
