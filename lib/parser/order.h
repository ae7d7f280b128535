// Merger: turns the per-P batches of a v1 trace into one timeline, streaming (spec §3).
// See order.cc for the algorithm and why timestamps alone are not trusted.
#ifndef TRACETOOL_LIB_PARSER_ORDER_H_
#define TRACETOOL_LIB_PARSER_ORDER_H_

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <type_traits>
#include <queue>
#include <set>
#include <vector>

#include "lib/parser/flat_map.h"
#include "lib/parser/input.h"
#include "lib/parser/internal/index.h"
#include "lib/parser/internal/raw_reader.h"
#include "lib/parser/status.h"

namespace tracetool::parser::internal {

// How an event type reads and changes the P's current goroutine (spec §1.7 "G context").
enum class GContext : uint8_t {
  kKeep,   // G = the P's current goroutine
  kStart,  // GoStart*: current goroutine := arg g, G = g
  kNone,   // GC and STW events: G = 0, current goroutine unchanged
  kEnd,    // the goroutine stops running here: G = current, then current := 0
  kArg0,   // GoSysExit, GoWaiting, GoInSyscall: G = arg g (not GoSysExitLocal: Go keys this on
           // the raw type)
};

class Merger {
 public:
  // Both pointers are borrowed and must outlive the Merger.
  Merger(const Input* in, const TraceIndex* index);
  ~Merger();
  Merger(const Merger&) = delete;
  Merger& operator=(const Merger&) = delete;

  // NextMerged() yields events in merge order (spec §3.3 steps 1–4), before the syscall-exit
  // adjustment, with raw tick times; local variants are renamed. For GoSysBlock and GoInSyscall,
  // ev->seq is the goroutine's sequence number after the event (the one its GoSysExit will
  // carry), for SyscallReorder. Version 1005 traces come out in their final order already.
  // *ev points into the Merger and stays valid until the next call; the caller may modify it.
  Status NextMerged(MEvent** ev, bool* done) {
    if (initialized_ && fast_version_) {
      *done = false;
      return MergeOne(ev, done);
    }
    return NextMergedSlow(ev, done);
  }

 private:
  struct Cursor;
  struct OrderState {
    uint64_t seq = 0;
    uint8_t status = 0;  // kDead, kRunnable, kRunning, kWaiting
  };
  struct FrontierItem {
    int64_t ticks;
    uint32_t cursor;
  };

  // Per event type, for the trace's version (set in the constructor).
  struct TypePlan {
    int8_t want = 0;     // wire value count, when Advance() may decode it itself; else 0
    uint8_t nargs = 0;   // argument slots among the values (after the time delta)
    bool has_stack = false;
    GContext gctx = GContext::kKeep;
  };

  Status Init();
  Status NextMergedSlow(MEvent** ev, bool* done);
  Status TimeOutOfOrder(const MEvent& e) const;
  Status SequencesBroken(const MEvent& e, uint64_t key, uint64_t seq, int status,
                         OrderState found) const;
  Status Advance(uint32_t ci);              // load the next head event of cursor ci
  Status AdvanceSlow(uint32_t ci);
  static void SetG(Cursor& c, MEvent& e, GContext gc);
  void FillHead(Cursor& c, const TypePlan& tp, format::EventType type, uint64_t offset,
                const uint64_t* v, size_t n, bool zero_tail);
  void Classify(uint32_t ci);               // frontier if ready, else wait on its goroutine
  Status Apply(const MEvent& e);            // the state transition of a merged event
  void Wake(uint64_t key);                  // re-classify heads waiting on key
  Status MergeOne(MEvent** ev, bool* done);  // order1007 steps 1–4
  Status Merged(FrontierItem top, MEvent** ev);
  Status Next1005(MEvent** ev, bool* done);

  const Input* const in_;
  const TraceIndex* const idx_;
  const bool fast_version_;  // version >= 1007: Advance() may decode events itself
  std::array<TypePlan, 64> plans_;
  bool initialized_ = false;
  std::vector<std::unique_ptr<Cursor>> cursors_;
  // Go's frontier, kept exactly as order1007 keeps it (see order.cc): ready heads in a vector.
  std::vector<FrontierItem> frontier_;
  std::vector<uint32_t> newly_ready_;  // cursors whose head became ready since the last step
  FlatMap<std::vector<uint32_t>> waiters_;  // goroutine key → cursors whose head waits on it
  size_t parked_ = 0;                       // heads in waiters_
  FlatMap<OrderState> gstate_;  // goroutines not ended (and the GC pseudo-goroutine)
  IdSet ended_;                 // ended goroutines: status running forever (GoEnd keeps it)
  OrderState Current(uint64_t key) const;
  OrderState& Mutable(uint64_t key);
  int64_t last_merged_ticks_ = INT64_MIN;
  size_t live_cursors_ = 0;

  // Version 1005: the whole trace, sorted by global sequence number (spec §3.5).
  std::vector<MEvent> events1005_;
  size_t next1005_ = 0;
};


// SyscallReorder: Go's last two ordering steps (spec §3.3 steps 5–6): each GoSysExit moves to its
// real exit time, then everything is stably re-sorted by time. Streaming, with a small reorder
// buffer: an event is released once no event still to come can sort before it.
//
// It is separate from the Merger so that the two can run on different threads (reader.cc): the
// caller feeds it merged events one at a time.
//
//   while (true) {
//     if ((ev = r.Pop(&st)) != nullptr) { use(ev); continue; }  TT_RETURN_IF_ERROR(st);
//     if (r.done()) break;
//     get the next merged event m (or, at the end, r.Finish(); continue);
//     TT_RETURN_IF_ERROR(r.Push(m, &ev, &got)); if (got) use(ev);
//   }
class SyscallReorder {
 public:
  explicit SyscallReorder(const TraceIndex* index) : idx_(index), exact_(index->sysexits_exact) {}

  // Pop() releases the earliest buffered event if nothing still to come can sort before it:
  // null if there is none (then *st may hold an error). The event stays valid until the next
  // Pop() or Push(). Inline: it runs once or twice per event.
  const MEvent* Pop(Status* st) {
    if (fifo_pop_pending_) {  // the event handed out last time has been used
      in_order_.pop_front();
      fifo_pop_pending_ = false;
    }
    if (!moved_.empty()) return PopSlow(st);
    if (in_order_.empty()) return nullptr;
    Pending& top = in_order_.front();
    if (top.ticks > watermark_) return nullptr;
    if (top.ticks < last_released_ticks_) {
      *st = OutOfOrder(top);
      return nullptr;
    }
    last_released_ticks_ = top.ticks;
    fifo_pop_pending_ = true;  // handed out in place; popped on the next call
    return &top.ev;
  }
  // Push() takes the next merged event (it may change m->ticks). When m can go out at once
  // (the common case), *got is set and *ev == m; otherwise it is buffered.
  Status Push(MEvent* m, const MEvent** ev, bool* got) {
    if (Idle() && PassThrough(m)) {
      *ev = m;
      *got = true;
      return OkStatus();
    }
    return PushSlow(m, ev, got);
  }
  // PassThrough(): when Idle(), the common case: m goes out at once, untouched, if it is not a
  // syscall event, no exit is due before it, and the watermark is the merge time itself
  // (Watermark() without the sets). Then it counts as pushed and released; else nothing changed.
  bool PassThrough(const MEvent* m) {
    const EventType t = m->type;
    if (t != EventType::kGoSysBlock && t != EventType::kGoInSyscall &&
        t != EventType::kGoSysExit && m->ticks >= last_released_ticks_ &&
        (exits_ahead_.empty() || exits_ahead_.begin()->first >= m->ticks) &&
        known_exit_times_.empty() && (open_block_times_.empty() || idx_->small_sysexit_lag == 0)) {
      last_merged_ticks_ = watermark_ = last_released_ticks_ = m->ticks;
      ++merge_index_;
      return true;
    }
    return false;
  }
  // Finish(): there are no more merged events.
  void Finish() {
    merge_done_ = true;
    watermark_ = INT64_MAX;
  }
  // done(): finished and drained.
  bool done() const { return merge_done_ && PendingEmpty(); }
  // Idle(): not finished, nothing buffered or handed out: Pop() would return null.
  bool Idle() const { return !merge_done_ && !fifo_pop_pending_ && PendingEmpty(); }

 private:
  struct Pending {
    int64_t ticks;
    uint64_t order;  // merge index: keeps the sort stable
    MEvent ev;
  };
  struct PendingLater {
    bool operator()(const Pending& a, const Pending& b) const {
      return a.ticks != b.ticks ? a.ticks > b.ticks : a.order > b.order;
    }
  };

  const MEvent* PopSlow(Status* st);  // when some event was moved back in time
  Status PushSlow(MEvent* m, const MEvent** ev, bool* got);
  // Syscall() returns with *drop set when m is a GoSysExit that Advance() already emitted.
  Status Syscall(MEvent& m, bool* drop);
  void EmitExitsBefore(int64_t ticks);
  Status OutOfOrder(const Pending& p) const;

  const TraceIndex* const idx_;
  // The index knows every exit that moves back, by a unique time (TraceIndex::sysexits_exact):
  // such an exit is not waited for. While its syscall is open it sits in exits_ahead_, and when
  // the merge passes its time it is emitted from the index at that point (the place the stable
  // sort by time gives it: after everything merged at or before its time, before everything
  // later); when the merge reaches the exit itself, it is dropped. Events are then only held
  // back for exits that move forward (a corrupt clock) and while a pulled exit is handed out.
  const bool exact_;
  std::set<std::pair<int64_t, uint64_t>> exits_ahead_;  // (real time, g) of open syscalls
  int64_t last_merged_ticks_ = INT64_MIN;
  int64_t watermark_ = INT64_MIN;  // Watermark(), updated by Push() and Finish()
  // Syscall-exit adjustment and stable re-sort (spec §3.3 steps 5–6, §9.1): a reorder buffer.
  FlatMap<int64_t> last_sys_block_;         // goroutine → ticks of its last GoSysBlock/GoInSyscall
  // Open blocking syscalls, until their GoSysExit: for each, the earliest time its exit can have.
  struct OpenSyscall {
    bool open = false;
    bool exit_known = false;  // `time` is the exit's real time (from the index), else the block
    bool emitted = false;     // exact_: the exit went out already (from the index)
    int64_t time = 0;
    uint64_t exit_offset = 0;  // exact_ and exit_known: the exit's record
    uint64_t exit_seq = 0;
  };
  FlatMap<OpenSyscall> open_syscalls_;
  std::multiset<int64_t> open_block_times_;  // syscalls whose exit moves back ≤ small lag
  std::multiset<int64_t> known_exit_times_;  // syscalls whose exit time is known (not exact_)
  int64_t Watermark() const;  // no event still to come can sort before this time
  void CloseSyscall(uint64_t g);
  // The reorder buffer, ordered by (final time, merge index). Merged events arrive in time order,
  // so all but the moved syscall exits append to a FIFO; the moved ones go to a small heap.
  // The FIFO is a ring over a vector that grows to the largest occupancy and is then reused:
  // while any syscall is open nearly every event passes through it, so an event costs one copy
  // in and nothing else (no shifting, no allocation).
  class Fifo {
   public:
    bool empty() const { return head_ == tail_; }
    Pending& front() { return items_.get()[head_ & mask_]; }
    const Pending& back() const { return items_.get()[(tail_ - 1) & mask_]; }
    // emplace_back() returns the new last slot, to be filled in place (all of it).
    Pending& emplace_back() {
      if (tail_ - head_ == capacity_) Grow();
      return items_.get()[tail_++ & mask_];
    }
    void pop_front() { ++head_; }

   private:
    static_assert(std::is_trivially_copyable_v<Pending> && std::is_trivially_destructible_v<Pending>);
    struct Free {
      void operator()(Pending* p) const { std::free(p); }
    };
    void Grow() {
      // Uninitialised storage: the reorder buffer may grow to hundreds of thousands of events
      // (a long syscall), and every slot is written before it is read.
      const size_t n = tail_ - head_;
      const size_t cap = std::max<size_t>(64, capacity_ * 2);
      std::unique_ptr<Pending, Free> bigger(static_cast<Pending*>(std::malloc(cap * sizeof(Pending))));
      if (bigger == nullptr) throw std::bad_alloc();
      for (size_t i = 0; i < n; ++i) bigger.get()[i] = items_.get()[(head_ + i) & mask_];
      items_ = std::move(bigger);
      capacity_ = cap;
      mask_ = cap - 1;
      head_ = 0;
      tail_ = n;
    }
    std::unique_ptr<Pending, Free> items_;
    size_t capacity_ = 0;  // a power of two
    size_t mask_ = 0;
    uint64_t head_ = 0, tail_ = 0;  // positions; slot = position & mask_
  };
  Fifo in_order_;
  std::priority_queue<Pending, std::vector<Pending>, PendingLater> moved_;
  bool PendingEmpty() const { return in_order_.empty() && moved_.empty(); }
  uint64_t merge_index_ = 0;
  bool merge_done_ = false;
  int64_t last_released_ticks_ = INT64_MIN;
  MEvent released_;  // the event last handed out of the heap of moved events
  bool fifo_pop_pending_ = false;  // the FIFO's front was handed out; pop it on the next call

};

// OrderedMerge: Merger then SyscallReorder on one thread: events in Go's final order.
class OrderedMerge {
 public:
  OrderedMerge(const Input* in, const TraceIndex* index) : merger_(in, index), reorder_(index),
      v1005_(index->version < 1007) {}
  // *ev stays valid until the next call.
  Status Next(const MEvent** ev, bool* done) {
    // Inline: the common event goes from the merge through the reorder untouched.
    if (!v1005_ && reorder_.Idle()) {
      MEvent* m = nullptr;
      bool mdone = false;
      TT_RETURN_IF_ERROR(merger_.NextMerged(&m, &mdone));
      if (!mdone && reorder_.PassThrough(m)) {
        *ev = m;
        *done = false;
        return OkStatus();
      }
      return NextSlow(m, mdone, ev, done);
    }
    return NextSlow(nullptr, false, ev, done);
  }

 private:
  // NextSlow(): m is a merged event not yet pushed (or mdone: the merge has ended), or null.
  Status NextSlow(MEvent* m, bool mdone, const MEvent** ev, bool* done);
  Merger merger_;
  SyscallReorder reorder_;
  const bool v1005_;
};

}  // namespace tracetool::parser::internal

#endif  // TRACETOOL_LIB_PARSER_ORDER_H_
