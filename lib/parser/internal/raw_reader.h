// RawReader: decodes the records of a v1 trace body (spec §1.2–§1.6) from an Input, sequentially
// from any offset, with a private read buffer. Used by the index pass (whole file) and by each
// per-P cursor of the merge (one batch range at a time).
#ifndef TRACETOOL_LIB_PARSER_INTERNAL_RAW_READER_H_
#define TRACETOOL_LIB_PARSER_INTERNAL_RAW_READER_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "lib/format/event_table.h"
#include "lib/parser/input.h"
#include "lib/parser/status.h"

namespace tracetool::parser::internal {

// One decoded record. Values are the uvarints of the record in wire order (spec §1.9).
struct RawRecord {
  format::EventType type = format::EventType::kNone;
  uint64_t offset = 0;  // absolute offset of the record's first byte
  std::span<const uint64_t> values() const { return {big.empty() ? small : big.data(), n}; }
  std::string str;  // String payload, or UserLog's message
  uint64_t str_offset = 0;  // UserLog: absolute offset of the message's first byte

  // Storage: events use `small`; stack records (up to 4002 values) use `big`.
  void Clear() {
    n = 0;
    big.clear();
  }
  void Push(uint64_t v) {
    if (big.empty() && n < kSmall) {
      small[n++] = v;
      return;
    }
    if (big.empty()) big.assign(small, small + n);
    big.push_back(v);
    ++n;
  }
  static constexpr size_t kSmall = 8;
  uint64_t small[kSmall];
  size_t n = 0;
  std::vector<uint64_t> big;
};

class RawReader {
 public:
  // RawReader reads `in` (not owned; must outlive it) for a trace of `version`, starting at
  // `offset`, up to `end` (exclusive; the input size if larger).
  RawReader(const Input* in, int version, uint64_t offset, uint64_t end, size_t buffer_size);

  // Reposition to a new range; the buffer is kept when the range starts inside it.
  void Reset(uint64_t offset, uint64_t end);

  bool AtEnd() const { return pos_ >= end_; }
  uint64_t offset() const { return pos_; }

  // Next() decodes one record into *rec. `want_strings`: copy string payloads (String records);
  // when false they are skipped. Errors: kTruncated, kCorrupt.
  Status Next(RawRecord* rec, bool want_strings);

  // Skim() is Next() for the index pass: for ordinary events it checks the value count but decodes
  // only the first value (the time delta): only values()[0] is meaningful then, while
  // values().size() is the full count. GoSysExit, GCSTWStart, CPUSample and all meta records are decoded fully.
  Status Skim(RawRecord* rec);

 private:
  bool NextFast(RawRecord* rec);  // the common case, from the buffer; false: use the slow path
  bool SkimFast(RawRecord* rec);
  Status NextSlow(RawRecord* rec, bool want_strings);
  Status Fill(size_t need);  // make at least `need` bytes available at pos_, if the range has them
  Status ReadVarint(uint64_t* v, format::EventType type, uint64_t record_offset);
  Status ReadString(uint64_t len, std::string* out, bool keep, format::EventType type,
                    uint64_t record_offset);

  const Input* const in_;
  const int version_;
  uint64_t pos_;        // absolute offset of the next byte
  uint64_t end_;        // absolute end of the readable range
  std::vector<uint8_t> buf_;
  int8_t want_values_[64];  // expected value count per type for this version; -1: special
  uint64_t buf_start_ = 0;  // absolute offset of buf_[0]
  size_t buf_len_ = 0;      // valid bytes in buf_
};

}  // namespace tracetool::parser::internal

#endif  // TRACETOOL_LIB_PARSER_INTERNAL_RAW_READER_H_
