// The batch merge: per-P buffers → one timeline (spec §3; Go's internal/trace/order.go).
//
// Why not sort by timestamp: each P writes its own buffer with its own CPU's clock, and those
// clocks may be skewed, so an unblock on P1 can carry a later time than the start it caused on P2.
// Since Go 1.7 every event that moves a goroutine across Ps carries (or implies) a per-goroutine
// sequence number. An event is *ready* when its goroutine is in the state (sequence, status) the
// event expects; among ready events the earliest time wins. The merged order therefore never
// breaks causality, and clock skew shows up afterwards as a decreasing time (an error).
//
// How this file streams it: one cursor per P reads that P's batches in file order straight from
// the input (the index pass recorded their byte ranges), so only one head event per P is in
// memory. A head is either in the frontier (a min-heap on time) or parked on the goroutine whose
// state it waits for; when a merged event changes that goroutine's state, only the heads parked on
// it are re-checked. This is the same result as Go's "re-check every bucket every step" loop, in
// O(P) per event in the worst case, instead of O(P) lookups per event.
//
// Ties: Go keeps the ready heads in a small slice: newly ready heads are appended in bucket
// order, the slice is sorted by time with insertion sort (stable; Go's sort.Sort uses it up to 12
// elements), element 0 is merged and the last element moves into its slot. Equal times on
// different Ps are therefore ordered by that history, which is deterministic after the first step
// (only Go's initial bucket order is random). We keep the same slice with the same operations,
// so -d matches Go byte for byte whenever Go's own output is deterministic (e.g. the equal-tick
// pair in stress_1_11_good). Above 12 ready heads Go switches to pdqsort; we use a stable sort
// there, which can order equal times differently.
//
// Then Go moves each GoSysExit to its real exit time and stably re-sorts everything. Merged
// events already come in time order, so only the exits move. The index pass has seen every exit
// and its real time: when each exit that moves back has a distinct real time (the usual case), the
// exit is emitted from the index at the moment the merge first passes that time, which is exactly
// where the stable sort puts it, and the exit dropped when the merge reaches it; nothing is held
// back. Otherwise (equal real times, whose merge order decides, or over kMaxFarSysExits exits) we
// use a reorder buffer: an event is released once no future event can sort before it, i.e. once
// its time is ≤ min(current merge time, earliest still-open blocking syscall), since a future
// GoSysExit never moves before its own GoSysBlock (spec §9.1).
//
// Rejected: materialising all events and sorting (Go's way; memory grows with the trace, ~500 B
// per event in Go); a single pass without the index (the frequency, strings and stacks are at the
// end of the file, so nothing could be printed before reading it all).
//
#include "lib/parser/order.h"

#include <algorithm>
#include <array>
#include <cinttypes>
#include <cstring>

namespace tracetool::parser::internal {

using format::EventType;

namespace {
constexpr uint8_t kDead = 0, kRunnable = 1, kRunning = 2, kWaiting = 3;
constexpr uint64_t kUnordered = ~0ull;    // no ordering requirement
constexpr uint64_t kGCKey = ~0ull - 1;    // the GC pseudo-goroutine that orders GCStart
constexpr uint64_t kNoSeq = ~0ull;        // sequence not checked / unchanged
constexpr uint64_t kSeqInc = ~0ull - 1;   // sequence incremented

struct Transition {
  uint64_t key = kUnordered;
  uint64_t init_seq = kNoSeq;
  uint8_t init_status = 0;
  uint64_t next_seq = kNoSeq;
  uint8_t next_status = 0;
};

// The transition table of spec §3.2.
[[gnu::always_inline]] inline Transition StateTransition(const MEvent& ev) {
  Transition t;
  switch (ev.type) {
    case EventType::kGoCreate:
      t = {ev.args[0], 0, kDead, 1, kRunnable};
      break;
    case EventType::kGoWaiting:
    case EventType::kGoInSyscall:
      t = {ev.g, 1, kRunnable, 2, kWaiting};
      break;
    case EventType::kGoStart:
    case EventType::kGoStartLabel:
      t = {ev.g, ev.args[1], kRunnable, ev.args[1] + 1, kRunning};
      break;
    case EventType::kGoStartLocal:
      t = {ev.g, kNoSeq, kRunnable, kSeqInc, kRunning};
      break;
    case EventType::kGoBlock:
    case EventType::kGoBlockSend:
    case EventType::kGoBlockRecv:
    case EventType::kGoBlockSelect:
    case EventType::kGoBlockSync:
    case EventType::kGoBlockCond:
    case EventType::kGoBlockNet:
    case EventType::kGoSleep:
    case EventType::kGoSysBlock:
    case EventType::kGoBlockGC:
      t = {ev.g, kNoSeq, kRunning, kNoSeq, kWaiting};
      break;
    case EventType::kGoSched:
    case EventType::kGoPreempt:
      t = {ev.g, kNoSeq, kRunning, kNoSeq, kRunnable};
      break;
    case EventType::kGoUnblock:
    case EventType::kGoSysExit:
      t = {ev.args[0], ev.args[1], kWaiting, ev.args[1] + 1, kRunnable};
      break;
    case EventType::kGoUnblockLocal:
    case EventType::kGoSysExitLocal:
      t = {ev.args[0], kNoSeq, kWaiting, kSeqInc, kRunnable};
      break;
    case EventType::kGCStart:
      t = {kGCKey, ev.args[0], kDead, ev.args[0] + 1, kDead};
      break;
    default:
      break;
  }
  return t;
}

constexpr std::array<GContext, 64> MakeGContext() {
  std::array<GContext, 64> t{};
  using E = EventType;
  for (E e : {E::kGoStart, E::kGoStartLocal, E::kGoStartLabel}) t[static_cast<size_t>(e)] = GContext::kStart;
  for (E e : {E::kGCSTWStart, E::kGCStart, E::kGCDone, E::kGCSTWDone}) {
    t[static_cast<size_t>(e)] = GContext::kNone;
  }
  for (E e : {E::kGoEnd, E::kGoStop, E::kGoSched, E::kGoPreempt, E::kGoSleep, E::kGoBlock,
              E::kGoBlockSend, E::kGoBlockRecv, E::kGoBlockSelect, E::kGoBlockSync,
              E::kGoBlockCond, E::kGoBlockNet, E::kGoSysBlock, E::kGoBlockGC}) {
    t[static_cast<size_t>(e)] = GContext::kEnd;
  }
  for (E e : {E::kGoSysExit, E::kGoWaiting, E::kGoInSyscall}) t[static_cast<size_t>(e)] = GContext::kArg0;
  return t;
}
constexpr std::array<GContext, 64> kGContext = MakeGContext();

// Local variants are only for ordering (spec §3.4): each type → the type it is merged as.
constexpr std::array<EventType, 64> MakeRenameLocal() {
  std::array<EventType, 64> t{};
  for (size_t i = 0; i < t.size(); ++i) t[i] = static_cast<EventType>(i);
  t[static_cast<size_t>(EventType::kGoStartLocal)] = EventType::kGoStart;
  t[static_cast<size_t>(EventType::kGoUnblockLocal)] = EventType::kGoUnblock;
  t[static_cast<size_t>(EventType::kGoSysExitLocal)] = EventType::kGoSysExit;
  return t;
}
constexpr std::array<EventType, 64> kRenameLocal = MakeRenameLocal();

}  // namespace

struct Merger::Cursor {
  Cursor(const Input* in, int version, int64_t p_, const std::vector<BatchRef>* b)
      : p(p_), batches(b), reader(in, version, 0, 0, 64 << 10) {}
  const int64_t p;
  const std::vector<BatchRef>* const batches;  // null for the CPU-sample cursor
  size_t next_batch = 0;
  bool in_batch = false;
  RawReader reader;
  RawRecord rec;
  int64_t last_ticks = 0;
  int64_t last_seq = 0;
  uint64_t cur_g = 0;  // the goroutine running on this P (spec §1.7 "G context")
  bool has_head = false;
  // Two slots: the event just merged stays valid in one while the next head is decoded into the
  // other, so merged events are handed out by pointer instead of being copied.
  MEvent slots[2];
  int cur = 0;
  MEvent& head() { return slots[cur]; }
  Transition trans;  // computed when the head entered the frontier
  // Where Classify() found trans.key's state, valid while gstate_.epoch() == state_epoch (null:
  // not found then). Saves the second lookup when the head is merged.
  Merger::OrderState* state = nullptr;
  uint64_t state_epoch = 0;
  // CPU samples, sorted by real time (spec §3.1).
  std::vector<MEvent> samples;
  size_t next_sample = 0;
};

Merger::Merger(const Input* in, const TraceIndex* index)
    : in_(in), idx_(index), fast_version_(index->version >= 1007) {
  // Per event type, for this version: what Advance() needs to turn wire values into a head.
  for (int t = 0; t < 64; ++t) {
    TypePlan& tp = plans_[static_cast<size_t>(t)];
    tp.gctx = kGContext[static_cast<size_t>(t)];
    if (t == 0 || t >= static_cast<int>(EventType::kCount)) continue;
    const auto type = static_cast<EventType>(t);
    const format::EventSpec& spec = format::Spec(type);
    const int want = format::WireValueCount(type, idx_->version);
    tp.has_stack = spec.has_stack;
    if (want > 0) {
      tp.nargs = static_cast<uint8_t>(
          std::min<int>(want - 1 - (spec.has_stack ? 1 : 0), format::kMaxArgs));
    }
    // Handled by FillHead() straight from the buffer: timeline events of this version, except
    // CPU samples (their own cursor) and UserLog (a message follows its values).
    if (spec.min_version <= idx_->version && !spec.meta && want > 0 &&
        type != EventType::kCPUSample && type != EventType::kUserLog && want <= 8) {
      tp.want = static_cast<int8_t>(want);
    }
  }
}
Merger::~Merger() = default;

Status Merger::Init() {
  initialized_ = true;
  for (const auto& [p, batches] : idx_->batches) {
    cursors_.push_back(std::make_unique<Cursor>(in_, idx_->version, p, &batches));
  }
  if (!idx_->cpu_samples.empty()) {
    auto c = std::make_unique<Cursor>(in_, idx_->version, format::kProfileP, nullptr);
    c->samples = idx_->cpu_samples;
    std::stable_sort(c->samples.begin(), c->samples.end(),
                     [](const MEvent& a, const MEvent& b) { return a.ticks < b.ticks; });
    cursors_.push_back(std::move(c));
  }
  for (uint32_t i = 0; i < cursors_.size(); ++i) {
    TT_RETURN_IF_ERROR(Advance(i));
  }
  if (idx_->version < 1007) {
    // Spec §3.5: concatenate, give GoSysExit its real seq and time, sort by seq, check time.
    for (uint32_t i = 0; i < cursors_.size(); ++i) {
      Cursor& c = *cursors_[i];
      while (c.has_head) {
        MEvent e = c.head();
        if (e.type == EventType::kGoSysExit) {
          e.seq = static_cast<int64_t>(e.args[1]);
          if (e.args[2] != 0) e.ticks = static_cast<int64_t>(e.args[2]);
        }
        events1005_.push_back(std::move(e));
        TT_RETURN_IF_ERROR(Advance(i));
      }
    }
    std::stable_sort(events1005_.begin(), events1005_.end(),
                     [](const MEvent& a, const MEvent& b) { return a.seq < b.seq; });
    for (size_t i = 1; i < events1005_.size(); ++i) {
      if (events1005_[i].ticks < events1005_[i - 1].ticks) {
        return ErrStatus(ErrorTag::kInconsistent,
                         "offset 0x%" PRIx64 ": time stamps out of order: %s at tick %" PRId64
                         " follows an event at tick %" PRId64 " in sequence order",
                         events1005_[i].offset,
                         std::string(format::Spec(events1005_[i].type).name).c_str(),
                         events1005_[i].ticks, events1005_[i - 1].ticks);
      }
    }
    return OkStatus();
  }
  for (uint32_t i = 0; i < cursors_.size(); ++i) {
    if (cursors_[i]->has_head) {
      ++live_cursors_;
      Classify(i);
    }
  }
  return OkStatus();
}

// Advance(): the common case inline, decoded straight from the cursor's buffer into the head
// slot: an ordinary event (version >= 1007) whose value count is right, in a batch, with enough
// bytes buffered. Everything else (batch starts, meta records, CPU samples, UserLog, the end of
// the buffered bytes, malformed records) goes through AdvanceSlow() and RawReader::Next, which
// also produces the exact error.
[[gnu::always_inline]] inline Status Merger::Advance(uint32_t ci) {
  Cursor& c = *cursors_[ci];
  if (c.in_batch && fast_version_ && !c.reader.AtEnd()) {
    if (const uint8_t* const p0 = c.reader.FastPeek()) {
      const uint8_t b = p0[0];
      const TypePlan& tp = plans_[b & 0x3f];
      const int narg = (b >> 6) + 1;
      uint64_t v[9];  // zero past the values: FillHead copies four slots unconditionally
      v[0] = v[1] = v[2] = v[3] = v[4] = 0;
      const uint8_t* p = p0 + 1;
      bool ok = tp.want > 0;
      int n = 0;
      if (ok && narg < 4) {
        ok = narg == tp.want;
        for (; ok && n < narg; ++n) ok = DecodeVarint(&p, &v[n]);
      } else if (ok) {
        uint64_t len = 0;
        ok = DecodeVarint(&p, &len) && len <= 90;
        const uint8_t* const vend = p + len;
        while (ok && p < vend) ok = n < 8 && DecodeVarint(&p, &v[n++]);
        ok = ok && p == vend && n == tp.want;
      }
      if (ok) {
        const uint64_t off = c.reader.offset();
        c.reader.FastSkip(static_cast<size_t>(p - p0));
        FillHead(c, tp, static_cast<EventType>(b & 0x3f), off, v, static_cast<size_t>(n),
                 /*zero_tail=*/true);
        return OkStatus();
      }
    }
  }
  return AdvanceSlow(ci);
}

[[gnu::noinline]] Status Merger::AdvanceSlow(uint32_t ci) {
  Cursor& c = *cursors_[ci];
  c.has_head = false;
  if (c.batches == nullptr) {  // CPU samples
    if (c.next_sample < c.samples.size()) {
      c.cur ^= 1;
      c.head() = std::move(c.samples[c.next_sample++]);
      c.has_head = true;
    }
    return OkStatus();
  }
  const int ver = idx_->version;
  while (true) {
    if (!c.in_batch || c.reader.AtEnd()) {
      if (c.next_batch >= c.batches->size()) return OkStatus();
      const BatchRef& b = (*c.batches)[c.next_batch++];
      c.reader.Reset(b.start, b.end);
      c.last_ticks = b.ticks;
      c.last_seq = b.seq;
      c.in_batch = true;
      continue;
    }
    TT_RETURN_IF_ERROR(c.reader.Next(&c.rec, /*want_strings=*/false));
    const RawRecord& r = c.rec;
    const std::span<const uint64_t> v = r.values();
    if (r.type == EventType::kCPUSample) {
      c.last_ticks = WrapAdd(c.last_ticks, static_cast<int64_t>(v[0]));  // its delta still counts (spec §1.7)
      continue;
    }
    const format::EventSpec& spec = format::Spec(r.type);
    if (spec.meta) continue;
    if (ver >= 1007) {
      FillHead(c, plans_[static_cast<size_t>(r.type)], r.type, r.offset, v.data(), v.size(),
               /*zero_tail=*/false);
    } else {
      MEvent& e = c.slots[c.cur ^ 1];
      e.type = r.type;
      e.offset = r.offset;
      e.p = c.p;
      e.seq = WrapAdd(c.last_seq, static_cast<int64_t>(v[0]));
      e.ticks = WrapAdd(c.last_ticks, static_cast<int64_t>(v[1]));
      c.last_seq = e.seq;
      c.last_ticks = e.ticks;
      const size_t arg0 = 2;
      // Value counts were checked by the reader: arg0 + slots (+ stack id).
      const size_t nargs =
          std::min<size_t>(v.size() - arg0 - (spec.has_stack ? 1 : 0), format::kMaxArgs);
      e.args[0] = e.args[1] = e.args[2] = e.args[3] = 0;
      for (size_t i = 0; i < nargs; ++i) e.args[i] = v[arg0 + i];
      e.stack_id =
          spec.has_stack ? static_cast<uint32_t>(std::min<uint64_t>(v.back(), UINT32_MAX)) : 0;
      e.message_len = 0;
      SetG(c, e, kGContext[static_cast<size_t>(r.type)]);
      c.cur ^= 1;
    }
    if (r.type == EventType::kUserLog) {
      MEvent& e = c.head();
      e.message_offset = r.str_offset;
      e.message_len = static_cast<uint32_t>(r.str.size());  // at most 1e6 (raw_reader.cc)
    }
    c.has_head = true;
    return OkStatus();
  }
}

// SetG(): the event's goroutine and the P's current one (spec §1.7 "G context").
inline void Merger::SetG(Cursor& c, MEvent& e, GContext gc) {
  e.g = c.cur_g;
  switch (gc) {
    case GContext::kStart:
      c.cur_g = e.args[0];
      e.g = c.cur_g;
      break;
    case GContext::kNone:
      e.g = 0;
      break;
    case GContext::kEnd:
      c.cur_g = 0;
      break;
    case GContext::kArg0:
      e.g = e.args[0];
      break;
    case GContext::kKeep:
      break;
  }
}

// FillHead(): the next head of cursor c (version >= 1007) from its wire values v[0..n), whose
// count the caller has checked: time delta, argument slots, stack id. zero_tail: v has at least
// 5 elements, zero past the n values.
inline void Merger::FillHead(Cursor& c, const TypePlan& tp, EventType type, uint64_t offset,
                             const uint64_t* v, size_t n, bool zero_tail) {
  MEvent& e = c.slots[c.cur ^ 1];
  e.type = type;
  e.offset = offset;
  e.p = c.p;
  e.seq = 0;
  e.ticks = WrapAdd(c.last_ticks, static_cast<int64_t>(v[0]));
  c.last_ticks = e.ticks;
  static_assert(format::kMaxArgs == 4);
  if (zero_tail) {
    // Slots past the arguments hold zeros or the stack id (at index nargs), which is cleared.
    memcpy(e.args, v + 1, sizeof(e.args));
    if (tp.has_stack && tp.nargs < format::kMaxArgs) e.args[tp.nargs] = 0;
  } else {
    for (size_t i = 0; i < format::kMaxArgs; ++i) e.args[i] = i < tp.nargs ? v[1 + i] : 0;
  }
  e.stack_id = tp.has_stack ? static_cast<uint32_t>(std::min<uint64_t>(v[n - 1], UINT32_MAX)) : 0;
  e.message_len = 0;
  SetG(c, e, tp.gctx);
  c.cur ^= 1;
  c.has_head = true;
}

// An ended goroutine's ordering state is (its last seq, running): GoEnd changes nothing (spec
// §3.2). Its seq is no longer needed: every transition that checks a seq also needs status
// runnable or waiting, which an ended goroutine never has again in a valid trace.
constexpr uint64_t kEndedSeq = ~0ull - 2;

Merger::OrderState Merger::Current(uint64_t key) const {
  if (const OrderState* s = gstate_.Find(key)) return *s;
  if (key != kGCKey && ended_.Contains(key)) return OrderState{kEndedSeq, kRunning};
  return OrderState{};
}

Merger::OrderState& Merger::Mutable(uint64_t key) {
  bool inserted = false;
  OrderState& s = gstate_.Get(key, &inserted);
  if (inserted && key != kGCKey && ended_.Contains(key)) s = OrderState{kEndedSeq, kRunning};
  return s;
}

[[gnu::always_inline]] inline void Merger::Classify(uint32_t ci) {
  Cursor& c = *cursors_[ci];
  c.trans = StateTransition(c.head());
  const Transition& t = c.trans;
  if (t.key != kUnordered) {
    c.state = gstate_.Find(t.key);
    c.state_epoch = gstate_.epoch();
    const OrderState cur = c.state != nullptr ? *c.state : Current(t.key);
    if (!((t.init_seq == kNoSeq || t.init_seq == cur.seq) && t.init_status == cur.status)) {
      waiters_.Get(t.key).push_back(ci);
      ++parked_;
      return;
    }
  }
  // Local variants are only for ordering (spec §3.4).
  c.head().type = kRenameLocal[static_cast<size_t>(c.head().type) & 63];
  newly_ready_.push_back(ci);
}

void Merger::Wake(uint64_t key) {
  if (parked_ == 0) return;  // the common case: every P's head is ready
  std::vector<uint32_t>* w = waiters_.Find(key);
  if (w == nullptr || w->empty()) return;
  std::vector<uint32_t> list;
  list.swap(*w);
  parked_ -= list.size();
  for (uint32_t ci : list) Classify(ci);  // may re-park some of them
}

Status Merger::MergeOne(MEvent** outp, bool* done) {
  // Go appends the heads that became ready in bucket order, then insertion-sorts the frontier
  // by time. The frontier is kept sorted here, so that stable sort is the same as inserting each
  // new head after the heads with an equal or earlier time (upper bound).
  auto earlier = [](const FrontierItem& a, const FrontierItem& b) { return a.ticks < b.ticks; };
  FrontierItem top;
  if (newly_ready_.size() == 1) {
    // The common step: the only new head is the one that replaced the event just merged. When it
    // is strictly earlier than every frontier head, Go's insertion would put it first and the
    // removal below would take it again, moving the last element to its lower bound among the
    // others, which leaves the frontier as it is when that element's time is strictly the
    // largest. Then the frontier need not be touched at all.
    const uint32_t ci = newly_ready_[0];
    const int64_t ticks = cursors_[ci]->head().ticks;
    const size_t n = frontier_.size();
    if ((n == 0 || ticks < frontier_[0].ticks) &&
        (n < 2 || frontier_[n - 2].ticks < frontier_[n - 1].ticks)) {
      newly_ready_.clear();
      top = FrontierItem{ticks, ci};
      return Merged(top, outp);
    }
  }
  if (!newly_ready_.empty()) {
    if (newly_ready_.size() > 1) std::sort(newly_ready_.begin(), newly_ready_.end());
    for (uint32_t ci : newly_ready_) {
      const FrontierItem item{cursors_[ci]->head().ticks, ci};
      frontier_.insert(std::upper_bound(frontier_.begin(), frontier_.end(), item, earlier), item);
    }
    newly_ready_.clear();
  }
  if (frontier_.empty()) {
    if (live_cursors_ == 0) {
      *done = true;
      return OkStatus();
    }
    // Report one of the stuck heads.
    for (auto& c : cursors_) {
      if (c->has_head) {
        return ErrStatus(ErrorTag::kInconsistent,
                         "offset 0x%" PRIx64 ": no consistent ordering of events possible: %s "
                         "on p %" PRId64 " (g %" PRIu64 ") can never become ready; the goroutine "
                         "sequence numbers of the batches contradict each other",
                         c->head().offset, std::string(format::Spec(c->head().type).name).c_str(), c->p,
                         c->head().g);
      }
    }
    TT_CHECK(false);
  }
  // Take the earliest; Go then moves the last element into its slot, and its next sort puts that
  // element before the heads with an equal time (it sits first): a lower-bound insertion.
  top = frontier_[0];
  const FrontierItem last = frontier_.back();
  frontier_.pop_back();
  if (!frontier_.empty()) {
    auto pos = std::lower_bound(frontier_.begin() + 1, frontier_.end(), last, earlier);
    std::move(frontier_.begin() + 1, pos, frontier_.begin());
    *(pos - 1) = last;
  }
  return Merged(top, outp);
}

// Merged(): the head of cursor top.cursor is the next merged event: apply its state transition,
// check its time, load the cursor's next head.
[[gnu::always_inline]] inline Status Merger::Merged(FrontierItem top, MEvent** outp) {
  Cursor& c = *cursors_[top.cursor];
  MEvent* out = &c.head();  // stays valid: Advance() decodes into the other slot
  *outp = out;
  // Apply the transition computed when the head entered the frontier.
  const Transition t = c.trans;  // a copy: Classify() below replaces c.trans
  if (t.key != kUnordered) {
    OrderState& s = c.state != nullptr && c.state_epoch == gstate_.epoch() ? *c.state : Mutable(t.key);
    if (!((t.init_seq == kNoSeq || t.init_seq == s.seq) && t.init_status == s.status)) [[unlikely]] {
      // Go panics here ("event sequences are broken"); only malformed traces get here.
      return SequencesBroken(*out, t.key, t.init_seq, t.init_status, s);
    }
    uint64_t next_seq = t.next_seq == kNoSeq ? s.seq : t.next_seq == kSeqInc ? s.seq + 1 : t.next_seq;
    s.seq = next_seq;
    s.status = t.next_status;
  }
  if (out->ticks < last_merged_ticks_) [[unlikely]] return TimeOutOfOrder(*out);
  last_merged_ticks_ = out->ticks;
  if (out->type == EventType::kGoSysBlock || out->type == EventType::kGoInSyscall) {
    out->seq = static_cast<int64_t>(Current(out->g).seq);  // what its GoSysExit will carry
  }
  if ((out->type == EventType::kGoEnd || out->type == EventType::kGoStop) && out->g != 0) {
    ended_.Insert(out->g);
    gstate_.Erase(out->g);
  }
  TT_RETURN_IF_ERROR(Advance(top.cursor));
  if (c.has_head) {
    Classify(top.cursor);
  } else {
    --live_cursors_;
  }
  if (t.key != kUnordered && parked_ != 0) Wake(t.key);  // parked_ == 0: the common case
  return OkStatus();
}

Status Merger::Next1005(MEvent** ev, bool* done) {
  if (next1005_ >= events1005_.size()) {
    *done = true;
    return OkStatus();
  }
  *ev = &events1005_[next1005_++];
  return OkStatus();
}

void SyscallReorder::CloseSyscall(uint64_t g) {
  OpenSyscall* o = open_syscalls_.Find(g);
  if (o == nullptr || !o->open) return;
  o->open = false;
  if (exact_ && o->exit_known) {
    if (!o->emitted) exits_ahead_.erase({o->time, g});
    return;
  }
  std::multiset<int64_t>& set = o->exit_known ? known_exit_times_ : open_block_times_;
  set.erase(set.find(o->time));
}

// EmitExitsBefore(): the exits of open syscalls whose real time is before `ticks`, the time the
// merge has reached, go out now (into the heap of moved events, before everything merged later).
[[gnu::noinline]] void SyscallReorder::EmitExitsBefore(int64_t ticks) {
  while (!exits_ahead_.empty() && exits_ahead_.begin()->first < ticks) {
    const auto [ts, g] = *exits_ahead_.begin();
    exits_ahead_.erase(exits_ahead_.begin());
    OpenSyscall& o = *open_syscalls_.Find(g);
    o.emitted = true;
    Pending p{ts, merge_index_++, MEvent{}};
    MEvent& e = p.ev;  // as the Merger will produce it (GoSysExit has no stack)
    e.ticks = ts;
    e.offset = o.exit_offset;
    e.g = g;
    e.p = format::kSyscallP;
    e.type = EventType::kGoSysExit;
    e.args[0] = g;
    e.args[1] = o.exit_seq;
    e.args[2] = static_cast<uint64_t>(ts);
    moved_.push(p);
  }
}

int64_t SyscallReorder::Watermark() const {
  if (merge_done_) return INT64_MAX;
  // Events still to merge come at or after last_merged_ticks_, except syscall exits, which move
  // back to their real time: to the known time of a far exit, or at most small_sysexit_lag back
  // and never before their own block.
  int64_t w = last_merged_ticks_;
  if (!known_exit_times_.empty()) w = std::min(w, *known_exit_times_.begin());
  if (!open_block_times_.empty()) {
    int64_t back = 0;
    if (__builtin_sub_overflow(last_merged_ticks_, idx_->small_sysexit_lag, &back)) back = INT64_MIN;
    w = std::min(w, std::max(*open_block_times_.begin(), back));
  }
  return w;
}

[[gnu::noinline, gnu::cold]] Status Merger::SequencesBroken(const MEvent& e, uint64_t key,
                                                          uint64_t seq, int status,
                                                          OrderState found) const {
  return ErrStatus(ErrorTag::kInconsistent,
                   "offset 0x%" PRIx64 ": event sequences are broken: %s for g %" PRIu64
                   " expected (seq %" PRIu64 ", status %d), found (seq %" PRIu64 ", status %d)",
                   e.offset, std::string(format::Spec(e.type).name).c_str(), key, seq, status,
                   found.seq, found.status);
}

[[gnu::noinline, gnu::cold]] Status Merger::TimeOutOfOrder(const MEvent& e) const {
  return ErrStatus(ErrorTag::kInconsistent,
                   "offset 0x%" PRIx64 ": time stamps out of order: %s on p %" PRId64
                   " at tick %" PRId64 " must follow an event at tick %" PRId64
                   " (clock skew between CPUs, or a corrupt time delta)",
                   e.offset, std::string(format::Spec(e.type).name).c_str(), e.p, e.ticks,
                   last_merged_ticks_);
}

Status Merger::NextMergedSlow(MEvent** ev, bool* done) {
  *done = false;
  if (!initialized_) TT_RETURN_IF_ERROR(Init());
  if (idx_->version < 1007) return Next1005(ev, done);
  return MergeOne(ev, done);
}

Status SyscallReorder::OutOfOrder(const Pending& p) const {
  return ErrStatus(ErrorTag::kInconsistent,
                   "offset 0x%" PRIx64 ": time stamps out of order after moving syscall "
                   "exits to their real time",
                   p.ev.offset);
}

const MEvent* SyscallReorder::PopSlow(Status* st) {
  const bool from_fifo =
      moved_.empty() || (!in_order_.empty() && !PendingLater()(in_order_.front(), moved_.top()));
  const Pending& top = from_fifo ? in_order_.front() : moved_.top();
  if (top.ticks > watermark_) return nullptr;
  if (top.ticks < last_released_ticks_) {
    *st = OutOfOrder(top);
    return nullptr;
  }
  last_released_ticks_ = top.ticks;
  if (from_fifo) {
    fifo_pop_pending_ = true;
    return &top.ev;
  }
  released_ = top.ev;
  moved_.pop();
  return &released_;
}

// Syscall(): spec §3.3 step 5 for a syscall block or exit; moves a GoSysExit to its real time.
[[gnu::noinline]] Status SyscallReorder::Syscall(MEvent& m, bool* drop) {
  switch (m.type) {
    case EventType::kGoSysBlock:
    case EventType::kGoInSyscall: {
      last_sys_block_.Get(m.g) = m.ticks;
      CloseSyscall(m.g);
      OpenSyscall& o = open_syscalls_.Get(m.g);
      o.open = true;
      o.emitted = false;
      // Its exit will carry the goroutine's current sequence number (spec §3.2), which the
      // Merger left in m.seq.
      auto far = idx_->far_sysexits.find({m.g, static_cast<uint64_t>(m.seq)});
      if (far != idx_->far_sysexits.end() && far->second.ts >= m.ticks) {
        o.exit_known = true;
        o.time = far->second.ts;
        if (exact_) {
          o.exit_offset = far->second.offset;
          o.exit_seq = static_cast<uint64_t>(m.seq);
          exits_ahead_.insert({o.time, m.g});
        } else {
          known_exit_times_.insert(o.time);
        }
      } else {
        o.exit_known = false;
        o.time = m.ticks;
        open_block_times_.insert(o.time);
      }
      break;
    }
    case EventType::kGoSysExit: {
      if (exact_) {
        OpenSyscall* o = open_syscalls_.Find(m.g);
        if (o != nullptr && o->open && o->emitted) {
          if (m.offset != o->exit_offset || m.args[1] != o->exit_seq) {
            return ErrStatus(ErrorTag::kInconsistent,
                             "offset 0x%" PRIx64 ": GoSysExit of g %" PRIu64 " (seq %" PRIu64
                             ") follows its GoSysBlock, but the index paired that block with "
                             "the exit at offset 0x%" PRIx64 " (seq %" PRIu64 ")",
                             m.offset, m.g, m.args[1], o->exit_offset, o->exit_seq);
          }
          o->open = false;
          *drop = true;  // it went out at its real time already
          break;
        }
      }
      CloseSyscall(m.g);
      const auto ts = static_cast<int64_t>(m.args[2]);
      if (ts == 0) break;
      int64_t* block = last_sys_block_.Find(m.g);
      if (block == nullptr || *block == 0) {
        return ErrStatus(ErrorTag::kInconsistent,
                         "offset 0x%" PRIx64 ": stray syscall exit: GoSysExit of g %" PRIu64
                         " with real time %" PRId64 " but the goroutine never blocked in a "
                         "syscall",
                         m.offset, m.g, ts);
      }
      if (ts < *block) {
        return ErrStatus(ErrorTag::kInconsistent,
                         "offset 0x%" PRIx64 ": time stamps out of order: GoSysExit of g %" PRIu64
                         " has real time %" PRId64 ", before its GoSysBlock at %" PRId64,
                         m.offset, m.g, ts, *block);
      }
      m.ticks = ts;
      break;
    }
    default:
      break;
  }
  return OkStatus();
}

[[gnu::noinline]] Status SyscallReorder::PushSlow(MEvent* mp, const MEvent** ev, bool* got) {
  *got = false;
  if (fifo_pop_pending_) {
    in_order_.pop_front();
    fifo_pop_pending_ = false;
  }
  MEvent& m = *mp;
  last_merged_ticks_ = m.ticks;  // before any move: merged events come in time order
  bool drop = false;
  if (m.type == EventType::kGoSysBlock || m.type == EventType::kGoInSyscall ||
      m.type == EventType::kGoSysExit) {
    TT_RETURN_IF_ERROR(Syscall(m, &drop));  // out of line: the common events need a small frame here
  }
  if (!exits_ahead_.empty() && exits_ahead_.begin()->first < last_merged_ticks_) {
    EmitExitsBefore(last_merged_ticks_);
  }
  watermark_ = Watermark();
  if (drop) return OkStatus();
  // Fast path: nothing buffered, and nothing still to come can move before this event.
  if (PendingEmpty() && m.ticks >= last_released_ticks_ && m.ticks <= watermark_) {
    last_released_ticks_ = m.ticks;
    ++merge_index_;
    *ev = mp;
    *got = true;
    return OkStatus();
  }
  if (in_order_.empty() || m.ticks >= in_order_.back().ticks) {
    Pending& p = in_order_.emplace_back();  // one copy of the event, into its final slot
    p.ticks = m.ticks;
    p.order = merge_index_++;
    p.ev = m;
  } else {
    moved_.push(Pending{m.ticks, merge_index_++, m});
  }
  return OkStatus();
}

Status OrderedMerge::NextSlow(MEvent* m, bool mdone, const MEvent** ev, bool* done) {
  *done = false;
  if (v1005_) {  // already in final order (spec §3.5)
    MEvent* e = nullptr;
    TT_RETURN_IF_ERROR(merger_.NextMerged(&e, done));
    *ev = e;
    return OkStatus();
  }
  if (mdone) {
    reorder_.Finish();
  } else if (m != nullptr) {
    bool got = false;
    TT_RETURN_IF_ERROR(reorder_.Push(m, ev, &got));
    if (got) return OkStatus();
  }
  while (true) {
    bool got = false;
    Status st;
    if ((*ev = reorder_.Pop(&st)) != nullptr) return OkStatus();
    TT_RETURN_IF_ERROR(st);
    if (reorder_.done()) {
      *done = true;
      return OkStatus();
    }
    MEvent* next = nullptr;
    bool ndone = false;
    TT_RETURN_IF_ERROR(merger_.NextMerged(&next, &ndone));
    if (ndone) {
      reorder_.Finish();
      continue;
    }
    TT_RETURN_IF_ERROR(reorder_.Push(next, ev, &got));
    if (got) return OkStatus();
  }
}

}  // namespace tracetool::parser::internal
