# Fuzzing (STYLE.md P11): included from tests/CMakeLists.txt.
#
# Always (any compiler, label `unit`): corrupt_regression replays the fuzz entry point over every
# file of testdata/corrupt/ (inputs that once crashed, or hand-made bad traces) and must not crash.
#
# With -DTRACETOOL_FUZZ=ON and clang: parse_fuzzer, a libFuzzer binary
# (-fsanitize=fuzzer,address,undefined). The parser library and everything it links are compiled
# with coverage instrumentation (-fsanitize=fuzzer-no-link) plus ASan/UBSan. scripts/test.sh runs it
# for a bounded time on a seed corpus; see tests/fuzz/README.md.
set(_tt_fuzz_dir ${CMAKE_CURRENT_LIST_DIR})

if(TARGET tracetool::parser)
  add_executable(corrupt_regression
    ${_tt_fuzz_dir}/parse_fuzzer.cc
    ${_tt_fuzz_dir}/corrupt_regression_main.cc)
  target_link_libraries(corrupt_regression PRIVATE tracetool::parser)
  tracetool_target_options(corrupt_regression)
  add_test(NAME fuzz_corrupt_regression
    COMMAND corrupt_regression ${PROJECT_SOURCE_DIR}/testdata/corrupt)
  set_tests_properties(fuzz_corrupt_regression PROPERTIES LABELS "unit" TIMEOUT 300)
else()
  message(WARNING "tests/fuzz: no tracetool::parser target yet; fuzz targets skipped")
endif()

# _tt_fuzz_instrument(<target>): adds the fuzzer's instrumentation to <target> and, recursively, to
# every library of ours it links (imported and system libraries are left alone).
function(_tt_fuzz_instrument target)
  if(NOT TARGET ${target})
    return()
  endif()
  get_target_property(_aliased ${target} ALIASED_TARGET)
  if(_aliased)
    set(target ${_aliased})
  endif()
  get_property(_seen GLOBAL PROPERTY _TT_FUZZ_SEEN)
  if(${target} IN_LIST _seen)
    return()
  endif()
  set_property(GLOBAL APPEND PROPERTY _TT_FUZZ_SEEN ${target})
  get_target_property(_imported ${target} IMPORTED)
  if(_imported)
    return()
  endif()
  get_target_property(_type ${target} TYPE)
  if(_type STREQUAL "INTERFACE_LIBRARY")
    get_target_property(_deps ${target} INTERFACE_LINK_LIBRARIES)
  else()
    target_compile_options(${target} PRIVATE ${TRACETOOL_FUZZ_FLAGS_NO_LINK})
    get_target_property(_deps ${target} LINK_LIBRARIES)
  endif()
  if(_deps)
    foreach(_dep IN LISTS _deps)
      if(_dep MATCHES "^tracetool")
        _tt_fuzz_instrument(${_dep})
      endif()
    endforeach()
  endif()
endfunction()

if(TRACETOOL_FUZZ AND TARGET tracetool::parser)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "TRACETOOL_FUZZ=ON needs clang (libFuzzer): "
                        "configure with -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++")
  endif()
  set(TRACETOOL_FUZZ_FLAGS_NO_LINK
    -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  _tt_fuzz_instrument(tracetool::parser)

  add_executable(parse_fuzzer ${_tt_fuzz_dir}/parse_fuzzer.cc)
  target_link_libraries(parse_fuzzer PRIVATE tracetool::parser)
  tracetool_target_options(parse_fuzzer)
  target_compile_options(parse_fuzzer PRIVATE
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_link_options(parse_fuzzer PRIVATE -fsanitize=fuzzer,address,undefined)
  # corrupt_regression links the same instrumented library: give it the runtimes too.
  target_compile_options(corrupt_regression PRIVATE
    -fsanitize=address,undefined -fno-sanitize-recover=all)
  target_link_options(corrupt_regression PRIVATE -fsanitize=fuzzer-no-link,address,undefined)
endif()

# Go 1.22+ coverage (label `unit`): the fuzz entry point over every upstream v2 fuzz seed, text
# test and real trace, built from ${TRACETOOL_SHARED_DIR} into the build tree by v2_seeds.sh (the
# shared data is never copied into the repository; without it the setup step fails). With
# TRACETOOL_FUZZ, build-fuzz/v2_seeds is also a ready seed directory for parse_fuzzer.
if(TARGET corrupt_regression AND TARGET v2asm)
  add_test(NAME fuzz_v2_seeds_setup
    COMMAND bash ${_tt_fuzz_dir}/v2_seeds.sh $<TARGET_FILE:v2asm> ${TRACETOOL_SHARED_DIR}
            ${CMAKE_BINARY_DIR}/v2_seeds)
  set_tests_properties(fuzz_v2_seeds_setup PROPERTIES LABELS "unit" TIMEOUT 60
    FIXTURES_SETUP fuzz_v2_seeds)
  add_test(NAME fuzz_v2_seed_replay COMMAND corrupt_regression ${CMAKE_BINARY_DIR}/v2_seeds)
  set_tests_properties(fuzz_v2_seed_replay PROPERTIES LABELS "unit" TIMEOUT 120
    FIXTURES_REQUIRED fuzz_v2_seeds)
endif()
