#include "lib/parser/input.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
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

// Reads all of fd into a feed.
Status FeedFromFd(int fd, InputFeed* feed) {
  std::vector<uint8_t> buf(kChunk);
  while (true) {
    ssize_t r = read(fd, buf.data(), buf.size());
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrStatus(ErrorTag::kIo, "read error: %s", strerror(errno));
    }
    if (r == 0) return OkStatus();
    TT_RETURN_IF_ERROR(feed->Feed({buf.data(), static_cast<size_t>(r)}));
  }
}

}  // namespace

// ---- InputFeed: bytes pushed in any pieces → an Input (spooled, decompressed on the way) ----

struct InputFeed::Impl {
  // Output below this size stays in memory; beyond it everything goes to the spool file.
  static constexpr size_t kMemoryLimit = 16 << 20;

  std::string name;
  std::string memory;       // the output so far, while small
  bool spooling = false;    // the output went to `spool`
  Spool spool;
  bool started = false;  // the compression was detected and the spool created
  bool finished = false;
  Status error;
  Compression compression = Compression::kNone;
  std::vector<uint8_t> head;  // the first bytes, until there are enough to detect the format
  std::vector<uint8_t> out;   // decompression buffer
  uint64_t consumed = 0;      // compressed bytes fed to the decompressor
  ZSTD_DStream* zstd = nullptr;
  size_t zstd_last = 1;       // last ZSTD_decompressStream result: 0 at a frame's end
  z_stream zs{};
  bool zs_init = false;
  int zs_ret = Z_OK;

  ~Impl() {
    if (zstd != nullptr) ZSTD_freeDStream(zstd);
    if (zs_init) inflateEnd(&zs);
  }

  Status Start() {
    started = true;
    compression = Detect(head.data(), head.size());
    if (compression != Compression::kNone) out.resize(256 << 10);
    if (compression == Compression::kZstd) {
      zstd = ZSTD_createDStream();
      ZSTD_initDStream(zstd);
    } else if (compression == Compression::kGzip) {
      // 15 + 32: gzip (and zlib) headers; concatenated members are handled in Gzip().
      if (inflateInit2(&zs, 15 + 32) != Z_OK) return ErrStatus(ErrorTag::kIo, "cannot initialise zlib");
      zs_init = true;
    }
    std::vector<uint8_t> first;
    first.swap(head);
    return Write(first.data(), first.size());
  }

  // Emit(): uncompressed output, to memory while small, else to the spool file.
  Status Emit(const uint8_t* p, size_t n) {
    if (!spooling && memory.size() + n <= kMemoryLimit) {
      memory.append(reinterpret_cast<const char*>(p), n);
      return OkStatus();
    }
    if (!spooling) {
      TT_RETURN_IF_ERROR(spool.Create());
      spooling = true;
      TT_RETURN_IF_ERROR(spool.Write(reinterpret_cast<const uint8_t*>(memory.data()), memory.size()));
      std::string().swap(memory);
    }
    return spool.Write(p, n);
  }

  Status Write(const uint8_t* p, size_t n) {
    switch (compression) {
      case Compression::kNone:
        return Emit(p, n);
      case Compression::kZstd:
        return Zstd(p, n);
      case Compression::kGzip:
        return Gzip(p, n);
    }
    return OkStatus();
  }

  Status Zstd(const uint8_t* p, size_t n) {
    ZSTD_inBuffer ib{p, n, 0};
    while (ib.pos < ib.size) {
      ZSTD_outBuffer ob{out.data(), out.size(), 0};
      zstd_last = ZSTD_decompressStream(zstd, &ob, &ib);
      if (ZSTD_isError(zstd_last)) {
        return ErrStatus(ErrorTag::kCorrupt, "zstd stream is corrupt near compressed offset %llu: %s",
                         static_cast<unsigned long long>(consumed + ib.pos),
                         ZSTD_getErrorName(zstd_last));
      }
      TT_RETURN_IF_ERROR(Emit(out.data(), ob.pos));
    }
    consumed += n;
    return OkStatus();
  }

  Status Gzip(const uint8_t* p, size_t n) {
    zs.next_in = const_cast<uint8_t*>(p);
    zs.avail_in = static_cast<uInt>(n);
    while (zs.avail_in > 0) {
      if (zs_ret == Z_STREAM_END) inflateReset(&zs);  // the next gzip member
      zs.next_out = out.data();
      zs.avail_out = static_cast<uInt>(out.size());
      zs_ret = inflate(&zs, Z_NO_FLUSH);
      if (zs_ret != Z_OK && zs_ret != Z_STREAM_END && zs_ret != Z_BUF_ERROR) {
        return ErrStatus(ErrorTag::kCorrupt, "gzip stream is corrupt near compressed offset %llu: %s",
                         static_cast<unsigned long long>(consumed + (n - zs.avail_in)),
                         zs.msg ? zs.msg : "inflate error");
      }
      TT_RETURN_IF_ERROR(Emit(out.data(), out.size() - zs.avail_out));
      if (zs_ret == Z_BUF_ERROR) break;
    }
    consumed += n;
    return OkStatus();
  }
};

InputFeed::InputFeed(std::string name) : impl_(std::make_unique<Impl>()) {
  impl_->name = std::move(name);
}
InputFeed::~InputFeed() = default;

Status InputFeed::Feed(std::span<const uint8_t> bytes) {
  Impl& f = *impl_;
  if (!f.error.ok()) return f.error;
  if (f.finished) return f.error = ErrStatus(ErrorTag::kIo, "InputFeed: Feed() after Finish()");
  Status st;
  if (!f.started) {
    // Up to 4 bytes decide the format (zstd's magic is the longest).
    const size_t take = std::min(bytes.size(), 4 - std::min<size_t>(4, f.head.size()));
    f.head.insert(f.head.end(), bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(take));
    bytes = bytes.subspan(take);
    if (f.head.size() < 4) return OkStatus();
    st = f.Start();
  }
  if (st.ok() && !bytes.empty()) st = f.Write(bytes.data(), bytes.size());
  if (!st.ok()) f.error = st;
  return st;
}

Status InputFeed::Finish(std::unique_ptr<Input>* out) {
  Impl& f = *impl_;
  if (!f.error.ok()) return f.error;
  if (f.finished) return f.error = ErrStatus(ErrorTag::kIo, "InputFeed: Finish() called twice");
  if (!f.started) TT_RETURN_IF_ERROR(f.error = f.Start());  // fewer than 4 bytes in all
  f.finished = true;
  if (f.compression == Compression::kZstd && f.zstd_last != 0) {
    return f.error = ErrStatus(ErrorTag::kTruncated,
                               "zstd stream is truncated after %llu compressed bytes",
                               static_cast<unsigned long long>(f.consumed));
  }
  if (f.compression == Compression::kGzip && f.zs_ret != Z_STREAM_END) {
    return f.error = ErrStatus(ErrorTag::kTruncated,
                               "gzip stream is truncated after %llu compressed bytes",
                               static_cast<unsigned long long>(f.consumed));
  }
  if (f.spooling) {
    *out = f.spool.Finish(f.name);
  } else {
    *out = std::make_unique<MemoryInput>(std::move(f.memory), f.name);
  }
  return OkStatus();
}

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
  // A pipe, a character device or a compressed file: spool it (decompressing on the way).
  InputFeed feed(name);
  Status s = FeedFromFd(fd, &feed);
  close(fd);
  TT_RETURN_IF_ERROR(s);
  return feed.Finish(out);
}

Status Input::FromMemory(std::string data, std::unique_ptr<Input>* out) {
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  if (Detect(p, data.size()) == Compression::kNone) {
    *out = std::make_unique<MemoryInput>(std::move(data), "<memory>");
    return OkStatus();
  }
  InputFeed feed("<memory>");
  TT_RETURN_IF_ERROR(feed.Feed({p, data.size()}));
  return feed.Finish(out);
}

}  // namespace tracetool::parser
