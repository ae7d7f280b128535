// The upstream text ("raw") trace format of Go 1.22+ and its test archives, for tests only
// (../shared/spec/go-trace-v2-format.md §5): a txtar archive with an `expect` and a `trace`
// section; the trace is one event per line, `Name arg=value ...`, assembled token by token into
// the binary format (§5.3).
//
//   TextTest t;
//   std::string err;
//   if (!ParseTextTest(file_bytes, &t, &err)) ...;   // t.bytes is the binary trace
#ifndef TRACETOOL_TESTS_V2_TEXT_TRACE_H_
#define TRACETOOL_TESTS_V2_TEXT_TRACE_H_

#include <string>
#include <string_view>

namespace tracetool::testing {

struct TextTest {
  bool success = false;  // `SUCCESS`; else `FAILURE "regexp"`
  std::string error_re;  // the unquoted regular expression (Go RE2 syntax)
  std::string bytes;     // the assembled binary trace
};

// ParseTextTest() parses a whole .test archive. On failure *err says where and what.
bool ParseTextTest(std::string_view archive, TextTest* out, std::string* err);

// AssembleTrace() turns the trace section (starting with `Trace Go1.NN`) into bytes.
bool AssembleTrace(std::string_view text, std::string* bytes, std::string* err);

// UnquoteGo() decodes a Go string literal ("…" with Go escapes, or `…`).
bool UnquoteGo(std::string_view lit, std::string* out);

// ParseGoFuzzSeed() decodes a Go fuzz corpus file (`go test fuzz v1` + one []byte("…") value).
bool ParseGoFuzzSeed(std::string_view file, std::string* bytes, std::string* err);

}  // namespace tracetool::testing

#endif  // TRACETOOL_TESTS_V2_TEXT_TRACE_H_
