// GoStateMachine: the goroutine-state engine every analysis builds on.
//
// It turns the validated event stream into closed intervals of one goroutine's life, each with
// the event that opened it (and that event's stack and emitter) and the event that closed it:
//
//   kRunning   GoStart            → GoEnd/GoStop/GoSched/GoPreempt/GoSleep/GoBlock*/GoSysBlock
//   kRunnable  GoCreate/GoUnblock/GoSched/GoPreempt/GoSysExit → the next GoStart
//   kWaiting   GoSleep/GoBlock*/GoWaiting → the GoUnblock that wakes it (reason: the opening type)
//   kSyscall   GoSysCall          → GoSysExit, for syscalls that blocked
//
// These are exactly Go 1.19's event links (spec §5.1), so the analyses that `go tool trace`
// derives from links (the -pprof modes, spec §6.2) are small filters over the intervals. Intervals
// whose closing event never came (the trace ended first) are not reported, as Go reports no link.
//
// Not here: per-goroutine statistics with Go's "since" markers (issue 6 adds them on this engine).
#ifndef TRACETOOL_LIB_ANALYSIS_GO_STATE_MACHINE_H_
#define TRACETOOL_LIB_ANALYSIS_GO_STATE_MACHINE_H_

#include <cstdint>

#include "lib/parser/event.h"

namespace tracetool::analysis {

enum class GoState : uint8_t {
  kRunning,   // on a P, executing
  kRunnable,  // ready, waiting for a P (scheduler latency)
  kWaiting,   // blocked; `begin_type` says on what
  kSyscall,   // inside a system call that blocked
};

struct Interval {
  GoState state;
  parser::EventType begin_type;  // the event that opened the interval
  parser::EventType end_type;    // the event that closed it
  int64_t begin_ts;              // ns
  int64_t end_ts;                // ns
  uint32_t stack_id;             // the opening event's stack (0: none)
  uint64_t actor;                // goroutine that emitted the opening event (the unblocker, for
                                 // kRunnable after GoUnblock/GoCreate)
  uint64_t g;                    // the goroutine whose state this is
  parser::SchedRule sched_rule;  // kRunnable: the closing GoStart's rule for -pprof=sched
};

class IntervalSink {
 public:
  virtual ~IntervalSink() = default;
  virtual void OnInterval(const Interval& iv) = 0;
};

class GoStateMachine {
 public:
  // OnEvent() reports to *sink the interval that ev closes, if any.
  static void OnEvent(const parser::Event& ev, IntervalSink* sink);
};

}  // namespace tracetool::analysis

#endif  // TRACETOOL_LIB_ANALYSIS_GO_STATE_MACHINE_H_
