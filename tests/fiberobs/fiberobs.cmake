# lib/fiber observability tests (GODEBUG, schedtrace format, metrics, profiles, the debug
# server), included from tests/CMakeLists.txt. Runtime-only tests carry the `fiber` label (main,
# ASan and TSan stages); the ones that run Go 1.19 carry `oracle`.
function(tracetool_fiberobs_test name)
  add_executable(${name} ${ARGN})
  target_link_libraries(${name} PRIVATE tracetool::fiber tracetool::fiber_debug
                        tracetool::pprof_proto ZLIB::ZLIB GTest::gtest GTest::gtest_main)
  tracetool_target_options(${name})
  gtest_discover_tests(${name}
    PROPERTIES LABELS fiber TIMEOUT 60
    ENVIRONMENT "TRACETOOL_SOURCE_DIR=${PROJECT_SOURCE_DIR}"
    DISCOVERY_TIMEOUT 60)
endfunction()

set(_tt_obs ${PROJECT_SOURCE_DIR}/tests/fiberobs)
tracetool_fiberobs_test(fiberobs_godebug_test ${_tt_obs}/godebug_test.cc)
tracetool_fiberobs_test(fiberobs_schedtrace_test ${_tt_obs}/schedtrace_test.cc)
tracetool_fiberobs_test(fiberobs_metrics_test ${_tt_obs}/metrics_test.cc)
tracetool_fiberobs_test(fiberobs_profiles_test ${_tt_obs}/profiles_test.cc)
tracetool_fiberobs_test(fiberobs_debug_server_test ${_tt_obs}/debug_server_test.cc)

# Oracles: Go 1.19 re-captures its schedtrace output and our format test runs against it;
# `go tool pprof -raw` must accept every profile the debug server serves.
find_program(TRACETOOL_GO119 go PATHS /usr/lib/go-1.19/bin NO_DEFAULT_PATH)
if(TRACETOOL_GO119)
  add_test(NAME fiberobs_schedtrace_oracle
    COMMAND sh ${_tt_obs}/schedtrace_oracle.sh ${TRACETOOL_GO119}
            $<TARGET_FILE:fiberobs_schedtrace_test>)
  add_test(NAME fiberobs_pprof_oracle
    COMMAND sh ${_tt_obs}/pprof_oracle.sh ${TRACETOOL_GO119}
            $<TARGET_FILE:fiberobs_debug_server_test>)
  set_tests_properties(fiberobs_schedtrace_oracle fiberobs_pprof_oracle
    PROPERTIES LABELS oracle TIMEOUT 120 ENVIRONMENT "TRACETOOL_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endif()

# GCC 12 reports a false -Wmaybe-uninitialized inside libstdc++'s std::regex when building with
# -fsanitize=address,undefined at -O2; these two tests parse Go's formats with std::regex.
foreach(_t fiberobs_godebug_test fiberobs_schedtrace_test)
  target_compile_options(${_t} PRIVATE -Wno-maybe-uninitialized)
endforeach()
