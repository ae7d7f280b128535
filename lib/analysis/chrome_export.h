// ChromeTraceWriter: the trace as Catapult / Chrome "trace event" JSON, the format of Go 1.19's
// `go tool trace` viewer (its /jsontrace, spec §8.4), which chrome://tracing and
// https://ui.perfetto.dev open as they are.
//
// Same content as Go's proc-oriented view of the whole trace: a slice per goroutine execution
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
#include <string>
#include <unordered_map>
#include <vector>

#include "lib/parser/event.h"
#include "lib/parser/flat_map.h"
#include "lib/parser/reader.h"
#include "lib/parser/status.h"

namespace tracetool::analysis {

class ChromeTraceWriter {
 public:
  explicit ChromeTraceWriter(const parser::Reader* reader) : reader_(reader) {}

  // Each call appends JSON to *out; the caller flushes it whenever it likes.
  void Begin(std::string* out);
  // Errors are Go's state-tracking errors (a goroutine in an unexpected state).
  Status OnEvent(const parser::Event& ev, std::string* out);
  // Closes what is still open at `last_ts`, then writes the footer and the stack frames.
  void Finish(int64_t last_ts, std::string* out);

  uint64_t events_written() const { return written_; }

 private:
  enum GState : uint8_t { kDead, kRunnable, kRunning, kWaiting, kWaitingGC, kNumStates };
  struct Mark {  // the start of a slice still open
    int64_t ts = 0;
    int64_t p = 0;
    uint32_t stack = 0;
  };
  struct GInfo {
    uint8_t state = kDead;
    bool system = false;
    bool named = false;
    uint32_t create_fn = 0;  // string id of the start function
    // The current execution slice.
    bool running = false;
    Mark run;
    uint64_t label = 0;  // GoStartLabel's label string id (0: none)
    // The P of the event that made it runnable (GoCreate, GoUnblock, GoSysExit): the flow's tail.
    int64_t flow_p = 0;
    // Mark assist (spec §8.4 step 3): the assist's own slice, open until its end or the run's end.
    bool in_assist = false;
    bool assist_open = false;
    Mark assist;
    bool assist_run_ended = false;  // the run ended first: the slice ends there unless the done
    int64_t assist_go_finish = 0;   // event comes at the very same time
    uint32_t assist_go_finish_stack = 0;
    // A run that started inside an assist: "MARK ASSIST (resumed...)".
    bool resumed = false;
    bool resumed_done = false;
    int64_t last_end = 0;  // the end of its last execution slice
    uint32_t last_end_stack = 0;
    int64_t resumed_done_ts = 0;
    uint32_t resumed_done_stack = 0;
  };
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
  void EmitObject(const Object& o, std::string* out);
  Status SetState(uint64_t g, GInfo* info, GState from, GState to, const parser::Event& ev);
  void CloseRun(uint64_t g, GInfo* info, int64_t end_ts, uint32_t end_stack, std::string* out);
  void EmitAssist(const Mark& m, const char* name, int64_t end_ts, uint32_t end_stack,
                  std::string* out);
  void EmitSlice(std::string_view name, const Mark& m, int64_t end_ts, uint32_t end_stack,
                 std::string_view args_json, std::string* out);
  void EmitInstant(std::string_view name, std::string_view cat, int64_t ts, int64_t p,
                   uint32_t stack, std::string_view args_json, std::string* out);
  void EmitCounters(int64_t ts, std::string* out);
  void BeginEvent(std::string* out);
  uint32_t FrameId(uint32_t stack_id);
  uint64_t StwKey(const parser::Event& ev) const;
  std::string GoroutineName(uint64_t g, const GInfo& info) const;

  const parser::Reader* const reader_;
  uint64_t written_ = 0;
  parser::FlatMap<GInfo> gs_;
  int64_t gstates_[kNumStates] = {};
  int64_t prev_gstates_[kNumStates] = {};
  int64_t prunning_ = 0, insyscall_ = 0, insyscall_runtime_ = 0;
  int64_t prev_threads_[3] = {};
  uint64_t heap_alloc_ = 0, next_gc_ = 0;
  uint64_t prev_heap_[2] = {};
  int64_t max_proc_ = 0;
  uint64_t flow_seq_ = 0;
  bool gc_open_ = false;
  struct Stw {
    Mark start;
    uint64_t kind;
  };
  parser::FlatMap<Stw> stws_;  // open STWs: one per P before version 1010, else one (key 0)
  parser::FlatMap<Mark> sweeps_;  // by P (as unsigned)
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
