// The tracer's side of the runtime: per-G and per-P trace state, and the hooks the scheduler,
// channels, sync, netpoll and GC call at the moment they do the thing an event describes.
// Only lib/fiber/*.cc include this. The public API is lib/fiber/trace.h; the design note is at
// the top of lib/fiber/trace.cc.
//
// Every hook is called as `if (TraceOn()) TraceXxx(...)`: with tracing off an event site costs
// one relaxed atomic load and a branch (bench/fiber/trace_bench.cc shows it).
#ifndef TRACETOOL_LIB_FIBER_INTERNAL_TRACE_H_
#define TRACETOOL_LIB_FIBER_INTERNAL_TRACE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "lib/fiber/fiber.h"
#include "lib/format/event_table.h"

namespace tracetool::fiber::internal {

struct G;
struct M;
struct P;
struct TraceBuf;

// True while a trace is being written (set with the world stopped, see trace.cc).
extern std::atomic<bool> trace_enabled;
inline bool TraceOn() { return trace_enabled.load(std::memory_order_relaxed); }

// Per-G trace state. Written by whoever performs the G's status transition (transitions of one
// G are ordered by its status CAS and the queues that hand it over), or, for the syscall word,
// by the thread that takes the G's P away.
struct GTrace {
  uint32_t gen = 0;        // Trace session in which this G was announced (GoCreate emitted).
  uint64_t seq = 0;        // Go's per-goroutine sequence counter (spec §3.2).
  // Syscall state, (gen << 2) | state: 0 none, 1 in a traced syscall holding its P (kSyscall),
  // 2 its P is being taken (GoSysBlock being written), 3 blocked (GoSysExit owed).
  std::atomic<uint64_t> sys{0};
  P* sys_p = nullptr;      // The P it entered its syscall on.
  int block_override = 0;  // Non-zero: a park is reported as this event type (GoBlockGC).
  bool preempt = false;    // The coming kRunning -> kRunnable is a preemption, not a Yield.
};

// Per-P trace state; owned by whoever owns the P (its M, or the thread that took it from a
// syscall, or the stopper of the world).
struct PTrace {
  TraceBuf* buf = nullptr;  // Current batch, or null.
  uint32_t gen = 0;         // Session of buf / running.
  bool running = false;     // ProcStart emitted and not yet ProcStop in this session.
  uint64_t curg = 0;        // Fiber whose GoStart is this P's open slice (0: none).
  G* curg_g = nullptr;      // Its G.
  // A fiber-to-fiber switch in progress (DirectSwitch): the time of the outgoing fiber's
  // GoSched/GoBlock/GoEnd, which the incoming fiber's GoStart reuses (one clock read per
  // switch). 0: none.
  uint64_t switch_ts = 0;
};

// ---- Hooks (call only when TraceOn()) ----

// CasGStatus(): the one place G status changes; emits GoCreate, GoStart, GoSched, GoPreempt,
// GoBlock*, GoUnblock, GoEnd, GoSysCall, GoSysExit as the transition implies.
void TraceGStatus(G* gp, GStatus from, GStatus to);
// The P-less path of CasGStatus (no P: netpoll injection, syscall exit slow path, foreign
// threads): the CAS and its event must be atomic with respect to a trace start, so it runs the
// CAS itself, under the global-buffer lock. Returns false if the CAS failed (*seen is then the
// status found). Called unconditionally on P-less transitions (two atomic RMWs when tracing is
// off; these paths are not hot).
bool TraceCasGStatusNoP(G* gp, GStatus from, GStatus to, uint32_t* seen);
// AcquireP()/ReleaseP(): ProcStart(thread) / ProcStop.
void TraceProcStart(M* m, P* pp);
void TraceProcStop(P* pp);
// A P in kSyscall was taken from its fiber (sysmon retake, stop-the-world, entersyscall's
// gcwait path): GoSysBlock + ProcStop on that P's buffer, and the fiber owes a GoSysExit.
void TraceSysBlock(P* pp);
// ProcResize moved the caller from oldp (now beyond procs) to newp.
void TraceProcMove(G* gp, M* m, P* oldp, P* newp);
// SetProcs(n) restarted the world with n Ps.
void TraceGomaxprocs(int32_t procs);
// Run() is returning: finish a trace still running (nothing else runs any more).
void TraceRuntimeExit();

// GC (gc.cc).
void TraceGCStart();
void TraceGCDone();
void TraceGCSTWStart(int kind);  // 0 mark termination, 1 sweep termination (Go 1.19 kinds).
void TraceGCSTWDone();
void TraceGCSweepStart();
void TraceGCSweepDone(uint64_t swept, uint64_t reclaimed);
void TraceHeap(uint64_t alloc, uint64_t goal);  // HeapAlloc, and HeapGoal when goal != 0.
void TraceMarkAssistStart();
void TraceMarkAssistDone();

// RAII for a GC mark assist: GCMarkAssistStart/Done around it, and a park inside it is
// reported as GoBlockGC.
class TraceAssistScope {
 public:
  TraceAssistScope() {
    if (TraceOn()) Begin();
  }
  ~TraceAssistScope() {
    if (on_) End();
  }
  TraceAssistScope(const TraceAssistScope&) = delete;
  TraceAssistScope& operator=(const TraceAssistScope&) = delete;

 private:
  void Begin();
  void End();
  bool on_ = false;
};

// While alive, a park of the current fiber is reported as event t (runtime.GC's wait is a
// generic GoBlock in Go, not the condition variable it happens to use here).
class TraceBlockAsScope {
 public:
  explicit TraceBlockAsScope(format::EventType t) {
    if (TraceOn()) Begin(t);
  }
  ~TraceBlockAsScope() {
    if (gp_ != nullptr) End();
  }
  TraceBlockAsScope(const TraceBlockAsScope&) = delete;
  TraceBlockAsScope& operator=(const TraceBlockAsScope&) = delete;

 private:
  void Begin(format::EventType t);
  void End();
  G* gp_ = nullptr;
  int saved_ = 0;
};

// ---- Scheduler accessors the tracer needs (defined in scheduler.cc) ----

// Calls fn for every G ever allocated (under the allgs lock).
void ForEachG(void (*fn)(G* gp, void* arg), void* arg);
// The current P count, and the P with id i (any i < 256, also beyond the count), or null.
int32_t TraceGomaxprocsNow();
P* TraceAllP(int32_t i);
// True while Run() is active.
bool RuntimeRunning();

}  // namespace tracetool::fiber::internal

#endif  // TRACETOOL_LIB_FIBER_INTERNAL_TRACE_H_
