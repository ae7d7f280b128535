// Status: the result of an operation on untrusted input (STYLE.md P4, P5).
//
// Library code never throws and never prints: it returns a Status whose tag classifies the
// failure (the CLI maps tags to exit codes, tests match on tags) and whose message names where and
// what ("offset 0x1a2f: EvStack has bad number of frames: want <= 1000, got 4096").
#ifndef TRACETOOL_LIB_PARSER_STATUS_H_
#define TRACETOOL_LIB_PARSER_STATUS_H_

#include <cstdarg>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace tracetool {

enum class ErrorTag : uint8_t {
  kOk,
  kIo,                  // the input could not be read (missing file, directory, read error)
  kNotTrace,            // not a Go execution trace at all
  kUnsupportedVersion,  // a Go trace of a version this build does not read
  kTruncated,           // the input ends inside a record
  kCorrupt,             // malformed bytes: bad varint, bad length, unknown type, bad ids
  kInconsistent,        // well-formed records that break the trace's state machine or ordering
};

// Stable, greppable name of a tag ("corrupt", "truncated", ...).
std::string_view TagName(ErrorTag tag);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorTag tag, std::string message)
      : rep_(tag == ErrorTag::kOk ? nullptr : new Rep{tag, std::move(message)}) {}
  Status(const Status& o) : rep_(o.rep_ ? new Rep(*o.rep_) : nullptr) {}
  Status(Status&& o) noexcept : rep_(o.rep_) { o.rep_ = nullptr; }
  Status& operator=(const Status& o) {
    if (this != &o) {
      delete rep_;
      rep_ = o.rep_ ? new Rep(*o.rep_) : nullptr;
    }
    return *this;
  }
  Status& operator=(Status&& o) noexcept {
    std::swap(rep_, o.rep_);
    return *this;
  }
  ~Status() { delete rep_; }

  // The OK status is one null pointer: it is returned once per event on the hot path.
  bool ok() const { return rep_ == nullptr; }
  ErrorTag tag() const { return rep_ ? rep_->tag : ErrorTag::kOk; }
  const std::string& message() const;
  // "[corrupt] offset 0x10: ..." for logs and tests.
  std::string ToString() const;

 private:
  struct Rep {
    ErrorTag tag;
    std::string message;
  };
  Rep* rep_ = nullptr;
};

inline Status OkStatus() { return Status(); }

// printf-style constructors.
Status ErrStatus(ErrorTag tag, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

#define TT_RETURN_IF_ERROR(expr)      \
  do {                                \
    ::tracetool::Status _st = (expr); \
    if (!_st.ok()) return _st;        \
  } while (0)

// Go's int64 arithmetic wraps around; C++ signed overflow is undefined. Times and sequence
// numbers from the file are untrusted, so they are added and subtracted with these.
inline int64_t WrapAdd(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
inline int64_t WrapSub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}
// Go's float64 → int64 conversion on amd64 (CVTTSD2SI): truncation, and INT64_MIN when the value
// is out of range or NaN (a C++ cast would be undefined there).
inline int64_t GoFloatToInt64(double d) {
  if (!(d > -9223372036854775808.0 && d < 9223372036854775808.0)) return INT64_MIN;
  return static_cast<int64_t>(d);
}

// Always-on invariant check for bugs in our own code (never for input validation).
[[noreturn]] void CheckFailed(const char* file, int line, const char* cond);
#define TT_CHECK(cond) \
  ((cond) ? (void)0 : ::tracetool::CheckFailed(__FILE__, __LINE__, #cond))

}  // namespace tracetool

#endif  // TRACETOOL_LIB_PARSER_STATUS_H_
