// PerfettoTraceWriter: the trace as a native Perfetto protobuf trace (perfetto.protos.Trace, a
// sequence of TracePackets), for https://ui.perfetto.dev and Perfetto's trace_processor.
//
// A sink of ViewerModel (viewer_model.h), as ChromeTraceWriter is: the same content (the
// proc-oriented view of Go 1.19's viewer), laid out on
// Perfetto tracks, all children of one process track ("Go trace", pid 1):
//   "Proc N"          per P: goroutine executions ("G<id> <start function>" or the label) and
//                     instants (proc start/stop, syscall, user logs, task start/end, CPU samples,
//                     the go/unblock/sysexit events that start a flow); also "Network", "Timers",
//                     "Syscalls" for the unblocks of the special Ps
//   "Proc N assist"   per P: MARK ASSIST slices (cut at the end of the goroutine's run, resumed
//                     at its next start, as Go's viewer does)
//   "Proc N sweep"    per P: SWEEP slices
//   "GC", "STW"       GC cycles and stop-the-world phases (one STW track per P before Go 1.10)
//   "Thread <id>"     per M (a thread track, tid = the M id of ProcStart): "Proc N" while it holds P
//   "G<id> <fn>"      per goroutine, under "Goroutines": its states as slices ("running",
//                     "runnable", "waiting: chan receive", "syscall", ...), back to back
//   counters          Goroutines running / runnable / GC waiting, Threads running / in syscall,
//                     Heap allocated, Heap goal: written when they change
// Flows: the event that made a goroutine runnable (GoCreate, GoUnblock, GoSysExit) is an instant
// on the emitter's P track that starts a flow; the execution slice it caused terminates it. A
// goroutine made runnable but never started within the trace leaves a one-ended flow, which
// Perfetto ignores (as Go draws no arrow).
//
// Encoding: by hand (no protobuf library), field numbers from Perfetto's protos; the subset used
// is tests/analysis/perfetto_trace.proto, which the tests decode the output with. Slices are
// TYPE_SLICE_BEGIN / TYPE_SLICE_END pairs written when they open and close, so packets come in
// time order. Event names that repeat are interned (up to kMaxInterned names per trace, the rest
// written inline), on one packet sequence.
//
// Streams: memory follows the live state (goroutines alive, open slices, tracks seen), not the
// event count. Slices still open at the trace's end are closed at its last event.
#ifndef TRACETOOL_LIB_ANALYSIS_PERFETTO_EXPORT_H_
#define TRACETOOL_LIB_ANALYSIS_PERFETTO_EXPORT_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "lib/analysis/viewer_model.h"
#include "lib/parser/event.h"
#include "lib/parser/reader.h"
#include "lib/parser/status.h"

namespace tracetool::analysis {

class PerfettoTraceWriter final : public ViewerWriter {
 public:
  explicit PerfettoTraceWriter(const parser::Reader* reader)
      : ViewerWriter(reader), reader_(reader) {}

  // Appends the first packets (process, goroutines and counter tracks); then OnEvent() for every
  // event and Finish() (ViewerWriter).
  void Begin(std::string* out);

  uint64_t packets_written() const { return packets_; }

  static constexpr size_t kMaxInterned = 4096;

 private:
  enum class TrackKind : uint8_t {
    kProcess = 1, kProc, kAssist, kSweep, kThread, kGoroutine, kGoroutines, kCounter, kGC, kStw,
  };
  enum Counter : uint8_t {
    kCtrRunning, kCtrRunnable, kCtrGCWaiting, kCtrThreads, kCtrInSyscall, kCtrHeap, kCtrGoal,
    kNumCounters
  };

  // ViewerSink: every row but kGoAssist (Go's deferred assist slices; the kAssist spans are the
  // same assists in stream order), as begin/end packets when they happen.
  void GoroutineRow(uint64_t g, std::string_view name) override;
  void SliceBegin(ViewerRow row, uint64_t key, const ViewerMark& start, std::string_view name,
                  const ViewerFlow* flow) override;
  void SliceEnd(ViewerRow row, uint64_t key, const ViewerMark& start, std::string_view name,
                int64_t end_ts, uint32_t end_stack, std::span<const ViewerArg> args,
                ViewerEnd why) override;
  void CompleteSlice(ViewerRow, const ViewerMark&, std::string_view, int64_t,
                     uint32_t) override {}
  void Instant(ViewerRow row, uint64_t key, const ViewerMark& at, std::string_view name,
               std::string_view category, std::span<const ViewerArg> args) override;
  void FlowSource(const ViewerFlow& flow) override;
  void Counters(int64_t ts, const ViewerCounters& now, uint32_t changed) override;
  void End(int64_t) override {}

  static uint64_t Uuid(TrackKind kind, uint64_t id) {
    return (static_cast<uint64_t>(kind) << 56) ^ id;
  }
  // The row's track uuid, writing its descriptor on first use.
  uint64_t Track(ViewerRow row, uint64_t key);
  uint64_t ProcTrack(TrackKind kind, int64_t p);
  void Descriptor(uint64_t uuid, uint64_t parent, std::string_view name);

  // TrackEvent packets. type: 1 begin, 2 end, 3 instant, 4 counter.
  void Event(int64_t ts, uint64_t track, int type, std::string_view name, uint64_t flow,
             uint64_t terminating_flow, int64_t counter);
  void Packet(const std::string& body);

  const parser::Reader* const reader_;
  uint64_t packets_ = 0;
  std::string body_, te_, interned_;  // scratch buffers
  std::unordered_set<uint64_t> tracks_;  // uuids whose descriptor is out (but goroutines')
  std::unordered_map<std::string, uint64_t> names_;  // interned event names → iid
};

}  // namespace tracetool::analysis

#endif  // TRACETOOL_LIB_ANALYSIS_PERFETTO_EXPORT_H_
