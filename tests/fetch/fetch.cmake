# Hub download tests: the hub client (hub/, the lucidgen_hub library) against a
# fake hub on 127.0.0.1 (tests/fetch/fake_hub.py), plus the SHA-256 vectors.

set(LG_FETCH_DIR ${CMAKE_SOURCE_DIR}/tests/fetch)

add_executable(lg_sha256_vectors
  ${LG_FETCH_DIR}/sha256_vectors.c
  ${CMAKE_SOURCE_DIR}/runtime/lg_sha256.c
  ${CMAKE_SOURCE_DIR}/runtime/lg_status.c)
target_include_directories(lg_sha256_vectors PRIVATE ${CMAKE_SOURCE_DIR}/runtime)
target_compile_definitions(lg_sha256_vectors PRIVATE _POSIX_C_SOURCE=200809L)

add_executable(lg_hub_client ${LG_FETCH_DIR}/hub_client.c)
target_link_libraries(lg_hub_client PRIVATE lucidgen_hub)

add_test(NAME fetch.sha256_matches_fips_vectors COMMAND lg_sha256_vectors)
set_tests_properties(fetch.sha256_matches_fips_vectors PROPERTIES LABELS "fetch;unit" TIMEOUT 60)

# One CTest case per behaviour in test_fetch.py; the last test checks this
# list and the script agree.
set(LG_FETCH_CASES
  downloads_into_huggingface_hub_layout
  branch_cache_hit_makes_one_head_and_no_get
  commit_hash_cache_hit_makes_no_request
  commit_hash_revision_writes_no_ref
  tag_revision_writes_its_own_ref
  offline_hit_makes_no_request
  offline_miss_names_the_path_it_looked_for
  reads_cache_written_by_python_huggingface_hub
  cache_dir_follows_huggingface_hub_env
  resumes_after_dropped_connection_with_range
  resumes_partial_file_left_by_earlier_run
  restarts_when_server_ignores_range
  bad_partial_file_is_downloaded_again_from_the_start
  stalled_body_times_out_and_resumes
  rejects_corrupt_body_and_leaves_no_blob_or_snapshot
  normalises_weak_quoted_etag
  non_lfs_file_uses_etag_and_content_length
  reports_404_naming_repo_revision_and_file
  overlong_revision_is_refused_before_any_request
  reports_401_as_gated_or_private
  sends_token_to_hub_but_not_to_cdn
  reads_token_from_login_file_like_huggingface_hub
  retries_5xx_then_succeeds
  gives_up_after_bounded_retries
  lying_linked_size_ends_after_bounded_attempts
  oversized_repo_commit_is_refused
  falls_back_to_cache_when_hub_unreachable
  unreachable_hub_without_cache_is_a_network_error
  concurrent_fetches_share_one_download
  progress_bar_only_on_a_terminal
  cache_list_shows_repo_revision_commit_file_and_size
  cache_verify_detects_tampered_blob
  cache_list_and_verify_of_no_cache_are_errors
  cache_fifos_and_planted_links_neither_block_nor_redirect)
foreach(case ${LG_FETCH_CASES})
  add_test(NAME fetch.${case}
    COMMAND ${LG_PYTHON} ${LG_FETCH_DIR}/test_fetch.py --client $<TARGET_FILE:lg_hub_client> ${case})
  set_tests_properties(fetch.${case} PROPERTIES LABELS fetch TIMEOUT 120 SKIP_RETURN_CODE 77)
endforeach()
add_test(NAME fetch.every_case_is_registered
  COMMAND ${LG_PYTHON} ${LG_FETCH_DIR}/test_fetch.py --check-registered ${LG_FETCH_CASES})
set_tests_properties(fetch.every_case_is_registered PROPERTIES LABELS fetch TIMEOUT 30)

# The CLI's hub path: generate with no --weights against the fake hub.
foreach(case generates_from_a_hub_download offline_generation_uses_the_cache_only
        offline_miss_is_one_line_exit_2 unknown_repo_on_hub_is_exit_2 unreachable_hub_is_exit_1
        leaves_no_temporary_files)
  add_test(NAME fetch.cli_${case}
    COMMAND ${LG_PYTHON} ${LG_FETCH_DIR}/test_cli_fetch.py $<TARGET_FILE:lucidgen> ${case})
  set_tests_properties(fetch.cli_${case} PROPERTIES LABELS fetch TIMEOUT 600)
endforeach()
