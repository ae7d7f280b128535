// libFuzzer target over the trace reader (STYLE.md P11, issue 2 item 7).
//
// Feeds arbitrary bytes through the same path the CLI uses: Input::FromMemory (which also sniffs
// and decompresses zstd/gzip), Reader::Open (header + indexing pass), then Next() until the end or
// the first error. Any crash, hang, leak or sanitizer report is a bug; an error Status is the
// expected outcome for bad input. Every crash found becomes a file in testdata/corrupt/, which
// corrupt_regression_main.cc replays in every CTest run.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "lib/parser/event.h"
#include "lib/parser/input.h"
#include "lib/parser/reader.h"
#include "lib/parser/status.h"

namespace {

// Upper bound on events per input, so that a tiny input that decompresses into a huge valid trace
// cannot make one run take minutes. Far above any seed's event count.
constexpr uint64_t kMaxEvents = uint64_t{1} << 22;

void ParseAll(const uint8_t* data, size_t size) {
  using tracetool::parser::Event;
  using tracetool::parser::Input;
  using tracetool::parser::Reader;

  std::unique_ptr<Input> input;
  tracetool::Status st =
      Input::FromMemory(std::string(reinterpret_cast<const char*>(data), size), &input);
  if (!st.ok()) return;
  std::unique_ptr<Reader> reader;
  st = Reader::Open(std::move(input), &reader);
  if (!st.ok()) return;

  Event ev;
  bool done = false;
  for (uint64_t n = 0; n < kMaxEvents; ++n) {
    st = reader->Next(&ev, &done);
    if (!st.ok() || done) break;
    // Touch what consumers touch: the stack and the strings it references.
    for (const auto& frame : reader->Stack(ev.stack_id)) {
      (void)reader->String(frame.fn);
      (void)reader->String(frame.file);
    }
  }
  if (st.ok() && done) {
    // After the end, Next() keeps reporting the end (or the same error), without crashing.
    (void)reader->Next(&ev, &done);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ParseAll(data, size);
  return 0;
}
