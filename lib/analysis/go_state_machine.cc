// Which transitions count as what (Go 1.19 semantics, spec §5.1 and §6.2).
//
// The reader already pairs each event with the one it completes (Event::from, Go's Link seen
// from its target), so the engine needs no per-goroutine table of its own: an interval is
// (from → ev), classified by the opening event's type. Notable choices, all Go's:
//   * GoSched/GoPreempt → GoStart is kRunnable but `-pprof=sched` ignores it (Go counts only
//     unblock/create → start); a later scheduler-latency analysis may include it.
//   * GoSysExit → GoStart is kRunnable too; the syscall itself is GoSysCall → GoSysExit, only when
//     the syscall blocked (a non-blocking syscall has no link).
//   * GoBlockGC counts as a sync wait (`-pprof=sync` includes it).
//   * GoWaiting (blocked when tracing started) → GoUnblock is kWaiting with reason GoWaiting.
#include "lib/analysis/go_state_machine.h"

namespace tracetool::analysis {

using parser::EventType;

void GoStateMachine::OnEvent(const parser::Event& ev, IntervalSink* sink) {
  const parser::LinkFrom& from = ev.from;
  if (from.type == EventType::kNone) return;
  Interval iv;
  iv.begin_type = from.type;
  iv.end_type = ev.type;
  iv.begin_ts = from.ts;
  iv.end_ts = ev.ts;
  iv.stack_id = from.stack_id;
  iv.actor = from.g;
  iv.sched_rule = ev.sched_rule;
  switch (from.type) {
    case EventType::kGoStart:
    case EventType::kGoStartLabel:
      iv.state = GoState::kRunning;
      iv.g = from.g;
      break;
    case EventType::kGoCreate:
    case EventType::kGoUnblock:
      if (ev.type != EventType::kGoStart && ev.type != EventType::kGoStartLabel) return;
      iv.state = GoState::kRunnable;
      iv.g = ev.g;
      break;
    case EventType::kGoSched:
    case EventType::kGoPreempt:
    case EventType::kGoSysExit:
      iv.state = GoState::kRunnable;
      iv.g = ev.g;
      break;
    case EventType::kGoSysCall:
      iv.state = GoState::kSyscall;
      iv.g = from.g;
      break;
    case EventType::kGoWaiting:
      iv.state = GoState::kWaiting;
      iv.g = from.g;
      break;
    default:
      if (!format::IsGoBlock(from.type)) return;  // GC, STW, tasks, regions: not G states
      iv.state = GoState::kWaiting;
      iv.g = from.g;
      break;
  }
  sink->OnInterval(iv);
}

}  // namespace tracetool::analysis
