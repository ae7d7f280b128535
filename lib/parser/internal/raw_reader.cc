#include "lib/parser/internal/raw_reader.h"

#include <algorithm>
#include <cinttypes>
#include <cstring>

namespace tracetool::parser::internal {

using format::EventType;

namespace {
std::string_view TypeName(EventType t) {
  if (static_cast<int>(t) < static_cast<int>(EventType::kCount)) return format::Spec(t).name;
  return "record";
}
}  // namespace

RawReader::RawReader(const Input* in, int version, uint64_t offset, uint64_t end,
                     size_t buffer_size)
    : in_(in), version_(version), pos_(offset), end_(std::min(end, in->size())),
      // No bigger than the input needs: small traces are opened often (tests, the fuzzer).
      buf_(std::max<size_t>(4096, std::min<uint64_t>(buffer_size, in->size()))) {
  for (int t = 0; t < 64; ++t) {
    int want = -1;
    if (t > 0 && t < static_cast<int>(EventType::kCount) &&
        format::kEventSpecs[t].min_version <= version && t != static_cast<int>(EventType::kUserLog)) {
      want = format::WireValueCount(static_cast<EventType>(t), version);
    }
    want_values_[t] = static_cast<int8_t>(want);
    // Skim() handles ordinary timeline events of versions >= 1007 itself; the index pass needs
    // every value of the few others.
    const auto type = static_cast<EventType>(t);
    const bool skim = want >= 1 && version >= 1007 && type != EventType::kGoSysExit &&
                      type != EventType::kGCSTWStart && type != EventType::kCPUSample &&
                      !format::kEventSpecs[t].meta;
    skim_want_[t] = static_cast<int8_t>(skim ? want : 0);
  }
}

void RawReader::Reset(uint64_t offset, uint64_t end) {
  pos_ = offset;
  end_ = std::min(end, in_->size());
  UpdateFastEnd();
}

Status RawReader::Fill(size_t need) {
  uint64_t have_end = buf_start_ + buf_len_;
  if (pos_ >= buf_start_ && pos_ + need <= have_end) return OkStatus();
  size_t want = std::max(need, buf_.size());
  if (buf_.size() < want) buf_.resize(want);
  // Keep the unread tail if pos_ is inside the buffer.
  size_t keep = 0;
  if (pos_ >= buf_start_ && pos_ < have_end) {
    keep = static_cast<size_t>(have_end - pos_);
    memmove(buf_.data(), buf_.data() + (pos_ - buf_start_), keep);
  }
  buf_start_ = pos_;
  buf_len_ = keep;
  UpdateFastEnd();
  uint64_t limit = end_;
  size_t room = buf_.size() - keep;
  if (buf_start_ + keep < limit) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(room, limit - (buf_start_ + keep)));
    size_t got = 0;
    TT_RETURN_IF_ERROR(in_->ReadAt(buf_start_ + keep, buf_.data() + keep, n, &got));
    buf_len_ += got;
  }
  UpdateFastEnd();
  return OkStatus();
}

Status RawReader::ReadVarint(uint64_t* v, EventType type, uint64_t record_offset) {
  const uint64_t start = pos_;
  if (pos_ < buf_start_ || pos_ + 10 > buf_start_ + buf_len_) TT_RETURN_IF_ERROR(Fill(10));
  const uint8_t* p = buf_.data() + (pos_ - buf_start_);
  size_t avail = static_cast<size_t>(buf_start_ + buf_len_ - pos_);
  uint64_t x = 0;
  for (size_t i = 0; i < 10; ++i) {
    if (i >= avail) {
      return ErrStatus(ErrorTag::kTruncated,
                       "offset 0x%" PRIx64 ": %.*s at offset 0x%" PRIx64
                       " is truncated: the trace ends inside a value (file size %" PRIu64 ")",
                       start, static_cast<int>(TypeName(type).size()), TypeName(type).data(),
                       record_offset, in_->size());
    }
    uint8_t b = p[i];
    x |= static_cast<uint64_t>(b & 0x7f) << (7 * i);  // bits past 63 drop, as in Go
    if ((b & 0x80) == 0) {
      pos_ += i + 1;
      *v = x;
      return OkStatus();
    }
  }
  return ErrStatus(ErrorTag::kCorrupt,
                   "offset 0x%" PRIx64 ": bad varint in %.*s at offset 0x%" PRIx64
                   ": want at most 10 bytes, found 10 bytes with the continuation bit set",
                   start, static_cast<int>(TypeName(type).size()), TypeName(type).data(),
                   record_offset);
}

Status RawReader::ReadString(uint64_t len, std::string* out, bool keep, EventType type,
                             uint64_t record_offset) {
  if (pos_ + len > end_) {
    return ErrStatus(ErrorTag::kTruncated,
                     "offset 0x%" PRIx64 ": %.*s at offset 0x%" PRIx64
                     " is truncated: want %" PRIu64 " string bytes, found %" PRIu64,
                     pos_, static_cast<int>(TypeName(type).size()), TypeName(type).data(),
                     record_offset, len, end_ > pos_ ? end_ - pos_ : 0);
  }
  if (keep) {
    out->resize(static_cast<size_t>(len));
    uint64_t done = 0;
    while (done < len) {
      size_t chunk = static_cast<size_t>(std::min<uint64_t>(len - done, buf_.size()));
      TT_RETURN_IF_ERROR(Fill(chunk));
      memcpy(out->data() + done, buf_.data() + (pos_ - buf_start_), chunk);
      pos_ += chunk;
      done += chunk;
    }
  } else {
    out->clear();
    pos_ += len;
  }
  return OkStatus();
}

// Decodes an ordinary event record straight from the buffer when at least 128 bytes are there
// (an event record is at most 1 + 10 + 8 × 10 bytes). Anything unusual (strings, stacks, UserLog,
// a length or count that is off) goes to NextSlow(), which produces the exact error.
bool RawReader::NextFast(RawRecord* rec) {
  const uint8_t* const start = FastPeek();
  if (start == nullptr) return false;
  const uint8_t* p = start;
  const uint8_t b = *p++;
  const int typ = b & 0x3f;
  const int want = want_values_[typ];
  if (want < 0) return false;
  int narg = (b >> 6) + 1;
  int inline_args = 4;
  if (version_ < 1007) {
    ++narg;
    ++inline_args;
  }
  auto varint = [&p](uint64_t* v) { return DecodeVarint(&p, v); };
  size_t n = 0;
  if (narg < inline_args) {
    if (narg != want) return false;
    for (int i = 0; i < narg; ++i) {
      if (!varint(&rec->small[n++])) return false;
    }
  } else {
    uint64_t len = 0;
    if (!varint(&len) || len > 90) return false;
    const uint8_t* const vstart = p;
    while (static_cast<uint64_t>(p - vstart) < len) {
      if (n >= RawRecord::kSmall || !varint(&rec->small[n++])) return false;
    }
    if (static_cast<uint64_t>(p - vstart) != len || static_cast<int>(n) != want) return false;
  }
  rec->type = static_cast<EventType>(typ);
  rec->offset = pos_;
  rec->n = n;
  rec->big.clear();
  rec->str.clear();
  pos_ += static_cast<uint64_t>(p - start);
  return true;
}

Status RawReader::Next(RawRecord* rec, bool want_strings) {
  if (NextFast(rec)) return OkStatus();
  return NextSlow(rec, want_strings);
}

Status RawReader::NextSlow(RawRecord* rec, bool want_strings) {
  const uint64_t off0 = pos_;
  TT_RETURN_IF_ERROR(Fill(1));
  if (pos_ >= buf_start_ + buf_len_) {
    return ErrStatus(ErrorTag::kTruncated, "offset 0x%" PRIx64 ": unexpected end of trace", pos_);
  }
  const uint8_t b = buf_[pos_ - buf_start_];
  ++pos_;
  const int typ = b & 0x3f;
  int narg = (b >> 6) + 1;
  int inline_args = 4;
  if (version_ < 1007) {
    ++narg;
    ++inline_args;
  }
  rec->offset = off0;
  rec->Clear();
  rec->str.clear();
  if (typ == 0 || typ >= static_cast<int>(EventType::kCount) ||
      format::kEventSpecs[typ].min_version > version_) {
    return ErrStatus(ErrorTag::kCorrupt,
                     "offset 0x%" PRIx64 ": unknown event type %d (header byte 0x%02x) in a "
                     "version %d trace",
                     off0, typ, b, version_);
  }
  const auto type = static_cast<EventType>(typ);
  rec->type = type;
  if (type == EventType::kString) {
    // String dictionary entry: id, length, bytes (spec §1.5).
    uint64_t id = 0, len = 0;
    TT_RETURN_IF_ERROR(ReadVarint(&id, type, off0));
    if (id == 0) {
      return ErrStatus(ErrorTag::kCorrupt,
                       "offset 0x%" PRIx64 ": String record has invalid id 0 (0 is reserved)",
                       off0);
    }
    TT_RETURN_IF_ERROR(ReadVarint(&len, type, off0));
    if (len == 0) {
      return ErrStatus(ErrorTag::kCorrupt,
                       "offset 0x%" PRIx64 ": String record %" PRIu64 " has invalid length 0",
                       off0, id);
    }
    if (len > 1000000) {
      return ErrStatus(ErrorTag::kCorrupt,
                       "offset 0x%" PRIx64 ": String record %" PRIu64
                       " has too large length %" PRIu64 " (want <= 1000000)",
                       off0, id, len);
    }
    rec->Push(id);
    return ReadString(len, &rec->str, want_strings, type, off0);
  }
  if (narg < inline_args) {
    for (int i = 0; i < narg; ++i) {
      uint64_t v = 0;
      TT_RETURN_IF_ERROR(ReadVarint(&v, type, off0));
      rec->Push(v);
    }
  } else {
    uint64_t len = 0;
    TT_RETURN_IF_ERROR(ReadVarint(&len, type, off0));
    const uint64_t start = pos_;
    if (len > in_->size() - std::min(in_->size(), start)) {
      return ErrStatus(ErrorTag::kTruncated,
                       "offset 0x%" PRIx64 ": %.*s is truncated: its length says %" PRIu64
                       " bytes, the trace has %" PRIu64 " left",
                       off0, static_cast<int>(format::Spec(type).name.size()),
                       format::Spec(type).name.data(), len, in_->size() - std::min(in_->size(), start));
    }
    // A legal record has at most 2 + 4*1000 values (a stack); stop a hostile length early
    // instead of collecting gigabytes of values.
    const size_t max_values = type == EventType::kStack ? 2 + 4 * 1000 : 8;
    while (pos_ - start < len) {
      if (rec->n >= max_values) {
        return ErrStatus(ErrorTag::kCorrupt,
                         "offset 0x%" PRIx64 ": %.*s has too many values: its length says %" PRIu64
                         " bytes, more than %zu values",
                         off0, static_cast<int>(format::Spec(type).name.size()),
                         format::Spec(type).name.data(), len, max_values);
      }
      uint64_t v = 0;
      TT_RETURN_IF_ERROR(ReadVarint(&v, type, off0));
      rec->Push(v);
    }
    if (pos_ - start != len) {
      return ErrStatus(ErrorTag::kCorrupt,
                       "offset 0x%" PRIx64 ": %.*s has wrong length: want %" PRIu64
                       " bytes of values, found %" PRIu64,
                       off0, static_cast<int>(format::Spec(type).name.size()),
                       format::Spec(type).name.data(), len, pos_ - start);
    }
  }
  if (type == EventType::kUserLog) {
    // The message follows the length-prefixed part (spec §1.9 "UserLog layout").
    uint64_t len = 0;
    TT_RETURN_IF_ERROR(ReadVarint(&len, type, off0));
    if (len > 1000000) {
      return ErrStatus(ErrorTag::kCorrupt,
                       "offset 0x%" PRIx64 ": UserLog message has too large length %" PRIu64
                       " (want <= 1000000)",
                       off0, len);
    }
    rec->str_offset = pos_;
    TT_RETURN_IF_ERROR(ReadString(len, &rec->str, true, type, off0));
  }
  // Value count check (spec §1.4, §1.9).
  if (type != EventType::kStack) {
    const int want = format::WireValueCount(type, version_);
    if (static_cast<int>(rec->n) != want) {
      return ErrStatus(ErrorTag::kCorrupt,
                       "offset 0x%" PRIx64 ": %.*s has wrong number of arguments: want %d, got %zu",
                       off0, static_cast<int>(format::Spec(type).name.size()),
                       format::Spec(type).name.data(), want, rec->n);
    }
  }
  return OkStatus();
}

}  // namespace tracetool::parser::internal
