// Input: the bytes of one trace, uncompressed, readable at any offset.
//
// The v1 reader needs two passes (the frequency, strings and stacks sit at the end of the file but
// are needed to print the first event), so it reads its input by offset. Regular files are read in
// place with pread; pipes and compressed data (zstd, gzip: detected by magic bytes) are first
// streamed into an unlinked temporary file, so memory never grows with the trace's size. Bytes
// that arrive by push (an upload) go through InputFeed, the same path.
//
//   std::unique_ptr<Input> in;
//   Status st = Input::Open("trace.out", &in);   // "-" reads standard input
#ifndef TRACETOOL_LIB_PARSER_INPUT_H_
#define TRACETOOL_LIB_PARSER_INPUT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "lib/parser/status.h"

namespace tracetool::parser {

class Input {
 public:
  virtual ~Input() = default;

  // Open() reads `path` ("-" for standard input). Failures: kIo (missing, unreadable, a
  // directory) or kCorrupt (a compressed stream that does not decompress).
  static Status Open(const std::string& path, std::unique_ptr<Input>* out);
  // FromMemory() wraps a copy of `data` (tests, fuzzing). Compressed data is decompressed.
  static Status FromMemory(std::string data, std::unique_ptr<Input>* out);

  // Total size in bytes.
  virtual uint64_t size() const = 0;
  // ReadAt() copies up to n bytes at offset into buf and sets *got; *got < n only at the end.
  virtual Status ReadAt(uint64_t offset, void* buf, size_t n, size_t* got) const = 0;
  // Name for messages: the path, or "<stdin>".
  virtual const std::string& name() const = 0;
};

// InputFeed: the push side. Bytes arrive in pieces of any size, split anywhere (a socket, an
// HTTP upload, a pipe read in chunks); compression is detected from the first bytes and undone on
// the way; up to 16 MiB stay in memory, beyond that everything goes to an unlinked temporary
// file, so memory stays bounded. Finish()
// hands over the Input for Reader::Open(). Input::Open uses it for pipes and compressed files.
//
//   InputFeed feed("upload");
//   while (more) TT_RETURN_IF_ERROR(feed.Feed(chunk));
//   std::unique_ptr<Input> in;
//   TT_RETURN_IF_ERROR(feed.Finish(&in));
//
// After an error every call returns it. Errors: kIo, kCorrupt (compressed data that does not
// decompress), kTruncated (a compressed stream that stops before its end).
class InputFeed {
 public:
  explicit InputFeed(std::string name);
  ~InputFeed();
  InputFeed(const InputFeed&) = delete;
  InputFeed& operator=(const InputFeed&) = delete;

  Status Feed(std::span<const uint8_t> bytes);
  Status Finish(std::unique_ptr<Input>* out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tracetool::parser

#endif  // TRACETOOL_LIB_PARSER_INPUT_H_
