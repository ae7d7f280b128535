#include "lib/parser/status.h"

#include <cstdio>
#include <cstdlib>

namespace tracetool {

std::string_view TagName(ErrorTag tag) {
  switch (tag) {
    case ErrorTag::kOk: return "ok";
    case ErrorTag::kIo: return "io";
    case ErrorTag::kNotTrace: return "not-a-trace";
    case ErrorTag::kUnsupportedVersion: return "unsupported-version";
    case ErrorTag::kTruncated: return "truncated";
    case ErrorTag::kCorrupt: return "corrupt";
    case ErrorTag::kInconsistent: return "inconsistent";
  }
  return "unknown";
}

const std::string& Status::message() const {
  static const std::string kEmpty;
  return rep_ ? rep_->message : kEmpty;
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  // Built with append: GCC 12 warns (-Wrestrict, a false positive) on the operator+ chain.
  std::string out = "[";
  out.append(TagName(rep_->tag));
  out.append("] ");
  out.append(rep_->message);
  return out;
}

Status ErrStatus(ErrorTag tag, const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  return Status(tag, buf);
}

void CheckFailed(const char* file, int line, const char* cond) {
  fprintf(stderr, "tracetool: internal error: %s:%d: check failed: %s\n", file, line, cond);
  abort();
}

}  // namespace tracetool
