#include "lib/analysis/viewer_model.h"

#include <algorithm>
#include <cinttypes>
#include <vector>

#include "lib/analysis/goroutine_stats.h"
#include "lib/analysis/text_dump.h"

namespace tracetool::analysis {
namespace {

using format::EventType;

// What a goroutine waits on, by the event that made it wait (Go's block reasons).
std::string_view WaitName(EventType t) {
  switch (t) {
    case EventType::kGoSleep: return "waiting: sleep";
    case EventType::kGoBlockSend: return "waiting: chan send";
    case EventType::kGoBlockRecv: return "waiting: chan receive";
    case EventType::kGoBlockSelect: return "waiting: select";
    case EventType::kGoBlockSync: return "waiting: sync";
    case EventType::kGoBlockCond: return "waiting: sync.Cond";
    case EventType::kGoBlockNet: return "waiting: network";
    case EventType::kGoBlockGC: return "waiting: GC assist";
    case EventType::kGoStop: return "waiting: stopped";
    case EventType::kGoWaiting: return "waiting";
    default: return "waiting: blocked";
  }
}

ViewerMark MarkOf(const parser::Event& ev) { return ViewerMark{ev.ts, ev.p, ev.stack_id}; }

template <typename V>
std::vector<uint64_t> SortedKeys(const parser::FlatMap<V>& m) {
  std::vector<uint64_t> keys;
  m.ForEach([&](uint64_t k, const V&) { keys.push_back(k); });
  std::sort(keys.begin(), keys.end());
  return keys;
}

}  // namespace

std::string ViewerProcName(int64_t p) {
  switch (p) {
    case format::kGCP: return "GC";
    case format::kNetpollP: return "Network";
    case format::kTimerP: return "Timers";
    case format::kSyscallP: return "Syscalls";
    default: return "Proc " + std::to_string(p);
  }
}

std::string ViewerModel::GoroutineName(uint64_t g) const {
  const GInfo* info = gs_.Find(g);
  return info ? GoroutineName(g, *info) : std::string();
}

std::string ViewerModel::GoroutineName(uint64_t g, const GInfo& info) const {
  if (!info.named) return "";
  // Appended, not "G" + to_string(g): gcc 12 reports a false -Wrestrict on that operator+.
  std::string name(1, 'G');
  AppendU(&name, g);
  if (info.create_fn != 0) {
    name.push_back(' ');
    name.append(reader_->String(info.create_fn));
  }
  return name;
}

std::string ViewerModel::RunName(uint64_t g, const GInfo& info) const {
  return info.label != 0 ? std::string(reader_->String(info.label)) : GoroutineName(g, info);
}

// Before Go 1.10 each P had its own stop-the-world events (spec §1.10).
uint64_t ViewerModel::StwKey(const parser::Event& ev) const {
  return reader_->version() < 1010 ? static_cast<uint64_t>(ev.p) : 0;
}

std::string ViewerModel::StwName(uint64_t kind) const {
  std::string name = "STW (";
  name.append(StwKind(reader_->version(), kind));
  name.push_back(')');
  return name;
}

Status ViewerModel::SetState(uint64_t g, GInfo* info, GState from, GState to,
                             const parser::Event& ev) {
  if (from == kWaiting && info->state == kWaitingGC) from = kWaitingGC;  // any waiting counts
  if (info->state != from) {
    // Go's wording, which prints the new state where it means the found one.
    return ErrStatus(ErrorTag::kInconsistent,
                     "offset 0x%" PRIx64 ": expected G %" PRIu64
                     " to be in state %d, but got state %d",
                     ev.offset, g, static_cast<int>(from), static_cast<int>(to));
  }
  --counters_.v[info->state];
  ++counters_.v[to];
  info->state = to;
  return OkStatus();
}

void ViewerModel::StateSlice(uint64_t g, GInfo* info, int64_t ts, std::string_view name,
                             ViewerEnd why, ViewerSink& sink) {
  if (!info->row_announced) {
    info->row_announced = true;
    std::string row = GoroutineName(g, *info);
    if (row.empty()) {
      row.push_back('G');
      AppendU(&row, g);
    }
    sink.GoroutineRow(g, row);
  }
  if (info->state_open) {
    sink.SliceEnd(ViewerRow::kGoroutine, g, info->state_start, info->state_name, ts, 0, {}, why);
  }
  info->state_open = !name.empty();
  if (info->state_open) {
    info->state_name = name;
    info->state_start = ViewerMark{ts, 0, 0};
    sink.SliceBegin(ViewerRow::kGoroutine, g, info->state_start, name, nullptr);
  }
}

void ViewerModel::StartRun(uint64_t g, GInfo* info, const parser::Event& ev, ViewerSink& sink) {
  info->running = true;
  info->run = MarkOf(ev);
  info->label = ev.type == EventType::kGoStartLabel ? ev.args[2] : 0;
  info->resumed = info->in_assist;
  info->resumed_done = false;
  const uint64_t p = static_cast<uint64_t>(ev.p);
  sink.SliceBegin(ViewerRow::kProc, p, info->run, RunName(g, *info),
                  info->flow.id != 0 ? &info->flow : nullptr);
  info->flow.id = 0;
  if (info->in_assist) {  // an assist that a block interrupted goes on
    info->assist_span_open = true;
    info->assist_span = info->run;
    sink.SliceBegin(ViewerRow::kAssist, p, info->run, "MARK ASSIST (resumed)", nullptr);
  }
}

// The execution slice of g ends (GoEnd, GoStop, GoSched, GoPreempt, GoSleep, GoBlock*,
// GoSysBlock, or the trace's end), and the assist slices that end with it.
void ViewerModel::EndRun(uint64_t g, GInfo* info, int64_t ts, uint32_t stack, ViewerEnd why,
                         ViewerSink& sink) {
  if (info->assist_span_open) {
    info->assist_span_open = false;
    sink.SliceEnd(ViewerRow::kAssist, static_cast<uint64_t>(info->assist_span.p),
                  info->assist_span, "", ts, stack, {}, why);
  }
  if (!info->running) return;
  info->running = false;
  info->last_end = ts;
  info->last_end_stack = stack;
  sink.SliceEnd(ViewerRow::kProc, static_cast<uint64_t>(info->run.p), info->run,
                RunName(g, *info), ts, stack, {}, why);
  if (info->resumed) {
    info->resumed = false;
    if (info->resumed_done && info->resumed_done_ts < ts) {
      sink.CompleteSlice(ViewerRow::kGoAssist, info->run, "MARK ASSIST (resumed)",
                         info->resumed_done_ts, info->resumed_done_stack);
    } else {
      sink.CompleteSlice(ViewerRow::kGoAssist, info->run, "MARK ASSIST (resumed, unfinished)", ts,
                         stack);
    }
  }
  if (info->go_assist_open && !info->go_assist_run_ended) {
    // Go ends it here unless its done event has the very same time: wait for that event.
    info->go_assist_run_ended = true;
    info->go_assist_finish = ts;
    info->go_assist_finish_stack = stack;
  }
}

// GoCreate, GoUnblock, GoSysExit: the flow's tail.
void ViewerModel::MakeRunnable(GInfo* info, const parser::Event& ev, const char* flow_name,
                               ViewerSink& sink) {
  info->flow = ViewerFlow{++flow_seq_, flow_name, MarkOf(ev)};
  sink.FlowSource(info->flow);
}

Status ViewerModel::OnEvent(const parser::Event& ev, ViewerSink& sink) {
  // Go counts real Ps only (cmd/trace: ev.P < FakeP); a Go 1.22+ event without a P has kFakeP.
  if (ev.p < format::kFakeP && ev.p > max_proc_) max_proc_ = ev.p;
  const uint64_t evp = static_cast<uint64_t>(ev.p);
  int64_t* const v = counters_.v;
  switch (ev.type) {
    case EventType::kGoStart:
    case EventType::kGoStartLabel: {
      GInfo& info = gs_.Get(ev.g);
      TT_RETURN_IF_ERROR(SetState(ev.g, &info, kRunnable, kRunning, ev));
      StateSlice(ev.g, &info, ev.ts, "running", ViewerEnd::kEnded, sink);
      StartRun(ev.g, &info, ev, sink);
      break;
    }
    case EventType::kProcStart: {
      ++v[ViewerCounters::kThreadsRunning];
      const ViewerArg args[] = {{"ThreadID", ev.args[0]}};
      sink.Instant(ViewerRow::kProc, evp, MarkOf(ev), "proc start", "", args);
      const std::string name = ViewerProcName(ev.p);
      if (const Open* m = threads_.Find(evp)) {
        sink.SliceEnd(ViewerRow::kThread, m->kind, m->start, name, ev.ts, 0, {},
                      ViewerEnd::kReplaced);
      }
      Open& m = threads_.Get(evp);
      m = Open{MarkOf(ev), ev.args[0]};
      sink.SliceBegin(ViewerRow::kThread, m.kind, m.start, name, nullptr);
      break;
    }
    case EventType::kProcStop:
      --v[ViewerCounters::kThreadsRunning];
      sink.Instant(ViewerRow::kProc, evp, MarkOf(ev), "proc stop", "", {});
      if (const Open* m = threads_.Find(evp)) {
        sink.SliceEnd(ViewerRow::kThread, m->kind, m->start, ViewerProcName(ev.p), ev.ts, 0, {},
                      ViewerEnd::kEnded);
        threads_.Erase(evp);
      }
      break;
    case EventType::kGoCreate: {
      const uint64_t ng = ev.args[0];
      GInfo& info = gs_.Get(ng);
      if (info.named) {
        return ErrStatus(ErrorTag::kInconsistent,
                         "offset 0x%" PRIx64 ": duplicate go create event for go id=%" PRIu64
                         " detected at offset %" PRIu64,
                         ev.offset, ng, ev.offset);
      }
      std::span<const parser::Frame> stk =
          reader_->Stack(static_cast<uint32_t>(std::min<uint64_t>(ev.args[1], UINT32_MAX)));
      // Go 1.19 stops here with "missing stack information" when the creation has no stack; a
      // goroutine that existed before a Go 1.22+ trace started has none, so it is just "G<id>".
      info.named = true;
      info.create_fn = stk.empty() ? 0 : stk[0].fn;
      info.system = !stk.empty() && IsSystemGoroutine(reader_->String(stk[0].fn));
      TT_RETURN_IF_ERROR(SetState(ng, &info, kDead, kRunnable, ev));
      StateSlice(ng, &info, ev.ts, "runnable", ViewerEnd::kEnded, sink);
      MakeRunnable(&info, ev, "go", sink);
      break;
    }
    case EventType::kGoEnd: {
      GInfo& info = gs_.Get(ev.g);
      TT_RETURN_IF_ERROR(SetState(ev.g, &info, kRunning, kDead, ev));
      EndRun(ev.g, &info, ev.ts, ev.stack_id, ViewerEnd::kEnded, sink);
      StateSlice(ev.g, &info, ev.ts, {}, ViewerEnd::kEnded, sink);
      // Its id never comes back (the parser checks); an open assist still needs the record.
      if (!info.go_assist_open) gs_.Erase(ev.g);
      break;
    }
    case EventType::kGoUnblock: {
      GInfo& info = gs_.Get(ev.args[0]);
      TT_RETURN_IF_ERROR(SetState(ev.args[0], &info, kWaiting, kRunnable, ev));
      StateSlice(ev.args[0], &info, ev.ts, "runnable", ViewerEnd::kEnded, sink);
      MakeRunnable(&info, ev, "unblock", sink);
      break;
    }
    case EventType::kGoSysExit: {
      GInfo& info = gs_.Get(ev.g);
      TT_RETURN_IF_ERROR(SetState(ev.g, &info, kWaiting, kRunnable, ev));
      --v[info.system ? ViewerCounters::kInSyscallRuntime : ViewerCounters::kInSyscall];
      StateSlice(ev.g, &info, ev.ts, "runnable", ViewerEnd::kEnded, sink);
      MakeRunnable(&info, ev, "sysexit", sink);
      break;
    }
    case EventType::kGoSysBlock: {
      GInfo& info = gs_.Get(ev.g);
      TT_RETURN_IF_ERROR(SetState(ev.g, &info, kRunning, kWaiting, ev));
      ++v[info.system ? ViewerCounters::kInSyscallRuntime : ViewerCounters::kInSyscall];
      EndRun(ev.g, &info, ev.ts, ev.stack_id, ViewerEnd::kEnded, sink);
      StateSlice(ev.g, &info, ev.ts, "syscall", ViewerEnd::kEnded, sink);
      break;
    }
    case EventType::kGoSched:
    case EventType::kGoPreempt: {
      GInfo& info = gs_.Get(ev.g);
      TT_RETURN_IF_ERROR(SetState(ev.g, &info, kRunning, kRunnable, ev));
      EndRun(ev.g, &info, ev.ts, ev.stack_id, ViewerEnd::kEnded, sink);
      StateSlice(ev.g, &info, ev.ts, "runnable", ViewerEnd::kEnded, sink);
      info.flow.id = 0;  // runnable again by itself: no flow into its next run
      break;
    }
    case EventType::kGCMarkAssistStart: {
      GInfo& info = gs_.Get(ev.g);
      info.in_assist = true;
      info.go_assist_open = true;
      // Outside a run, Go ends it where the last run ended.
      info.go_assist_run_ended = !info.running;
      info.go_assist_finish = info.last_end;
      info.go_assist_finish_stack = info.last_end_stack;
      info.go_assist = MarkOf(ev);
      if (info.running && !info.assist_span_open) {
        info.assist_span_open = true;
        info.assist_span = MarkOf(ev);
        sink.SliceBegin(ViewerRow::kAssist, evp, info.assist_span, "MARK ASSIST", nullptr);
      }
      break;
    }
    case EventType::kGCMarkAssistDone: {
      GInfo& info = gs_.Get(ev.g);
      info.in_assist = false;
      if (info.assist_span_open) {
        info.assist_span_open = false;
        sink.SliceEnd(ViewerRow::kAssist, static_cast<uint64_t>(info.assist_span.p),
                      info.assist_span, "", ev.ts, ev.stack_id, {}, ViewerEnd::kEnded);
      }
      if (info.go_assist_open) {
        info.go_assist_open = false;
        if (!info.go_assist_run_ended || ev.ts <= info.go_assist_finish) {
          sink.CompleteSlice(ViewerRow::kGoAssist, info.go_assist, "MARK ASSIST", ev.ts,
                             ev.stack_id);
        } else {
          sink.CompleteSlice(ViewerRow::kGoAssist, info.go_assist, "MARK ASSIST (unfinished)",
                             info.go_assist_finish, info.go_assist_finish_stack);
        }
      }
      if (info.running && info.resumed && !info.resumed_done) {
        info.resumed_done = true;
        info.resumed_done_ts = ev.ts;
        info.resumed_done_stack = ev.stack_id;
      }
      break;
    }
    case EventType::kGoWaiting: {
      GInfo& info = gs_.Get(ev.g);
      TT_RETURN_IF_ERROR(SetState(ev.g, &info, kRunnable, kWaiting, ev));
      StateSlice(ev.g, &info, ev.ts, WaitName(ev.type), ViewerEnd::kEnded, sink);
      break;
    }
    case EventType::kGoInSyscall: {
      GInfo& info = gs_.Get(ev.g);
      TT_RETURN_IF_ERROR(SetState(ev.g, &info, kRunnable, kWaiting, ev));
      ++v[info.system ? ViewerCounters::kInSyscallRuntime : ViewerCounters::kInSyscall];
      StateSlice(ev.g, &info, ev.ts, "syscall", ViewerEnd::kEnded, sink);
      break;
    }
    case EventType::kHeapAlloc:
      v[ViewerCounters::kHeapAlloc] = static_cast<int64_t>(ev.args[0]);
      break;
    case EventType::kHeapGoal:
      v[ViewerCounters::kNextGC] = static_cast<int64_t>(ev.args[0]);
      break;
    case EventType::kGCStart:
      // The parser rejects a GCStart while a GC is open; kept as a no-op here all the same.
      if (!gc_open_) {
        gc_open_ = true;
        gc_ = Open{ViewerMark{ev.ts, format::kGCP, ev.stack_id}, 0};
        sink.SliceBegin(ViewerRow::kGC, static_cast<uint64_t>(format::kGCP), gc_.start, "GC",
                        nullptr);
      }
      break;
    case EventType::kGCDone:
      if (gc_open_) {
        gc_open_ = false;
        sink.SliceEnd(ViewerRow::kGC, static_cast<uint64_t>(format::kGCP), gc_.start, "GC", ev.ts,
                      ev.stack_id, {}, ViewerEnd::kEnded);
      }
      break;
    case EventType::kGCSTWStart: {
      const uint64_t key = StwKey(ev);
      if (const Open* m = stws_.Find(key)) {
        sink.SliceEnd(ViewerRow::kStw, key, m->start, StwName(m->kind), ev.ts, ev.stack_id, {},
                      ViewerEnd::kReplaced);
      }
      Open& m = stws_.Get(key);
      m = Open{MarkOf(ev), ev.args[0]};
      sink.SliceBegin(ViewerRow::kStw, key, m.start, StwName(m.kind), nullptr);
      break;
    }
    case EventType::kGCSTWDone: {
      const uint64_t key = StwKey(ev);
      if (const Open* m = stws_.Find(key)) {
        const Open start = *m;
        stws_.Erase(key);
        sink.SliceEnd(ViewerRow::kStw, key, start.start, StwName(start.kind), ev.ts, ev.stack_id,
                      {}, ViewerEnd::kEnded);
      }
      break;
    }
    case EventType::kGCSweepStart: {
      if (const Open* m = sweeps_.Find(evp)) {
        sink.SliceEnd(ViewerRow::kSweep, evp, m->start, "SWEEP", ev.ts, ev.stack_id, {},
                      ViewerEnd::kReplaced);
      }
      sweeps_.Get(evp) = Open{MarkOf(ev), 0};
      sink.SliceBegin(ViewerRow::kSweep, evp, MarkOf(ev), "SWEEP", nullptr);
      break;
    }
    case EventType::kGCSweepDone:
      if (const Open* m = sweeps_.Find(evp)) {
        const Open start = *m;
        sweeps_.Erase(evp);
        const ViewerArg args[] = {{"Swept bytes", ev.args[0]}, {"Reclaimed bytes", ev.args[1]}};
        sink.SliceEnd(ViewerRow::kSweep, evp, start.start, "SWEEP", ev.ts, ev.stack_id,
                      ev.args[0] != 0 ? std::span<const ViewerArg>(args)
                                      : std::span<const ViewerArg>(),
                      ViewerEnd::kEnded);
      }
      break;
    case EventType::kGoSysCall:
      sink.Instant(ViewerRow::kProc, evp, MarkOf(ev), "syscall", "", {});
      break;
    case EventType::kUserLog: {
      const std::string_view key = reader_->String(ev.args[1]);
      std::string name;
      if (key.empty()) {
        name = std::string(ev.message);
      } else if (ev.message.empty()) {
        name = std::string(key);
      } else {
        name = std::string(key) + "=" + std::string(ev.message);
      }
      sink.Instant(ViewerRow::kProc, evp, MarkOf(ev), name, "user event", {});
      break;
    }
    case EventType::kUserTaskCreate:
      sink.Instant(ViewerRow::kProc, evp, MarkOf(ev), "task start", "user event", {});
      break;
    case EventType::kUserTaskEnd:
      sink.Instant(ViewerRow::kProc, evp, MarkOf(ev), "task end", "user event", {});
      break;
    case EventType::kCPUSample:
      if (ev.p >= 0) sink.Instant(ViewerRow::kProc, evp, MarkOf(ev), "CPU profile sample", "", {});
      break;
    default:
      if (format::IsGoBlock(ev.type) || ev.type == EventType::kGoStop) {
        GInfo& info = gs_.Get(ev.g);
        TT_RETURN_IF_ERROR(SetState(
            ev.g, &info, kRunning, ev.type == EventType::kGoBlockGC ? kWaitingGC : kWaiting, ev));
        EndRun(ev.g, &info, ev.ts, ev.stack_id, ViewerEnd::kEnded, sink);
        StateSlice(ev.g, &info, ev.ts, WaitName(ev.type), ViewerEnd::kEnded, sink);
      }
      break;
  }
  if (v[kRunnable] < 0 || v[kRunning] < 0 || v[ViewerCounters::kInSyscall] < 0 ||
      v[ViewerCounters::kInSyscallRuntime] < 0) {
    return ErrStatus(ErrorTag::kInconsistent,
                     "offset 0x%" PRIx64 ": invalid state after processing %s: runnable=%" PRId64
                     " running=%" PRId64 " insyscall=%" PRId64 " insyscallRuntime=%" PRId64,
                     ev.offset, std::string(format::Spec(ev.type).name).c_str(), v[kRunnable],
                     v[kRunning], v[ViewerCounters::kInSyscall],
                     v[ViewerCounters::kInSyscallRuntime]);
  }
  uint32_t changed = 0;
  for (int i = 0; i < ViewerCounters::kNum; ++i) {
    if (v[i] != prev_counters_.v[i]) changed |= 1u << i;
  }
  sink.Counters(ev.ts, counters_, changed);
  prev_counters_ = counters_;
  return OkStatus();
}

void ViewerModel::Finish(int64_t last_ts, ViewerSink& sink) {
  // What the trace left open ends with it (Go's tool would stop with a nil link here).
  std::vector<uint64_t> open;
  gs_.ForEach([&](uint64_t g, const GInfo& info) {
    if (info.running || info.go_assist_open || info.assist_span_open || info.state_open) {
      open.push_back(g);
    }
  });
  std::sort(open.begin(), open.end());
  for (uint64_t g : open) {
    GInfo& info = gs_.Get(g);
    EndRun(g, &info, last_ts, 0, ViewerEnd::kTraceEnd, sink);
    if (info.go_assist_open) {
      info.go_assist_open = false;
      sink.CompleteSlice(ViewerRow::kGoAssist, info.go_assist, "MARK ASSIST (unfinished)",
                         info.go_assist_run_ended ? info.go_assist_finish : last_ts,
                         info.go_assist_run_ended ? info.go_assist_finish_stack : 0);
    }
    if (info.state_open) StateSlice(g, &info, last_ts, {}, ViewerEnd::kTraceEnd, sink);
  }
  for (uint64_t p : SortedKeys(threads_)) {
    const Open& m = *threads_.Find(p);
    sink.SliceEnd(ViewerRow::kThread, m.kind, m.start, ViewerProcName(static_cast<int64_t>(p)),
                  last_ts, 0, {}, ViewerEnd::kTraceEnd);
  }
  for (uint64_t p : SortedKeys(sweeps_)) {
    sink.SliceEnd(ViewerRow::kSweep, p, sweeps_.Find(p)->start, "SWEEP", last_ts, 0, {},
                  ViewerEnd::kTraceEnd);
  }
  for (uint64_t k : SortedKeys(stws_)) {
    const Open& m = *stws_.Find(k);
    sink.SliceEnd(ViewerRow::kStw, k, m.start, StwName(m.kind), last_ts, 0, {},
                  ViewerEnd::kTraceEnd);
  }
  if (gc_open_) {
    gc_open_ = false;
    sink.SliceEnd(ViewerRow::kGC, static_cast<uint64_t>(format::kGCP), gc_.start, "GC", last_ts,
                  0, {}, ViewerEnd::kTraceEnd);
  }
  sink.End(max_proc_);
}

}  // namespace tracetool::analysis
