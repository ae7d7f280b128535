# Go 1.22+ ("v2") reader tests, label `unit` (main and ASan stages): the upstream text tests
# assembled to binary, the upstream fuzz seeds, version detection, the real traces and the model
# mapping (v2_test.cc); plus golden outputs of tracetool on the real traces (golden_v2.cmake).
# Data comes from ${TRACETOOL_SHARED_DIR}/testdata (never copied into the repository); without it
# the tests FAIL saying so.
if(NOT DEFINED TRACETOOL_SHARED_DIR)
  set(TRACETOOL_SHARED_DIR "${PROJECT_SOURCE_DIR}/../shared" CACHE PATH "The shared/ reference folder")
endif()

add_library(tracetool_v2_text STATIC ${CMAKE_CURRENT_LIST_DIR}/text_trace.cc)
target_include_directories(tracetool_v2_text PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(tracetool_v2_text PUBLIC tracetool::parser)
tracetool_target_options(tracetool_v2_text)

add_executable(v2_test ${CMAKE_CURRENT_LIST_DIR}/v2_test.cc)
target_link_libraries(v2_test PRIVATE tracetool_v2_text tracetool::parser GTest::gtest GTest::gtest_main)
tracetool_target_options(v2_test)
gtest_discover_tests(v2_test
  PROPERTIES LABELS unit TIMEOUT 60
  ENVIRONMENT "TRACETOOL_SHARED_DIR=${TRACETOOL_SHARED_DIR}"
  DISCOVERY_TIMEOUT 60)

# v2asm: text trace (or a whole .test archive) → binary trace, for humans and for bench/genv2.
add_executable(v2asm ${CMAKE_CURRENT_LIST_DIR}/v2asm.cc)
target_link_libraries(v2asm PRIVATE tracetool_v2_text)
tracetool_target_options(v2asm)

# Golden outputs of tracetool on every real Go 1.22+ trace (label `unit`, a few ms each):
# golden.v2.<trace>.<mode>; regenerate with TRACETOOL_UPDATE_GOLDEN=1 ctest -R golden.v2 and
# review the diff.
include(${CMAKE_CURRENT_LIST_DIR}/../tools/tools.cmake)
if(TARGET tracetool)
  foreach(trace go122_1brc go122_urihandler go123_testtrace go125_encoding_json go125_pprofsvc)
    foreach(mode d net sync syscall sched goroutines)
      add_test(NAME golden.v2.${trace}.${mode}
        COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/golden_v2.sh
          --tool $<TARGET_FILE:tracetool> --canon $<TARGET_FILE:pprof_canon>
          --trace ${TRACETOOL_SHARED_DIR}/testdata/go1.22plus/${trace}.trace --mode ${mode}
          --golden ${CMAKE_CURRENT_LIST_DIR}/golden/${trace}.${mode}.txt)
      set_tests_properties(golden.v2.${trace}.${mode} PROPERTIES LABELS unit TIMEOUT 60)
    endforeach()
  endforeach()
endif()
