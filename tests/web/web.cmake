# Browser tests of the web UI (issue 7), label `web`: tests/web/web_test.mjs starts
# `tracetool -http=127.0.0.1:0` on a bundled trace and drives Debian's Chromium (headless) with
# playwright-core (pinned in tests/web/package-lock.json; scripts/install-deps.sh runs `npm ci`).
# Screenshots of every page go to <build>/web-artifacts. A missing node, Chromium or
# node_modules fails the test loudly instead of skipping it.
find_program(TRACETOOL_NODE node)
set(_web_dir ${CMAKE_CURRENT_LIST_DIR})

function(_web_add name trace)
  add_test(NAME web.${name}
    COMMAND ${TRACETOOL_NODE} ${_web_dir}/web_test.mjs --tracetool $<TARGET_FILE:tracetool>
            --trace ${trace} --artifacts ${PROJECT_BINARY_DIR}/web-artifacts
            --chromium /usr/bin/chromium --go ${TRACETOOL_GO_ROOT}/bin/go)
  set_tests_properties(web.${name} PROPERTIES LABELS web TIMEOUT 60)
endfunction()

_web_add(demo ${PROJECT_SOURCE_DIR}/testdata/go1.19/demo.trace)
_web_add(go1.21.fgprof ${TRACETOOL_SHARED_DIR}/testdata/go1.21/fgprof.trace)

# The span index itself (no browser): exactness when zoomed in, pixel bound when zoomed out.
tracetool_cc_test(NAME timeline_test SRCS ${_web_dir}/timeline_test.cc
  DEPS tracetool::analysis LABELS unit)

# The goroutine pages from the digest equal those of the full goroutine analysis.
tracetool_cc_test(NAME goroutine_digest_test
  SRCS ${_web_dir}/goroutine_digest_test.cc ${PROJECT_SOURCE_DIR}/cmd/tracetool/http_goroutines.cc
  DEPS tracetool::analysis LABELS unit)
if(NOT DEFINED TRACETOOL_SHARED_DIR)
  set(TRACETOOL_SHARED_DIR "${PROJECT_SOURCE_DIR}/../shared" CACHE PATH "The shared/ reference folder")
endif()
target_compile_definitions(goroutine_digest_test PRIVATE
  TRACETOOL_DIGEST_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
  TRACETOOL_DIGEST_SHARED_DIR="${TRACETOOL_SHARED_DIR}")
