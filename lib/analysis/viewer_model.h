// ViewerModel: the proc-oriented timeline of Go 1.19's trace viewer (cmd/trace's /jsontrace
// generator, spec §8.4), computed once from the event stream and drawn by a ViewerSink.
//
//   struct MySink : ViewerSink { ... };
//   ViewerModel model(reader);
//   for each event: TT_RETURN_IF_ERROR(model.OnEvent(ev, sink));
//   model.Finish(last_ts, sink);
//
// The model owns everything both exports share: the goroutine state machine with Go's
// state-tracking errors, the counters (goroutines by state, threads, heap), which slice opens or
// closes on which row (per-P executions, GC, STW, sweep, thread and goroutine-state rows), the
// instants (proc start/stop, syscall, user logs and tasks, CPU samples) and the flows from the
// event that made a goroutine runnable to the execution it caused. A sink only encodes: the
// Chrome JSON writer (chrome_export.h) writes a complete slice when it closes, the Perfetto
// writer (perfetto_export.h) writes begin/end packets in stream order and draws the rows Go's
// viewer lacks (threads, goroutine states).
//
// Mark assists are the one place where the two differ by design: Go's viewer decides an assist
// slice's end and name only later (at the assist's done event, which may come at the same time
// as the end of the run, or at the goroutine's next run), so the model reports those as complete
// slices on row kGoAssist (what the Chrome sink draws), and reports the same assists as
// stream-ordered spans on row kAssist (begin at the assist or at the resumed run, end at the
// run's end or the done event; what the Perfetto sink draws).
//
// Rejected: one sink call per event type (each sink would re-derive slices from states, which is
// the duplicated state machine this replaces); buffering slices so that every sink sees complete
// slices only (the Perfetto output streams in time order, and memory must follow the live state).
#ifndef TRACETOOL_LIB_ANALYSIS_VIEWER_MODEL_H_
#define TRACETOOL_LIB_ANALYSIS_VIEWER_MODEL_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "lib/parser/event.h"
#include "lib/parser/flat_map.h"
#include "lib/parser/reader.h"
#include "lib/parser/status.h"

namespace tracetool::analysis {

// A row of the timeline. `key` in the sink calls says which one of its kind.
enum class ViewerRow : uint8_t {
  kProc,       // key: P (also GC, Network, Timers, Syscalls: Go's pseudo-Ps)
  kAssist,     // key: P; mark-assist spans, stream-ordered
  kGoAssist,   // key: P; mark-assist slices as Go's viewer draws them (CompleteSlice only)
  kSweep,      // key: P
  kGC,         // key: format::kGCP
  kStw,        // key: P before Go 1.10 (one STW per P), else 0
  kThread,     // key: the M id of ProcStart; slice "Proc N" while the M holds P N
  kGoroutine,  // key: goroutine id; its states ("running", "runnable", "waiting: ...") back to back
};

// Where something starts or happens: time (ns), P (Go's viewer row: the event's P) and stack.
struct ViewerMark {
  int64_t ts = 0;
  int64_t p = 0;
  uint32_t stack = 0;
};

struct ViewerArg {
  const char* key;
  uint64_t value;
};

// A flow from the event that made a goroutine runnable ("go", "unblock", "sysexit") to the start
// of its execution. Ids count the sources from 1.
struct ViewerFlow {
  uint64_t id = 0;
  const char* name = "";
  ViewerMark source;
};

enum class ViewerEnd : uint8_t {
  kEnded,     // its end event
  kReplaced,  // a new one opened on the same row before the end (STW, sweep, thread)
  kTraceEnd,  // still open at the trace's last event
};

struct ViewerCounters {
  enum Index : uint8_t {
    kDead, kRunnable, kRunning, kWaiting, kWaitingGC,  // goroutines by state
    kThreadsRunning, kInSyscall, kInSyscallRuntime,    // Ps running, threads in syscalls
    kHeapAlloc, kNextGC,                               // bytes
    kNum
  };
  int64_t v[kNum] = {};
};

class ViewerSink {
 public:
  virtual ~ViewerSink() = default;
  // The first use of goroutine g's kGoroutine row; `name` is "G<id> <start function>" or "G<id>".
  virtual void GoroutineRow(uint64_t g, std::string_view name) = 0;
  // A slice opens. `flow` (or null) is the flow this slice terminates (kProc executions only).
  virtual void SliceBegin(ViewerRow row, uint64_t key, const ViewerMark& start,
                          std::string_view name, const ViewerFlow* flow) = 0;
  // The slice SliceBegin opened on the same row closes; `start` and `name` repeat the begin's.
  virtual void SliceEnd(ViewerRow row, uint64_t key, const ViewerMark& start,
                        std::string_view name, int64_t end_ts, uint32_t end_stack,
                        std::span<const ViewerArg> args, ViewerEnd why) = 0;
  // A slice known only when it ends (row kGoAssist), not preceded by SliceBegin.
  virtual void CompleteSlice(ViewerRow row, const ViewerMark& start, std::string_view name,
                             int64_t end_ts, uint32_t end_stack) = 0;
  virtual void Instant(ViewerRow row, uint64_t key, const ViewerMark& at, std::string_view name,
                       std::string_view category, std::span<const ViewerArg> args) = 0;
  // The event that will be the flow's tail happened (the flow ends at a later SliceBegin, if the
  // goroutine starts within the trace).
  virtual void FlowSource(const ViewerFlow& flow) = 0;
  // After every event; bit i of `changed` is set when now.v[i] differs from the previous call's
  // (all are 0 before the first call).
  virtual void Counters(int64_t ts, const ViewerCounters& now, uint32_t changed) = 0;
  // The end of the trace: the last of the calls. `max_proc` is the highest real P seen.
  virtual void End(int64_t max_proc) = 0;
};

// The name of P row `p`: "Proc N", or "GC", "Network", "Timers", "Syscalls" for Go's pseudo-Ps.
std::string ViewerProcName(int64_t p);

class ViewerModel {
 public:
  // `reader` (borrowed) resolves stacks and strings.
  explicit ViewerModel(const parser::Reader* reader) : reader_(reader) {}

  // Errors are Go's state-tracking errors (a goroutine in an unexpected state).
  Status OnEvent(const parser::Event& ev, ViewerSink& sink);
  // Closes what is still open at `last_ts` (in goroutine-id, then P order), then calls sink.End.
  void Finish(int64_t last_ts, ViewerSink& sink);

  // "G<id> <start function>" ("G<id>" if its creation had no stack), "" if its creation is not in
  // the trace.
  std::string GoroutineName(uint64_t g) const;

 private:
  enum GState : uint8_t { kDead, kRunnable, kRunning, kWaiting, kWaitingGC };
  struct GInfo {
    uint8_t state = kDead;
    bool system = false;
    bool named = false;
    bool row_announced = false;  // GoroutineRow was called
    bool state_open = false;     // a slice is open on its kGoroutine row
    bool running = false;        // an execution slice is open (run)
    bool in_assist = false;      // between GCMarkAssistStart and Done
    bool assist_span_open = false;  // a kAssist span is open (assist_span)
    uint32_t create_fn = 0;      // string id of the start function
    ViewerMark run;
    uint64_t label = 0;          // GoStartLabel's label string id (0: none)
    std::string_view state_name;  // of the open kGoroutine slice (static strings)
    ViewerMark state_start;
    ViewerFlow flow;             // pending: made runnable, not yet started (id 0: none)
    ViewerMark assist_span;
    // Go's viewer's assist (spec §8.4 step 3): open from the assist's start until its done event,
    // cut at the end of the run unless done comes at the very same time.
    bool go_assist_open = false;
    bool go_assist_run_ended = false;
    ViewerMark go_assist;
    int64_t go_assist_finish = 0;
    uint32_t go_assist_finish_stack = 0;
    // A run that started inside an assist: "MARK ASSIST (resumed...)".
    bool resumed = false;
    bool resumed_done = false;
    int64_t resumed_done_ts = 0;
    uint32_t resumed_done_stack = 0;
    int64_t last_end = 0;  // the end of its last execution slice
    uint32_t last_end_stack = 0;
  };
  struct Open {  // an open GC, STW or sweep slice
    ViewerMark start;
    uint64_t kind = 0;  // STW kind
  };

  Status SetState(uint64_t g, GInfo* info, GState from, GState to, const parser::Event& ev);
  std::string GoroutineName(uint64_t g, const GInfo& info) const;
  std::string RunName(uint64_t g, const GInfo& info) const;
  // The goroutine's state slice: the open one ends at ts, one named `name` begins (none if
  // name is empty).
  void StateSlice(uint64_t g, GInfo* info, int64_t ts, std::string_view name, ViewerEnd why,
                  ViewerSink& sink);
  void StartRun(uint64_t g, GInfo* info, const parser::Event& ev, ViewerSink& sink);
  void EndRun(uint64_t g, GInfo* info, int64_t ts, uint32_t stack, ViewerEnd why,
              ViewerSink& sink);
  void MakeRunnable(GInfo* info, const parser::Event& ev, const char* flow_name,
                    ViewerSink& sink);
  uint64_t StwKey(const parser::Event& ev) const;
  std::string StwName(uint64_t kind) const;

  const parser::Reader* const reader_;
  parser::FlatMap<GInfo> gs_;
  ViewerCounters counters_, prev_counters_;
  int64_t max_proc_ = 0;
  uint64_t flow_seq_ = 0;
  bool gc_open_ = false;
  Open gc_;
  parser::FlatMap<Open> stws_;     // open STWs by StwKey
  parser::FlatMap<Open> sweeps_;   // by P (as unsigned)
  parser::FlatMap<Open> threads_;  // P → the M holding it (kind), while its "Proc N" slice is open
};

// The plumbing of a sink that owns its model and appends to the caller's buffer: the public
// interface of ChromeTraceWriter and PerfettoTraceWriter. Derived classes override the sink calls
// and write to out_.
class ViewerWriter : private ViewerSink {
 public:
  explicit ViewerWriter(const parser::Reader* reader) : model_(reader) {}

  // Each call appends to *out; the caller flushes it whenever it likes. Errors are Go's
  // state-tracking errors (a goroutine in an unexpected state).
  Status OnEvent(const parser::Event& ev, std::string* out) {
    out_ = out;
    return model_.OnEvent(ev, *this);
  }
  // Closes what is still open at `last_ts`.
  void Finish(int64_t last_ts, std::string* out) {
    out_ = out;
    model_.Finish(last_ts, *this);
  }

 protected:
  std::string* out_ = nullptr;  // the current call's output

 private:
  ViewerModel model_;
};

}  // namespace tracetool::analysis

#endif  // TRACETOOL_LIB_ANALYSIS_VIEWER_MODEL_H_
