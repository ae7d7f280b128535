// CriticalPath: one goroutine's timeline, and the chain of goroutines and events that determined
// when it ended (`tracetool -goroutine=ID`). Beyond Go's tool, which shows only the goroutine's
// own time breakdown.
//
// Timeline: the goroutine's intervals from the state engine (go_state_machine.h), in time order:
// running, runnable, waiting (with the blocking event as reason) and blocked-in-syscall, each
// wake-up with the goroutine that caused it (the GoUnblock / GoCreate emitter) and its stack.
//
// Critical path, defined: start at the goroutine's end E (its GoEnd; if it did not end, the end
// of its last recorded interval) and walk back in time to its creation C (its GoCreate), always
// answering "what was the path waiting for just before time t?":
//   * on a goroutine that was running, in a syscall, or waiting at t, that interval is on the
//     path (up to t) and the walk continues before it on the same goroutine;
//   * on a goroutine that was runnable at t after an unblock or a creation by another goroutine
//     U at time u, the runnable interval [u, t] is on the path, and then U's work: the walk jumps
//     to U at time u (U was running there, as it emitted the event) and goes on back from there.
//     A wait that was ended by a goroutine is therefore not itself on the path: the waker's work
//     up to the wake-up is. A wake-up from the runtime (network poller, timers: no goroutine)
//     leaves the wait on the path, on the waiting goroutine;
//   * after a yield, a preemption or a syscall exit, runnable time is on the path and the walk
//     stays on the goroutine.
// The path is a list of segments (goroutine, state, reason, [begin, end)) that tile [C, E]
// exactly, unless the walk meets a time no interval covers (before the trace started, or a
// goroutine whose state the trace does not show): it stops there and says so (`stopped`).
//
// Memory: the intervals of every goroutine that end after the target's creation and begin
// before its end are kept (about 32 bytes each), so a long-lived target in a huge trace costs
// memory in proportion to the trace section it spans.
#ifndef TRACETOOL_LIB_ANALYSIS_CRITICAL_PATH_H_
#define TRACETOOL_LIB_ANALYSIS_CRITICAL_PATH_H_

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "lib/analysis/go_state_machine.h"
#include "lib/parser/flat_map.h"
#include "lib/parser/reader.h"

namespace tracetool::analysis {

class CriticalPath final : public IntervalSink {
 public:
  struct Span {
    GoState state;
    parser::EventType reason;  // the opening event (the blocking event for waits)
    parser::EventType end_type;
    int64_t begin_ts, end_ts;
    uint64_t actor;     // runnable after GoUnblock/GoCreate: the goroutine that caused it
    uint32_t stack_id;  // the opening event's stack
  };
  struct Segment {
    uint64_t g;
    Span span;          // begin_ts/end_ts clipped to the part on the path
    bool jumped;        // the path continues (earlier) on span.actor at span.begin_ts
  };

  CriticalPath(const parser::Reader* reader, uint64_t target) : reader_(reader), target_(target) {}

  void OnEvent(const parser::Event& ev);
  void OnInterval(const Interval& iv) override;
  // Walks the path; `last_ts` is the trace's last event.
  void Finish(int64_t last_ts);

  bool found() const { return created_; }
  uint64_t target() const { return target_; }
  int64_t created_ts() const { return created_ts_; }
  uint64_t creator() const { return creator_; }
  bool ended() const { return ended_; }
  int64_t end_ts() const { return end_ts_; }
  const std::vector<Span>& timeline() const { return timeline_; }
  const std::vector<Segment>& path() const { return path_; }  // in time order
  const std::string& stopped() const { return stopped_; }    // why the walk stopped early ("")
  std::string Name(uint64_t g) const;                         // "G7 main.worker"
  std::string StackTop(uint32_t stack_id) const;              // "main.f file.go:12"
  const parser::Reader& reader() const { return *reader_; }

 private:
  // Index of g's interval covering t, preferring a running one; -1 if none.
  int64_t Locate(uint64_t g, int64_t t) const;

  const parser::Reader* const reader_;
  const uint64_t target_;
  bool created_ = false, ended_ = false;
  int64_t created_ts_ = 0, end_ts_ = 0;
  uint64_t creator_ = 0;
  parser::FlatMap<uint32_t> fn_;  // goroutine → start function's string id
  std::unordered_map<uint64_t, std::vector<Span>> spans_;
  std::vector<Span> timeline_;
  std::vector<Segment> path_;
  std::string stopped_;
};

std::string CriticalPathText(const CriticalPath& cp);
std::string CriticalPathJson(const CriticalPath& cp);
const char* GoStateName(GoState s);

}  // namespace tracetool::analysis

#endif  // TRACETOOL_LIB_ANALYSIS_CRITICAL_PATH_H_
