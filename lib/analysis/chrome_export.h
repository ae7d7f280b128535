// ChromeTraceWriter: the trace as Catapult / Chrome "trace event" JSON, the format of Go 1.19's
// `go tool trace` viewer (its /jsontrace, spec §8.4), which chrome://tracing and
// https://ui.perfetto.dev open as they are.
//
// A sink of ViewerModel (viewer_model.h), which computes the timeline. Same content as Go's
// proc-oriented view of the whole trace: a slice per goroutine execution
// (named "G<id> <start function>", or its label), GC, STW, sweep and mark-assist slices,
// instants (proc start/stop, syscall, user logs and tasks, CPU samples), flow arrows from the
// creating / unblocking / syscall-exit event to the start they cause, the Threads, Heap and
// Goroutines counters, and a stack-frame tree. Unlike Go, it streams: nothing is split into
// 100 MB ranges, and memory follows the live state (running goroutines, open slices, stack-frame
// tree), not the event count.
//
// Order: a slice is written when it closes (Go writes it where it opens), so events come in a
// different order than Go's and stack-frame and flow ids are numbered differently; viewers sort
// by time. tests/analysis/chrome_oracle.py compares the two after resolving those ids.
// Where Go's tool would crash (an execution slice that never ends: the trace stopped while the
// goroutine ran), the slice ends at the trace's last event.
#ifndef TRACETOOL_LIB_ANALYSIS_CHROME_EXPORT_H_
#define TRACETOOL_LIB_ANALYSIS_CHROME_EXPORT_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lib/analysis/viewer_model.h"
#include "lib/parser/event.h"
#include "lib/parser/reader.h"
#include "lib/parser/status.h"

namespace tracetool::analysis {

class ChromeTraceWriter final : public ViewerWriter {
 public:
  explicit ChromeTraceWriter(const parser::Reader* reader)
      : ViewerWriter(reader), reader_(reader) {}

  // Appends the header; then OnEvent() for every event and Finish() (ViewerWriter), which also
  // writes the footer and the stack frames.
  void Begin(std::string* out);

  uint64_t events_written() const { return written_; }

 private:
  struct Frame {
    uint32_t parent;  // frame id, 0: root
    uint32_t fn;      // string id
    uint64_t line;
  };
  struct Object {  // an event object of the procs section (pid 0)
    std::string_view name = {};
    const char* ph = "";
    int64_t ts = 0;     // ns
    double dur = 0;     // µs; 0: none
    int64_t tid = 0;    // P
    uint64_t id = 0;    // flow id
    uint32_t stack = 0, end_stack = 0;
    std::string_view args = {};  // JSON object text
    std::string_view cat = {};
  };

  // ViewerSink: Go's viewer has no thread or goroutine-state rows, draws a slice when it closes
  // (GC, STW and sweep slices only at their end event), a flow where it ends, and mark assists
  // as the model's kGoAssist slices.
  void GoroutineRow(uint64_t, std::string_view) override {}
  void SliceBegin(ViewerRow row, uint64_t key, const ViewerMark& start, std::string_view name,
                  const ViewerFlow* flow) override;
  void SliceEnd(ViewerRow row, uint64_t key, const ViewerMark& start, std::string_view name,
                int64_t end_ts, uint32_t end_stack, std::span<const ViewerArg> args,
                ViewerEnd why) override;
  void CompleteSlice(ViewerRow row, const ViewerMark& start, std::string_view name,
                     int64_t end_ts, uint32_t end_stack) override;
  void Instant(ViewerRow row, uint64_t key, const ViewerMark& at, std::string_view name,
               std::string_view category, std::span<const ViewerArg> args) override;
  void FlowSource(const ViewerFlow&) override {}
  void Counters(int64_t ts, const ViewerCounters& now, uint32_t changed) override;
  void End(int64_t max_proc) override;

  void EmitObject(const Object& o);
  void EmitSlice(std::string_view name, const ViewerMark& m, int64_t end_ts, uint32_t end_stack,
                 std::span<const ViewerArg> args);
  void BeginEvent();
  uint32_t FrameId(uint32_t stack_id);

  const parser::Reader* const reader_;
  std::string args_;            // scratch
  uint64_t written_ = 0;
  uint64_t flow_seq_ = 0;  // flows drawn (Go numbers them in the order it draws them)
  // Stack-frame prefix tree (spec §8.4 step 5): (parent id, pc) → id; frames_[id - 1].
  std::unordered_map<uint64_t, uint32_t> stack_leaf_;  // stack id → leaf frame id
  struct ChildKey {
    uint32_t parent;
    uint64_t pc;
    bool operator==(const ChildKey&) const = default;
  };
  struct ChildKeyHash {
    size_t operator()(const ChildKey& k) const {
      return std::hash<uint64_t>()(k.pc * 0x9E3779B97F4A7C15ull ^ k.parent);
    }
  };
  std::unordered_map<ChildKey, uint32_t, ChildKeyHash> children_;
  std::vector<Frame> frames_;
};

}  // namespace tracetool::analysis

#endif  // TRACETOOL_LIB_ANALYSIS_CHROME_EXPORT_H_
