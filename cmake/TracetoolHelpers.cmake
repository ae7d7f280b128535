# One place for warnings, sanitizers and target declarations (STYLE.md P14).
set(TRACETOOL_WARNINGS -Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wmissing-declarations -Wundef)
if(TRACETOOL_WERROR)
  list(APPEND TRACETOOL_WARNINGS -Werror)
endif()

if(TRACETOOL_SANITIZE)
  string(REPLACE ";" "," _tt_san "${TRACETOOL_SANITIZE}")
  add_compile_options(-fsanitize=${_tt_san} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_tt_san})
endif()

# tracetool_target_options(<target>) applies our warnings list.
function(tracetool_target_options target)
  target_compile_options(${target} PRIVATE ${TRACETOOL_WARNINGS})
endfunction()

# tracetool_cc_library(NAME n SRCS ... DEPS ... [HEADER_ONLY])
function(tracetool_cc_library)
  cmake_parse_arguments(TT "HEADER_ONLY" "NAME" "SRCS;DEPS" ${ARGN})
  if(TT_HEADER_ONLY)
    add_library(tracetool_${TT_NAME} INTERFACE)
    target_include_directories(tracetool_${TT_NAME} INTERFACE ${PROJECT_SOURCE_DIR})
    target_link_libraries(tracetool_${TT_NAME} INTERFACE ${TT_DEPS})
  else()
    add_library(tracetool_${TT_NAME} STATIC ${TT_SRCS})
    target_include_directories(tracetool_${TT_NAME} PUBLIC ${PROJECT_SOURCE_DIR})
    target_link_libraries(tracetool_${TT_NAME} PUBLIC ${TT_DEPS})
    tracetool_target_options(tracetool_${TT_NAME})
  endif()
  add_library(tracetool::${TT_NAME} ALIAS tracetool_${TT_NAME})
endfunction()

# tracetool_cc_test(NAME n SRCS ... DEPS ... [LABELS ...])
function(tracetool_cc_test)
  cmake_parse_arguments(TT "" "NAME" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${TT_NAME} ${TT_SRCS})
  target_link_libraries(${TT_NAME} PRIVATE ${TT_DEPS} GTest::gtest GTest::gtest_main)
  tracetool_target_options(${TT_NAME})
  gtest_discover_tests(${TT_NAME}
    PROPERTIES LABELS "${TT_LABELS}"
    ENVIRONMENT "TRACETOOL_SOURCE_DIR=${PROJECT_SOURCE_DIR};TRACETOOL_BINARY_DIR=${PROJECT_BINARY_DIR}"
    DISCOVERY_TIMEOUT 60)
endfunction()
