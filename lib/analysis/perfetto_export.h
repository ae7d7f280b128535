// PerfettoTraceWriter: the trace as a native Perfetto protobuf trace (perfetto.protos.Trace, a
// sequence of TracePackets), for https://ui.perfetto.dev and Perfetto's trace_processor.
//
// Same content as ChromeTraceWriter (the proc-oriented view of Go 1.19's viewer), laid out on
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
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "lib/parser/event.h"
#include "lib/parser/flat_map.h"
#include "lib/parser/reader.h"
#include "lib/parser/status.h"

namespace tracetool::analysis {

class PerfettoTraceWriter {
 public:
  explicit PerfettoTraceWriter(const parser::Reader* reader) : reader_(reader) {}

  // Each call appends bytes to *out; the caller flushes it whenever it likes.
  void Begin(std::string* out);
  // Errors are Go's state-tracking errors (a goroutine in an unexpected state), as
  // ChromeTraceWriter reports them.
  Status OnEvent(const parser::Event& ev, std::string* out);
  // Closes what is still open at `last_ts`.
  void Finish(int64_t last_ts, std::string* out);

  uint64_t packets_written() const { return packets_; }

  static constexpr size_t kMaxInterned = 4096;

 private:
  enum GState : uint8_t { kDead, kRunnable, kRunning, kWaiting, kWaitingGC, kNumStates };
  struct GInfo {
    uint8_t state = kDead;
    bool system = false;
    bool named = false;
    bool track_written = false;  // its TrackDescriptor is out
    bool state_open = false;     // a state slice is open on its track
    bool running = false;        // an execution slice is open on P track run_p
    bool in_assist = false;      // between GCMarkAssistStart and Done
    bool assist_open = false;    // an assist slice is open on assist_p's assist track
    uint32_t create_fn = 0;      // string id of the start function
    int64_t run_p = 0;
    int64_t assist_p = 0;
    uint64_t flow = 0;  // the flow that its next execution slice terminates (0: none)
  };
  enum class TrackKind : uint8_t {
    kProcess = 1, kProc, kAssist, kSweep, kThread, kGoroutine, kGoroutines, kCounter, kGC, kStw,
  };
  enum Counter : uint8_t {
    kCtrRunning, kCtrRunnable, kCtrGCWaiting, kCtrThreads, kCtrInSyscall, kCtrHeap, kCtrGoal,
    kNumCounters
  };

  static uint64_t Uuid(TrackKind kind, uint64_t id) {
    return (static_cast<uint64_t>(kind) << 56) ^ id;
  }
  // Track uuids, writing the descriptor on first use.
  uint64_t ProcTrack(TrackKind kind, int64_t p, std::string* out);
  uint64_t ThreadTrack(uint64_t tid, std::string* out);
  uint64_t GoroutineTrack(uint64_t g, GInfo* info, std::string* out);
  uint64_t StwTrack(uint64_t key, std::string* out);
  void Descriptor(uint64_t uuid, uint64_t parent, std::string_view name, std::string* out);

  // TrackEvent packets. type: 1 begin, 2 end, 3 instant, 4 counter.
  void Event(int64_t ts, uint64_t track, int type, std::string_view name, uint64_t flow,
             uint64_t terminating_flow, int64_t counter, std::string* out);
  void SliceBegin(int64_t ts, uint64_t track, std::string_view name, std::string* out,
                  uint64_t terminating_flow = 0) {
    Event(ts, track, 1, name, 0, terminating_flow, 0, out);
  }
  void SliceEnd(int64_t ts, uint64_t track, std::string* out) {
    Event(ts, track, 2, {}, 0, 0, 0, out);
  }
  void Instant(int64_t ts, uint64_t track, std::string_view name, std::string* out,
               uint64_t flow = 0) {
    Event(ts, track, 3, name, flow, 0, 0, out);
  }
  void Packet(const std::string& body, std::string* out);

  Status SetState(uint64_t g, GInfo* info, GState from, GState to, const parser::Event& ev);
  // The goroutine's state slice: the current one ends at ts, a new one named `name` begins
  // (none if name is empty: the goroutine ended).
  void StateSlice(uint64_t g, GInfo* info, int64_t ts, std::string_view name, std::string* out);
  void StartRun(uint64_t g, GInfo* info, const parser::Event& ev, std::string* out);
  void EndRun(GInfo* info, int64_t ts, std::string* out);
  void FlowSource(const parser::Event& ev, GInfo* target, const char* name, std::string* out);
  void Counters(int64_t ts, std::string* out);
  std::string GoroutineName(uint64_t g, const GInfo& info) const;
  uint64_t StwKey(const parser::Event& ev) const;

  const parser::Reader* const reader_;
  uint64_t packets_ = 0;
  std::string body_, te_, interned_;  // scratch buffers
  parser::FlatMap<GInfo> gs_;
  int64_t gstates_[kNumStates] = {};
  int64_t prunning_ = 0, insyscall_ = 0, insyscall_runtime_ = 0;
  uint64_t heap_alloc_ = 0, next_gc_ = 0;
  int64_t prev_counters_[kNumCounters] = {};
  bool counters_written_[kNumCounters] = {};
  uint64_t flow_seq_ = 0;
  bool gc_open_ = false;
  parser::FlatMap<bool> stws_;         // open STW slices by StwKey
  parser::FlatMap<bool> sweeps_;       // open SWEEP slices by P
  parser::FlatMap<uint64_t> threads_;  // P → the M (thread id) holding it, while "Proc N" is open
  std::unordered_set<uint64_t> tracks_;  // uuids whose descriptor is out
  std::unordered_map<std::string, uint64_t> names_;  // interned event names → iid
};

}  // namespace tracetool::analysis

#endif  // TRACETOOL_LIB_ANALYSIS_PERFETTO_EXPORT_H_
