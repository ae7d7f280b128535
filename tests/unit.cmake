# Unit tests (label `unit`): small, fast, no network, no Go toolchain needed except where noted.
tracetool_cc_test(NAME parser_test
  SRCS ${CMAKE_CURRENT_LIST_DIR}/unit/parser_test.cc
  DEPS tracetool::analysis PkgConfig::ZSTD ZLIB::ZLIB
  LABELS unit)
target_compile_definitions(parser_test PRIVATE TRACETOOL_SOURCE_DIR="${PROJECT_SOURCE_DIR}")

add_test(NAME cli_test COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/unit/cli_test.sh $<TARGET_FILE:tracetool>)
set_tests_properties(cli_test PROPERTIES LABELS unit TIMEOUT 120)

tracetool_cc_test(NAME profile_builder_test
  SRCS ${CMAKE_CURRENT_LIST_DIR}/unit/profile_builder_test.cc
  DEPS tracetool::pprof_export ZLIB::ZLIB
  LABELS unit)

tracetool_cc_test(NAME analysis_test
  SRCS ${CMAKE_CURRENT_LIST_DIR}/unit/analysis_test.cc
  DEPS tracetool::analysis
  LABELS unit)

# The reader's merge thread under the thread sanitizer: scripts/test.sh's TSan stage runs the
# label `threads` (the rest of parser_test runs in the main and ASan stages).
add_test(NAME parser_merge_thread
  COMMAND parser_test --gtest_filter=*MergeThread*)
set_tests_properties(parser_merge_thread PROPERTIES LABELS threads TIMEOUT 300)
