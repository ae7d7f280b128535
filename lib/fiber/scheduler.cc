// The G/P/M scheduler (Go's runtime/proc.go, transcribed to C++).
//
// Design note (STYLE.md P9).
//
// Model. A G is a fiber: a stack, a saved Context and a status. An M is an OS thread; it runs
// the scheduler loop (Schedule) on its own thread stack ("g0") and switches into one G at a
// time. A P is a licence to run Gs: there are exactly `procs` of them, each with a bounded
// lock-free run queue (runq, 256 slots) plus a one-slot `runnext`; an M needs a P to run a G.
// Keeping queues on Ps rather than Ms is what lets an M block in a system call while its P
// (and the P's queue) moves to another M.
//
// Where a runnable G lives: exactly one of P.runnext, P.runq, the global runq. Ready() puts a
// woken G in the waker's runnext (communicating fibers run back to back, as in Go), new Gs also
// go to runnext, preemption and a Yield() that goes through the scheduler go to the global runq
// (so the yielder does not run again at once), and overflowing local queues spill half to the
// global runq.
//
// Direct switches (DirectSwitch). When a fiber yields or parks and its P's runnext/runq holds a
// runnable G, it switches straight to that G's stack: no g0 hop, no Schedule loop, no lock. A
// yielder then goes to the *local* runq's tail rather than the global runq (Go's Gosched): on
// its P it still runs after everything already queued there, which is what Gosched promises, and
// the global runq is not starved because every 61st direct switch takes the slow path with the
// global runq checked first (the same 61 as below), which also runs timers and netpoll. What a
// switch must do once the old fiber is off its stack (queue it, or run its park unlock
// function) runs on the new fiber (CompleteHandoff). Tracing takes the slow path: its GoSched/
// GoBlock events walk the parked fiber's saved stack, which the slow path has saved by then.
// Rejected: switching through g0 with a cheaper Schedule (still two swaps per switch), and
// putting the yielder in runnext (a ping-pong pair would then starve the rest of the runq).
//
// Finding work (FindRunnable), in Go's order: timers; every 61st schedtick the global runq first
// (fairness: without it two Gs that ready each other through runnext could starve the global
// queue forever; 61 is Go's number, a prime so it does not beat with application periods);
// local runq; global runq; a non-blocking netpoll; stealing half of a random victim's runq
// (4 rounds, the last also taking runnext). Then the M gives its P back, re-checks every queue
// once (the "delicate dance": a G readied while we were dropping the P must not be missed),
// blocks in netpoll if there are poll waiters or timers and nobody else is polling, and
// otherwise parks on a futex in stopm.
//
// Spinning. An M looking for work with a P but no G is "spinning". At most half of the busy Ps
// may have a spinning M (Go's rule, which keeps idle CPUs from burning on steal attempts), and
// a spinning M that finds work wakes another (ResetSpinning -> WakeP), so parallelism ramps up
// one M at a time without thundering herds. WakeP only starts an M when there is an idle P and
// no spinning M.
//
// System calls. EnterSyscall() detaches the P (status kSyscall) without giving it away; if the
// call returns quickly the M takes the same P back with one CAS. sysmon retakes Ps that stayed
// in kSyscall across two of its ticks (>= 20 us) and hands them to another M (HandoffP), so
// runnable Gs keep running. A returning G without a P goes to the global runq and its M parks.
//
// Preemption is cooperative: sysmon flags the G of any P whose schedtick did not move for
// 10 ms; the G yields at its next PreemptionPoint() or runtime call. A G in a tight loop with
// neither is never interrupted (we rejected signal-based async preemption: without compiler
// stack maps we cannot prove a signal lands at a point where switching stacks is safe, e.g.
// inside malloc holding its lock).
//
// Every G status change goes through CasGStatus(), the hook point for the tracer.
//
// Rejected designs: one global queue with a mutex (no locality, contended at 2+ cores); per-M
// queues (a blocked M strands its queue: Go's pre-1.1 problem); std::mutex/condition_variable
// for parking (TSan cannot follow a lock released on another fiber; see internal/lock.h);
// ucontext swapcontext (a sigprocmask system call per switch).
#include <dlfcn.h>
#include <execinfo.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "lib/fiber/fiber.h"
#include "lib/fiber/internal/context.h"
#include "lib/fiber/internal/lock.h"
#include "lib/fiber/internal/obs.h"
#include "lib/fiber/internal/runtime2.h"
#include "lib/fiber/profiling.h"
#include "lib/fiber/internal/trace.h"

#if defined(__SANITIZE_ADDRESS__)
#define TT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TT_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define TT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TT_TSAN 1
#endif
#endif
#ifndef TT_ASAN
#define TT_ASAN 0
#endif
#ifndef TT_TSAN
#define TT_TSAN 0
#endif
// Go's randomizeScheduler: perturb runnext and steal order so tests see more interleavings.
#if TT_TSAN || defined(TT_RANDOMIZE_SCHEDULER)
#define TT_RANDOMIZE 1
#else
#define TT_RANDOMIZE 0
#endif

#if TT_ASAN
extern "C" {
void __sanitizer_start_switch_fiber(void** fake_stack_save, const void* bottom, size_t size);
void __sanitizer_finish_switch_fiber(void* fake_stack_save, const void** bottom_old,
                                     size_t* size_old);
void __asan_unpoison_memory_region(void const volatile* addr, size_t size);
}
#endif
#if TT_TSAN
extern "C" {
void* __tsan_get_current_fiber(void);
void* __tsan_create_fiber(unsigned flags);
void __tsan_destroy_fiber(void* fiber);
void __tsan_switch_to_fiber(void* fiber, unsigned flags);
}
#endif

#if defined(__clang__)
#define TT_NOIPA __attribute__((noinline))
#else
#define TT_NOIPA __attribute__((noipa))
#endif

namespace tracetool::fiber {
namespace internal {
namespace {

inline constexpr int kMaxProcs = 256;
inline constexpr int64_t kForcePreemptNs = 10 * 1000 * 1000;  // Go's forcePreemptNS.
inline constexpr uint32_t kFairnessTicks = 61;

struct Sched {
  Lock lock;  // Guards everything below not marked atomic, unless noted.
  G* runq_head = nullptr;
  G* runq_tail = nullptr;
  std::atomic<int32_t> runqsize{0};
  P* pidle = nullptr;
  std::atomic<int32_t> npidle{0};
  M* midle = nullptr;
  int32_t nmidle = 0;
  int32_t mcount = 0;
  std::atomic<int32_t> nmspinning{0};
  std::atomic<bool> gcwaiting{false};
  int32_t stopwait = 0;
  Note stopnote;
  G* preempted = nullptr;  // Gs in kPreempted, re-readied by StartTheWorld.
  std::vector<M*> allm;
  std::atomic<bool> shutdown{false};
  int64_t main_goid = 0;

  std::atomic<int64_t> lastpoll{1};   // 0 while some M blocks in netpoll.
  std::atomic<int64_t> poll_until{0};  // When that M's netpoll times out (0: never).

  Lock allplock;  // Serialises sysmon's walk with procresize.
  std::atomic<P*> allp[kMaxProcs] = {};
  std::atomic<int32_t> gomaxprocs{0};

  Lock glock;  // Guards allgs, gfree and stackfree.
  std::vector<G*> allgs;
  G* gfree = nullptr;
  std::vector<Stack> stackfree;  // Overflow of the Ps' stack caches.

  std::atomic<bool> stw_active{false};
  std::atomic<bool> detect_deadlock{true};
  Options opts;
  std::atomic<bool> running{false};
  Note sysmon_note;
  std::thread sysmon;
};

Sched sched;
std::atomic<uint64_t> goidgen{0};
thread_local M* tls_m = nullptr;

std::atomic<uint64_t> stat_fibers_created{0};
std::atomic<uint64_t> stat_fibers_live{0};
std::atomic<uint64_t> stat_ms{0};
std::atomic<uint64_t> stat_retakes{0};
std::atomic<uint64_t> stat_preempts{0};
std::atomic<uint64_t> stat_steals{0};
std::atomic<uint64_t> stat_leaked_last_run{0};

// Timers: one heap for the whole runtime (Go keeps one per P; a global heap is simpler and
// timers are not our hot path). Callbacks run with timer_lock held, which makes DelTimer()
// trivially race-free; lock order is timer_lock -> channel locks -> sched.lock.
Lock timer_lock;
std::vector<TimerEntry*> timer_heap;  // Guarded by timer_lock.
std::atomic<int64_t> timer_next{INT64_MAX};

uint32_t FastRand(P* pp) {
  // xorshift32; per-P state, owner only.
  uint32_t x = pp->fastrand;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  pp->fastrand = x;
  return x;
}

[[noreturn, gnu::cold, gnu::noinline]] void BadTransition(G* gp, GStatus from, GStatus to,
                                                          uint32_t seen) {
  char msg[160];
  snprintf(msg, sizeof(msg), "casgstatus: fiber %" PRIu64 " bad transition %s -> %s (is %s)",
           gp->goid.load(), GStatusName(from).data(), GStatusName(to).data(),
           GStatusName(static_cast<GStatus>(seen)).data());
  Throw(msg);
}

// SetGStatusOwned, inlined into the switch paths of this file.
[[gnu::always_inline]] inline void SetGStatusOwnedInline(G* gp, GStatus from, GStatus to) {
  const uint32_t seen = gp->atomicstatus.load(std::memory_order_relaxed);
  if (seen != static_cast<uint32_t>(from)) [[unlikely]] BadTransition(gp, from, to, seen);
  gp->atomicstatus.store(static_cast<uint32_t>(to), std::memory_order_release);
  if (TraceOn()) [[unlikely]] TraceGStatus(gp, from, to);
  ObsStatus(gp, from, to);
}

// ---- Sanitizer-aware switches: the one place stacks change. ----

void SwitchToG(M* m, G* gp) {
#if TT_ASAN
  void* fake = nullptr;
  __sanitizer_start_switch_fiber(&fake, gp->stack.lo, gp->stack.size);
#endif
#if TT_TSAN
  __tsan_switch_to_fiber(gp->tsan_fiber, 0);
#endif
  tt_fiber_swap(&m->g0_context, &gp->context);
#if TT_ASAN
  __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
}

void CompleteHandoff(M* m, G* prev);

// Called on a fiber's stack right after a switch into it (also the very first one). When the
// switch came straight from another fiber (DirectSwitch), finishes that fiber's yield or park.
void FinishSwitchIntoG([[maybe_unused]] void* fake) {
  M* m = GetM();
  G* prev = m->handoff_g;
#if TT_ASAN
  if (prev) {
    __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);  // Came from a fiber, not g0.
  } else {
    const void* bottom = nullptr;
    size_t size = 0;
    __sanitizer_finish_switch_fiber(fake, &bottom, &size);
    m->g0_stack_bottom = bottom;
    m->g0_stack_size = size;
  }
#endif
  if (prev) CompleteHandoff(m, prev);
}

// Go's mcall: switch from gp to its M's g0, which performs `action`. Returns when gp is
// resumed, possibly on another M.
void Mcall(G* gp, MAction action, bool dying = false) {
  M* m = GetM();
  m->action = action;
  [[maybe_unused]] void* fake = nullptr;
#if TT_ASAN
  __sanitizer_start_switch_fiber(dying ? nullptr : &fake, m->g0_stack_bottom, m->g0_stack_size);
#else
  (void)dying;
#endif
#if TT_TSAN
  __tsan_switch_to_fiber(m->tsan_g0_fiber, 0);
#endif
  tt_fiber_swap(&gp->context, &m->g0_context);
  FinishSwitchIntoG(fake);
}

bool DirectSwitch(M* m, G* gp, MAction action);
void AttachStack(P* pp, G* gp);

// ---- Global run queue (sched.lock held). ----

void GlobRunqPut(G* gp) {
  gp->schedlink = nullptr;
  if (sched.runq_tail) {
    sched.runq_tail->schedlink = gp;
  } else {
    sched.runq_head = gp;
  }
  sched.runq_tail = gp;
  sched.runqsize.fetch_add(1, std::memory_order_seq_cst);
}

G* GlobRunqPop() {
  G* gp = sched.runq_head;
  if (!gp) return nullptr;
  sched.runq_head = gp->schedlink;
  if (!sched.runq_head) sched.runq_tail = nullptr;
  gp->schedlink = nullptr;
  sched.runqsize.fetch_sub(1, std::memory_order_seq_cst);
  return gp;
}

void RunqPut(P* pp, G* gp, bool next);

// Takes a batch from the global runq into pp's local runq; returns one G to run. max > 0 caps
// the batch (the fairness path takes exactly one, since pp's runq may be full).
G* GlobRunqGet(P* pp, int32_t max) {
  int32_t n = sched.runqsize.load(std::memory_order_relaxed);
  if (n == 0) return nullptr;
  const int32_t procs = sched.gomaxprocs.load(std::memory_order_relaxed);
  n = std::min(n, n / procs + 1);
  if (max > 0 && n > max) n = max;
  n = std::min<int32_t>(n, kRunqSize / 2);
  G* gp = GlobRunqPop();
  for (int32_t i = 1; i < n; i++) RunqPut(pp, GlobRunqPop(), false);
  return gp;
}

// ---- Local run queue (Go's runqput/runqget/runqgrab). ----

bool RunqEmpty(P* pp) {
  // Go's runqempty: re-read tail to get a consistent snapshot with runnext.
  for (;;) {
    uint32_t head = pp->runqhead.load(std::memory_order_acquire);
    uint32_t tail = pp->runqtail.load(std::memory_order_acquire);
    G* next = pp->runnext.load(std::memory_order_acquire);
    if (tail == pp->runqtail.load(std::memory_order_acquire)) {
      return head == tail && next == nullptr;
    }
  }
}

// Moves half of pp's full runq plus gp to the global queue. Executed only by the owner P.
bool RunqPutSlow(P* pp, G* gp, uint32_t h, uint32_t t) {
  G* batch[kRunqSize / 2 + 1];
  uint32_t n = (t - h) / 2;
  for (uint32_t i = 0; i < n; i++) {
    batch[i] = pp->runq[(h + i) % kRunqSize].load(std::memory_order_relaxed);
  }
  if (!pp->runqhead.compare_exchange_strong(h, h + n, std::memory_order_release)) return false;
  batch[n] = gp;
  LockGuard g(&sched.lock);
  for (uint32_t i = 0; i <= n; i++) GlobRunqPut(batch[i]);
  return true;
}

// Executed only by the owner P.
void RunqPut(P* pp, G* gp, bool next) {
#if TT_RANDOMIZE
  if (next && FastRand(pp) % 2 == 0) next = false;
#endif
  if (next) {
    G* old = pp->runnext.exchange(gp, std::memory_order_acq_rel);
    if (old == nullptr) return;
    gp = old;  // Kick the old runnext to the regular queue.
  }
  for (;;) {
    uint32_t h = pp->runqhead.load(std::memory_order_acquire);
    uint32_t t = pp->runqtail.load(std::memory_order_relaxed);
    if (t - h < kRunqSize) {
      pp->runq[t % kRunqSize].store(gp, std::memory_order_relaxed);
      pp->runqtail.store(t + 1, std::memory_order_release);
      return;
    }
    if (RunqPutSlow(pp, gp, h, t)) return;
  }
}

// Executed only by the owner P. *inherit is true for runnext (the G inherits the time slice).
G* RunqGet(P* pp, bool* inherit) {
  if (sched.gomaxprocs.load(std::memory_order_relaxed) == 1) {
    // One P: no thief can take from this runq (stealing needs another P, and resizing stops
    // the world, which needs this P), so the owner's plain loads and stores suffice.
    G* next = pp->runnext.load(std::memory_order_relaxed);
    if (next) {
      pp->runnext.store(nullptr, std::memory_order_relaxed);
      *inherit = true;
      return next;
    }
    *inherit = false;
    const uint32_t h = pp->runqhead.load(std::memory_order_relaxed);
    if (h == pp->runqtail.load(std::memory_order_relaxed)) return nullptr;
    G* gp = pp->runq[h % kRunqSize].load(std::memory_order_relaxed);
    pp->runqhead.store(h + 1, std::memory_order_release);
    return gp;
  }
  G* next = pp->runnext.load(std::memory_order_acquire);
  if (next && pp->runnext.compare_exchange_strong(next, nullptr, std::memory_order_acq_rel)) {
    *inherit = true;
    return next;
  }
  *inherit = false;
  for (;;) {
    uint32_t h = pp->runqhead.load(std::memory_order_acquire);
    uint32_t t = pp->runqtail.load(std::memory_order_relaxed);
    if (t == h) return nullptr;
    G* gp = pp->runq[h % kRunqSize].load(std::memory_order_relaxed);
    if (pp->runqhead.compare_exchange_strong(h, h + 1, std::memory_order_release)) return gp;
  }
}

// Grabs half of victim's runq into pp's ring starting at index `tail`. Any thread.
uint32_t RunqGrab(P* victim, P* pp, uint32_t tail, bool steal_runnext) {
  for (;;) {
    uint32_t h = victim->runqhead.load(std::memory_order_acquire);
    uint32_t t = victim->runqtail.load(std::memory_order_acquire);
    uint32_t n = t - h;
    n = n - n / 2;
    if (n == 0) {
      if (steal_runnext) {
        G* next = victim->runnext.load(std::memory_order_acquire);
        if (next &&
            victim->runnext.compare_exchange_strong(next, nullptr, std::memory_order_acq_rel)) {
          pp->runq[tail % kRunqSize].store(next, std::memory_order_relaxed);
          return 1;
        }
      }
      return 0;
    }
    if (n > kRunqSize / 2) continue;  // Read inconsistent h and t.
    for (uint32_t i = 0; i < n; i++) {
      G* g = victim->runq[(h + i) % kRunqSize].load(std::memory_order_relaxed);
      pp->runq[(tail + i) % kRunqSize].store(g, std::memory_order_relaxed);
    }
    if (victim->runqhead.compare_exchange_strong(h, h + n, std::memory_order_acq_rel)) return n;
  }
}

G* RunqSteal(P* pp, P* victim, bool steal_runnext) {
  uint32_t t = pp->runqtail.load(std::memory_order_relaxed);
  uint32_t n = RunqGrab(victim, pp, t, steal_runnext);
  if (n == 0) return nullptr;
  n--;
  G* gp = pp->runq[(t + n) % kRunqSize].load(std::memory_order_relaxed);
  if (n > 0) pp->runqtail.store(t + n, std::memory_order_release);
  stat_steals.fetch_add(1, std::memory_order_relaxed);
  return gp;
}

// ---- P and M lists (sched.lock held). ----

void PidlePut(P* pp) {
  pp->status.store(static_cast<uint32_t>(PStatus::kIdle), std::memory_order_release);
  pp->link = sched.pidle;
  sched.pidle = pp;
  ObsPidlePut(pp);
  sched.npidle.fetch_add(1, std::memory_order_seq_cst);
}

P* PidleGet() {
  P* pp = sched.pidle;
  if (pp) {
    sched.pidle = pp->link;
    pp->link = nullptr;
    ObsPidleGet(pp);
    sched.npidle.fetch_sub(1, std::memory_order_seq_cst);
  }
  return pp;
}

void AcquireP(M* m, P* pp) {
  TT_FIBER_CHECK(m->p == nullptr);
  m->p = pp;
  pp->m = m;
  pp->status.store(static_cast<uint32_t>(PStatus::kRunning), std::memory_order_release);
  if (TraceOn()) TraceProcStart(m, pp);
}

P* ReleaseP(M* m) {
  P* pp = m->p;
  TT_FIBER_CHECK(pp != nullptr);
  if (TraceOn()) TraceProcStop(pp);
  pp->m = nullptr;
  pp->curg.store(nullptr, std::memory_order_release);
  m->p = nullptr;
  pp->status.store(static_cast<uint32_t>(PStatus::kIdle), std::memory_order_release);
  return pp;
}

void CheckDead();

void MPut(M* m) {
  m->schedlink = sched.midle;
  sched.midle = m;
  sched.nmidle++;
  CheckDead();
}

M* MGet() {
  M* m = sched.midle;
  if (m) {
    sched.midle = m->schedlink;
    sched.nmidle--;
  }
  return m;
}

void MStart(M* m);

// Go's newm: a new OS thread that starts with pp. Takes sched.lock.
void NewM(P* pp, bool spinning) {
  M* m = nullptr;
  {
    LockGuard g(&sched.lock);
    if (sched.shutdown.load()) {
      if (spinning) sched.nmspinning.fetch_sub(1);
      return;
    }
    m = new M(static_cast<int64_t>(sched.allm.size()));
    m->nextp = pp;
    m->spinning = spinning;
    sched.allm.push_back(m);
    sched.mcount++;
    stat_ms.fetch_add(1, std::memory_order_relaxed);
    ObsThreadCreate();
    // Start the thread under the lock so Run()'s join loop never sees a half-made M.
    m->thread = std::thread(MStart, m);
  }
}

// Go's startm: runs pp (or an idle P) on an idle M, creating one if needed.
void StartM(P* pp, bool spinning) {
  sched.lock.Acquire();
  if (pp == nullptr) {
    pp = PidleGet();
    if (pp == nullptr) {
      sched.lock.Release();
      if (spinning) sched.nmspinning.fetch_sub(1);
      return;
    }
  }
  M* nmp = MGet();
  sched.lock.Release();
  if (nmp == nullptr) {
    NewM(pp, spinning);
    return;
  }
  nmp->spinning = spinning;
  nmp->nextp = pp;
  nmp->park.Wakeup();
}

void WakeP() {
  if (sched.npidle.load() == 0) return;
  int32_t zero = 0;
  if (sched.nmspinning.load() != 0 || !sched.nmspinning.compare_exchange_strong(zero, 1)) return;
  StartM(nullptr, true);
}

void ResetSpinning(M* m) {
  m->spinning = false;
  int32_t n = sched.nmspinning.fetch_sub(1);
  TT_FIBER_CHECK(n > 0);
  WakeP();
}

// Go's handoffp: pp (no M, not on any list) found its M blocked; give it to someone useful.
void HandoffP(P* pp) {
  if (!RunqEmpty(pp) || sched.runqsize.load() > 0) {
    StartM(pp, false);
    return;
  }
  int32_t zero = 0;
  if (sched.nmspinning.load() + sched.npidle.load() == 0 &&
      sched.nmspinning.compare_exchange_strong(zero, 1)) {
    StartM(pp, true);
    return;
  }
  sched.lock.Acquire();
  if (sched.gcwaiting.load()) {
    pp->status.store(static_cast<uint32_t>(PStatus::kGcstop));
    if (--sched.stopwait == 0) sched.stopnote.Wakeup();
    sched.lock.Release();
    return;
  }
  if (sched.runqsize.load() > 0) {
    sched.lock.Release();
    StartM(pp, false);
    return;
  }
  // Someone must poll the network or fire timers if this was the last P.
  const bool need_poller = netpoll_waiters.load() > 0 || timer_next.load() != INT64_MAX;
  if (need_poller && sched.npidle.load() == sched.gomaxprocs.load() - 1 &&
      sched.lastpoll.load() != 0) {
    sched.lock.Release();
    StartM(pp, false);
    return;
  }
  PidlePut(pp);
  sched.lock.Release();
}

// Go's stopm: park this M until StartM hands it a P. Returns false on shutdown.
bool StopM(M* m) {
  TT_FIBER_CHECK(m->p == nullptr);
  sched.lock.Acquire();
  if (sched.shutdown.load()) {
    sched.lock.Release();
    return false;
  }
  MPut(m);
  sched.lock.Release();
  m->park.Sleep();
  m->park.Clear();
  if (m->nextp == nullptr) return false;  // Woken for shutdown.
  AcquireP(m, m->nextp);
  m->nextp = nullptr;
  return true;
}

// Stop this M's P for a pending stop-the-world, then park. Returns false on shutdown.
bool GcStopM(M* m) {
  if (m->spinning) {
    m->spinning = false;
    sched.nmspinning.fetch_sub(1);
  }
  P* pp = ReleaseP(m);
  sched.lock.Acquire();
  pp->status.store(static_cast<uint32_t>(PStatus::kGcstop));
  if (--sched.stopwait == 0) sched.stopnote.Wakeup();
  sched.lock.Release();
  return StopM(m);
}

void PreemptAll() {
  const int32_t procs = sched.gomaxprocs.load();
  for (int32_t i = 0; i < procs; i++) {
    P* pp = sched.allp[i].load();
    G* gp = pp->curg.load(std::memory_order_acquire);
    if (gp) gp->preempt.store(true, std::memory_order_relaxed);
  }
}

// ---- Timers ----

void TimerSiftUp(size_t i) {
  TimerEntry* t = timer_heap[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (timer_heap[parent]->when <= t->when) break;
    timer_heap[i] = timer_heap[parent];
    timer_heap[i]->heap_index = static_cast<int32_t>(i);
    i = parent;
  }
  timer_heap[i] = t;
  t->heap_index = static_cast<int32_t>(i);
}

void TimerSiftDown(size_t i) {
  TimerEntry* t = timer_heap[i];
  const size_t n = timer_heap.size();
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && timer_heap[c + 1]->when < timer_heap[c]->when) c++;
    if (t->when <= timer_heap[c]->when) break;
    timer_heap[i] = timer_heap[c];
    timer_heap[i]->heap_index = static_cast<int32_t>(i);
    i = c;
  }
  timer_heap[i] = t;
  t->heap_index = static_cast<int32_t>(i);
}

void TimerRemoveAt(size_t i) {
  TimerEntry* t = timer_heap[i];
  t->heap_index = -1;
  TimerEntry* last = timer_heap.back();
  timer_heap.pop_back();
  if (i < timer_heap.size()) {
    timer_heap[i] = last;
    last->heap_index = static_cast<int32_t>(i);
    TimerSiftDown(i);
    TimerSiftUp(static_cast<size_t>(last->heap_index));
  }
}

void UpdateTimerNext() {
  timer_next.store(timer_heap.empty() ? INT64_MAX : timer_heap[0]->when);
}

// Runs expired timers. Needs a P (callbacks Ready() into it). Returns now, or 0 if not read.
int64_t CheckTimers() {
  if (timer_next.load(std::memory_order_relaxed) == INT64_MAX) return 0;
  int64_t now = Nanotime();
  if (timer_next.load() > now) return now;
  LockGuard g(&timer_lock);
  while (!timer_heap.empty() && timer_heap[0]->when <= now) {
    TimerEntry* t = timer_heap[0];
    TimerRemoveAt(0);
    UpdateTimerNext();
    t->f(t->arg, now);
  }
  UpdateTimerNext();
  return now;
}

// ---- Netpoll injection ----

int32_t CountList(G* list) {
  int32_t n = 0;
  for (G* g = list; g; g = g->schedlink) n++;
  return n;
}

// ---- The scheduler loop ----

void Execute(M* m, G* gp, bool inherit) {
  CasGStatus(gp, GStatus::kRunnable, GStatus::kRunning);
  P* pp = m->p;
  if (!inherit) {  // Owner-only writer: a load and a store, not a locked RMW.
    pp->schedtick.store(pp->schedtick.load(std::memory_order_relaxed) + 1,
                        std::memory_order_relaxed);
  }
  gp->m = m;
  gp->preempt.store(false, std::memory_order_relaxed);
  m->curg = gp;
  pp->curg.store(gp, std::memory_order_release);
  if (gp->context.sp == nullptr) AttachStack(pp, gp);
  SwitchToG(m, gp);
}

G* StealWork(P* pp) {
  const int32_t procs = sched.gomaxprocs.load();
  for (int round = 0; round < 4; round++) {
    const bool steal_runnext = round == 3;
    const uint32_t start = FastRand(pp) % static_cast<uint32_t>(procs);
    for (int32_t i = 0; i < procs; i++) {
      P* victim = sched.allp[(start + static_cast<uint32_t>(i)) % static_cast<uint32_t>(procs)];
      if (victim == pp) continue;
      if (G* gp = RunqSteal(pp, victim, steal_runnext)) return gp;
    }
  }
  return nullptr;
}

// Go's findRunnable. m holds a P on entry and on a non-null return. Returns null on shutdown.
G* FindRunnable(M* m, bool* inherit) {
  *inherit = false;
top:
  if (sched.shutdown.load()) return nullptr;
  P* pp = m->p;
  if (sched.gcwaiting.load()) {
    if (!GcStopM(m)) return nullptr;
    goto top;
  }
  int64_t now = CheckTimers();

  if ((pp->schedtick.load(std::memory_order_relaxed) % kFairnessTicks == 0 ||
       std::exchange(pp->check_global, false)) &&
      sched.runqsize.load() > 0) {
    sched.lock.Acquire();
    G* gp = GlobRunqGet(pp, 1);
    sched.lock.Release();
    if (gp) return gp;
  }
  // Busy Ps poll the network at most every 1 ms (Go leaves this to sysmon's 10 ms, which
  // starves I/O-bound fibers when every P is busy).
  if (netpoll_waiters.load() > 0) {
    int64_t last = sched.lastpoll.load();
    if (now == 0) now = Nanotime();
    if (last != 0 && last + 1000 * 1000 < now &&
        sched.lastpoll.compare_exchange_strong(last, now)) {
      G* list = Netpoll(0);
      while (list) {
        G* gp = list;
        list = list->schedlink;
        gp->schedlink = nullptr;
        CasGStatus(gp, GStatus::kWaiting, GStatus::kRunnable);
        RunqPut(pp, gp, false);
      }
    }
  }
  if (G* gp = RunqGet(pp, inherit)) return gp;
  if (sched.runqsize.load() > 0) {
    sched.lock.Acquire();
    G* gp = GlobRunqGet(pp, 0);
    sched.lock.Release();
    if (gp) return gp;
  }
  if (netpoll_waiters.load() > 0 && sched.lastpoll.load() != 0) {
    if (G* list = Netpoll(0)) {
      G* gp = list;
      list = list->schedlink;
      gp->schedlink = nullptr;
      InjectGList(list);
      CasGStatus(gp, GStatus::kWaiting, GStatus::kRunnable);
      return gp;
    }
  }
  const int32_t procs = sched.gomaxprocs.load();
  if (m->spinning || 2 * sched.nmspinning.load() < procs - sched.npidle.load()) {
    if (!m->spinning) {
      m->spinning = true;
      sched.nmspinning.fetch_add(1);
    }
    if (G* gp = StealWork(pp)) return gp;
  }

  // Nothing found: give the P back.
  sched.lock.Acquire();
  if (sched.gcwaiting.load() || sched.shutdown.load()) {
    sched.lock.Release();
    goto top;
  }
  if (sched.runqsize.load() > 0) {
    G* gp = GlobRunqGet(pp, 0);
    sched.lock.Release();
    return gp;
  }
  ReleaseP(m);
  PidlePut(pp);
  sched.lock.Release();

  const bool was_spinning = m->spinning;
  if (m->spinning) {
    m->spinning = false;
    TT_FIBER_CHECK(sched.nmspinning.fetch_sub(1) > 0);
    // The delicate dance: work readied while we were spinning saw nmspinning > 0 and did not
    // wake anyone, so look once more now that we are no longer counted as spinning.
    sched.lock.Acquire();
    if (sched.runqsize.load() > 0) {
      if (P* p2 = PidleGet()) {
        G* gp = GlobRunqGet(p2, 0);
        sched.lock.Release();
        AcquireP(m, p2);
        m->spinning = true;
        sched.nmspinning.fetch_add(1);
        return gp;
      }
    }
    sched.lock.Release();
    for (int32_t i = 0; i < sched.gomaxprocs.load(); i++) {
      P* p2 = sched.allp[i].load();
      if (!RunqEmpty(p2)) {
        sched.lock.Acquire();
        P* p3 = PidleGet();
        sched.lock.Release();
        if (p3) {
          AcquireP(m, p3);
          m->spinning = true;
          sched.nmspinning.fetch_add(1);
          goto top;
        }
        break;
      }
    }
  }

  // Block in netpoll (which doubles as the timer sleep) if nobody else does.
  const int64_t next_timer = timer_next.load();
  if ((netpoll_waiters.load() > 0 || next_timer != INT64_MAX) && sched.lastpoll.exchange(0) != 0) {
    if (sched.shutdown.load()) {
      // main returned after our last look: do not sleep until the next timer (Shutdown's
      // NetpollBreak may have been consumed by the previous poller).
      sched.lastpoll.store(Nanotime());
      return nullptr;
    }
    int64_t delay = -1;
    if (next_timer != INT64_MAX) {
      if (now == 0) now = Nanotime();
      delay = std::max<int64_t>(0, next_timer - now);
      sched.poll_until.store(next_timer);
    }
    G* list = Netpoll(delay);
    sched.poll_until.store(0);
    sched.lastpoll.store(Nanotime());
    sched.lock.Acquire();
    P* p2 = sched.gcwaiting.load() ? nullptr : PidleGet();
    sched.lock.Release();
    if (p2 == nullptr) {
      InjectGList(list);
    } else {
      AcquireP(m, p2);
      if (was_spinning) {
        m->spinning = true;
        sched.nmspinning.fetch_add(1);
      }
      if (list) {
        G* gp = list;
        list = list->schedlink;
        gp->schedlink = nullptr;
        InjectGList(list);
        CasGStatus(gp, GStatus::kWaiting, GStatus::kRunnable);
        return gp;
      }
      goto top;
    }
  } else if (next_timer != INT64_MAX && sched.lastpoll.load() == 0) {
    int64_t until = sched.poll_until.load();
    if (until == 0 || until > next_timer) NetpollBreak();
  }
  if (!StopM(m)) return nullptr;
  goto top;
}

void Shutdown();
void GfPut(P* pp, G* gp);

// What g0 does after gp switched to it. Returns a G to run immediately, or null.
G* HandleAction(M* m, G* gp) {
  const MAction action = m->action;
  m->action = MAction::kNone;
  m->curg = nullptr;
  if (TraceOn()) gp->trace.preempt = action == MAction::kPreempt;
  if (m->p) m->p->curg.store(nullptr, std::memory_order_release);
  switch (action) {
    case MAction::kPark: {
      CasGStatus(gp, GStatus::kRunning, GStatus::kWaiting);
      auto unlockf = m->park_unlock;
      void* arg = m->park_arg;
      m->park_unlock = nullptr;
      m->park_arg = nullptr;
      if (unlockf && !unlockf(gp, arg)) {
        CasGStatus(gp, GStatus::kWaiting, GStatus::kRunnable);
        return gp;
      }
      return nullptr;
    }
    case MAction::kGosched:
    case MAction::kPreempt: {
      if (action == MAction::kPreempt && sched.gcwaiting.load()) {
        // Go's preemptPark: stopped for stop-the-world, resumed by StartTheWorld.
        CasGStatus(gp, GStatus::kRunning, GStatus::kPreempted);
        LockGuard g(&sched.lock);
        if (sched.gcwaiting.load()) {
          gp->schedlink = sched.preempted;
          sched.preempted = gp;
        } else {
          CasGStatus(gp, GStatus::kPreempted, GStatus::kRunnable);
          GlobRunqPut(gp);
        }
        return nullptr;
      }
      CasGStatus(gp, GStatus::kRunning, GStatus::kRunnable);
      LockGuard g(&sched.lock);
      GlobRunqPut(gp);
      return nullptr;
    }
    case MAction::kExit: {
      CasGStatus(gp, GStatus::kRunning, GStatus::kDead);
      stat_fibers_live.fetch_sub(1, std::memory_order_relaxed);
      const bool is_main = static_cast<int64_t>(gp->goid.load()) == sched.main_goid;
      GfPut(m->p, gp);
      if (is_main) Shutdown();
      return nullptr;
    }
    case MAction::kExitSyscall: {
      // Go's exitsyscall0: no P was free on the fast path.
      CasGStatus(gp, GStatus::kSyscall, GStatus::kRunnable);
      sched.lock.Acquire();
      P* pp = sched.gcwaiting.load() ? nullptr : PidleGet();
      if (pp == nullptr) GlobRunqPut(gp);
      sched.lock.Release();
      if (pp) {
        AcquireP(m, pp);
        return gp;
      }
      return nullptr;
    }
    case MAction::kNone:
      break;
  }
  Throw("scheduler: fiber switched to g0 without an action");
}

// The fast path of Yield and Gopark: when this P's local runq (or runnext) holds a runnable
// fiber, switch to it straight from gp's stack instead of going through g0 and Schedule. gp's
// status changes here, before the switch; what must wait until gp is off its stack (putting it
// on a queue where a thief could resume it, or the park's unlock function, which lets wakers
// see it) runs on the next fiber, in CompleteHandoff. While tracing, the status changes below
// write gp's GoSched/GoBlock (stack walked from here, gp's own stack) and next's GoStart with
// one shared timestamp (trace.cc). Returns false (take the slow path) when
// a stop-the-world is pending, the local runq is empty, or on every 61st
// direct switch: that one goes through FindRunnable, which then looks at the global runq first
// and runs timers and netpoll, so a ping-pong pair cannot starve them.
bool DirectSwitch(M* m, G* gp, MAction action) {
  P* pp = m->p;
  if (sched.gcwaiting.load(std::memory_order_relaxed)) return false;
  if (++pp->direct_switches % kFairnessTicks == 0) {
    pp->check_global = true;
    return false;
  }
  bool inherit = false;
  G* next = RunqGet(pp, &inherit);
  if (next == nullptr) return false;
  SetGStatusOwnedInline(gp, GStatus::kRunning,
                        action == MAction::kPark   ? GStatus::kWaiting
                        : action == MAction::kExit ? GStatus::kDead
                                                   : GStatus::kRunnable);
  m->handoff_g = gp;
  m->handoff_action = action;
  // Execute(next), minus the switch through g0.
  SetGStatusOwnedInline(next, GStatus::kRunnable, GStatus::kRunning);
  if (!inherit) {
    pp->schedtick.store(pp->schedtick.load(std::memory_order_relaxed) + 1,
                        std::memory_order_relaxed);
  }
  next->m = m;
  next->preempt.store(false, std::memory_order_relaxed);
  m->curg = next;
  pp->curg.store(next, std::memory_order_release);
  if (next->context.sp == nullptr) AttachStack(pp, next);
  [[maybe_unused]] void* fake = nullptr;
#if TT_ASAN
  // A dying fiber's fake stack is released (null save slot), as Mcall(kExit) does.
  __sanitizer_start_switch_fiber(action == MAction::kExit ? nullptr : &fake, next->stack.lo,
                                 next->stack.size);
#endif
#if TT_TSAN
  __tsan_switch_to_fiber(next->tsan_fiber, 0);
#endif
  tt_fiber_swap(&gp->context, &next->context);
  FinishSwitchIntoG(fake);
  return true;
}

// Runs on the fiber that DirectSwitch switched to, once prev is off its stack.
void CompleteHandoff(M* m, G* prev) {
  const MAction action = m->handoff_action;
  m->handoff_g = nullptr;
  m->handoff_action = MAction::kNone;
  if (action == MAction::kGosched) {
    RunqPut(m->p, prev, false);
    return;
  }
  if (action == MAction::kExit) {  // goexit0, minus main's exit (that one takes the slow path).
    stat_fibers_live.fetch_sub(1, std::memory_order_relaxed);
    GfPut(m->p, prev);
    return;
  }
  auto unlockf = m->park_unlock;
  void* arg = m->park_arg;
  m->park_unlock = nullptr;
  m->park_arg = nullptr;
  if (unlockf && !unlockf(prev, arg)) {
    CasGStatus(prev, GStatus::kWaiting, GStatus::kRunnable);
    RunqPut(m->p, prev, false);
  }
}

void Schedule(M* m) {
  for (;;) {
    if (m->p == nullptr) {
      if (!StopM(m)) return;
    }
    bool inherit = false;
    G* gp = FindRunnable(m, &inherit);
    if (gp == nullptr) return;
    if (m->spinning) ResetSpinning(m);
    while (gp) {
      Execute(m, gp, inherit);
      // Not gp: it may have switched straight to other fibers (DirectSwitch) before one of
      // them came back to g0.
      gp = HandleAction(m, m->curg);
      inherit = true;
      if (gp && m->p == nullptr) Throw("scheduler: resuming a fiber without a P");
    }
  }
}

// SIGSEGV on a guard page: name the fiber, then let the default action kill the process.
struct sigaction old_segv_action;
std::atomic<bool> segv_installed{false};

void WriteStr(const char* s) {
  ssize_t r = write(2, s, strlen(s));
  (void)r;
}

void WriteU64(uint64_t v, int base) {
  char buf[32];
  int i = 31;
  buf[i] = '\0';
  do {
    const int d = static_cast<int>(v % static_cast<uint64_t>(base));
    buf[--i] = static_cast<char>(d < 10 ? '0' + d : 'a' + d - 10);
    v /= static_cast<uint64_t>(base);
  } while (v && i > 0);
  WriteStr(buf + i);
}

void SegvHandler(int sig, siginfo_t* info, void* uctx) {
  M* m = tls_m;
  G* gp = m ? m->curg : nullptr;
  char* addr = static_cast<char*>(info->si_addr);
  if (gp && gp->stack.map && addr >= gp->stack.map && addr < gp->stack.lo) {
    WriteStr("fatal error: stack overflow in fiber ");
    WriteU64(gp->goid.load(std::memory_order_relaxed), 10);
    WriteStr(" (hit the guard page at 0x");
    WriteU64(reinterpret_cast<uintptr_t>(addr), 16);
    WriteStr("; stack is ");
    WriteU64(gp->stack.size, 10);
    WriteStr(" bytes, see Options::stack_size)\n");
    signal(SIGSEGV, SIG_DFL);
    return;  // Re-faults with the default action.
  }
  if (old_segv_action.sa_flags & SA_SIGINFO) {
    if (old_segv_action.sa_sigaction) {
      old_segv_action.sa_sigaction(sig, info, uctx);
      return;
    }
  } else if (old_segv_action.sa_handler != SIG_DFL && old_segv_action.sa_handler != SIG_IGN) {
    old_segv_action.sa_handler(sig);
    return;
  }
  signal(SIGSEGV, SIG_DFL);
}

constexpr size_t kAltStackSize = 64 * 1024;

void InstallAltStack(M* m) {
  if (!segv_installed.load()) return;
  m->sigaltstack_mem = static_cast<char*>(malloc(kAltStackSize));
  stack_t ss{};
  ss.ss_sp = m->sigaltstack_mem;
  ss.ss_size = kAltStackSize;
  sigaltstack(&ss, nullptr);
}

void RemoveAltStack(M* m) {
  if (!m->sigaltstack_mem) return;
  stack_t ss{};
  ss.ss_flags = SS_DISABLE;
  sigaltstack(&ss, nullptr);
  free(m->sigaltstack_mem);
  m->sigaltstack_mem = nullptr;
}

void MStart(M* m) {
  tls_m = m;
#if TT_TSAN
  m->tsan_g0_fiber = __tsan_get_current_fiber();
#endif
  InstallAltStack(m);
  if (m->nextp) {
    AcquireP(m, m->nextp);
    m->nextp = nullptr;
  }
  Schedule(m);
  RemoveAltStack(m);
  tls_m = nullptr;
}

void Shutdown() {
  sched.shutdown.store(true);
  PreemptAll();
  sched.lock.Acquire();
  for (M* m = sched.midle; m; m = m->schedlink) m->park.Wakeup();
  sched.midle = nullptr;
  sched.nmidle = 0;
  sched.lock.Release();
  NetpollBreak();
  sched.sysmon_note.Wakeup();
}

// ---- G allocation ----

void GEntry(void* arg);

// Dead Gs are cached per P (owner only, no lock) and spill to / refill from the global list
// in batches of 32, as Go's gfput/gfget do: spawning is then lock-free in the common case.
constexpr int32_t kGfreeBatch = 32;

G* GfGet(P* pp) {
  if (pp == nullptr) {
    LockGuard g(&sched.glock);
    G* gp = sched.gfree;
    if (gp) sched.gfree = gp->schedlink;
    return gp;
  }
  if (pp->gfree == nullptr) {
    LockGuard g(&sched.glock);
    while (pp->gfree_count < kGfreeBatch && sched.gfree) {
      G* gp = sched.gfree;
      sched.gfree = gp->schedlink;
      gp->schedlink = pp->gfree;
      pp->gfree = gp;
      pp->gfree_count++;
    }
  }
  G* gp = pp->gfree;
  if (gp) {
    pp->gfree = gp->schedlink;
    pp->gfree_count--;
  }
  return gp;
}

// Stacks (Go's stackcache_refill/stackcache_release). A dead fiber's stack goes to its P's
// cache; a fiber takes one when it first runs. Why not keep the stack with the G, as before:
// a G waiting in a run queue to run for the first time then holds a stack nobody uses, and
// skynet-like bursts (hundreds of thousands of queued, never-started fibers) touched a fresh
// stack page for each -- a page fault per fiber, most of skynet's time on this VM. Now only
// started fibers hold stacks, and a new fiber gets the most recently freed (warm) one.
void StackCachePut(P* pp, Stack* s) {
  if (pp->stackcache_count == P::kStackCacheSize) {
    LockGuard g(&sched.glock);
    for (int32_t i = 0; i < P::kStackCacheSize / 2; i++) {
      sched.stackfree.push_back(pp->stackcache[i]);
    }
    std::move(pp->stackcache + P::kStackCacheSize / 2, pp->stackcache + P::kStackCacheSize,
              pp->stackcache);
    pp->stackcache_count -= P::kStackCacheSize / 2;
  }
  pp->stackcache[pp->stackcache_count++] = *s;
  *s = Stack{};
}

// Drops every cached stack of pp into the global list (sched.glock held).
void StackCacheDrainLocked(P* pp) {
  for (int32_t i = 0; i < pp->stackcache_count; i++) sched.stackfree.push_back(pp->stackcache[i]);
  pp->stackcache_count = 0;
}

// Gives gp, about to run for the first time, a stack and its first frame. Owner of pp only.
void AttachStack(P* pp, G* gp) {
  if (pp->stackcache_count == 0) {
    LockGuard g(&sched.glock);
    while (pp->stackcache_count < P::kStackCacheSize / 2 && !sched.stackfree.empty()) {
      pp->stackcache[pp->stackcache_count++] = sched.stackfree.back();
      sched.stackfree.pop_back();
    }
  }
  if (pp->stackcache_count > 0) {
    gp->stack = pp->stackcache[--pp->stackcache_count];
  } else if (!StackAlloc(&gp->stack, sched.opts.stack_size, sched.opts.guard_pages)) {
    Throw("out of memory allocating a fiber stack");
  }
#if TT_ASAN
  __asan_unpoison_memory_region(gp->stack.lo, gp->stack.size);
#endif
  MakeContext(&gp->context, gp->stack.lo, gp->stack.size, GEntry, gp);
}

void GfPut(P* pp, G* gp) {
  gp->fn = nullptr;
  gp->m = nullptr;
  ObsGFree(gp);
  if (pp != nullptr && gp->stack.lo != nullptr) StackCachePut(pp, &gp->stack);
  if (pp == nullptr) {
    LockGuard g(&sched.glock);
    gp->schedlink = sched.gfree;
    sched.gfree = gp;
    return;
  }
  gp->schedlink = pp->gfree;
  pp->gfree = gp;
  if (++pp->gfree_count >= 2 * kGfreeBatch) {
    LockGuard g(&sched.glock);
    while (pp->gfree_count > kGfreeBatch) {
      G* g1 = pp->gfree;
      pp->gfree = g1->schedlink;
      pp->gfree_count--;
      g1->schedlink = sched.gfree;
      sched.gfree = g1;
    }
  }
}

G* MalG() {
  G* gp = new G();  // Its stack comes when it first runs (AttachStack).
#if TT_TSAN
  gp->tsan_fiber = __tsan_create_fiber(0);
#endif
  CasGStatus(gp, GStatus::kIdle, GStatus::kDead);
  LockGuard g(&sched.glock);
  sched.allgs.push_back(gp);
  return gp;
}

void RunFn(G* gp) noexcept {
  gp->fn();
  gp->fn = nullptr;  // Destroy captures on the fiber, while it still runs.
}

void GEntry(void* arg) {
  G* gp = static_cast<G*>(arg);
  FinishSwitchIntoG(nullptr);
  RunFn(gp);
  M* m = GetM();
  if (static_cast<int64_t>(gp->goid.load(std::memory_order_relaxed)) != sched.main_goid &&
      DirectSwitch(m, gp, MAction::kExit)) {
    Throw("dead fiber resumed");
  }
  Mcall(gp, MAction::kExit, /*dying=*/true);
  Throw("dead fiber resumed");
}

G* NewProc(std::function<void()> fn, void* caller_pc) {
  M* m = GetM();
  G* gp = GfGet(m ? m->p : nullptr);
  if (gp == nullptr) gp = MalG();
#if TT_ASAN
  if (gp->stack.lo) __asan_unpoison_memory_region(gp->stack.lo, gp->stack.size);
#endif
  gp->fn = std::move(fn);
  gp->caller_pc = caller_pc;
  gp->goid.store(goidgen.fetch_add(1) + 1, std::memory_order_relaxed);
  gp->preempt.store(false, std::memory_order_relaxed);
  gp->waitreason.store(WaitReason::kZero, std::memory_order_relaxed);
  if (gp->stack.lo) {
    MakeContext(&gp->context, gp->stack.lo, gp->stack.size, GEntry, gp);
  } else {
    gp->context.sp = nullptr;  // Execute/DirectSwitch attach a stack first (AttachStack).
  }
  stat_fibers_created.fetch_add(1, std::memory_order_relaxed);
  stat_fibers_live.fetch_add(1, std::memory_order_relaxed);
  ObsNewProc(gp, m ? m->curg : nullptr);
  CasGStatus(gp, GStatus::kDead, GStatus::kRunnable);
  return gp;
}

// ---- procresize / stop-the-world ----

// Go's procresize; sched.lock held, the world stopped. The calling M keeps (or gets) a P.
void ProcResize(M* m, int32_t nprocs) {
  LockGuard g(&sched.allplock);
  const int32_t old = sched.gomaxprocs.load();
  ObsProcResize(old);
  for (int32_t i = 0; i < nprocs; i++) {
    if (sched.allp[i].load() == nullptr) {
      P* pp = new P(i);
      pp->fastrand = static_cast<uint32_t>(i) * 2654435761u + 1u;
      sched.allp[i].store(pp);
    }
    sched.allp[i].load()->status.store(static_cast<uint32_t>(PStatus::kGcstop));
  }
  for (int32_t i = nprocs; i < old; i++) {
    P* pp = sched.allp[i].load();
    bool inherit;
    while (G* gp = RunqGet(pp, &inherit)) GlobRunqPut(gp);
    LockGuard gl(&sched.glock);
    while (G* gp = pp->gfree) {
      pp->gfree = gp->schedlink;
      gp->schedlink = sched.gfree;
      sched.gfree = gp;
    }
    pp->gfree_count = 0;
    StackCacheDrainLocked(pp);
    pp->status.store(static_cast<uint32_t>(PStatus::kDead));
  }
  sched.gomaxprocs.store(nprocs);
  if (m && m->p && m->p->id >= nprocs) {
    P* oldp = m->p;
    m->p->m = nullptr;
    m->p = nullptr;
    AcquireP(m, sched.allp[0].load());
    if (TraceOn()) TraceProcMove(m->curg, m, oldp, m->p);
  } else if (m && m->p) {
    m->p->status.store(static_cast<uint32_t>(PStatus::kRunning));
  }
}

void StopTheWorldWithSema(M* m) {
  sched.lock.Acquire();
  const int32_t procs = sched.gomaxprocs.load();
  sched.stopwait = procs;
  sched.gcwaiting.store(true);
  PreemptAll();
  m->p->status.store(static_cast<uint32_t>(PStatus::kGcstop));
  sched.stopwait--;
  for (int32_t i = 0; i < procs; i++) {
    P* pp = sched.allp[i].load();
    uint32_t s = static_cast<uint32_t>(PStatus::kSyscall);
    if (pp->status.compare_exchange_strong(s, static_cast<uint32_t>(PStatus::kGcstop))) {
      if (TraceOn()) TraceSysBlock(pp);
      sched.stopwait--;
    }
  }
  while (P* pp = PidleGet()) {
    pp->status.store(static_cast<uint32_t>(PStatus::kGcstop));
    sched.stopwait--;
  }
  const bool wait = sched.stopwait > 0;
  sched.lock.Release();
  if (wait) {
    // Ms stop at their next safe point; keep re-flagging in case a G was just scheduled.
    while (!sched.stopnote.SleepFor(100 * 1000)) PreemptAll();
    sched.stopnote.Clear();
  }
  m->curg->preempt.store(false, std::memory_order_relaxed);
}

void StartTheWorldWithSema(M* m, int32_t nprocs) {
  std::vector<P*> to_start;
  sched.lock.Acquire();
  ProcResize(m, nprocs > 0 ? nprocs : sched.gomaxprocs.load());
  sched.gcwaiting.store(false);
  while (G* gp = sched.preempted) {
    sched.preempted = gp->schedlink;
    CasGStatus(gp, GStatus::kPreempted, GStatus::kRunnable);
    GlobRunqPut(gp);
  }
  for (int32_t i = sched.gomaxprocs.load() - 1; i >= 0; i--) {
    P* pp = sched.allp[i].load();
    if (pp == m->p) continue;
    if (RunqEmpty(pp)) {
      PidlePut(pp);
    } else {
      to_start.push_back(pp);
    }
  }
  m->p->curg.store(m->curg, std::memory_order_release);
  sched.lock.Release();
  for (P* pp : to_start) StartM(pp, false);
  WakeP();
}

void Sysmon();

int DefaultProcs() {
  for (const char* env : {"TT_FIBER_PROCS", "GOMAXPROCS"}) {
    if (const char* v = getenv(env)) {
      int n = atoi(v);
      if (n > 0) return std::min(n, kMaxProcs);
    }
  }
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    return std::clamp(CPU_COUNT(&set), 1, kMaxProcs);
  }
  return std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 1, kMaxProcs);
}

// ---- sysmon ----

// Go's retake. Returns how many Ps were retaken or flagged.
int Retake(int64_t now) {
  int n = 0;
  sched.allplock.Acquire();
  const int32_t procs = sched.gomaxprocs.load();
  for (int32_t i = 0; i < procs; i++) {
    P* pp = sched.allp[i].load();
    const auto s = static_cast<PStatus>(pp->status.load());
    if (s == PStatus::kRunning || s == PStatus::kSyscall) {
      const uint32_t t = pp->schedtick.load(std::memory_order_relaxed);
      if (pp->sysmon_schedtick != t) {
        pp->sysmon_schedtick = t;
        pp->sysmon_schedwhen = now;
      } else if (pp->sysmon_schedwhen + kForcePreemptNs <= now) {
        if (G* gp = pp->curg.load(std::memory_order_acquire)) {
          if (!gp->preempt.exchange(true, std::memory_order_relaxed)) {
            stat_preempts.fetch_add(1, std::memory_order_relaxed);
          }
        }
        pp->sysmon_schedwhen = now;
      }
    }
    if (s == PStatus::kSyscall) {
      const uint32_t t = pp->syscalltick.load(std::memory_order_relaxed);
      if (pp->sysmon_syscalltick != t) {
        pp->sysmon_syscalltick = t;
        pp->sysmon_syscallwhen = now;
        continue;
      }
      // No other work and idle Ms exist: leave the P for a while (Go's rule), it may come back.
      if (RunqEmpty(pp) && sched.runqsize.load() == 0 &&
          sched.nmspinning.load() + sched.npidle.load() > 0 &&
          pp->sysmon_syscallwhen + kForcePreemptNs > now) {
        continue;
      }
      sched.allplock.Release();
      uint32_t expect = static_cast<uint32_t>(PStatus::kSyscall);
      if (pp->status.compare_exchange_strong(expect, static_cast<uint32_t>(PStatus::kIdle))) {
        if (TraceOn()) TraceSysBlock(pp);  // Before syscalltick moves (see trace.cc).
        n++;
        pp->syscalltick.fetch_add(1, std::memory_order_relaxed);
        stat_retakes.fetch_add(1, std::memory_order_relaxed);
        HandoffP(pp);
      }
      sched.allplock.Acquire();
    }
  }
  sched.allplock.Release();
  return n;
}

void Sysmon() {
  int64_t delay_us = 20;
  int idle = 0;
  // GODEBUG=schedtrace=ms[,scheddetail=1] (or the older $TT_FIBER_SCHEDTRACE=ms), as Go's
  // sysmon does; the first line comes at once.
  const int64_t schedtrace_ns = Obs().debug.schedtrace * 1000 * 1000;
  const bool detail = Obs().debug.scheddetail > 0;
  int64_t next_schedtrace = Nanotime();
  while (!sched.shutdown.load()) {
    if (schedtrace_ns > 0 && Nanotime() >= next_schedtrace) {
      next_schedtrace += schedtrace_ns;
      SchedSnapshot snap;
      if (SnapshotSched(&snap, detail)) WriteStr(FormatSchedtrace(snap, detail).c_str());
    }
    if (idle == 0) {
      delay_us = 20;
    } else if (idle > 50) {
      delay_us = std::min<int64_t>(delay_us * 2, 10 * 1000);
    }
    sched.sysmon_note.SleepFor(delay_us * 1000);
    if (sched.shutdown.load()) break;
    const int64_t now = Nanotime();
    ObsCalibrateTicks(now);
    // Poll the network if nobody has for 10 ms (all Ps busy would otherwise starve I/O).
    const int64_t lastpoll = sched.lastpoll.load();
    if (netpoll_waiters.load() > 0 && lastpoll != 0 && lastpoll + 10 * 1000 * 1000 < now) {
      int64_t expect = lastpoll;
      if (sched.lastpoll.compare_exchange_strong(expect, now)) InjectGList(Netpoll(0));
    }
    if (Retake(now) > 0) {
      idle = 0;
    } else {
      idle++;
    }
  }
}

// ---- Dumps ----

__attribute__((no_sanitize_address, no_sanitize_thread)) void AppendFrames(std::string* out,
                                                                          G* gp) {
  char line[256];
  auto append_pc = [&](uintptr_t pc) {
    Dl_info info;
    if (dladdr(reinterpret_cast<void*>(pc), &info) && info.dli_sname) {
      snprintf(line, sizeof(line), "\t%s+0x%" PRIxPTR "\n", info.dli_sname,
               pc - reinterpret_cast<uintptr_t>(info.dli_saddr));
    } else {
      snprintf(line, sizeof(line), "\t0x%" PRIxPTR "\n", pc);
    }
    out->append(line);
  };
  uintptr_t pcs[33];
  const int n = FiberFrames(gp, pcs, 33);
  for (int i = 0; i < n; i++) append_pc(pcs[i]);
  if (gp->caller_pc) {
    out->append("created by\n");
    append_pc(reinterpret_cast<uintptr_t>(gp->caller_pc));
  }
}

}  // namespace

// Walk saved frame pointers; every read stays inside the fiber's own stack. In builds without
// frame pointers the chain ends early, which is fine for a best-effort dump.
__attribute__((no_sanitize_address, no_sanitize_thread)) int FiberFrames(G* gp, uintptr_t* pcs,
                                                                         int max) {
  int n = 0;
#if defined(__x86_64__)
  const uintptr_t lo = reinterpret_cast<uintptr_t>(gp->stack.lo);
  const uintptr_t hi = lo + gp->stack.size;
  const uintptr_t sp = reinterpret_cast<uintptr_t>(gp->context.sp);
  if (sp >= lo && sp + kFrameSize <= hi && n < max) {
    pcs[n++] = *reinterpret_cast<uintptr_t*>(sp + kFrameRet);
    uintptr_t fp = *reinterpret_cast<uintptr_t*>(sp + 48);
    for (; n < max && fp >= lo && fp + 16 <= hi && fp % 8 == 0;) {
      const uintptr_t ret = reinterpret_cast<uintptr_t*>(fp)[1];
      const uintptr_t next = reinterpret_cast<uintptr_t*>(fp)[0];
      if (ret == 0) break;
      pcs[n++] = ret;
      if (next <= fp) break;
      fp = next;
    }
  }
#else
  (void)gp;
  (void)pcs;
  (void)max;
#endif
  return n;
}

// ---- Internal API ----

int64_t Nanotime() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

TT_NOIPA M* GetM() {
  M* m = tls_m;
  asm volatile("" ::: "memory");
  return m;
}

uint32_t FastRandHere() {
  M* m = GetM();
  return m && m->p ? FastRand(m->p) : 0;
}

G* GetG() {
  M* m = GetM();
  return m ? m->curg : nullptr;
}

G* MustGetG() {
  G* gp = GetG();
  if (gp == nullptr) Throw("lib/fiber: blocking call outside a fiber");
  return gp;
}

void CasGStatus(G* gp, GStatus from, GStatus to) {
  // The tracer emits its transition event here, and only here (trace.cc). Without a P the CAS
  // and its event must be atomic with respect to a trace start, so the tracer runs that CAS.
  uint32_t expect = static_cast<uint32_t>(from);
  M* m = tls_m;
  bool ok;
  if (m == nullptr || m->p == nullptr) {
    ok = TraceCasGStatusNoP(gp, from, to, &expect);
  } else {
    ok = gp->atomicstatus.compare_exchange_strong(expect, static_cast<uint32_t>(to),
                                                  std::memory_order_acq_rel);
    if (ok && TraceOn()) TraceGStatus(gp, from, to);
  }
  if (!ok) {
    char msg[160];
    snprintf(msg, sizeof(msg), "casgstatus: fiber %" PRIu64 " bad transition %s -> %s (is %s)",
             gp->goid.load(), GStatusName(from).data(), GStatusName(to).data(),
             GStatusName(static_cast<GStatus>(expect)).data());
    Throw(msg);
  }
  ObsStatus(gp, from, to);
}

// CasGStatus for a G only the caller can be transitioning (the running G, or one just taken
// off the caller's own runq), with the caller holding a P: a checked load and a release store
// instead of a locked CAS, which costs more than the rest of a fiber switch.
void SetGStatusOwned(G* gp, GStatus from, GStatus to) { SetGStatusOwnedInline(gp, from, to); }

void ForEachG(void (*fn)(G* gp, void* arg), void* arg) {
  LockGuard g(&sched.glock);
  for (G* gp : sched.allgs) fn(gp, arg);
}
int32_t TraceGomaxprocsNow() { return sched.gomaxprocs.load(); }
P* TraceAllP(int32_t i) { return i >= 0 && i < kMaxProcs ? sched.allp[i].load() : nullptr; }
bool RuntimeRunning() { return sched.running.load(); }

bool ParkUnlock(G*, void* lock) {
  static_cast<Lock*>(lock)->Release();
  return true;
}

void Gopark(bool (*unlockf)(G*, void*), void* arg, WaitReason reason) {
  G* gp = MustGetG();
  M* m = GetM();
  if (ReadGStatus(gp) != GStatus::kRunning) Throw("gopark: bad g status");
  m->park_unlock = unlockf;
  m->park_arg = arg;
  gp->waitreason.store(reason, std::memory_order_relaxed);
  const int64_t block_t0 = ObsBlockStart(reason);
  if (!DirectSwitch(m, gp, MAction::kPark)) Mcall(gp, MAction::kPark);
  if (block_t0 != 0) ObsBlockEnd(block_t0);
}

void Ready(G* gp) {
  CasGStatus(gp, GStatus::kWaiting, GStatus::kRunnable);
  M* m = GetM();
  if (m && m->p) {
    RunqPut(m->p, gp, true);
  } else {
    LockGuard g(&sched.lock);
    GlobRunqPut(gp);
  }
  WakeP();
}

void InjectGList(G* list) {
  if (list == nullptr) return;
  int32_t n = CountList(list);
  for (G* g = list; g; g = g->schedlink) CasGStatus(g, GStatus::kWaiting, GStatus::kRunnable);
  {
    LockGuard g(&sched.lock);
    while (list) {
      G* next = list->schedlink;
      GlobRunqPut(list);
      list = next;
    }
  }
  for (; n > 0 && sched.npidle.load() > 0; n--) StartM(nullptr, false);
}

void AddTimer(TimerEntry* t) {
  // Read before inserting: once in the heap, t may fire and be freed (a sleeping fiber's frame).
  const int64_t when = t->when;
  {
    LockGuard g(&timer_lock);
    timer_heap.push_back(t);
    TimerSiftUp(timer_heap.size() - 1);
    UpdateTimerNext();
  }
  // Go's wakeNetPoller: make sure some M sleeps no longer than this timer.
  if (sched.lastpoll.load() == 0) {
    const int64_t until = sched.poll_until.load();
    if (until == 0 || when < until) NetpollBreak();
  } else {
    WakeP();
  }
}

bool DelTimer(TimerEntry* t) {
  LockGuard g(&timer_lock);
  if (t->heap_index < 0) return false;
  TimerRemoveAt(static_cast<size_t>(t->heap_index));
  UpdateTimerNext();
  return true;
}

void Throw(const char* msg) {
  std::string out = "fatal error: ";
  out += msg;
  out += "\n\n";
  out += DumpFibers();
  WriteStr(out.c_str());
  abort();
}

namespace {
// Go's checkdead. sched.lock held.
void CheckDead() {
  if (sched.shutdown.load() || !sched.running.load() || !sched.detect_deadlock.load()) return;
  const int32_t run = sched.mcount - sched.nmidle;
  if (run > 0) return;
  if (run < 0) Throw("checkdead: inconsistent counts");
  if (timer_next.load() != INT64_MAX) return;  // A timer will fire (cannot happen: see below).
  int live = 0;
  {
    LockGuard g(&sched.glock);
    for (G* gp : sched.allgs) {
      const GStatus s = ReadGStatus(gp);
      if (s == GStatus::kWaiting || s == GStatus::kPreempted) {
        live++;
      } else if (s == GStatus::kRunnable || s == GStatus::kRunning || s == GStatus::kSyscall) {
        return;  // Not asleep (a transient state; some M will pick it up).
      }
    }
  }
  if (live == 0) return;
  Throw("all goroutines are asleep - deadlock!");
}
}  // namespace

}  // namespace internal

using internal::G;
using internal::GetG;
using internal::GetM;
using internal::M;
using internal::MustGetG;
using internal::P;
using internal::sched;

std::string_view GStatusName(GStatus s) {
  switch (s) {
    case GStatus::kIdle: return "idle";
    case GStatus::kRunnable: return "runnable";
    case GStatus::kRunning: return "running";
    case GStatus::kSyscall: return "syscall";
    case GStatus::kWaiting: return "waiting";
    case GStatus::kDead: return "dead";
    case GStatus::kCopystack: return "copystack";
    case GStatus::kPreempted: return "preempted";
  }
  return "???";
}

std::string_view PStatusName(PStatus s) {
  switch (s) {
    case PStatus::kIdle: return "idle";
    case PStatus::kRunning: return "running";
    case PStatus::kSyscall: return "syscall";
    case PStatus::kGcstop: return "gcstop";
    case PStatus::kDead: return "dead";
  }
  return "???";
}

std::string_view WaitReasonString(WaitReason r) {
  switch (r) {
    case WaitReason::kZero: return "";
    case WaitReason::kChanReceive: return "chan receive";
    case WaitReason::kChanSend: return "chan send";
    case WaitReason::kChanReceiveNilChan: return "chan receive (nil chan)";
    case WaitReason::kChanSendNilChan: return "chan send (nil chan)";
    case WaitReason::kSelect: return "select";
    case WaitReason::kSelectNoCases: return "select (no cases)";
    case WaitReason::kSleep: return "sleep";
    case WaitReason::kSyncMutexLock: return "sync.Mutex.Lock";
    case WaitReason::kSyncRWMutexRLock: return "sync.RWMutex.RLock";
    case WaitReason::kSyncRWMutexLock: return "sync.RWMutex.Lock";
    case WaitReason::kSyncCondWait: return "sync.Cond.Wait";
    case WaitReason::kSyncWaitGroupWait: return "sync.WaitGroup.Wait";
    case WaitReason::kIOWait: return "IO wait";
    case WaitReason::kTimerGoroutineIdle: return "timer goroutine (idle)";
  }
  return "???";
}

int Run(const Options& options, std::function<void()> main) {
  if (GetM() != nullptr) internal::Throw("fiber::Run called from inside the runtime");
  bool expect = false;
  if (!sched.running.compare_exchange_strong(expect, true)) {
    internal::Throw("fiber::Run: another Run() is active");
  }
  sched.opts = options;
  if (sched.opts.procs <= 0) sched.opts.procs = internal::DefaultProcs();
  sched.opts.procs = std::min(sched.opts.procs, internal::kMaxProcs);
  if (sched.opts.stack_size < 16 * 1024) sched.opts.stack_size = 16 * 1024;
#if TT_ASAN
  sched.opts.guard_pages = false;
#endif
  internal::ObsRunStart(sched.opts.stack_size);
  sched.shutdown.store(false);
  sched.gcwaiting.store(false);
  sched.detect_deadlock.store(sched.opts.detect_deadlock);
  sched.lastpoll.store(internal::Nanotime());
  sched.poll_until.store(0);
  internal::NetpollInit();

  if (sched.opts.guard_pages) {
    struct sigaction sa {};
    sa.sa_sigaction = internal::SegvHandler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &internal::old_segv_action);
    internal::segv_installed.store(true);
  }

  M* m0 = new M(0);
  sched.lock.Acquire();
  sched.allm.push_back(m0);
  sched.mcount = 1;
  internal::ProcResize(nullptr, sched.opts.procs);
  for (int32_t i = sched.gomaxprocs.load() - 1; i >= 0; i--) {
    internal::PidlePut(sched.allp[i].load());
  }
  P* p0 = internal::PidleGet();
  sched.lock.Release();
  internal::stat_ms.fetch_add(1, std::memory_order_relaxed);

  internal::tls_m = m0;
#if TT_TSAN
  m0->tsan_g0_fiber = __tsan_get_current_fiber();
#endif
  internal::InstallAltStack(m0);
  internal::AcquireP(m0, p0);
  G* main_g = internal::NewProc(internal::ObsWrapMain(std::move(main)),
                                __builtin_return_address(0));
  sched.main_goid = static_cast<int64_t>(main_g->goid.load());
  internal::RunqPut(p0, main_g, false);
  sched.sysmon = std::thread(internal::Sysmon);

  internal::Schedule(m0);
  internal::RemoveAltStack(m0);
  internal::tls_m = nullptr;

  // Join every other M. No new M starts once shutdown is set (NewM checks under the lock).
  for (size_t i = 1;; i++) {
    M* m = nullptr;
    {
      internal::LockGuard g(&sched.lock);
      if (i >= sched.allm.size()) break;
      m = sched.allm[i];
    }
    internal::NetpollBreak();
    m->thread.join();
  }
  sched.sysmon_note.Wakeup();
  sched.sysmon.join();
  internal::TraceRuntimeExit();  // A trace still running ends with the runtime.
  internal::ObsRunEnd();

  // Tear down: the world is gone; free everything. Timers first: a sleeping fiber's timer entry
  // lives on its stack, which is freed below.
  {
    internal::LockGuard g(&internal::timer_lock);
    for (internal::TimerEntry* t : internal::timer_heap) t->heap_index = -1;
    internal::timer_heap.clear();
    internal::UpdateTimerNext();
  }
  {
    internal::LockGuard g(&sched.glock);
    uint64_t leaked = 0;
    for (G* gp : sched.allgs) {
      if (internal::ReadGStatus(gp) != GStatus::kDead) {
        internal::stat_fibers_live.fetch_sub(1, std::memory_order_relaxed);
        leaked++;
      }
      internal::ObsGFree(gp, /*teardown=*/true);
      internal::StackFree(&gp->stack);
#if TT_TSAN
      __tsan_destroy_fiber(gp->tsan_fiber);
#endif
      delete gp;
    }
    sched.allgs.clear();
    sched.gfree = nullptr;
    for (int32_t i = 0; i < internal::kMaxProcs; i++) {
      if (P* pp = sched.allp[i].load()) internal::StackCacheDrainLocked(pp);
    }
    for (internal::Stack& st : sched.stackfree) internal::StackFree(&st);
    sched.stackfree.clear();
    internal::StackPoolRelease();
    internal::stat_leaked_last_run.store(leaked);
  }
  for (M* m : sched.allm) delete m;
  sched.allm.clear();
  {
    internal::LockGuard g(&sched.allplock);  // Snapshots from other threads hold it.
    sched.gomaxprocs.store(0);
    for (auto& slot : sched.allp) {
      delete slot.load();
      slot.store(nullptr);
    }
  }
  sched.runq_head = sched.runq_tail = nullptr;
  sched.runqsize.store(0);
  sched.pidle = nullptr;
  sched.npidle.store(0);
  sched.midle = nullptr;
  sched.nmidle = 0;
  sched.mcount = 0;
  sched.nmspinning.store(0);
  sched.preempted = nullptr;
  sched.sysmon_note.Clear();
  sched.stw_active.store(false);
  internal::NetpollClose();
  if (internal::segv_installed.exchange(false)) {
    sigaction(SIGSEGV, &internal::old_segv_action, nullptr);
  }
  sched.running.store(false);
  return 0;
}

void Go(std::function<void()> fn) {
  if (!sched.running.load()) internal::Throw("fiber::Go outside Run()");
  G* gp = internal::NewProc(std::move(fn), __builtin_return_address(0));
  M* m = GetM();
  if (m && m->p) {
    internal::RunqPut(m->p, gp, true);
  } else {
    if (m == nullptr) sched.detect_deadlock.store(false);  // A foreign thread: see Options.
    internal::LockGuard g(&sched.lock);
    internal::GlobRunqPut(gp);
  }
  internal::WakeP();
  if (G* self = GetG()) {
    if (self->preempt.load(std::memory_order_relaxed)) PreemptionPoint();
  }
}

// Go's Gosched puts the G on the global runq and reschedules. We keep its effect -- every
// other runnable fiber of this P runs before the yielder again, and every 61st yield goes through
// the scheduler, which looks at the global runq first -- but switch fiber to fiber through the
// local runq (DirectSwitch): no lock, no g0. When nothing else is runnable here or globally, the
// yield returns at once, as Go's would after finding the yielder first on the global runq.
void Yield() {
  M* m = GetM();  // One TLS read (GetM is not inlined: the fiber may resume on another M).
  G* gp = m ? m->curg : nullptr;
  if (gp == nullptr) internal::Throw("lib/fiber: blocking call outside a fiber");
  P* pp = m->p;
  if (internal::DirectSwitch(m, gp, internal::MAction::kGosched)) return;
  if (!sched.gcwaiting.load(std::memory_order_relaxed) &&
      !pp->check_global && sched.runqsize.load(std::memory_order_relaxed) == 0 &&
      internal::RunqEmpty(pp)) {
    pp->schedtick.store(pp->schedtick.load(std::memory_order_relaxed) + 1,
                        std::memory_order_relaxed);
    gp->preempt.store(false, std::memory_order_relaxed);
    return;
  }
  internal::Mcall(gp, internal::MAction::kGosched);
}

void PreemptionPoint() {
  G* gp = GetG();
  if (gp == nullptr || !gp->preempt.load(std::memory_order_relaxed)) return;
  if (gp->m->p == nullptr) return;  // In a syscall: cannot switch now.
  gp->preempt.store(false, std::memory_order_relaxed);
  internal::Mcall(gp, internal::MAction::kPreempt);
}

namespace {
void ReadyTimer(void* arg, int64_t) { internal::Ready(static_cast<G*>(arg)); }
bool SleepCommit(G*, void* arg) {
  internal::AddTimer(static_cast<internal::TimerEntry*>(arg));
  return true;
}
}  // namespace

void SleepUntil(Clock::time_point t) {
  G* gp = MustGetG();
  const int64_t when = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           t.time_since_epoch()).count();
  if (when <= internal::Nanotime()) {
    PreemptionPoint();
    return;
  }
  internal::TimerEntry te;
  te.when = when;
  te.f = ReadyTimer;
  te.arg = gp;
  internal::Gopark(SleepCommit, &te, WaitReason::kSleep);
}

void SleepFor(Clock::duration d) { SleepUntil(Clock::now() + d); }

void EnterSyscall() {
  G* gp = MustGetG();
  M* m = GetM();
  P* pp = m->p;
  if (pp == nullptr) internal::Throw("entersyscall: nested Syscall()");
  pp->syscalltick.fetch_add(1, std::memory_order_relaxed);
  CasGStatus(gp, GStatus::kRunning, GStatus::kSyscall);
  m->oldp = pp;
  m->p = nullptr;
  pp->m = nullptr;
  // pp->curg keeps pointing at gp: a fiber that makes back-to-back short syscalls never lets
  // its P's schedtick move, so sysmon must be able to flag it for preemption (checked in
  // ExitSyscall), or the P's local runq would starve.
  pp->status.store(static_cast<uint32_t>(PStatus::kSyscall), std::memory_order_seq_cst);
  if (sched.gcwaiting.load()) {
    // Go's entersyscall_gcwait: let a pending stop-the-world count this P as stopped.
    internal::LockGuard g(&sched.lock);
    uint32_t expect = static_cast<uint32_t>(PStatus::kSyscall);
    if (sched.gcwaiting.load() &&
        pp->status.compare_exchange_strong(expect, static_cast<uint32_t>(PStatus::kGcstop))) {
      if (internal::TraceOn()) internal::TraceSysBlock(pp);
      if (--sched.stopwait == 0) sched.stopnote.Wakeup();
    }
  }
}

void ExitSyscall() {
  G* gp = MustGetG();
  M* m = GetM();
  P* oldp = m->oldp;
  m->oldp = nullptr;
  uint32_t expect = static_cast<uint32_t>(PStatus::kSyscall);
  if (oldp && oldp->status.compare_exchange_strong(expect,
                                                   static_cast<uint32_t>(PStatus::kIdle))) {
    internal::AcquireP(m, oldp);
    oldp->syscalltick.fetch_add(1, std::memory_order_relaxed);
    oldp->curg.store(gp, std::memory_order_release);
    CasGStatus(gp, GStatus::kSyscall, GStatus::kRunning);
    PreemptionPoint();
    return;
  }
  if (!sched.gcwaiting.load() && sched.npidle.load() > 0) {
    sched.lock.Acquire();
    P* pp = sched.gcwaiting.load() ? nullptr : internal::PidleGet();
    sched.lock.Release();
    if (pp) {
      internal::AcquireP(m, pp);
      pp->curg.store(gp, std::memory_order_release);
      CasGStatus(gp, GStatus::kSyscall, GStatus::kRunning);
      PreemptionPoint();
      return;
    }
  }
  internal::Mcall(gp, internal::MAction::kExitSyscall);
}

int Procs() { return sched.gomaxprocs.load(); }

void StopTheWorld(std::string_view) {
  G* gp = MustGetG();
  bool expect = false;
  while (!sched.stw_active.compare_exchange_strong(expect, true)) {
    expect = false;
    Yield();  // Go's worldsema: one stopper at a time.
  }
  internal::StopTheWorldWithSema(GetM());
  (void)gp;
}

void StartTheWorld() {
  MustGetG();
  internal::StartTheWorldWithSema(GetM(), 0);
  sched.stw_active.store(false);
}

int SetProcs(int n) {
  if (n < 1) n = 1;
  n = std::min(n, internal::kMaxProcs);
  MustGetG();
  bool expect = false;
  while (!sched.stw_active.compare_exchange_strong(expect, true)) {
    expect = false;
    Yield();
  }
  const int old = sched.gomaxprocs.load();
  internal::StopTheWorldWithSema(GetM());
  internal::StartTheWorldWithSema(GetM(), n);
  if (internal::TraceOn() && n != old) internal::TraceGomaxprocs(n);
  sched.stw_active.store(false);
  return old;
}

bool InFiber() { return GetG() != nullptr; }

uint64_t CurrentFiberId() {
  G* gp = GetG();
  return gp ? gp->goid.load(std::memory_order_relaxed) : 0;
}

std::string DumpFibers() {
  std::string out;
  G* self = GetG();
  internal::LockGuard g(&sched.glock);
  for (G* gp : sched.allgs) {
    const GStatus s = internal::ReadGStatus(gp);
    if (s == GStatus::kDead || s == GStatus::kIdle) continue;
    char line[128];
    std::string_view what = GStatusName(s);
    if (s == GStatus::kWaiting) what = WaitReasonString(gp->waitreason.load());
    snprintf(line, sizeof(line), "goroutine %" PRIu64 " [%.*s]:\n", gp->goid.load(),
             static_cast<int>(what.size()), what.data());
    out += line;
    if (gp == self) {
      void* pcs[32];
      int n = backtrace(pcs, 32);
      for (int i = 0; i < n; i++) {
        snprintf(line, sizeof(line), "\t%p\n", pcs[i]);
        out += line;
      }
    } else if (s == GStatus::kWaiting || s == GStatus::kRunnable ||
               s == GStatus::kPreempted) {
      internal::AppendFrames(&out, gp);
    }
    internal::ObsAppendAncestors(&out, gp);
    out += "\n";
  }
  return out;
}

namespace internal {

// Go's schedtrace reads P, M and G fields other threads are changing, holding only sched.lock
// ("we must be careful while reading data from P's, M's and G's"), and so do we: Ps, Ms and Gs
// are never freed while Run() runs, so a stale pointer still names a live object. The racy
// plain reads are deliberate, hence no TSan instrumentation here.
__attribute__((no_sanitize_thread)) bool SnapshotSched(SchedSnapshot* s, bool detail) {
  {
    LockGuard tl(&timer_lock);  // Lock order: timer_lock -> sched.lock.
    s->timers = static_cast<int32_t>(timer_heap.size());
  }
  LockGuard ap(&sched.allplock);
  if (!sched.running.load() || sched.gomaxprocs.load() == 0) return false;
  LockGuard g(&sched.lock);
  s->now = Nanotime();
  s->gomaxprocs = sched.gomaxprocs.load();
  s->npidle = sched.npidle.load();
  s->mcount = sched.mcount;
  s->nmspinning = sched.nmspinning.load();
  s->nmidle = sched.nmidle;
  s->runqsize = sched.runqsize.load();
  s->gcwaiting = sched.gcwaiting.load();
  s->stopwait = sched.stopwait;
  s->ps.clear();
  for (int32_t i = 0; i < s->gomaxprocs; i++) {
    P* pp = sched.allp[i].load();
    M* mp = pp->m;
    const uint32_t h = pp->runqhead.load();
    const uint32_t t = pp->runqtail.load();
    s->ps.push_back({pp->id, pp->status.load(), pp->schedtick.load(), pp->syscalltick.load(),
                     mp ? mp->id : -1, t - h, pp->gfree_count});
  }
  s->ms.clear();
  s->gs.clear();
  if (!detail) return true;
  for (auto it = sched.allm.rbegin(); it != sched.allm.rend(); ++it) {
    M* mp = *it;
    bool idle = false;
    for (M* i = sched.midle; i; i = i->schedlink) idle |= i == mp;
    P* pp = mp->p;
    G* gp = mp->curg;
    s->ms.push_back({mp->id, pp ? pp->id : -1,
                     gp ? static_cast<int64_t>(gp->goid.load()) : -1, mp->spinning, idle});
  }
  LockGuard gl(&sched.glock);
  for (G* gp : sched.allgs) {
    const GStatus st = ReadGStatus(gp);
    M* mp = gp->m;
    const bool on_m = st == GStatus::kRunning || st == GStatus::kSyscall;
    s->gs.push_back({gp->goid.load(), static_cast<uint32_t>(st),
                     st == GStatus::kWaiting ? gp->waitreason.load() : WaitReason::kZero,
                     on_m && mp ? mp->id : -1});
  }
  return true;
}

int32_t ObsGomaxprocs() { return sched.gomaxprocs.load(std::memory_order_relaxed); }

}  // namespace internal

namespace prof {

__attribute__((no_sanitize_thread)) std::vector<FiberRecord> Fibers() {
  std::vector<FiberRecord> out;
  G* self = GetG();
  internal::LockGuard g(&sched.glock);
  if (!sched.running.load()) return out;
  for (G* gp : sched.allgs) {
    const GStatus s = internal::ReadGStatus(gp);
    if (s == GStatus::kDead || s == GStatus::kIdle) continue;
    FiberRecord r;
    r.goid = gp->goid.load();
    r.status = s;
    if (s == GStatus::kWaiting) r.wait_reason = gp->waitreason.load();
    M* mp = gp->m;
    if ((s == GStatus::kRunning || s == GStatus::kSyscall) && mp) r.m = mp->id;
    uintptr_t pcs[64];
    int n = 0;
    if (gp == self) {
      n = CaptureStack(pcs, 64, 1);
    } else if (s == GStatus::kWaiting || s == GStatus::kRunnable || s == GStatus::kPreempted) {
      n = internal::FiberFrames(gp, pcs, 64);
    }
    r.pcs.assign(pcs, pcs + n);
    r.created_by = reinterpret_cast<uintptr_t>(gp->caller_pc);
    internal::ObsCopyAncestors(gp, &r.ancestors);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace prof

RuntimeStats Stats() {
  RuntimeStats s;
  s.fibers_created = internal::stat_fibers_created.load();
  s.fibers_live = internal::stat_fibers_live.load();
  s.stacks_live = internal::stacks_live.load();
  s.ms = internal::stat_ms.load();
  s.syscall_retakes = internal::stat_retakes.load();
  s.preempt_requests = internal::stat_preempts.load();
  s.steals = internal::stat_steals.load();
  s.leaked_last_run = internal::stat_leaked_last_run.load();
  return s;
}

namespace internal {

void MakeContext(Context* ctx, void* stack_lo, size_t stack_size, FiberEntry entry, void* arg) {
  uintptr_t top = reinterpret_cast<uintptr_t>(stack_lo) + stack_size;
  top &= ~static_cast<uintptr_t>(15);
  top -= 16;  // A zero "return address" above the first frame ends unwinders' walks.
  *reinterpret_cast<uintptr_t*>(top) = 0;
  *reinterpret_cast<uintptr_t*>(top + 8) = 0;
  char* sp = reinterpret_cast<char*>(top - kFrameSize);
  memset(sp, 0, kFrameSize);
#if defined(__x86_64__)
  // rsp after the first swap's `ret` is top, 16-byte aligned, as the trampoline's call needs.
  const uint32_t mxcsr = 0x1F80;   // All exceptions masked, round to nearest.
  const uint16_t fpucw = 0x037F;   // The x87 default.
  memcpy(sp + kFrameFpCtl, &mxcsr, sizeof(mxcsr));
  memcpy(sp + kFrameFpCtl + 4, &fpucw, sizeof(fpucw));
  *reinterpret_cast<void**>(sp + kFrameR12) = reinterpret_cast<void*>(entry);
  *reinterpret_cast<void**>(sp + kFrameR13) = arg;
  *reinterpret_cast<void**>(sp + kFrameRet) = reinterpret_cast<void*>(&tt_fiber_trampoline);
#elif defined(__aarch64__)
  *reinterpret_cast<void**>(sp + kFrameX19) = reinterpret_cast<void*>(entry);
  *reinterpret_cast<void**>(sp + kFrameX20) = arg;
  *reinterpret_cast<void**>(sp + kFrameX30) = reinterpret_cast<void*>(&tt_fiber_trampoline);
#endif
  ctx->sp = sp;
}

}  // namespace internal

}  // namespace tracetool::fiber
