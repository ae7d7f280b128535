// RawReader: decodes the records of a v1 trace body (spec §1.2–§1.6) from an Input, sequentially
// from any offset, with a private read buffer. Used by the index pass (whole file) and by each
// per-P cursor of the merge (one batch range at a time).
#ifndef TRACETOOL_LIB_PARSER_INTERNAL_RAW_READER_H_
#define TRACETOOL_LIB_PARSER_INTERNAL_RAW_READER_H_

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
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

// DecodeVarint() decodes one uvarint at *p (at least 10 readable bytes) and advances *p. False
// for a 10-byte run of continuation bits, which the slow path reports. Bits past 63 drop, as Go's.
// Most values of a trace are one or two bytes (time deltas, small ids), so those two cases come
// first, without a loop.
inline bool DecodeVarint(const uint8_t** p, uint64_t* v) {
  const uint8_t* q = *p;
  if (q[0] < 0x80) {
    *v = q[0];
    *p = q + 1;
    return true;
  }
  if (q[1] < 0x80) {
    *v = (q[0] & 0x7fu) | (static_cast<uint64_t>(q[1]) << 7);
    *p = q + 2;
    return true;
  }
  uint64_t x = (q[0] & 0x7fu) | (static_cast<uint64_t>(q[1] & 0x7f) << 7);
  for (int i = 2; i < 10; ++i) {
    const uint8_t c = q[i];
    x |= static_cast<uint64_t>(c & 0x7f) << (7 * i);
    if ((c & 0x80) == 0) {
      *p = q + i + 1;
      *v = x;
      return true;
    }
  }
  return false;
}

class RawReader {
 public:
  // Direct access for a caller that decodes ordinary event records itself (the merge's hot
  // path): FastPeek() is the next unread byte when at least kFastBytes bytes from there are
  // buffered and inside the range (an event record is at most 1 + 10 + 8 × 10 bytes), else null;
  // FastSkip(n) consumes n of them. Anything the caller does not handle goes through Next().
  static constexpr size_t kFastBytes = 128;
  const uint8_t* FastPeek() const {
    if (pos_ < buf_start_ || pos_ + kFastBytes > fast_end_) return nullptr;
    return buf_.data() + (pos_ - buf_start_);
  }
  void FastSkip(size_t n) { pos_ += n; }

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
  Status Skim(RawRecord* rec) {
    if (SkimFast(rec)) return OkStatus();
    return Next(rec, /*want_strings=*/true);
  }

 private:
  bool NextFast(RawRecord* rec);  // the common case, from the buffer; false: use the slow path
  // SkimFast(): Skim() of an ordinary event from the buffer; false: use Next().
  bool SkimFast(RawRecord* rec) {
    const uint8_t* const start = FastPeek();
    if (start == nullptr) return false;
    const uint8_t b = start[0];
    const int typ = b & 0x3f;
    const int want = skim_want_[typ];
    if (want == 0) return false;
    const int narg = (b >> 6) + 1;
    const uint8_t* p = start + 1;
    int n = 0;
    if (narg < 4) {
      if (narg != want || !DecodeVarint(&p, &rec->small[0])) return false;  // the time delta
      n = narg;
      if (narg > 1) {
        // Skip narg - 1 more values: find the (narg-1)-th byte without the high bit among the
        // next 8 (values of up to 7 bytes together; longer ones take the slow path).
        uint64_t w;
        memcpy(&w, p, sizeof(w));
        if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);
        uint64_t ends = ~w & 0x8080808080808080ull;
        if (narg == 3) ends &= ends - 1;
        if (ends == 0) return false;
        p += (__builtin_ctzll(ends) >> 3) + 1;
      }
    } else {
      uint64_t len = 0;
      if (!DecodeVarint(&p, &len) || len > 90) return false;
      const uint8_t* const vend = p + len;
      if (!DecodeVarint(&p, &rec->small[0]) || p > vend) return false;
      n = 1;
      // Count the other values up to vend: a value ends at a byte without the high bit.
      int run = 0;
      for (; p < vend; ++p) {
        if (*p & 0x80) {
          if (++run >= 10) return false;  // over-long varint: the slow path reports it
        } else {
          run = 0;
          ++n;
        }
      }
      if (run != 0 || n != want) return false;
    }
    rec->type = static_cast<format::EventType>(typ);
    rec->offset = pos_;
    rec->n = static_cast<size_t>(n);
    if (!rec->big.empty()) rec->big.clear();
    pos_ += static_cast<uint64_t>(p - start);
    return true;
  }
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
  int8_t want_values_[64];
  int8_t skim_want_[64];    // value count for SkimFast(); 0: not skimmed (see the constructor)  // expected value count per type for this version; -1: special
  uint64_t buf_start_ = 0;  // absolute offset of buf_[0]
  size_t buf_len_ = 0;      // valid bytes in buf_
  uint64_t fast_end_ = 0;   // min(buf_start_ + buf_len_, end_): the limit of FastPeek()
  void UpdateFastEnd() { fast_end_ = std::min<uint64_t>(buf_start_ + buf_len_, end_); }
};

}  // namespace tracetool::parser::internal

#endif  // TRACETOOL_LIB_PARSER_INTERNAL_RAW_READER_H_
