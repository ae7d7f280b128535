# Analysis oracles (issue 6): tracetool's analyses against the pages Go 1.19's `go tool trace
# -http` serves for the same trace (label `oracle`). One test per trace:
#   analysis.goroutines.<trace>   -goroutines vs /goroutines and /goroutine?id=PC
#   analysis.annotations.<trace>  -tasks/-regions vs /usertasks, /userregions, /userregion?type=&pc=
#   analysis.mmu.<trace>          -mmu vs /mmuPlot and /mmuDetails for five flag sets
#   analysis.chrome.<trace>       -export=chrome vs /jsontrace (chrome_oracle.py)
# on the canned traces of Go 1.19 (except the Go 1.5 ones, whose stacks need the binary to get
# names) and on the traces the tests/go programs write (fixture oracle_gotraces).
set(_an_dir ${CMAKE_CURRENT_LIST_DIR})
set(_an_canned ${TRACETOOL_GO_ROOT}/src/internal/trace/testdata)
find_package(Python3 REQUIRED COMPONENTS Interpreter)

function(_analysis_add name trace fixture)
  foreach(kind goroutines annotations mmu chrome)
    set(test analysis.${kind}.${name})
    add_test(NAME ${test}
      COMMAND ${Python3_EXECUTABLE} ${_an_dir}/${kind}_oracle.py $<TARGET_FILE:tracetool>
              ${TRACETOOL_GO_ROOT} ${trace})
    set_tests_properties(${test} PROPERTIES LABELS oracle TIMEOUT 300)
    if(fixture)
      set_tests_properties(${test} PROPERTIES FIXTURES_REQUIRED ${fixture})
    endif()
  endforeach()
endfunction()

foreach(name http_1_7_good http_1_9_good http_1_10_good http_1_11_good http_1_19_good
             stress_1_7_good stress_1_9_good stress_1_10_good stress_1_11_good stress_1_19_good
             stress_start_stop_1_7_good stress_start_stop_1_9_good stress_start_stop_1_10_good
             stress_start_stop_1_11_good stress_start_stop_1_19_good
             user_task_region_1_11_good user_task_region_1_19_good)
  _analysis_add(${name} ${_an_canned}/${name} "")
endforeach()
foreach(name chansync netecho syscalls gcalloc annotations)
  _analysis_add(${name} ${CMAKE_BINARY_DIR}/oracle/traces/${name}.trace oracle_gotraces)
endforeach()

# -export=perfetto (label unit): decoded with protoc and perfetto_trace.proto, independently of the
# encoder, and compared with -export=chrome (slices, flows, counters, tracks; perfetto_check.py).
# page_keep_check.py (label unit): what -goroutines and -regions=all print from their lean paths
# (GoroutineStats::Keep) equals what the full goroutine summaries give.
# -goroutine=ID (label unit): hand-checked expectations (critical_path/*.json) and invariants
# against the -d dump (critical_path_check.py).
find_program(TRACETOOL_PROTOC protoc)
set(_an_testdata ${PROJECT_SOURCE_DIR}/testdata)
if(NOT DEFINED TRACETOOL_SHARED_DIR)
  set(TRACETOOL_SHARED_DIR "${PROJECT_SOURCE_DIR}/../shared" CACHE PATH "The shared/ reference folder")
endif()
set(_an_perfetto_traces
    demo ${_an_testdata}/go1.19/demo.trace
    http_1_19_good ${_an_canned}/http_1_19_good
    stress_start_stop_1_9_good ${_an_canned}/stress_start_stop_1_9_good
    user_task_region_1_19_good ${_an_canned}/user_task_region_1_19_good
    go1_21_fgprof ${TRACETOOL_SHARED_DIR}/testdata/go1.21/fgprof.trace
    go1_22_urihandler ${TRACETOOL_SHARED_DIR}/testdata/go1.22plus/go122_urihandler.trace)
while(_an_perfetto_traces)
  list(POP_FRONT _an_perfetto_traces name trace)
  if(NOT EXISTS ${trace})
    # The shared reference folder is absent (a user's machine): say so loudly, never pass.
    add_test(NAME analysis.perfetto.${name}
      COMMAND ${CMAKE_COMMAND} -E echo "missing ${trace}: set TRACETOOL_SHARED_DIR to the shared/ folder")
    set_tests_properties(analysis.perfetto.${name} PROPERTIES LABELS unit WILL_FAIL ON)
    continue()
  endif()
  if(TRACETOOL_PROTOC)
    add_test(NAME analysis.perfetto.${name}
      COMMAND ${Python3_EXECUTABLE} ${_an_dir}/perfetto_check.py $<TARGET_FILE:tracetool>
              ${TRACETOOL_PROTOC} ${trace})
    set_tests_properties(analysis.perfetto.${name} PROPERTIES LABELS unit TIMEOUT 120)
  endif()
  # The lean page analyses (-goroutines groups, -regions) against the full goroutine summaries.
  add_test(NAME analysis.page_keep.${name}
    COMMAND ${Python3_EXECUTABLE} ${_an_dir}/page_keep_check.py $<TARGET_FILE:tracetool> ${trace})
  set_tests_properties(analysis.page_keep.${name} PROPERTIES LABELS unit TIMEOUT 120)
  add_test(NAME analysis.critical_path.${name}
    COMMAND ${Python3_EXECUTABLE} ${_an_dir}/critical_path_check.py $<TARGET_FILE:tracetool>
            invariants ${trace} 8)
  set_tests_properties(analysis.critical_path.${name} PROPERTIES LABELS unit TIMEOUT 120)
endwhile()
foreach(spec "user_task_region_1_19_good 19 user_task_region_1_19_G19"
             "http_1_19_good 20 http_1_19_G20" "http_1_19_good 1 http_1_19_G1_prefix")
  separate_arguments(spec)
  list(GET spec 0 trace)
  list(GET spec 1 g)
  list(GET spec 2 file)
  if(EXISTS ${_an_canned}/${trace})
    add_test(NAME analysis.critical_path.expect.${file}
      COMMAND ${Python3_EXECUTABLE} ${_an_dir}/critical_path_check.py $<TARGET_FILE:tracetool>
              expect ${_an_canned}/${trace} ${g} ${_an_dir}/critical_path/${file}.json)
    set_tests_properties(analysis.critical_path.expect.${file} PROPERTIES LABELS unit TIMEOUT 60)
  endif()
endforeach()
add_test(NAME analysis.perfetto.errors
  COMMAND ${Python3_EXECUTABLE} ${_an_dir}/perfetto_check.py $<TARGET_FILE:tracetool> --errors
          ${_an_testdata}/corrupt/demo_first_half.trace ${_an_testdata}/go1.19/demo.trace)
set_tests_properties(analysis.perfetto.errors PROPERTIES LABELS unit TIMEOUT 60)
