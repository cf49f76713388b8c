# EXE --eval: the accuracy gate against PyTorch predictions on the same images
# (label `parity`).
add_test(NAME parity_eval_matches_pytorch_top1
  COMMAND ${LG_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/test_eval.py $<TARGET_FILE:lucidgen>)
set_tests_properties(parity_eval_matches_pytorch_top1 PROPERTIES LABELS parity TIMEOUT 900)
