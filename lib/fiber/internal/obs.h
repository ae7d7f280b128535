// Observability hooks inside the runtime (GODEBUG, metrics, profiles): the counters they
// update and the one-line hook functions scheduler.cc, gc.cc and sync.cc call. Everything
// here is cheap when the matching switch is off (one relaxed load or one plain increment).
// Only lib/fiber/*.cc include this.
#ifndef TRACETOOL_LIB_FIBER_INTERNAL_OBS_H_
#define TRACETOOL_LIB_FIBER_INTERNAL_OBS_H_

#include <atomic>
#include <bit>
#include <cstdint>
#include <functional>
#include <utility>
#include <string>
#include <vector>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include "lib/fiber/godebug.h"
#include "lib/fiber/internal/runtime2.h"

namespace tracetool::fiber::internal {

// Power-of-two buckets of nanoseconds: bucket 0 is [0,1ns), bucket i is [2^(i-1), 2^i) ns, the
// last one is open-ended. Lock-free; Record is one relaxed fetch_add.
struct TimeHistogram {
  static constexpr int kBuckets = 40;
  std::atomic<uint64_t> counts[kBuckets] = {};
  void Record(int64_t ns) {
    const uint64_t v = ns < 0 ? 0 : static_cast<uint64_t>(ns);
    int i = std::bit_width(v);
    if (i >= kBuckets) i = kBuckets - 1;
    counts[i].fetch_add(1, std::memory_order_relaxed);
  }
};

struct ObsState {
  GoDebug debug;                           // Written at Run() start, before any M or sysmon.
  size_t stack_size = 0;                   // Options::stack_size of the current Run().
  std::atomic<int64_t> run_start_ns{0};    // Nanotime() at Run() start (Go's runtimeInitTime).
  std::atomic<int64_t> schedtrace_start_ns{0};  // First SCHED line of this Run (Go's starttime).

  TimeHistogram sched_latency;             // Runnable -> running, 1 in 8 transitions (Go's rule).
  TimeHistogram gc_pauses;                 // Each GC stop-the-world pause.
  std::atomic<uint64_t> gc_pause_ns{0};
  std::atomic<uint64_t> gc_pause_cpu_ns{0};     // Pause x procs (Go charges all Ps).
  std::atomic<uint64_t> gc_assist_ns{0};
  std::atomic<uint64_t> gc_bg_mark_ns{0};
  std::atomic<uint64_t> gc_sweep_ns{0};
  std::atomic<uint64_t> gc_cycles{0};
  std::atomic<uint64_t> mutex_wait_ns{0};
  std::atomic<uint64_t> scavenge_ns{0};
  std::atomic<uint64_t> scavenged_bytes{0};
  std::atomic<uint64_t> idle_ns{0};             // Closed idle intervals of Ps.
  std::atomic<int64_t> idle_open_count{0};      // Ps idle right now...
  std::atomic<int64_t> idle_open_sum{0};        // ...and the sum of when they went idle.
  std::atomic<uint32_t> idle_seq{0};            // Odd while a writer updates the three above.
  std::atomic<uint64_t> procs_ns{0};            // Integral of gomaxprocs over closed intervals.
  std::atomic<int64_t> procs_since{0};          // Start of the open interval (0: not running).
  std::atomic<uint64_t> alloc_bytes{0};
  std::atomic<uint64_t> alloc_objects{0};
  std::atomic<uint64_t> free_bytes{0};
  std::atomic<uint64_t> free_objects{0};

  std::atomic<int64_t> block_rate{0};           // SetBlockProfileRate.
  std::atomic<int32_t> mutex_fraction{0};       // SetMutexProfileFraction.
  std::atomic<int64_t> mem_rate{512 * 1024};    // SetMemProfileRate.
};
ObsState& Obs();

// ---- Hooks (one line each at the call site) ----

// Run() start: reads GODEBUG, warns about malformed values, resets per-run state.
void ObsRunStart(size_t stack_size);
// Wraps main so RegisterInit() initializers run first, in the main fiber.
std::function<void()> ObsWrapMain(std::function<void()> main);

// The scheduling-latency clock (/sched/latencies:seconds). Go samples 1 in 8 runnable ->
// running transitions (gTrackingPeriod) with nanotime; we keep the 1 in 8 but read the TSC
// instead of clock_gettime where that is safe: on this kind of KVM guest clock_gettime costs
// 45 ns (kvm-clock through the vDSO) against ~10 ns for rdtsc, and at 1 in 8 of the 2
// transitions per switch the clock was a third of a Yield. The TSC is used only when the CPU
// says it is invariant (CPUID 0x80000007 EDX bit 8: constant rate, not stopped in idle states)
// and after sysmon has calibrated it against CLOCK_MONOTONIC (ObsCalibrateTicks: >= 5 ms of
// both clocks, refined until 1 s; process-wide, since the rate never changes). Until then, and
// on other ISAs, a sample reads Nanotime() as before; a sample remembers which clock started
// it (G::obs_tsc), so the two never mix.
struct TickClock {
  std::atomic<uint64_t> ns_per_tick_q32{0};  // ns per TSC tick x 2^32; 0: not calibrated.
  std::atomic<uint64_t> tick0{0};            // Calibration start (sysmon only, after set).
  std::atomic<int64_t> ns0{0};
  bool invariant = false;                    // Written once before any Run (TickClockInit).
};
extern TickClock tick_clock;
inline TickClock& Ticks() { return tick_clock; }
void TickClockInit();                 // Run() start: checks the CPU, takes the first pair.
void ObsCalibrateTicks(int64_t now);  // sysmon, every tick.

inline uint64_t ReadTicks() {
#if defined(__x86_64__)
  return __rdtsc();
#else
  return 0;
#endif
}

// CasGStatus, after a successful transition: scheduling-latency sampling.
inline void ObsStatus(G* gp, GStatus from, GStatus to) {
  if (to == GStatus::kRunnable) {
    if ((++gp->obs_tick & 7) == 0) {
      if (Ticks().ns_per_tick_q32.load(std::memory_order_relaxed) != 0) {
        gp->obs_runnable_since = static_cast<int64_t>(ReadTicks());
        gp->obs_tsc = true;
      } else {
        gp->obs_runnable_since = Nanotime();
        gp->obs_tsc = false;
      }
    }
  } else if (from == GStatus::kRunnable && gp->obs_runnable_since != 0) {
    int64_t ns;
    if (gp->obs_tsc) {
      uint64_t dt = ReadTicks() - static_cast<uint64_t>(gp->obs_runnable_since);
      if (static_cast<int64_t>(dt) < 0) dt = 0;  // Another CPU's TSC slightly behind.
      const uint64_t q = Ticks().ns_per_tick_q32.load(std::memory_order_relaxed);
      ns = static_cast<int64_t>((static_cast<unsigned __int128>(dt) * q) >> 32);
    } else {
      ns = Nanotime() - gp->obs_runnable_since;
    }
    Obs().sched_latency.Record(ns);
    gp->obs_runnable_since = 0;
  }
}

// Gopark: returns the park time when block profiling wants this reason, else 0; after the
// fiber resumes, ObsBlockEnd records the event with the fiber's stack.
int64_t ObsBlockStart(WaitReason reason);
void ObsBlockEnd(int64_t t0);

// Mutex/RWMutex: a waiter acquired after waiting `ns` (metric), and an unlock that woke a
// waiter that had waited `ns` (the mutex profile, charged to the unlocker's stack as in Go).
void ObsMutexWaited(int64_t ns);
void ObsMutexUnlockContended(int64_t ns);

// P idle accounting (/cpu/classes/idle), sched.lock held (which serialises the writers). Open
// intervals are kept as a count and a sum of start times under a sequence counter, so a reader
// takes no lock: open idle = count * now - sum (ObsIdleOpen).
inline void ObsPidlePut(P* pp) {
  ObsState& o = Obs();
  const int64_t now = Nanotime();
  pp->obs_idle_since.store(now, std::memory_order_relaxed);
  o.idle_seq.fetch_add(1);
  o.idle_open_sum.fetch_add(now);
  o.idle_open_count.fetch_add(1);
  o.idle_seq.fetch_add(1);
}
inline void ObsPidleGet(P* pp) {
  const int64_t since = pp->obs_idle_since.exchange(0, std::memory_order_relaxed);
  if (since == 0) return;
  ObsState& o = Obs();
  const int64_t now = Nanotime();
  o.idle_seq.fetch_add(1);
  o.idle_open_count.fetch_sub(1);
  o.idle_open_sum.fetch_sub(since);
  o.idle_ns.fetch_add(static_cast<uint64_t>(now - since));
  o.idle_seq.fetch_add(1);
}
// Idle time so far (closed + open intervals), consistent with itself.
inline uint64_t ObsIdleNs(int64_t now) {
  ObsState& o = Obs();
  for (;;) {
    const uint32_t v1 = o.idle_seq.load();
    if (v1 & 1) continue;
    const uint64_t closed = o.idle_ns.load();
    const int64_t open = o.idle_open_count.load() * now - o.idle_open_sum.load();
    if (o.idle_seq.load() == v1) return closed + static_cast<uint64_t>(open > 0 ? open : 0);
  }
}
// ProcResize: closes the interval of the old P count.
void ObsProcResize(int32_t old_procs);
// Run() end: closes the open intervals.
void ObsRunEnd();

// NewM: remember where the thread was created (threadcreate profile).
void ObsThreadCreate();
// NewProc: creation ancestors for GODEBUG=tracebackancestors (creator may be null).
void ObsNewProc(G* gp, G* creator);
// GfPut: drop ancestors and, under GODEBUG=madvdontneed, release the stack's pages. Teardown
// (the stack is about to be unmapped) only drops the ancestors.
void ObsGFree(G* gp, bool teardown = false);
// prof::Fibers: a copy of gp's ancestors (under the ancestors lock).
void ObsCopyAncestors(G* gp, std::vector<std::pair<uint64_t, std::vector<uintptr_t>>>* out);
// DumpFibers: the "[originating from goroutine N]:" blocks.
void ObsAppendAncestors(std::string* out, G* gp);

// gc.cc: one record per completed cycle (times are Nanotime()).
struct GcCycleInfo {
  int64_t t_sweep_term = 0, t_mark = 0, t_mark_term = 0, t_sweep = 0, t_end = 0;
  int64_t pause1_ns = 0, pause2_ns = 0;
  int64_t assist_ns = 0, bg_mark_ns = 0;
  uint64_t heap0 = 0, heap1 = 0, heap2 = 0;  // At start, at mark termination, marked.
  uint64_t goal = 0, trigger = 0, prev_goal = 0;
  int gogc = 100;
  int32_t procs = 1;
  bool forced = false;
};
void ObsGcCycle(const GcCycleInfo& c);
void ObsGcAssist(int64_t ns);
// NoteAlloc / NoteFree: counters, memory profile sampling and GODEBUG=allocfreetrace.
// p: the block's address, or null when the caller did not give it (no in-use accounting).
void ObsAlloc(size_t bytes, const void* p);
void ObsFree(size_t bytes, const void* p);

// ---- Snapshots (scheduler.cc fills them; schedtrace.cc formats them) ----

struct SchedSnapshot {
  int64_t now = 0;
  int32_t gomaxprocs = 0, npidle = 0, mcount = 0, nmspinning = 0, nmidle = 0, runqsize = 0;
  bool gcwaiting = false;
  int32_t stopwait = 0;
  int32_t timers = 0;
  struct PInfo {
    int32_t id;
    uint32_t status, schedtick, syscalltick;
    int64_t m;
    uint32_t runqsize;
    int32_t gfreecnt;
  };
  struct MInfo {
    int64_t id, p, curg;
    bool spinning, blocked;
  };
  struct GInfo {
    uint64_t goid;
    uint32_t status;
    WaitReason reason;
    int64_t m;
  };
  std::vector<PInfo> ps;
  std::vector<MInfo> ms;  // Newest first, as Go's allm list.
  std::vector<GInfo> gs;  // Only with detail.
};
// False when the runtime is not running.
bool SnapshotSched(SchedSnapshot* s, bool detail);
std::string FormatSchedtrace(const SchedSnapshot& s, bool detail);
// Gauges for metrics::Read: live fibers and the P count (no locks).
int32_t ObsGomaxprocs();

// The frames of a parked fiber (frame-pointer walk, leaf first), for dumps and profiles.
int FiberFrames(G* gp, uintptr_t* pcs, int max);

}  // namespace tracetool::fiber::internal

#endif  // TRACETOOL_LIB_FIBER_INTERNAL_OBS_H_
