// TraceBuilder: writes v1 trace bytes from calls that name their arguments at the call site
// (STYLE.md P11), using the shared event table for value counts and header bytes.
//
//   TraceBuilder b;                      // "go 1.19 trace"
//   b.Batch(/*p=*/0, /*ticks=*/100);
//   b.Ev(EventType::kGoCreate, /*dt=*/1, {/*g=*/1, /*newstk=*/1, /*stk=*/0});
//   b.String(1, "main.main"); b.Stack(1, {{0x401000, 1, 2, 10}}); b.Frequency(1'000'000'000);
//   std::string bytes = b.bytes();
#ifndef TRACETOOL_TESTS_UNIT_TRACE_BUILDER_H_
#define TRACETOOL_TESTS_UNIT_TRACE_BUILDER_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "lib/format/event_table.h"

namespace tracetool::testing {

class TraceBuilder {
 public:
  explicit TraceBuilder(const char* header = "go 1.19 trace") {
    std::string h(header);
    h.resize(16, '\0');
    out_ = h;
  }

  void Uvarint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>(0x80 | (v & 0x7f)));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }

  // Batch header: P (-1 for "no P") and absolute ticks.
  TraceBuilder& Batch(int64_t p, uint64_t ticks) {
    out_.push_back(0x41);
    Uvarint(static_cast<uint64_t>(p));
    Uvarint(ticks);
    return *this;
  }

  // Ev writes an event of `type` with time delta `dt` and the remaining wire values `vals`
  // (argument slots, then the stack id for types with a stack), with Go's encoding (spec §1.4).
  TraceBuilder& Ev(format::EventType type, uint64_t dt, std::initializer_list<uint64_t> vals,
                   const std::string& log_message = "") {
    std::vector<uint64_t> all{dt};
    all.insert(all.end(), vals.begin(), vals.end());
    const int k = static_cast<int>(all.size());
    const int c = k - 1 < 3 ? k - 1 : 3;
    out_.push_back(static_cast<char>(static_cast<int>(type) | (c << 6)));
    if (c == 3) {
      TraceBuilder tmp("");
      tmp.out_.clear();
      for (uint64_t v : all) tmp.Uvarint(v);
      Uvarint(tmp.out_.size());
      out_ += tmp.out_;
    } else {
      for (uint64_t v : all) Uvarint(v);
    }
    if (type == format::EventType::kUserLog) {
      Uvarint(log_message.size());
      out_ += log_message;
    }
    return *this;
  }

  TraceBuilder& String(uint64_t id, const std::string& s) {
    out_.push_back(0x25);
    Uvarint(id);
    Uvarint(s.size());
    out_ += s;
    return *this;
  }

  struct Frame {
    uint64_t pc, fn, file, line;
  };
  TraceBuilder& Stack(uint64_t id, std::initializer_list<Frame> frames) {
    TraceBuilder tmp("");
    tmp.out_.clear();
    tmp.Uvarint(id);
    tmp.Uvarint(frames.size());
    for (const Frame& f : frames) {
      tmp.Uvarint(f.pc);
      tmp.Uvarint(f.fn);
      tmp.Uvarint(f.file);
      tmp.Uvarint(f.line);
    }
    out_.push_back(static_cast<char>(0xC3));
    Uvarint(tmp.out_.size());
    out_ += tmp.out_;
    return *this;
  }

  TraceBuilder& Frequency(uint64_t ticks_per_sec) {
    out_.push_back(0x02);
    Uvarint(ticks_per_sec);
    return *this;
  }

  TraceBuilder& Raw(const std::string& bytes) {
    out_ += bytes;
    return *this;
  }

  const std::string& bytes() const { return out_; }

 private:
  std::string out_;
};

}  // namespace tracetool::testing

#endif  // TRACETOOL_TESTS_UNIT_TRACE_BUILDER_H_
