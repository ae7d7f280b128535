// GC cycle driver (Go's mgc.go in miniature: gcStart, gcBgMarkWorker, gcAssistAlloc,
// gcMarkTermination, bgsweep), over a user-supplied Collector.
//
// Pacing is Go's simplest rule: the goal is marked * (1 + gogc/100), floored at min_heap, and a
// cycle starts when heap_alloc reaches it. Assists are charged 1:1 (a fiber that allocates N
// bytes during marking does N bytes of mark work), which is cruder than Go's assist ratio but
// bounds heap growth during a cycle the same way.
#include "lib/fiber/gc.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>

#include "lib/fiber/fiber.h"
#include "lib/fiber/internal/obs.h"
#include "lib/fiber/internal/runtime2.h"
#include "lib/fiber/internal/trace.h"
#include "lib/fiber/sync.h"

namespace tracetool::fiber {
namespace {

enum class Phase : uint32_t { kOff, kStarting, kMark, kSweep };

struct GcState {
  std::atomic<Collector*> collector{nullptr};
  GcOptions options;
  std::atomic<uint32_t> phase{static_cast<uint32_t>(Phase::kOff)};
  std::atomic<int64_t> heap_alloc{0};
  std::atomic<uint64_t> heap_goal{0};
  std::atomic<uint64_t> heap_marked{0};
  std::atomic<uint64_t> cycles{0};
  std::atomic<uint64_t> started{0};
  std::atomic<uint64_t> assists{0};
  std::atomic<uint64_t> stw_pauses{0};
  std::atomic<bool> mark_done{false};
  std::atomic<bool> forced{false};         // The running cycle was started by GC().
  Mutex mark_mu;   // Serialises MarkSome.
  Mutex done_mu;
  Cond done_cv{&done_mu};
};

GcState& State() {
  static GcState* s = new GcState();  // Never destroyed: NoteAlloc may run during exit.
  return *s;
}

constexpr size_t kMarkSlice = 64 * 1024;

uint64_t Goal(uint64_t marked, const GcOptions& o) {
  const uint64_t grown = marked + marked * static_cast<uint64_t>(std::max(o.gogc, 0)) / 100;
  return std::max<uint64_t>(grown, o.min_heap);
}

// Runs one mark slice; returns true if marking is complete.
bool MarkWork(Collector* c, size_t budget) {
  GcState& s = State();
  if (s.mark_done.load()) return true;
  s.mark_mu.Lock();
  bool done = s.mark_done.load();
  if (!done) {
    done = c->MarkSome(budget);
    if (done) s.mark_done.store(true);
  }
  s.mark_mu.Unlock();
  return done;
}

void BgCycle(Collector* c) {
  GcState& s = State();
  internal::GcCycleInfo info;  // For GODEBUG=gctrace/gcpacertrace and the metrics.
  info.t_sweep_term = internal::Nanotime();
  info.heap0 = static_cast<uint64_t>(std::max<int64_t>(0, s.heap_alloc.load()));
  info.prev_goal = s.heap_goal.load();
  info.gogc = s.options.gogc;
  info.procs = Procs();
  info.forced = s.forced.exchange(false);
  if (internal::TraceOn()) internal::TraceGCStart();
  if (internal::TraceOn()) internal::TraceGCSTWStart(1);
  StopTheWorld("GC sweep termination");
  s.stw_pauses.fetch_add(1);
  s.mark_done.store(false);
  c->StartCycle();
  s.phase.store(static_cast<uint32_t>(Phase::kMark));
  StartTheWorld();
  info.t_mark = internal::Nanotime();
  info.pause1_ns = info.t_mark - info.t_sweep_term;
  const int64_t assist0 = internal::Obs().gc_assist_ns.load();
  if (internal::TraceOn()) internal::TraceGCSTWDone();

  for (;;) {
    const int64_t t0 = internal::Nanotime();
    const bool done = MarkWork(c, kMarkSlice);
    info.bg_mark_ns += internal::Nanotime() - t0;
    if (done) break;
    Yield();
  }

  info.t_mark_term = internal::Nanotime();
  info.heap1 = static_cast<uint64_t>(std::max<int64_t>(0, s.heap_alloc.load()));
  if (internal::TraceOn()) internal::TraceGCSTWStart(0);
  StopTheWorld("GC mark termination");
  s.stw_pauses.fetch_add(1);
  size_t marked = c->FinishMark();
  if (internal::Obs().debug.gccheckmark > 0) {
    // Go's checkmark phase: mark again from scratch with the world stopped. The concurrent
    // mark may keep floating garbage (more bytes) but must never find fewer live bytes.
    c->StartCycle();
    while (!c->MarkSome(SIZE_MAX)) {
    }
    const size_t checked = c->FinishMark();
    if (checked > marked) {
      char msg[160];
      snprintf(msg, sizeof(msg), "gccheckmark: concurrent mark found %zu live bytes, a "
               "stop-the-world mark found %zu", marked, checked);
      internal::Throw(msg);
    }
    marked = checked;
  }
  s.heap_marked.store(marked);
  s.heap_goal.store(Goal(marked, s.options));
  s.phase.store(static_cast<uint32_t>(Phase::kSweep));
  StartTheWorld();
  info.t_sweep = internal::Nanotime();
  info.pause2_ns = info.t_sweep - info.t_mark_term;
  info.assist_ns = internal::Obs().gc_assist_ns.load() - assist0;
  info.heap2 = marked;
  info.goal = info.trigger = s.heap_goal.load();
  if (internal::TraceOn()) internal::TraceGCSTWDone();
  if (internal::TraceOn()) internal::TraceGCDone();
  if (internal::TraceOn()) internal::TraceHeap(s.heap_alloc.load(), s.heap_goal.load());

  if (internal::TraceOn()) internal::TraceGCSweepStart();
  const size_t freed = c->Sweep();
  if (internal::TraceOn()) internal::TraceGCSweepDone(freed + marked, freed);
  int64_t cur = s.heap_alloc.load();
  while (!s.heap_alloc.compare_exchange_weak(
      cur, std::max<int64_t>(0, cur - static_cast<int64_t>(freed)))) {
  }
  info.t_end = internal::Nanotime();
  internal::ObsGcCycle(info);
  if (internal::TraceOn()) internal::TraceHeap(s.heap_alloc.load(), 0);
  // The phase and the cycle count change together under done_mu: GC() must never see the phase
  // off with the count not yet raised (it would start a new cycle and then take this one's
  // increment for its own, returning while its cycle still runs).
  s.done_mu.Lock();
  s.phase.store(static_cast<uint32_t>(Phase::kOff));
  s.cycles.fetch_add(1);
  s.done_cv.Broadcast();
  s.done_mu.Unlock();
}

// Starts a cycle (in a new fiber) if none is running; returns whether it did.
bool TryStart() {
  GcState& s = State();
  Collector* c = s.collector.load();
  if (c == nullptr) return false;
  uint32_t off = static_cast<uint32_t>(Phase::kOff);
  if (!s.phase.compare_exchange_strong(off, static_cast<uint32_t>(Phase::kStarting))) {
    return false;
  }
  s.started.fetch_add(1);
  Go([c] { BgCycle(c); });
  return true;
}

}  // namespace

void SetCollector(Collector* c, GcOptions options) {
  GcState& s = State();
  if (static_cast<Phase>(s.phase.load()) != Phase::kOff) {
    internal::Throw("SetCollector while a GC cycle is running");
  }
  if (c == nullptr) {
    s.collector.store(nullptr);  // Keep the statistics of the last collector readable.
    return;
  }
  s.options = options;
  s.heap_alloc.store(0);
  s.heap_marked.store(0);
  s.heap_goal.store(Goal(0, options));
  s.cycles.store(0);
  s.started.store(0);
  s.assists.store(0);
  s.stw_pauses.store(0);
  s.collector.store(c);
}

namespace {

// One body for both NoteAlloc overloads, inlined into each so that the memory profiler's stack
// skip (ObsAlloc, NoteAlloc) holds for either.
[[gnu::always_inline]] inline void NoteAllocBody(const void* p, size_t bytes) {
  GcState& s = State();
  const int64_t now = s.heap_alloc.fetch_add(static_cast<int64_t>(bytes)) +
                      static_cast<int64_t>(bytes);
  internal::ObsAlloc(bytes, p);
  Collector* c = s.collector.load();
  if (c == nullptr) return;
  const auto phase = static_cast<Phase>(s.phase.load());
  if (phase == Phase::kOff && static_cast<uint64_t>(now) >= s.heap_goal.load()) {
    if (InFiber()) TryStart();
  } else if (phase == Phase::kMark && InFiber() && !s.mark_done.load()) {
    s.assists.fetch_add(1);
    const int64_t t0 = internal::Nanotime();
    internal::TraceAssistScope assist;  // GCMarkAssistStart/Done; a park in it is GoBlockGC.
    MarkWork(c, bytes);  // gcAssistAlloc: pay for the allocation with mark work.
    internal::ObsGcAssist(internal::Nanotime() - t0);
  }
}

[[gnu::always_inline]] inline void NoteFreeBody(const void* p, size_t bytes) {
  GcState& s = State();
  internal::ObsFree(bytes, p);
  int64_t cur = s.heap_alloc.load();
  while (!s.heap_alloc.compare_exchange_weak(
      cur, std::max<int64_t>(0, cur - static_cast<int64_t>(bytes)))) {
  }
}

}  // namespace

void NoteAlloc(size_t bytes) { NoteAllocBody(nullptr, bytes); }
void NoteAlloc(const void* p, size_t bytes) { NoteAllocBody(p, bytes); }
void NoteFree(size_t bytes) { NoteFreeBody(nullptr, bytes); }
void NoteFree(const void* p, size_t bytes) { NoteFreeBody(p, bytes); }

void GC() {
  GcState& s = State();
  if (s.collector.load() == nullptr) return;
  internal::TraceBlockAsScope as_block(format::EventType::kGoBlock);  // Go's GC() wait: GoBlock.
  // Wait out a cycle already in progress: it started before this call. Then the next cycle to
  // finish is one that started after the wait: ours, or, if TryStart loses the race, the one
  // that won it (cycles never overlap, and a finishing cycle turns the phase off and counts
  // itself in one step under done_mu).
  s.done_mu.Lock();
  while (static_cast<Phase>(s.phase.load()) != Phase::kOff) s.done_cv.Wait();
  const uint64_t before = s.cycles.load();
  s.forced.store(true);
  if (!TryStart()) s.forced.store(false);
  while (s.cycles.load() <= before) s.done_cv.Wait();
  s.done_mu.Unlock();
}

HeapStats ReadHeapStats() {
  GcState& s = State();
  HeapStats h;
  h.heap_alloc = static_cast<uint64_t>(std::max<int64_t>(0, s.heap_alloc.load()));
  h.heap_goal = s.heap_goal.load();
  h.heap_marked = s.heap_marked.load();
  h.cycles = s.cycles.load();
  h.assists = s.assists.load();
  h.stw_pauses = s.stw_pauses.load();
  return h;
}

}  // namespace tracetool::fiber
