#include "lib/analysis/perfetto_export.h"

#include <string>

namespace tracetool::analysis {
namespace {

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

}  // namespace

void PerfettoTraceWriter::Packet(const std::string& body) {
  BytesField(out_, field::kTracePacket, body);
  ++packets_;
}

void PerfettoTraceWriter::Begin(std::string* out) {
  out_ = out;
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
  Packet(body_);
  tracks_.insert(process);
  Descriptor(Uuid(TrackKind::kGoroutines, 0), process, "Goroutines");
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
    Packet(body_);
  }
}

void PerfettoTraceWriter::Descriptor(uint64_t uuid, uint64_t parent, std::string_view name) {
  std::string desc;
  VarintField(&desc, field::kUuid, uuid);
  VarintField(&desc, field::kParentUuid, parent);
  BytesField(&desc, field::kName, name);
  body_.clear();
  BytesField(&body_, field::kTrackDescriptor, desc);
  VarintField(&body_, field::kTrustedSequenceId, kSequenceId);
  Packet(body_);
  tracks_.insert(uuid);
}

uint64_t PerfettoTraceWriter::ProcTrack(TrackKind kind, int64_t p) {
  const uint64_t uuid = Uuid(kind, static_cast<uint64_t>(p));
  if (!tracks_.contains(uuid)) {
    std::string name = ViewerProcName(p);
    if (kind == TrackKind::kAssist) name += " assist";
    if (kind == TrackKind::kSweep) name += " sweep";
    Descriptor(uuid, Uuid(TrackKind::kProcess, 0), name);
  }
  return uuid;
}

uint64_t PerfettoTraceWriter::Track(ViewerRow row, uint64_t key) {
  const auto p = static_cast<int64_t>(key);
  switch (row) {
    case ViewerRow::kProc: return ProcTrack(TrackKind::kProc, p);
    case ViewerRow::kAssist:
    case ViewerRow::kGoAssist: return ProcTrack(TrackKind::kAssist, p);
    case ViewerRow::kSweep: return ProcTrack(TrackKind::kSweep, p);
    case ViewerRow::kGC: return ProcTrack(TrackKind::kGC, p);
    case ViewerRow::kGoroutine: return Uuid(TrackKind::kGoroutine, key);  // see GoroutineRow
    case ViewerRow::kThread:
    case ViewerRow::kStw: break;
  }
  const bool thread = row == ViewerRow::kThread;
  const uint64_t uuid = Uuid(thread ? TrackKind::kThread : TrackKind::kStw, key);
  if (!tracks_.contains(uuid)) {
    Descriptor(uuid, Uuid(TrackKind::kProcess, 0),
               thread                       ? "Thread M" + std::to_string(key)
               : reader_->version() < 1010 ? "STW (Proc " + std::to_string(key) + ")"
                                            : "STW");
  }
  return uuid;
}

void PerfettoTraceWriter::GoroutineRow(uint64_t g, std::string_view name) {
  // Not in tracks_: the model announces each goroutine's row once.
  std::string desc;
  VarintField(&desc, field::kUuid, Uuid(TrackKind::kGoroutine, g));
  VarintField(&desc, field::kParentUuid, Uuid(TrackKind::kGoroutines, 0));
  BytesField(&desc, field::kName, name);
  body_.clear();
  BytesField(&body_, field::kTrackDescriptor, desc);
  VarintField(&body_, field::kTrustedSequenceId, kSequenceId);
  Packet(body_);
}

void PerfettoTraceWriter::Event(int64_t ts, uint64_t track, int type, std::string_view name,
                                uint64_t flow, uint64_t terminating_flow, int64_t counter) {
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
  Packet(body_);
}

void PerfettoTraceWriter::SliceBegin(ViewerRow row, uint64_t key, const ViewerMark& start,
                                     std::string_view name, const ViewerFlow* flow) {
  Event(start.ts, Track(row, key), 1, name, 0, flow != nullptr ? flow->id : 0, 0);
}

void PerfettoTraceWriter::SliceEnd(ViewerRow row, uint64_t key, const ViewerMark&,
                                   std::string_view, int64_t end_ts, uint32_t,
                                   std::span<const ViewerArg>, ViewerEnd) {
  Event(end_ts, Track(row, key), 2, {}, 0, 0, 0);
}

void PerfettoTraceWriter::Instant(ViewerRow row, uint64_t key, const ViewerMark& at,
                                  std::string_view name, std::string_view,
                                  std::span<const ViewerArg>) {
  Event(at.ts, Track(row, key), 3, name, 0, 0, 0);
}

// An instant on the emitter's P track that starts the flow.
void PerfettoTraceWriter::FlowSource(const ViewerFlow& flow) {
  Event(flow.source.ts, Track(ViewerRow::kProc, static_cast<uint64_t>(flow.source.p)), 3,
        flow.name, flow.id, 0, 0);
}

void PerfettoTraceWriter::Counters(int64_t ts, const ViewerCounters& now, uint32_t changed) {
  using C = ViewerCounters;
  static constexpr C::Index kOf[kNumCounters] = {C::kRunning,   C::kRunnable,   C::kWaitingGC,
                                                 C::kThreadsRunning, C::kInSyscall,
                                                 C::kHeapAlloc, C::kNextGC};
  for (int i = 0; i < kNumCounters; ++i) {
    if ((changed & (1u << kOf[i])) == 0) continue;
    Event(ts, Uuid(TrackKind::kCounter, static_cast<uint64_t>(i)), 4, {}, 0, 0, now.v[kOf[i]]);
  }
}

}  // namespace tracetool::analysis
