// Reader: a streaming reader of Go execution traces: versions 1005–1021 (Go 1.5 – 1.21) here,
// Go 1.22 – 1.26 ("v2", lib/parser/v2/reader_v2.h) through the same interface.
//
// It yields the trace's events one at a time, in Go's final order (merged across Ps with the
// per-goroutine sequence numbers, syscall exits moved to their real time, futile wake-ups removed,
// validated by the goroutine/P state machine, links set), exactly as Go 1.19's internal/trace
// produces them (../shared/spec/go-trace-v1-format.md §1–§5).
//
//   std::unique_ptr<Reader> r;
//   TT_RETURN_IF_ERROR(Reader::Open(std::move(input), &r));
//   Event ev;
//   bool done = false;
//   while (true) { TT_RETURN_IF_ERROR(r->Next(&ev, &done)); if (done) break; Use(ev); }
//
// Memory is bounded by the trace's live state (per-P cursors, goroutines, strings, stacks,
// CPU samples), never by its number of events. Not thread-safe; one consumer (the reader may
// run part of its own work on a helper thread: ReaderOptions).
#ifndef TRACETOOL_LIB_PARSER_READER_H_
#define TRACETOOL_LIB_PARSER_READER_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "lib/parser/event.h"
#include "lib/parser/input.h"
#include "lib/parser/status.h"

namespace tracetool::parser {

// Valid-but-lossy conditions, counted instead of failing (STYLE.md P5). All are informational.
struct ParseStats {
  uint64_t bytes = 0;            // size of the uncompressed trace
  uint64_t batches = 0;          // batch headers
  uint64_t events = 0;           // timeline events read from the file (before futile removal)
  uint64_t strings = 0;          // string records
  uint64_t stacks = 0;           // stack records with at least one frame
  uint64_t cpu_samples = 0;      // CPUSample events (held in memory for sorting, spec §3.1)
  uint64_t futile_removed = 0;   // events dropped as futile wake-ups (spec §3.6)
  uint64_t stack_redefined = 0;  // stack records that replaced an earlier one with the same id
};

struct ReaderOptions {
  // Threads for reading: 1 (or 0, the default) = everything on the caller's thread; 2 = the merge
  // of per-P batches runs on a second thread (same events, same order). Two threads were slower
  // on the 2-vCPU machine we measure on (README "Speed and memory"), hence not the default.
  int threads = 0;
};

class Reader {
 public:
  virtual ~Reader() = default;

  // Open() reads the header and indexes the whole input (one sequential pass over its bytes:
  // batch offsets, strings, stacks, frequency). Structural corruption anywhere in the file is
  // reported here, with the offset. The Reader takes ownership of the input.
  static Status Open(std::unique_ptr<Input> input, std::unique_ptr<Reader>* out,
                     const ReaderOptions& opts = {});

  // Next() stores the next event in *ev, or sets *done at the end. After an error the reader is
  // finished (further calls return the same error). ev->message is valid until the next call.
  virtual Status Next(Event* ev, bool* done) = 0;

  // Trace version, e.g. 1019 for "go 1.19 trace".
  virtual int version() const = 0;
  // String(id) is the string with that id, "" if undefined (spec §1.5).
  virtual std::string_view String(uint64_t id) const = 0;
  // Stack(id) is the stack's frames, leaf first; empty if the id is 0 or undefined.
  virtual std::span<const Frame> Stack(uint32_t id) const = 0;
  virtual const ParseStats& stats() const = 0;
};

}  // namespace tracetool::parser

#endif  // TRACETOOL_LIB_PARSER_READER_H_
