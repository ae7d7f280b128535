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
