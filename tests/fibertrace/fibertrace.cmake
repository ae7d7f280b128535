# tests/fibertrace: lib/fiber's execution tracer (issue 4). Included from tests/CMakeLists.txt.
#
#   fibertrace.*           (label fiber; also run in the ASan and TSan stages)
#       the gtest suite: API, sink failures, start/stop from several threads, and the semantic
#       checks (10 ms channel block at its line, 20 ms syscall, scheduler wait, regions/tasks),
#       every trace read back and validated by lib/parser;
#     fibertrace.coverage  one fiberload run writes every event type (checked with tracetool -d).
#       FiberTrace.FlightRecorder*: the flight recorder's dumps are valid, hold the last events
#       and not the old ones, stay within the byte budget, and come by API, thread and signal.
#       FiberTrace.CpuSample*: StartOptions::cpu_profile_hz writes CPUSample events (ordered, with
#       the burning fiber, its P and a stack through BurnCpu), EINVAL/EBUSY for a bad rate or a
#       taken profiling timer. FiberTrace.AnnotationsOutsideFibers: a plain thread's task and log
#       are on P -1 / G 0, its region is dropped and counted.
#   oracle.fibertrace.*    (label oracle) Go 1.19's go tool trace -d and all four -pprof modes
#       accept the traces of fiberload (--trace and a --flight dump) and of the gtest suite, and tracetool's output equals Go's
#       (tests/oracle/compare.sh).
include(${PROJECT_SOURCE_DIR}/tests/tools/tools.cmake)

set(_ft_dir ${CMAKE_CURRENT_LIST_DIR})
set(_ft_out ${CMAKE_BINARY_DIR}/fibertrace)

add_executable(fibertrace_test ${_ft_dir}/fibertrace_test.cc)
target_link_libraries(fibertrace_test PRIVATE tracetool::fiber tracetool::parser GTest::gtest
                      GTest::gtest_main)
tracetool_target_options(fibertrace_test)
# The semantic checks look for source lines of this file in trace stacks: always keep its DWARF,
# whatever the build type.
target_compile_options(fibertrace_test PRIVATE -g)
gtest_discover_tests(fibertrace_test
  PROPERTIES LABELS fiber TIMEOUT 60
  DISCOVERY_TIMEOUT 60)

add_test(NAME fibertrace.coverage
  COMMAND bash ${_ft_dir}/coverage.sh $<TARGET_FILE:fiberload> $<TARGET_FILE:tracetool> ${_ft_out}/coverage)
set_tests_properties(fibertrace.coverage PROPERTIES LABELS fiber TIMEOUT 120)

# Oracle: traces written at test time, then compared with Go for -d and the four -pprof modes.
set(TRACETOOL_GO_ROOT "/usr/lib/go-1.19" CACHE PATH "GOROOT of the Go 1.19 toolchain used as the oracle")
add_test(NAME oracle.fibertrace.make_traces
  COMMAND bash ${_ft_dir}/make_traces.sh $<TARGET_FILE:fiberload> $<TARGET_FILE:fibertrace_test>
          ${_ft_out}/traces)
set_tests_properties(oracle.fibertrace.make_traces PROPERTIES LABELS oracle TIMEOUT 120
                     FIXTURES_SETUP fibertrace_traces)
foreach(name fiberload_p1 fiberload_p2 fiberload_flight FiberTrace.FlightRecorderDumpHasTheLastEvents
             FiberTrace.ChanBlock10msIsAttributedToTheReceiveLine
             FiberTrace.BlockingSyscall20msShowsAsSyscallTime
             FiberTrace.WakeupWhileThePIsBusyIsSchedulerWait FiberTrace.RegionsNestAndTasksSpanFibers
             FiberTrace.StartStopRepeatedlyFromSeveralThreads.0 FiberTrace.TraceEndsWithRun
             FiberTrace.CpuSamplesAreInTheTrace FiberTrace.AnnotationsOutsideFibers)
  foreach(mode d net sync syscall sched)
    add_test(NAME oracle.fibertrace.${name}.${mode}
      COMMAND bash ${PROJECT_SOURCE_DIR}/tests/oracle/compare.sh
        --goroot ${TRACETOOL_GO_ROOT} --tool $<TARGET_FILE:tracetool> --canon $<TARGET_FILE:pprof_canon>
        --out ${_ft_out}/oracle --name fibertrace.${name} --trace ${_ft_out}/traces/${name}.trace
        --mode ${mode})
    set_tests_properties(oracle.fibertrace.${name}.${mode} PROPERTIES LABELS oracle TIMEOUT 120
                         FIXTURES_REQUIRED fibertrace_traces)
  endforeach()
endforeach()
