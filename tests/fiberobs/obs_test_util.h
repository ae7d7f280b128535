// Shared helpers for the lib/fiber observability tests: capturing what the runtime writes to
// fd 2 (GODEBUG output goes there with write(2), as Go's print does), and GODEBUG scoping.
#ifndef TRACETOOL_TESTS_FIBEROBS_OBS_TEST_UTIL_H_
#define TRACETOOL_TESTS_FIBEROBS_OBS_TEST_UTIL_H_

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace tracetool::fiber::testing {

// Redirects fd 2 into a temporary file until Finish().
class StderrCapture {
 public:
  StderrCapture() {
    fflush(stderr);
    saved_ = dup(2);
    file_ = tmpfile();
    dup2(fileno(file_), 2);
  }
  ~StderrCapture() { Finish(); }
  std::string Finish() {
    if (file_ == nullptr) return text_;
    fflush(stderr);
    dup2(saved_, 2);
    close(saved_);
    rewind(file_);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), file_)) > 0) text_.append(buf, n);
    fclose(file_);
    file_ = nullptr;
    return text_;
  }

 private:
  int saved_ = -1;
  FILE* file_ = nullptr;
  std::string text_;
};

// Sets GODEBUG for the scope (Run() reads it at start).
class ScopedGodebug {
 public:
  explicit ScopedGodebug(const char* value) { setenv("GODEBUG", value, 1); }
  ~ScopedGodebug() { unsetenv("GODEBUG"); }
};

inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    out.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

inline bool StartsWith(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace tracetool::fiber::testing

#endif  // TRACETOOL_TESTS_FIBEROBS_OBS_TEST_UTIL_H_
