#include "lib/analysis/perfetto_export.h"

#include <algorithm>
#include <cinttypes>
#include <vector>

#include "lib/analysis/goroutine_stats.h"
#include "lib/analysis/text_dump.h"

namespace tracetool::analysis {
namespace {

using format::EventType;

// Field numbers of Perfetto's protos (protos/perfetto/trace/...), the ones written here.
namespace field {
constexpr int kTracePacket = 1;  // Trace.packet
// TracePacket
constexpr int kTimestamp = 8, kTrustedSequenceId = 10, kTrackEvent = 11, kInternedData = 12,
              kSequenceFlags = 13, kTrackDescriptor = 60;
// TrackDescriptor
constexpr int kUuid = 1, kName = 2, kProcess = 3, kParentUuid = 5, kCounter = 8;
// ProcessDescriptor
constexpr int kPid = 1, kProcessName = 6;
// CounterDescriptor
constexpr int kUnit = 3;
// TrackEvent
constexpr int kType = 9, kNameIid = 10, kTrackUuid = 11, kEventName = 23, kCounterValue = 30,
              kFlowIds = 47, kTerminatingFlowIds = 48;
// InternedData.event_names, EventName
constexpr int kEventNames = 2, kIid = 1, kInternedName = 2;
}  // namespace field

constexpr uint64_t kSequenceId = 1;
constexpr uint64_t kSeqIncrementalStateCleared = 1, kSeqNeedsIncrementalState = 2;
constexpr uint64_t kUnitCount = 2, kUnitBytes = 3;  // CounterDescriptor.Unit
constexpr int64_t kPid = 1;

void Varint(std::string* s, uint64_t v) {
  while (v >= 0x80) {
    s->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  s->push_back(static_cast<char>(v));
}
void Tag(std::string* s, int f, int wire) { Varint(s, static_cast<uint64_t>(f) << 3 | wire); }
void VarintField(std::string* s, int f, uint64_t v) {
  Tag(s, f, 0);
  Varint(s, v);
}
void BytesField(std::string* s, int f, std::string_view v) {
  Tag(s, f, 2);
  Varint(s, v.size());
  s->append(v);
}
void Fixed64Field(std::string* s, int f, uint64_t v) {
  Tag(s, f, 1);
  for (int i = 0; i < 8; ++i) s->push_back(static_cast<char>(v >> (8 * i)));
}

uint64_t Ts(int64_t ts) { return ts < 0 ? 0 : static_cast<uint64_t>(ts); }

std::string ProcName(int64_t p) {
  switch (p) {
    case format::kGCP: return "GC";
    case format::kNetpollP: return "Network";
    case format::kTimerP: return "Timers";
    case format::kSyscallP: return "Syscalls";
    default: return "Proc " + std::to_string(p);
  }
}

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

}  // namespace

void PerfettoTraceWriter::Packet(const std::string& body, std::string* out) {
  BytesField(out, field::kTracePacket, body);
  ++packets_;
}

void PerfettoTraceWriter::Begin(std::string* out) {
  // The first packet clears the sequence's incremental state (the interned names).
  const uint64_t process = Uuid(TrackKind::kProcess, 0);
  std::string desc, proc;
  VarintField(&proc, field::kPid, kPid);
  BytesField(&proc, field::kProcessName, "Go trace");
  VarintField(&desc, field::kUuid, process);
  BytesField(&desc, field::kProcess, proc);
  body_.clear();
  VarintField(&body_, field::kTimestamp, 0);
  BytesField(&body_, field::kTrackDescriptor, desc);
  VarintField(&body_, field::kTrustedSequenceId, kSequenceId);
  VarintField(&body_, field::kSequenceFlags, kSeqIncrementalStateCleared);
  Packet(body_, out);
  tracks_.insert(process);
  Descriptor(Uuid(TrackKind::kGoroutines, 0), process, "Goroutines", out);
  static constexpr struct {
    const char* name;
    uint64_t unit;
  } kCounters[kNumCounters] = {{"Goroutines running", kUnitCount},
                               {"Goroutines runnable", kUnitCount},
                               {"Goroutines GC waiting", kUnitCount},
                               {"Threads running", kUnitCount},
                               {"Threads in syscall", kUnitCount},
                               {"Heap allocated", kUnitBytes},
                               {"Heap goal", kUnitBytes}};
  for (int i = 0; i < kNumCounters; ++i) {
    std::string counter;
    VarintField(&counter, field::kUnit, kCounters[i].unit);
    desc.clear();
    VarintField(&desc, field::kUuid, Uuid(TrackKind::kCounter, static_cast<uint64_t>(i)));
    VarintField(&desc, field::kParentUuid, process);
    BytesField(&desc, field::kName, kCounters[i].name);
    BytesField(&desc, field::kCounter, counter);
    body_.clear();
    VarintField(&body_, field::kTimestamp, 0);
    BytesField(&body_, field::kTrackDescriptor, desc);
    VarintField(&body_, field::kTrustedSequenceId, kSequenceId);
    Packet(body_, out);
    prev_counters_[i] = 0;
  }
}

void PerfettoTraceWriter::Descriptor(uint64_t uuid, uint64_t parent, std::string_view name,
                                     std::string* out) {
  std::string desc;
  VarintField(&desc, field::kUuid, uuid);
  VarintField(&desc, field::kParentUuid, parent);
  BytesField(&desc, field::kName, name);
  body_.clear();
  BytesField(&body_, field::kTrackDescriptor, desc);
  VarintField(&body_, field::kTrustedSequenceId, kSequenceId);
  Packet(body_, out);
  tracks_.insert(uuid);
}

uint64_t PerfettoTraceWriter::ProcTrack(TrackKind kind, int64_t p, std::string* out) {
  const uint64_t uuid = Uuid(kind, static_cast<uint64_t>(p));
  if (!tracks_.contains(uuid)) {
    std::string name = ProcName(p);
    if (kind == TrackKind::kAssist) name += " assist";
    if (kind == TrackKind::kSweep) name += " sweep";
    Descriptor(uuid, Uuid(TrackKind::kProcess, 0), name, out);
  }
  return uuid;
}

uint64_t PerfettoTraceWriter::ThreadTrack(uint64_t tid, std::string* out) {
  const uint64_t uuid = Uuid(TrackKind::kThread, tid);
  if (!tracks_.contains(uuid)) {
    Descriptor(uuid, Uuid(TrackKind::kProcess, 0), "Thread M" + std::to_string(tid), out);
  }
  return uuid;
}

uint64_t PerfettoTraceWriter::StwTrack(uint64_t key, std::string* out) {
  const uint64_t uuid = Uuid(TrackKind::kStw, key);
  if (!tracks_.contains(uuid)) {
    Descriptor(uuid, Uuid(TrackKind::kProcess, 0),
               reader_->version() < 1010 ? "STW (Proc " + std::to_string(key) + ")" : "STW",
               out);
  }
  return uuid;
}

uint64_t PerfettoTraceWriter::GoroutineTrack(uint64_t g, GInfo* info, std::string* out) {
  const uint64_t uuid = Uuid(TrackKind::kGoroutine, g);
  if (!info->track_written) {
    info->track_written = true;
    std::string name = GoroutineName(g, *info);
    if (name.empty()) {  // push_back, not = "G": gcc 12's false -Wrestrict on that assignment
      name.push_back('G');
      AppendU(&name, g);
    }
    // Not in tracks_: a goroutine's track is written once, when its GInfo is first used.
    std::string desc;
    VarintField(&desc, field::kUuid, uuid);
    VarintField(&desc, field::kParentUuid, Uuid(TrackKind::kGoroutines, 0));
    BytesField(&desc, field::kName, name);
    body_.clear();
    BytesField(&body_, field::kTrackDescriptor, desc);
    VarintField(&body_, field::kTrustedSequenceId, kSequenceId);
    Packet(body_, out);
  }
  return uuid;
}

void PerfettoTraceWriter::Event(int64_t ts, uint64_t track, int type, std::string_view name,
                                uint64_t flow, uint64_t terminating_flow, int64_t counter,
                                std::string* out) {
  te_.clear();
  interned_.clear();
  VarintField(&te_, field::kType, static_cast<uint64_t>(type));
  VarintField(&te_, field::kTrackUuid, track);
  if (type == 1 || type == 3) {
    auto it = names_.find(std::string(name));
    if (it != names_.end()) {
      VarintField(&te_, field::kNameIid, it->second);
    } else if (names_.size() < kMaxInterned) {
      const uint64_t iid = names_.size() + 1;
      names_.emplace(std::string(name), iid);
      std::string en;
      VarintField(&en, field::kIid, iid);
      BytesField(&en, field::kInternedName, name);
      BytesField(&interned_, field::kEventNames, en);
      VarintField(&te_, field::kNameIid, iid);
    } else {
      BytesField(&te_, field::kEventName, name);
    }
  }
  if (type == 4) VarintField(&te_, field::kCounterValue, static_cast<uint64_t>(counter));
  if (flow != 0) Fixed64Field(&te_, field::kFlowIds, flow);
  if (terminating_flow != 0) Fixed64Field(&te_, field::kTerminatingFlowIds, terminating_flow);
  body_.clear();
  VarintField(&body_, field::kTimestamp, Ts(ts));
  BytesField(&body_, field::kTrackEvent, te_);
  if (!interned_.empty()) BytesField(&body_, field::kInternedData, interned_);
  VarintField(&body_, field::kTrustedSequenceId, kSequenceId);
  VarintField(&body_, field::kSequenceFlags, kSeqNeedsIncrementalState);
  Packet(body_, out);
}

std::string PerfettoTraceWriter::GoroutineName(uint64_t g, const GInfo& info) const {
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

uint64_t PerfettoTraceWriter::StwKey(const parser::Event& ev) const {
  return reader_->version() < 1010 ? static_cast<uint64_t>(ev.p) : 0;
}

Status PerfettoTraceWriter::SetState(uint64_t g, GInfo* info, GState from, GState to,
                                     const parser::Event& ev) {
  if (from == kWaiting && info->state == kWaitingGC) from = kWaitingGC;
  if (info->state != from) {
    return ErrStatus(ErrorTag::kInconsistent,
                     "offset 0x%" PRIx64 ": expected G %" PRIu64
                     " to be in state %d, but got state %d",
                     ev.offset, g, static_cast<int>(from), static_cast<int>(to));
  }
  --gstates_[info->state];
  ++gstates_[to];
  info->state = to;
  return OkStatus();
}

void PerfettoTraceWriter::StateSlice(uint64_t g, GInfo* info, int64_t ts, std::string_view name,
                                     std::string* out) {
  const uint64_t track = GoroutineTrack(g, info, out);
  if (info->state_open) SliceEnd(ts, track, out);
  info->state_open = !name.empty();
  if (info->state_open) SliceBegin(ts, track, name, out);
}

void PerfettoTraceWriter::StartRun(uint64_t g, GInfo* info, const parser::Event& ev,
                                   std::string* out) {
  info->running = true;
  info->run_p = ev.p;
  const std::string name = ev.type == EventType::kGoStartLabel
                               ? std::string(reader_->String(ev.args[2]))
                               : GoroutineName(g, *info);
  SliceBegin(ev.ts, ProcTrack(TrackKind::kProc, ev.p, out), name, out, info->flow);
  info->flow = 0;
  if (info->in_assist) {  // an assist that a block interrupted goes on
    info->assist_open = true;
    info->assist_p = ev.p;
    SliceBegin(ev.ts, ProcTrack(TrackKind::kAssist, ev.p, out), "MARK ASSIST (resumed)", out);
  }
}

void PerfettoTraceWriter::EndRun(GInfo* info, int64_t ts, std::string* out) {
  if (info->assist_open) {
    info->assist_open = false;
    SliceEnd(ts, ProcTrack(TrackKind::kAssist, info->assist_p, out), out);
  }
  if (!info->running) return;
  info->running = false;
  SliceEnd(ts, ProcTrack(TrackKind::kProc, info->run_p, out), out);
}

void PerfettoTraceWriter::FlowSource(const parser::Event& ev, GInfo* target, const char* name,
                                     std::string* out) {
  target->flow = ++flow_seq_;
  Instant(ev.ts, ProcTrack(TrackKind::kProc, ev.p, out), name, out, target->flow);
}

void PerfettoTraceWriter::Counters(int64_t ts, std::string* out) {
  const int64_t now[kNumCounters] = {gstates_[kRunning],
                                     gstates_[kRunnable],
                                     gstates_[kWaitingGC],
                                     prunning_,
                                     insyscall_,
                                     static_cast<int64_t>(heap_alloc_),
                                     static_cast<int64_t>(next_gc_)};
  for (int i = 0; i < kNumCounters; ++i) {
    if (now[i] == prev_counters_[i]) continue;
    prev_counters_[i] = now[i];
    Event(ts, Uuid(TrackKind::kCounter, static_cast<uint64_t>(i)), 4, {}, 0, 0, now[i], out);
  }
}

Status PerfettoTraceWriter::OnEvent(const parser::Event& ev, std::string* out) {
  switch (ev.type) {
    case EventType::kGoStart:
    case EventType::kGoStartLabel: {
      GInfo& info = gs_.Get(ev.g);
      TT_RETURN_IF_ERROR(SetState(ev.g, &info, kRunnable, kRunning, ev));
      StateSlice(ev.g, &info, ev.ts, "running", out);
      StartRun(ev.g, &info, ev, out);
      break;
    }
    case EventType::kProcStart: {
      ++prunning_;
      const uint64_t p = static_cast<uint64_t>(ev.p);
      Instant(ev.ts, ProcTrack(TrackKind::kProc, ev.p, out), "proc start", out);
      if (const uint64_t* tid = threads_.Find(p)) SliceEnd(ev.ts, ThreadTrack(*tid, out), out);
      threads_.Get(p) = ev.args[0];
      SliceBegin(ev.ts, ThreadTrack(ev.args[0], out), ProcName(ev.p), out);
      break;
    }
    case EventType::kProcStop: {
      --prunning_;
      const uint64_t p = static_cast<uint64_t>(ev.p);
      Instant(ev.ts, ProcTrack(TrackKind::kProc, ev.p, out), "proc stop", out);
      if (const uint64_t* tid = threads_.Find(p)) {
        SliceEnd(ev.ts, ThreadTrack(*tid, out), out);
        threads_.Erase(p);
      }
      break;
    }
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
      info.named = true;
      info.create_fn = stk.empty() ? 0 : stk[0].fn;
      info.system = !stk.empty() && IsSystemGoroutine(reader_->String(stk[0].fn));
      TT_RETURN_IF_ERROR(SetState(ng, &info, kDead, kRunnable, ev));
      StateSlice(ng, &info, ev.ts, "runnable", out);
      FlowSource(ev, &info, "go", out);
      break;
    }
    case EventType::kGoEnd: {
      GInfo& info = gs_.Get(ev.g);
      TT_RETURN_IF_ERROR(SetState(ev.g, &info, kRunning, kDead, ev));
      EndRun(&info, ev.ts, out);
      StateSlice(ev.g, &info, ev.ts, {}, out);
      gs_.Erase(ev.g);  // its id never comes back (the parser checks)
      break;
    }
    case EventType::kGoUnblock: {
      GInfo& info = gs_.Get(ev.args[0]);
      TT_RETURN_IF_ERROR(SetState(ev.args[0], &info, kWaiting, kRunnable, ev));
      StateSlice(ev.args[0], &info, ev.ts, "runnable", out);
      FlowSource(ev, &info, "unblock", out);
      break;
    }
    case EventType::kGoSysExit: {
      GInfo& info = gs_.Get(ev.g);
      TT_RETURN_IF_ERROR(SetState(ev.g, &info, kWaiting, kRunnable, ev));
      --(info.system ? insyscall_runtime_ : insyscall_);
      StateSlice(ev.g, &info, ev.ts, "runnable", out);
      FlowSource(ev, &info, "sysexit", out);
      break;
    }
    case EventType::kGoSysBlock: {
      GInfo& info = gs_.Get(ev.g);
      TT_RETURN_IF_ERROR(SetState(ev.g, &info, kRunning, kWaiting, ev));
      ++(info.system ? insyscall_runtime_ : insyscall_);
      EndRun(&info, ev.ts, out);
      StateSlice(ev.g, &info, ev.ts, "syscall", out);
      break;
    }
    case EventType::kGoSched:
    case EventType::kGoPreempt: {
      GInfo& info = gs_.Get(ev.g);
      TT_RETURN_IF_ERROR(SetState(ev.g, &info, kRunning, kRunnable, ev));
      EndRun(&info, ev.ts, out);
      StateSlice(ev.g, &info, ev.ts, "runnable", out);
      info.flow = 0;
      break;
    }
    case EventType::kGCMarkAssistStart: {
      GInfo& info = gs_.Get(ev.g);
      info.in_assist = true;
      if (info.running && !info.assist_open) {
        info.assist_open = true;
        info.assist_p = ev.p;
        SliceBegin(ev.ts, ProcTrack(TrackKind::kAssist, ev.p, out), "MARK ASSIST", out);
      }
      break;
    }
    case EventType::kGCMarkAssistDone:
      if (GInfo* info = gs_.Find(ev.g)) {
        info->in_assist = false;
        if (info->assist_open) {
          info->assist_open = false;
          SliceEnd(ev.ts, ProcTrack(TrackKind::kAssist, info->assist_p, out), out);
        }
      }
      break;
    case EventType::kGoWaiting: {
      GInfo& info = gs_.Get(ev.g);
      TT_RETURN_IF_ERROR(SetState(ev.g, &info, kRunnable, kWaiting, ev));
      StateSlice(ev.g, &info, ev.ts, WaitName(ev.type), out);
      break;
    }
    case EventType::kGoInSyscall: {
      GInfo& info = gs_.Get(ev.g);
      TT_RETURN_IF_ERROR(SetState(ev.g, &info, kRunnable, kWaiting, ev));
      ++(info.system ? insyscall_runtime_ : insyscall_);
      StateSlice(ev.g, &info, ev.ts, "syscall", out);
      break;
    }
    case EventType::kHeapAlloc:
      heap_alloc_ = ev.args[0];
      break;
    case EventType::kHeapGoal:
      next_gc_ = ev.args[0];
      break;
    case EventType::kGCStart:
      if (!gc_open_) SliceBegin(ev.ts, ProcTrack(TrackKind::kGC, format::kGCP, out), "GC", out);
      gc_open_ = true;
      break;
    case EventType::kGCDone:
      if (gc_open_) SliceEnd(ev.ts, ProcTrack(TrackKind::kGC, format::kGCP, out), out);
      gc_open_ = false;
      break;
    case EventType::kGCSTWStart: {
      const uint64_t key = StwKey(ev);
      if (stws_.Find(key)) SliceEnd(ev.ts, StwTrack(key, out), out);
      stws_.Get(key) = true;
      std::string name = "STW (";
      name.append(StwKind(reader_->version(), ev.args[0]));
      name.push_back(')');
      SliceBegin(ev.ts, StwTrack(key, out), name, out);
      break;
    }
    case EventType::kGCSTWDone: {
      const uint64_t key = StwKey(ev);
      if (stws_.Find(key)) {
        SliceEnd(ev.ts, StwTrack(key, out), out);
        stws_.Erase(key);
      }
      break;
    }
    case EventType::kGCSweepStart: {
      const uint64_t key = static_cast<uint64_t>(ev.p);
      if (sweeps_.Find(key)) SliceEnd(ev.ts, ProcTrack(TrackKind::kSweep, ev.p, out), out);
      sweeps_.Get(key) = true;
      SliceBegin(ev.ts, ProcTrack(TrackKind::kSweep, ev.p, out), "SWEEP", out);
      break;
    }
    case EventType::kGCSweepDone: {
      const uint64_t key = static_cast<uint64_t>(ev.p);
      if (sweeps_.Find(key)) {
        SliceEnd(ev.ts, ProcTrack(TrackKind::kSweep, ev.p, out), out);
        sweeps_.Erase(key);
      }
      break;
    }
    case EventType::kGoSysCall:
      Instant(ev.ts, ProcTrack(TrackKind::kProc, ev.p, out), "syscall", out);
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
      Instant(ev.ts, ProcTrack(TrackKind::kProc, ev.p, out), name, out);
      break;
    }
    case EventType::kUserTaskCreate:
      Instant(ev.ts, ProcTrack(TrackKind::kProc, ev.p, out), "task start", out);
      break;
    case EventType::kUserTaskEnd:
      Instant(ev.ts, ProcTrack(TrackKind::kProc, ev.p, out), "task end", out);
      break;
    case EventType::kCPUSample:
      if (ev.p >= 0) {
        Instant(ev.ts, ProcTrack(TrackKind::kProc, ev.p, out), "CPU profile sample", out);
      }
      break;
    default:
      if (format::IsGoBlock(ev.type) || ev.type == EventType::kGoStop) {
        GInfo& info = gs_.Get(ev.g);
        TT_RETURN_IF_ERROR(SetState(
            ev.g, &info, kRunning, ev.type == EventType::kGoBlockGC ? kWaitingGC : kWaiting, ev));
        EndRun(&info, ev.ts, out);
        StateSlice(ev.g, &info, ev.ts, WaitName(ev.type), out);
      }
      break;
  }
  if (gstates_[kRunnable] < 0 || gstates_[kRunning] < 0 || insyscall_ < 0 ||
      insyscall_runtime_ < 0) {
    return ErrStatus(ErrorTag::kInconsistent,
                     "offset 0x%" PRIx64 ": invalid state after processing %s: runnable=%" PRId64
                     " running=%" PRId64 " insyscall=%" PRId64 " insyscallRuntime=%" PRId64,
                     ev.offset, std::string(format::Spec(ev.type).name).c_str(),
                     gstates_[kRunnable], gstates_[kRunning], insyscall_, insyscall_runtime_);
  }
  Counters(ev.ts, out);
  return OkStatus();
}

void PerfettoTraceWriter::Finish(int64_t last_ts, std::string* out) {
  // Close, in a stable order, what the trace left open.
  std::vector<uint64_t> open;
  gs_.ForEach([&](uint64_t g, const GInfo& info) {
    if (info.running || info.assist_open || info.state_open) open.push_back(g);
  });
  std::sort(open.begin(), open.end());
  for (uint64_t g : open) {
    GInfo& info = gs_.Get(g);
    EndRun(&info, last_ts, out);
    if (info.state_open) StateSlice(g, &info, last_ts, {}, out);
  }
  std::vector<uint64_t> keys;
  threads_.ForEach([&](uint64_t p, const uint64_t&) { keys.push_back(p); });
  std::sort(keys.begin(), keys.end());
  for (uint64_t p : keys) SliceEnd(last_ts, ThreadTrack(*threads_.Find(p), out), out);
  keys.clear();
  sweeps_.ForEach([&](uint64_t p, const bool&) { keys.push_back(p); });
  std::sort(keys.begin(), keys.end());
  for (uint64_t p : keys) {
    SliceEnd(last_ts, ProcTrack(TrackKind::kSweep, static_cast<int64_t>(p), out), out);
  }
  keys.clear();
  stws_.ForEach([&](uint64_t k, const bool&) { keys.push_back(k); });
  std::sort(keys.begin(), keys.end());
  for (uint64_t k : keys) SliceEnd(last_ts, StwTrack(k, out), out);
  if (gc_open_) SliceEnd(last_ts, ProcTrack(TrackKind::kGC, format::kGCP, out), out);
  gc_open_ = false;
}

}  // namespace tracetool::analysis
