# Test tools shared by the oracle and golden suites (tests/oracle, tests/golden).
include_guard(GLOBAL)

# pprof_canon: decodes a (gzipped) profile.proto into canonical, order-free text. It uses only the
# classes generated from lib/pprof_export/profile.proto and zlib, never tracetool's exporter.
if(NOT TARGET tracetool::pprof_proto)
  message(FATAL_ERROR "tests/tools: target tracetool::pprof_proto (lib/pprof_export) is missing; "
                      "pprof_canon needs the generated profile.pb.h")
endif()
add_executable(pprof_canon ${CMAKE_CURRENT_LIST_DIR}/pprof_canon.cc)
target_link_libraries(pprof_canon PRIVATE tracetool::pprof_proto ZLIB::ZLIB)
target_include_directories(pprof_canon PRIVATE ${PROJECT_SOURCE_DIR})
if(COMMAND tracetool_target_options)
  tracetool_target_options(pprof_canon)
endif()
