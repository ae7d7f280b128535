#include "lib/parser/input.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cstring>
#include <vector>

namespace tracetool::parser {
namespace {

// A regular file read in place with pread.
class FileInput final : public Input {
 public:
  FileInput(int fd, uint64_t size, std::string name) : fd_(fd), size_(size), name_(std::move(name)) {}
  ~FileInput() override { close(fd_); }
  uint64_t size() const override { return size_; }
  const std::string& name() const override { return name_; }
  Status ReadAt(uint64_t offset, void* buf, size_t n, size_t* got) const override {
    *got = 0;
    auto* out = static_cast<uint8_t*>(buf);
    while (*got < n && offset + *got < size_) {
      ssize_t r = pread(fd_, out + *got, n - *got, static_cast<off_t>(offset + *got));
      if (r < 0) {
        if (errno == EINTR) continue;
        return ErrStatus(ErrorTag::kIo, "read error at offset %llu: %s",
                         static_cast<unsigned long long>(offset + *got), strerror(errno));
      }
      if (r == 0) break;  // the file shrank under us: report what we have
      *got += static_cast<size_t>(r);
    }
    return OkStatus();
  }

 private:
  const int fd_;
  const uint64_t size_;
  const std::string name_;
};

class MemoryInput final : public Input {
 public:
  MemoryInput(std::string data, std::string name) : data_(std::move(data)), name_(std::move(name)) {}
  uint64_t size() const override { return data_.size(); }
  const std::string& name() const override { return name_; }
  Status ReadAt(uint64_t offset, void* buf, size_t n, size_t* got) const override {
    *got = 0;
    if (offset >= data_.size()) return OkStatus();
    *got = std::min<size_t>(n, data_.size() - offset);
    memcpy(buf, data_.data() + offset, *got);
    return OkStatus();
  }

 private:
  const std::string data_;
  const std::string name_;
};

enum class Compression { kNone, kGzip, kZstd };

Compression Detect(const uint8_t* p, size_t n) {
  if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b) return Compression::kGzip;
  if (n >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd) {
    return Compression::kZstd;
  }
  return Compression::kNone;
}

// Pulls bytes from somewhere: a file descriptor or a memory buffer.
class ByteStream {
 public:
  virtual ~ByteStream() = default;
  // Read() returns bytes read, 0 at end, -1 on error (errno set).
  virtual ssize_t Read(uint8_t* buf, size_t n) = 0;
};

class FdStream final : public ByteStream {
 public:
  explicit FdStream(int fd) : fd_(fd) {}
  ssize_t Read(uint8_t* buf, size_t n) override {
    while (true) {
      ssize_t r = read(fd_, buf, n);
      if (r < 0 && errno == EINTR) continue;
      return r;
    }
  }

 private:
  int fd_;
};

class MemStream final : public ByteStream {
 public:
  explicit MemStream(const std::string& s) : s_(s) {}
  ssize_t Read(uint8_t* buf, size_t n) override {
    size_t k = std::min(n, s_.size() - pos_);
    memcpy(buf, s_.data() + pos_, k);
    pos_ += k;
    return static_cast<ssize_t>(k);
  }

 private:
  const std::string& s_;
  size_t pos_ = 0;
};

// Writes decompressed or piped bytes to an unlinked temporary file.
class Spool {
 public:
  Status Create() {
    const char* dir = getenv("TMPDIR");
    std::string tmpl = std::string(dir && *dir ? dir : "/tmp") + "/tracetool-XXXXXX";
    std::vector<char> path(tmpl.begin(), tmpl.end());
    path.push_back('\0');
    fd_ = mkstemp(path.data());
    if (fd_ < 0) {
      return ErrStatus(ErrorTag::kIo, "cannot create a temporary file in %s: %s",
                       dir && *dir ? dir : "/tmp", strerror(errno));
    }
    unlink(path.data());
    return OkStatus();
  }
  Status Write(const uint8_t* p, size_t n) {
    while (n > 0) {
      ssize_t w = write(fd_, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        return ErrStatus(ErrorTag::kIo, "cannot write the temporary copy of the input: %s",
                         strerror(errno));
      }
      p += w;
      n -= static_cast<size_t>(w);
      size_ += static_cast<uint64_t>(w);
    }
    return OkStatus();
  }
  std::unique_ptr<Input> Finish(const std::string& name) {
    auto in = std::make_unique<FileInput>(fd_, size_, name);
    fd_ = -1;
    return in;
  }
  ~Spool() {
    if (fd_ >= 0) close(fd_);
  }

 private:
  int fd_ = -1;
  uint64_t size_ = 0;
};

constexpr size_t kChunk = 1 << 20;

Status ReadError(const std::string& /*name*/) {
  return ErrStatus(ErrorTag::kIo, "read error: %s", strerror(errno));
}

// Copies `first` (already read) and the rest of `src` into a spool, decompressing if needed.
Status SpoolStream(ByteStream* src, std::vector<uint8_t> first, const std::string& name,
                   std::unique_ptr<Input>* out) {
  Spool spool;
  TT_RETURN_IF_ERROR(spool.Create());
  Compression c = Detect(first.data(), first.size());
  std::vector<uint8_t> in(kChunk), outbuf(kChunk);
  if (c == Compression::kNone) {
    TT_RETURN_IF_ERROR(spool.Write(first.data(), first.size()));
    while (true) {
      ssize_t r = src->Read(in.data(), in.size());
      if (r < 0) return ReadError(name);
      if (r == 0) break;
      TT_RETURN_IF_ERROR(spool.Write(in.data(), static_cast<size_t>(r)));
    }
  } else if (c == Compression::kZstd) {
    ZSTD_DStream* z = ZSTD_createDStream();
    ZSTD_initDStream(z);
    std::vector<uint8_t> pending = std::move(first);
    size_t last_ret = 1;
    uint64_t consumed = 0;
    bool eof = false;
    while (true) {
      if (pending.empty()) {
        ssize_t r = src->Read(in.data(), in.size());
        if (r < 0) {
          ZSTD_freeDStream(z);
          return ReadError(name);
        }
        if (r == 0) {
          eof = true;
        } else {
          pending.assign(in.begin(), in.begin() + r);
        }
      }
      if (eof) break;
      ZSTD_inBuffer ib{pending.data(), pending.size(), 0};
      while (ib.pos < ib.size) {
        ZSTD_outBuffer ob{outbuf.data(), outbuf.size(), 0};
        last_ret = ZSTD_decompressStream(z, &ob, &ib);
        if (ZSTD_isError(last_ret)) {
          Status st = ErrStatus(ErrorTag::kCorrupt,
                                "zstd stream is corrupt near compressed offset %llu: %s",
                                static_cast<unsigned long long>(consumed + ib.pos),
                                ZSTD_getErrorName(last_ret));
          ZSTD_freeDStream(z);
          return st;
        }
        Status st = spool.Write(outbuf.data(), ob.pos);
        if (!st.ok()) {
          ZSTD_freeDStream(z);
          return st;
        }
      }
      consumed += ib.size;
      pending.clear();
    }
    ZSTD_freeDStream(z);
    if (last_ret != 0) {
      return ErrStatus(ErrorTag::kTruncated, "zstd stream is truncated after %llu compressed bytes",
                       static_cast<unsigned long long>(consumed));
    }
  } else {
    z_stream zs{};
    // 15 + 32: accept gzip (and zlib) headers; concatenated members are handled below.
    if (inflateInit2(&zs, 15 + 32) != Z_OK) {
      return ErrStatus(ErrorTag::kIo, "cannot initialise zlib");
    }
    std::vector<uint8_t> pending = std::move(first);
    int ret = Z_OK;
    uint64_t consumed = 0;
    while (true) {
      if (pending.empty()) {
        ssize_t r = src->Read(in.data(), in.size());
        if (r < 0) {
          inflateEnd(&zs);
          return ReadError(name);
        }
        if (r == 0) break;
        pending.assign(in.begin(), in.begin() + r);
      }
      zs.next_in = pending.data();
      zs.avail_in = static_cast<uInt>(pending.size());
      while (zs.avail_in > 0) {
        if (ret == Z_STREAM_END) inflateReset(&zs);  // next gzip member
        zs.next_out = outbuf.data();
        zs.avail_out = static_cast<uInt>(outbuf.size());
        ret = inflate(&zs, Z_NO_FLUSH);
        if (ret != Z_OK && ret != Z_STREAM_END && ret != Z_BUF_ERROR) {
          Status st = ErrStatus(ErrorTag::kCorrupt, "gzip stream is corrupt near compressed offset %llu: %s",
                                static_cast<unsigned long long>(consumed + (pending.size() - zs.avail_in)),
                                zs.msg ? zs.msg : "inflate error");
          inflateEnd(&zs);
          return st;
        }
        Status st = spool.Write(outbuf.data(), outbuf.size() - zs.avail_out);
        if (!st.ok()) {
          inflateEnd(&zs);
          return st;
        }
        if (ret == Z_BUF_ERROR) break;
      }
      consumed += pending.size();
      pending.clear();
    }
    inflateEnd(&zs);
    if (ret != Z_STREAM_END) {
      return ErrStatus(ErrorTag::kTruncated, "gzip stream is truncated after %llu compressed bytes",
                       static_cast<unsigned long long>(consumed));
    }
  }
  *out = spool.Finish(name);
  return OkStatus();
}

}  // namespace

Status Input::Open(const std::string& path, std::unique_ptr<Input>* out) {
  const bool is_stdin = path == "-";
  const std::string name = is_stdin ? "<stdin>" : path;
  int fd = is_stdin ? dup(0) : open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrStatus(ErrorTag::kIo, "cannot open: %s", strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return ErrStatus(ErrorTag::kIo, "cannot stat: %s", strerror(e));
  }
  if (S_ISDIR(st.st_mode)) {
    close(fd);
    return ErrStatus(ErrorTag::kIo, "is a directory, not a trace file");
  }
  uint8_t magic[4];
  if (S_ISREG(st.st_mode)) {
    ssize_t r = pread(fd, magic, sizeof(magic), 0);
    if (r < 0) {
      int e = errno;
      close(fd);
      return ErrStatus(ErrorTag::kIo, "read error: %s", strerror(e));
    }
    if (Detect(magic, static_cast<size_t>(r)) == Compression::kNone) {
      *out = std::make_unique<FileInput>(fd, static_cast<uint64_t>(st.st_size), name);
      return OkStatus();
    }
    // Compressed file: read it from the start as a stream.
  }
  // A pipe, a character device or a compressed file: sniff the first bytes, then spool.
  std::vector<uint8_t> first(kChunk);
  FdStream src(fd);
  size_t have = 0;
  while (have < 4) {
    ssize_t r = src.Read(first.data() + have, first.size() - have);
    if (r < 0) {
      int e = errno;
      close(fd);
      return ErrStatus(ErrorTag::kIo, "read error: %s", strerror(e));
    }
    if (r == 0) break;
    have += static_cast<size_t>(r);
  }
  first.resize(have);
  Status s = SpoolStream(&src, std::move(first), name, out);
  close(fd);
  return s;
}

Status Input::FromMemory(std::string data, std::unique_ptr<Input>* out) {
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  if (Detect(p, data.size()) == Compression::kNone) {
    *out = std::make_unique<MemoryInput>(std::move(data), "<memory>");
    return OkStatus();
  }
  MemStream src(data);
  std::vector<uint8_t> first(kChunk);
  ssize_t r = src.Read(first.data(), first.size());
  first.resize(static_cast<size_t>(r));
  return SpoolStream(&src, std::move(first), "<memory>", out);
}

}  // namespace tracetool::parser
