# lib/fiber tests, included from tests/CMakeLists.txt (GTest and GoogleTest are available).
# We register through our own small wrapper instead of tracetool_cc_test only to add a ctest
# TIMEOUT to every discovered case: no fiber test may hang CI (the tests also carry a watchdog).
function(tracetool_fiber_test name)
  add_executable(${name} ${ARGN})
  target_link_libraries(${name} PRIVATE tracetool::fiber GTest::gtest GTest::gtest_main)
  tracetool_target_options(${name})
  gtest_discover_tests(${name}
    PROPERTIES LABELS fiber TIMEOUT 120
    DISCOVERY_TIMEOUT 60)
endfunction()

tracetool_fiber_test(fiber_scheduler_test ${PROJECT_SOURCE_DIR}/tests/fiber/scheduler_test.cc)
tracetool_fiber_test(fiber_chan_test ${PROJECT_SOURCE_DIR}/tests/fiber/chan_test.cc)
tracetool_fiber_test(fiber_sync_test ${PROJECT_SOURCE_DIR}/tests/fiber/sync_test.cc)
tracetool_fiber_test(fiber_net_test ${PROJECT_SOURCE_DIR}/tests/fiber/net_test.cc)
tracetool_fiber_test(fiber_gc_test ${PROJECT_SOURCE_DIR}/tests/fiber/gc_test.cc)
