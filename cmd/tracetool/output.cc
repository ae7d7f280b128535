#include "cmd/tracetool/output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

namespace tracetool::cli {

Output::~Output() {
  if (!tmp_path_.empty()) unlink(tmp_path_.c_str());
  if (fd_ > 2) close(fd_);
}

bool Output::Open(const std::string& path, std::string* err) {
  if (path.empty() || path == "-") return true;
  path_ = path;
  struct stat st;
  if (lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    // A device (-o /dev/null), FIFO or symlink: written in place. Renaming a temporary file over
    // it would replace it with a regular file (as root, /dev/null itself).
    if (S_ISDIR(st.st_mode)) {
      *err = path + ": cannot write output: is a directory";
      return false;
    }
    fd_ = open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd_ < 0) {
      *err = path + ": cannot open output file: " + strerror(errno);
      fd_ = 1;
      return false;
    }
    return true;
  }
  std::string tmpl = path + ".tmp-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  fd_ = mkstemp(buf.data());
  if (fd_ < 0) {
    *err = path + ": cannot create output file: " + strerror(errno);
    fd_ = 1;
    return false;
  }
  tmp_path_ = buf.data();
  mode_t um = umask(0);  // mkstemp makes 0600; give the file the usual umask-based mode
  umask(um);
  fchmod(fd_, 0666 & ~um);
  return true;
}

bool Output::Write(std::string_view s) {
  buf_.append(s);
  return FlushIfLarge();
}

bool Output::Flush() {
  if (broken_pipe_ || !error_.empty()) return false;
  const char* p = buf_.data();
  size_t n = buf_.size();
  while (n > 0) {
    ssize_t w = write(fd_, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE) {
        broken_pipe_ = true;
      } else {
        error_ = std::string(path_.empty() ? "standard output" : path_) + ": write error: " +
                 strerror(errno);
      }
      buf_.clear();
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  buf_.clear();
  return true;
}

bool Output::Commit() {
  if (!Flush()) return false;
  if (tmp_path_.empty()) {
    if (fd_ > 2 && close(fd_) != 0) {  // Written in place (see Open).
      fd_ = -1;
      error_ = path_ + ": write error: " + strerror(errno);
      return false;
    }
    if (fd_ > 2) fd_ = -1;
    return true;
  }
  if (fsync(fd_) != 0 || close(fd_) != 0) {
    error_ = path_ + ": write error: " + strerror(errno);
    fd_ = -1;
    return false;
  }
  fd_ = -1;
  if (rename(tmp_path_.c_str(), path_.c_str()) != 0) {
    error_ = path_ + ": cannot rename into place: " + strerror(errno);
    return false;
  }
  tmp_path_.clear();
  return true;
}

}  // namespace tracetool::cli
