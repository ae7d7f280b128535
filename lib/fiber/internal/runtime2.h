// Runtime-internal types: G, P, M and the scheduler's global state (Go's runtime2.go).
// Only lib/fiber/*.cc include this.
#ifndef TRACETOOL_LIB_FIBER_INTERNAL_RUNTIME2_H_
#define TRACETOOL_LIB_FIBER_INTERNAL_RUNTIME2_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

#include "lib/fiber/fiber.h"
#include "lib/fiber/internal/context.h"
#include "lib/fiber/internal/lock.h"
#include "lib/fiber/internal/trace.h"

namespace tracetool::fiber::internal {

struct M;
struct P;
struct Sudog;

[[noreturn]] void Throw(const char* msg);  // Go's throw: "fatal error: msg", fiber dump, abort.
#define TT_FIBER_CHECK(cond) \
  ((cond) ? (void)0 : ::tracetool::fiber::internal::Throw("check failed: " #cond))

int64_t Nanotime();  // CLOCK_MONOTONIC in ns; the same clock as fiber::Clock.

struct Stack {
  char* lo = nullptr;     // Lowest usable byte (just above the guard page, if any).
  size_t size = 0;        // Usable bytes.
  char* map = nullptr;    // What mmap returned (guard page included).
  size_t map_size = 0;
};

struct G {
  G() = default;
  G(const G&) = delete;
  G& operator=(const G&) = delete;

  std::atomic<uint64_t> goid{0};          // Fresh on every Go(), as Go's newproc1 does.
  std::atomic<uint32_t> atomicstatus{0};  // A GStatus; changed only by CasGStatus().
  std::atomic<WaitReason> waitreason{WaitReason::kZero};  // Valid while kWaiting.
  Context context;
  Stack stack;
  std::function<void()> fn;
  M* m = nullptr;                          // While running or in a syscall.
  std::atomic<bool> preempt{false};        // Set by sysmon / STW; checked at safe points.
  bool preempt_stop = false;               // Stop for STW (-> kPreempted) rather than yield.
  int64_t syscall_start = 0;

  // Channel/select hand-off (Go's gp.param and gp.selectDone); see chan.cc.
  Sudog* param = nullptr;
  std::atomic<uint32_t> select_done{0};
  Sudog* waiting = nullptr;                // Sudogs of an in-progress select, for the dump.

  G* schedlink = nullptr;                  // Next in the global runq / free list. Guarded by sched.lock.
  void* caller_pc = nullptr;               // Return address of the Go() call that created it.

  // Sanitizer fiber handles.
  void* tsan_fiber = nullptr;

  // Observability (internal/obs.h): scheduling-latency sampling, creation ancestors.
  uint32_t obs_tick = 0;
  bool obs_tsc = false;                    // obs_runnable_since is in TSC ticks (internal/obs.h).
  int64_t obs_runnable_since = 0;
  void* obs_ancestors = nullptr;
  GTrace trace;                            // The tracer's state (internal/trace.h).
};

// A bounded single-producer multi-consumer ring of runnable Gs (Go's p.runq): the owner P puts
// at the tail, the owner and thieves take from the head with a CAS.
inline constexpr uint32_t kRunqSize = 256;

struct P {
  explicit P(int32_t i) : id(i) {}
  P(const P&) = delete;
  P& operator=(const P&) = delete;

  const int32_t id;
  std::atomic<uint32_t> status{static_cast<uint32_t>(PStatus::kGcstop)};
  M* m = nullptr;                           // Owner M; meaningful while kRunning.
  P* link = nullptr;                        // Idle P list. Guarded by sched.lock.
  std::atomic<uint32_t> schedtick{0};       // Incremented on every schedule; read by sysmon.
  std::atomic<uint32_t> syscalltick{0};     // Incremented on every syscall; read by sysmon.
  std::atomic<uint32_t> runqhead{0};
  std::atomic<uint32_t> runqtail{0};
  std::atomic<G*> runq[kRunqSize] = {};
  std::atomic<G*> runnext{nullptr};
  std::atomic<G*> curg{nullptr};            // Fiber running on this P, for sysmon's preemption.
  uint32_t fastrand = 0;                    // Owner only.
  G* gfree = nullptr;                       // Local cache of dead Gs (Go's p.gFree). Owner only.
  int32_t gfree_count = 0;                  // Owner only.
  // Free stacks, most recently used last (Go's p.mcache.stackcache): a fiber gets its stack
  // when it first runs, not when it is created (AttachStack). Owner only.
  static constexpr int32_t kStackCacheSize = 64;
  Stack stackcache[kStackCacheSize];
  int32_t stackcache_count = 0;
  uint32_t direct_switches = 0;             // Fiber-to-fiber switches (DirectSwitch). Owner only.
  bool check_global = false;                // Next FindRunnable looks at the global runq first.
  std::atomic<int64_t> obs_idle_since{0};   // When it went idle (internal/obs.h); 0: not idle.

  PTrace trace;                             // The tracer's batch and state (internal/trace.h).
  // Sysmon's private view (Go's sysmontick).
  uint32_t sysmon_schedtick = 0;
  int64_t sysmon_schedwhen = 0;
  uint32_t sysmon_syscalltick = 0;
  int64_t sysmon_syscallwhen = 0;
};

// What an M's scheduler stack (g0) must do after a fiber switched to it (Go's mcall targets).
enum class MAction : uint8_t {
  kNone,
  kPark,         // park_m: kRunning -> kWaiting, then call park_unlock.
  kGosched,      // gosched_m: kRunning -> kRunnable, to the global runq.
  kPreempt,      // gopreempt_m, or preemptPark when preempt_stop.
  kExit,         // goexit0: kRunning -> kDead, to the free list.
  kExitSyscall,  // exitsyscall0: no P was free; kSyscall -> kRunnable, global runq, stopm.
};

struct M {
  explicit M(int64_t i) : id(i) {}
  M(const M&) = delete;
  M& operator=(const M&) = delete;

  const int64_t id;
  Context g0_context;                 // The thread's own stack, running Schedule().
  G* curg = nullptr;                  // Fiber this M is running (or that is in a syscall).
  P* p = nullptr;                     // Attached P; null while idle or in a syscall.
  P* nextp = nullptr;                 // P handed over by StartM(). Guarded by sched.lock.
  P* oldp = nullptr;                  // P held when the current syscall began.
  bool spinning = false;              // Looking for work with a P but no G.
  M* schedlink = nullptr;             // Idle M list. Guarded by sched.lock.
  Note park;
  std::thread thread;                 // Not joinable for m0 (the thread inside Run()).

  MAction action = MAction::kNone;
  // A fiber that switched straight to the current one (DirectSwitch) and what is still to be
  // done for it now that it is off its stack: kGosched (queue it) or kPark (run park_unlock).
  G* handoff_g = nullptr;
  MAction handoff_action = MAction::kNone;
  bool (*park_unlock)(G* gp, void* arg) = nullptr;  // Go's waitunlockf.
  void* park_arg = nullptr;

  // ASan bookkeeping for the thread stack and the fake stack of the fiber switching away.
  const void* g0_stack_bottom = nullptr;
  size_t g0_stack_size = 0;
  void* tsan_g0_fiber = nullptr;
  char* sigaltstack_mem = nullptr;
};

// Gopark() parks the current fiber with reason. On the M's g0, after the fiber is fully off its
// stack and kWaiting, unlockf(gp, arg) runs (it typically releases the lock that protects the
// queue the fiber is on); if it returns false the fiber is resumed at once. Fiber only.
void Gopark(bool (*unlockf)(G*, void*), void* arg, WaitReason reason);
// Park-unlock helper: releases the Lock* passed as arg.
bool ParkUnlock(G* gp, void* lock);

// Ready() makes a kWaiting fiber runnable (runnext of the current P, or the global runq when the
// caller holds no P). Any thread.
void Ready(G* gp);
// Readies a list of netpoll'd fibers linked through schedlink.
void InjectGList(G* list);

// CasGStatus() is the single choke point for G status changes (a later tracer hooks here).
void CasGStatus(G* gp, GStatus from, GStatus to);
// The same transition for a G no one else can be transitioning (the running G, or one the
// caller just took off its own P's runq): a checked load and a store, no locked CAS.
void SetGStatusOwned(G* gp, GStatus from, GStatus to);
inline GStatus ReadGStatus(const G* gp) {
  return static_cast<GStatus>(gp->atomicstatus.load(std::memory_order_acquire));
}

// A random number from the current P's xorshift state (never 0), or 0 without a P.
uint32_t FastRandHere();

G* GetG();       // Current fiber, or null on g0 / non-runtime threads.
G* MustGetG();   // Current fiber; throws when called outside one.
M* GetM();

// Timers (Go's time.go, one global heap). A Timer's storage is owned by the caller and must
// stay alive until it fired or DelTimer() returned true / the callback completed.
struct TimerEntry {
  int64_t when = 0;
  void (*f)(void* arg, int64_t now) = nullptr;  // Runs on some M's g0 with a P; must not block.
  void* arg = nullptr;
  int32_t heap_index = -1;                      // Guarded by the timer lock.
  std::atomic<uint32_t> running{0};
};
void AddTimer(TimerEntry* t);
// Removes t if pending; returns true if it was. When false, waits until a concurrent callback
// finished, so t may be destroyed afterwards.
bool DelTimer(TimerEntry* t);

// Netpoller (netpoll.cc).
void NetpollInit();
void NetpollClose();
G* Netpoll(int64_t delay_ns);   // delay < 0 blocks, 0 polls; returns a schedlink list of ready Gs.
void NetpollBreak();
bool NetpollInited();
extern std::atomic<int32_t> netpoll_waiters;

// Allocation-free stack helpers (stack.cc).
bool StackAlloc(Stack* s, size_t size, bool guard);
void StackFree(Stack* s);
void StackPoolRelease();  // Unmaps the unused rest of the current chunk (Run() teardown).
extern std::atomic<uint64_t> stacks_live;

}  // namespace tracetool::fiber::internal

#endif  // TRACETOOL_LIB_FIBER_INTERNAL_RUNTIME2_H_
