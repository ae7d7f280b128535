// Output: a buffered writer to standard output or to a file that appears only on success
// (written to FILE.tmp-XXXX, renamed by Commit()), so a failed run never leaves a partial file.
#ifndef TRACETOOL_CMD_TRACETOOL_OUTPUT_H_
#define TRACETOOL_CMD_TRACETOOL_OUTPUT_H_

#include <string>
#include <string_view>

namespace tracetool::cli {

class Output {
 public:
  ~Output();
  // Open() targets `path` ("" or "-": standard output). Returns false with *err set on failure.
  bool Open(const std::string& path, std::string* err);
  // Write() buffers; returns false once the sink failed (see broken_pipe()/error()).
  bool Write(std::string_view s);
  std::string& buffer() { return buf_; }
  bool FlushIfLarge() { return buf_.size() < kFlushAt || Flush(); }
  bool Flush();
  // Commit() flushes and, for a file, renames it into place.
  bool Commit();
  bool broken_pipe() const { return broken_pipe_; }
  const std::string& error() const { return error_; }

 private:
  static constexpr size_t kFlushAt = 1 << 20;
  int fd_ = 1;
  std::string path_, tmp_path_;
  std::string buf_;
  bool broken_pipe_ = false;
  std::string error_;
};

}  // namespace tracetool::cli

#endif  // TRACETOOL_CMD_TRACETOOL_OUTPUT_H_
