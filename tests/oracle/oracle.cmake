# Oracle tests: tracetool against Go 1.19's `go tool trace` (issue 2, item 6).
#
# One CTest test per (trace, mode), label `oracle`, named oracle.<source>.<trace>.<mode>:
#   source  canned = the 21 traces of Go 1.19's src/internal/trace/testdata
#           go     = traces written at test time by the programs in tests/go/<name>/
#   mode    d (byte-identical, or identical up to Go's random order of equal timestamps),
#           net | sync | syscall | sched (decoded profiles equal; go tool pprof reads ours),
#           plus d-stdin / sched-stdin / sync-gzip-stdin on three traces (tracetool reads `-`,
#           plain or gzip-compressed).
# stress_1_5_unordered is expected to fail in both tools (tracetool: exit 1, one stderr line).
#
#   ctest --test-dir build -L oracle --output-on-failure      # all 133 (~2.5 min serial, 2 cores)
#   ctest --test-dir build -R 'oracle\.go\.netecho'           # one trace
#
# Fixtures: oracle.setup clears the result files, oracle.make_traces builds and runs the Go
# programs (only the `go` cases need it), oracle.summary runs last and prints the summary line.
# Work files of each comparison stay in <build>/oracle/work/<case>/ for inspection.
#
# Cache variables: TRACETOOL_GO_ROOT (Go 1.19 GOROOT), TRACETOOL_ORACLE_TOOL (a binary to test
# instead of the `tracetool` target; tests/oracle/go_shim.sh turns Go into one, to test the harness).

include(${CMAKE_CURRENT_LIST_DIR}/../tools/tools.cmake)

set(TRACETOOL_GO_ROOT "/usr/lib/go-1.19" CACHE PATH "GOROOT of the Go 1.19 toolchain used as the oracle")
set(TRACETOOL_ORACLE_TOOL "" CACHE FILEPATH
    "Binary compared against Go instead of the tracetool target (empty: the target)")

# Programs under tests/go/<name>/main.go, each writing one trace.
set(_oracle_programs chansync netecho syscalls gcalloc annotations)
set(_oracle_modes d net sync syscall sched)
set(_oracle_out ${CMAKE_BINARY_DIR}/oracle)
set(_oracle_dir ${CMAKE_CURRENT_LIST_DIR})
set(_oracle_canned_dir ${TRACETOOL_GO_ROOT}/src/internal/trace/testdata)

if(TRACETOOL_ORACLE_TOOL)
  set(_oracle_tool ${TRACETOOL_ORACLE_TOOL})
elseif(TARGET tracetool)
  set(_oracle_tool $<TARGET_FILE:tracetool>)
else()
  # The tests still get registered and fail with "tracetool binary not found" until it exists.
  message(WARNING "oracle: no 'tracetool' target; the oracle tests will fail until cmd/tracetool exists")
  set(_oracle_tool ${CMAKE_BINARY_DIR}/bin/tracetool)
endif()

set(_oracle_cases "")
# _oracle_add(<source> <name> <trace> <mode> [extra compare.sh args...])
function(_oracle_add source name trace mode)
  set(test oracle.${source}.${name}.${mode})
  set(case ${source}.${name}.${mode})
  set(extra ${ARGN})
  if("--stdin" IN_LIST extra)
    set(test ${test}-stdin)
    set(case ${case}-stdin)
  elseif("--gzip-stdin" IN_LIST extra)
    set(test ${test}-gzip-stdin)
    set(case ${case}-gzip-stdin)
  endif()
  add_test(NAME ${test}
    COMMAND bash ${_oracle_dir}/compare.sh
      --goroot ${TRACETOOL_GO_ROOT} --tool ${_oracle_tool} --canon $<TARGET_FILE:pprof_canon>
      --out ${_oracle_out} --name ${source}.${name} --trace ${trace} --mode ${mode} ${extra})
  set(fixtures oracle_results)
  if(source STREQUAL "go")
    list(APPEND fixtures oracle_gotraces)
  endif()
  set_tests_properties(${test} PROPERTIES LABELS oracle TIMEOUT 120 FIXTURES_REQUIRED "${fixtures}")
  set(_oracle_cases "${_oracle_cases}${case}\n" PARENT_SCOPE)
endfunction()

add_test(NAME oracle.setup COMMAND bash -c "rm -rf '${_oracle_out}/results' && mkdir -p '${_oracle_out}/results'")
set_tests_properties(oracle.setup PROPERTIES LABELS oracle FIXTURES_SETUP oracle_results)

add_test(NAME oracle.make_traces
  COMMAND bash ${_oracle_dir}/make_traces.sh ${TRACETOOL_GO_ROOT} ${PROJECT_SOURCE_DIR} ${_oracle_out}
          ${_oracle_programs})
set_tests_properties(oracle.make_traces PROPERTIES LABELS oracle TIMEOUT 300 FIXTURES_SETUP oracle_gotraces)

# Canned traces: the 21 files of Go 1.19's internal/trace/testdata. Their absence is a failure.
set(_oracle_canned
  http_1_10_good http_1_11_good http_1_19_good http_1_5_good http_1_7_good http_1_9_good
  stress_1_10_good stress_1_11_good stress_1_19_good stress_1_5_good stress_1_5_unordered
  stress_1_7_good stress_1_9_good
  stress_start_stop_1_10_good stress_start_stop_1_11_good stress_start_stop_1_19_good
  stress_start_stop_1_5_good stress_start_stop_1_7_good stress_start_stop_1_9_good
  user_task_region_1_11_good user_task_region_1_19_good)
add_test(NAME oracle.canned_inventory COMMAND bash ${_oracle_dir}/inventory.sh ${_oracle_canned_dir})
set_tests_properties(oracle.canned_inventory PROPERTIES LABELS oracle)

foreach(name IN LISTS _oracle_canned)
  set(trace ${_oracle_canned_dir}/${name})
  # Go 1.5 traces hold bare PCs: Go needs a binary argument to symbolize them (any binary will
  # do, giving "?" frames), tracetool gets only the trace; profiles compare by location address.
  set(v15 "")
  if(name MATCHES "_1_5_")
    set(v15 --go-binary /bin/true --frames addr)
  endif()
  foreach(mode IN LISTS _oracle_modes)
    if(name STREQUAL "stress_1_5_unordered")
      _oracle_add(canned ${name} ${trace} ${mode} ${v15} --expect-fail "time stamps out of order")
    else()
      _oracle_add(canned ${name} ${trace} ${mode} ${v15})
    endif()
  endforeach()
endforeach()
_oracle_add(canned http_1_19_good ${_oracle_canned_dir}/http_1_19_good d --stdin)
_oracle_add(canned stress_1_19_good ${_oracle_canned_dir}/stress_1_19_good sync --gzip-stdin)

foreach(name IN LISTS _oracle_programs)
  foreach(mode IN LISTS _oracle_modes)
    _oracle_add(go ${name} ${_oracle_out}/traces/${name}.trace ${mode})
  endforeach()
endforeach()
_oracle_add(go netecho ${_oracle_out}/traces/netecho.trace sched --stdin)

file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/oracle_cases.txt "${_oracle_cases}")
add_test(NAME oracle.summary
  COMMAND bash ${_oracle_dir}/summary.sh ${_oracle_out}/results ${CMAKE_CURRENT_BINARY_DIR}/oracle_cases.txt oracle)
set_tests_properties(oracle.summary PROPERTIES LABELS oracle FIXTURES_CLEANUP "oracle_results;oracle_gotraces")
