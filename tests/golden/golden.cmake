# Golden tests: reviewed outputs for traces that have no oracle (Go 1.19 cannot read Go 1.21
# traces). One CTest test per (trace, mode), label `golden`, named golden.go1.21.<trace>.<mode>,
# plus golden.crosscheck.go1.21.<trace>.<mode>, which checks the golden file itself against Go 1.19
# on the trace rewritten to 1.19's STW numbering (crosscheck.sh); see tests/golden/README.md. Regenerate with tests/golden/regen.sh (TRACETOOL_UPDATE_GOLDEN=1).
#
# The traces live in ${TRACETOOL_SHARED_DIR}/testdata/go1.21 (outside the repository). If that
# folder is absent the tests are still registered and FAIL saying so; they never skip.

include(${CMAKE_CURRENT_LIST_DIR}/../tools/tools.cmake)

if(NOT DEFINED TRACETOOL_SHARED_DIR)
  set(TRACETOOL_SHARED_DIR "${PROJECT_SOURCE_DIR}/../shared" CACHE PATH "The shared/ reference folder")
endif()

if(NOT DEFINED TRACETOOL_GO_ROOT)
  set(TRACETOOL_GO_ROOT "/usr/lib/go-1.19" CACHE PATH "GOROOT of the Go 1.19 toolchain used as the oracle")
endif()

if(TRACETOOL_ORACLE_TOOL)
  set(_golden_tool ${TRACETOOL_ORACLE_TOOL})
elseif(TARGET tracetool)
  set(_golden_tool $<TARGET_FILE:tracetool>)
else()
  message(WARNING "golden: no 'tracetool' target; the golden tests will fail until cmd/tracetool exists")
  set(_golden_tool ${CMAKE_BINARY_DIR}/bin/tracetool)
endif()

set(_golden_dir ${CMAKE_CURRENT_LIST_DIR})
set(_golden_out ${CMAKE_BINARY_DIR}/golden)
set(_golden_cases "")

add_test(NAME golden.setup COMMAND bash -c "rm -rf '${_golden_out}/results' && mkdir -p '${_golden_out}/results'")
set_tests_properties(golden.setup PROPERTIES LABELS golden FIXTURES_SETUP golden_results)

foreach(trace fgprof task)
  foreach(mode d net sync syscall sched)
    set(case go1.21.${trace}.${mode})
    add_test(NAME golden.${case}
      COMMAND bash ${_golden_dir}/golden.sh
        --tool ${_golden_tool} --canon $<TARGET_FILE:pprof_canon>
        --trace ${TRACETOOL_SHARED_DIR}/testdata/go1.21/${trace}.trace --mode ${mode}
        --golden ${_golden_dir}/go1.21/${trace}.${mode}.txt
        --results ${_golden_out}/results --case ${case})
    set_tests_properties(golden.${case} PROPERTIES LABELS golden TIMEOUT 60
      FIXTURES_REQUIRED golden_results)
    string(APPEND _golden_cases "${case}\n")
    # The golden file itself, against Go 1.19 on the trace rewritten to 1.19 numbering (to119/).
    add_test(NAME golden.crosscheck.${case}
      COMMAND bash ${_golden_dir}/crosscheck.sh
        --goroot ${TRACETOOL_GO_ROOT} --canon $<TARGET_FILE:pprof_canon>
        --trace ${TRACETOOL_SHARED_DIR}/testdata/go1.21/${trace}.trace --mode ${mode}
        --golden ${_golden_dir}/go1.21/${trace}.${mode}.txt --out ${_golden_out})
    set_tests_properties(golden.crosscheck.${case} PROPERTIES LABELS golden TIMEOUT 120)
  endforeach()
endforeach()

file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/golden_cases.txt "${_golden_cases}")
add_test(NAME golden.summary
  COMMAND bash ${_golden_dir}/../oracle/summary.sh ${_golden_out}/results ${CMAKE_CURRENT_BINARY_DIR}/golden_cases.txt golden)
set_tests_properties(golden.summary PROPERTIES LABELS golden FIXTURES_CLEANUP golden_results)
