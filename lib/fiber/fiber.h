// lib/fiber: a fiber runtime with Go's G/P/M scheduler.
//
//   tracetool::fiber::Options opts;
//   opts.procs = 4;
//   tracetool::fiber::Run(opts, [] {
//     tracetool::fiber::WaitGroup wg;
//     wg.Add(1);
//     tracetool::fiber::Go([&] { DoWork(); wg.Done(); });
//     wg.Wait();
//   });
//
// Fibers (Gs) run on OS threads (Ms) that hold one of `procs` processors (Ps), as in Go.
// Blocking in this library (channels, sync, sleep, net) parks the fiber, never the thread.
// Not provided: asynchronous preemption (a fiber that never calls into the runtime or
// PreemptionPoint() is never interrupted), growable stacks, running two runtimes at once.
// Names follow Go's runtime/proc.go; see lib/fiber/README.md for the mapping.
#ifndef TRACETOOL_LIB_FIBER_FIBER_H_
#define TRACETOOL_LIB_FIBER_FIBER_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace tracetool::fiber {

// G statuses, numerically equal to Go's _G* constants (runtime2.go).
enum class GStatus : uint32_t {
  kIdle = 0,       // Just allocated; on no queue; stack not yet set up.
  kRunnable = 1,   // On exactly one run queue (P.runq, P.runnext or the global runq).
  kRunning = 2,    // Executing on an M that holds a P; on no queue.
  kSyscall = 3,    // Executing a blocking call inside Syscall(); its M may have lost its P.
  kWaiting = 4,    // Parked; some wait queue (channel, lock, timer, poller) holds it; see wait_reason.
  kDead = 6,       // Finished, on the free list (or never started); stack kept for reuse.
  kCopystack = 8,  // Unused: stacks never move. Kept so the numbers match Go's.
  kPreempted = 9,  // Stopped at a safe point for stop-the-world; on the preempted list.
};

// P statuses, numerically equal to Go's _P* constants.
enum class PStatus : uint32_t {
  kIdle = 0,     // On the idle P list, owned by nobody.
  kRunning = 1,  // Owned by an M that is running fibers or the scheduler.
  kSyscall = 2,  // Its M is in Syscall(); sysmon may retake it.
  kGcstop = 3,   // Stopped by stop-the-world.
  kDead = 4,     // Beyond the current procs count (after SetProcs shrank it).
};

// Why a kWaiting fiber waits; the strings are Go's waitReasonStrings.
enum class WaitReason : uint8_t {
  kZero,
  kChanReceive,
  kChanSend,
  kChanReceiveNilChan,
  kChanSendNilChan,
  kSelect,
  kSelectNoCases,
  kSleep,
  kSyncMutexLock,
  kSyncRWMutexRLock,
  kSyncRWMutexLock,
  kSyncCondWait,
  kSyncWaitGroupWait,
  kIOWait,
  kTimerGoroutineIdle,
};

std::string_view GStatusName(GStatus s);     // "runnable", "waiting", ... (Go's gStatusStrings)
std::string_view PStatusName(PStatus s);     // "idle", "running", ...
std::string_view WaitReasonString(WaitReason r);  // "chan receive", "sleep", ...

struct Options {
  // Number of Ps. 0: $TT_FIBER_PROCS, else $GOMAXPROCS, else the CPUs this process may use.
  int procs = 0;
  // Usable bytes per fiber stack (rounded up to pages); a guard page is added below it.
  size_t stack_size = 256 * 1024;
  // PROT_NONE guard page under every stack. Forced off under ASan (spurious reports, see marl).
  bool guard_pages = true;
  // Abort with Go's "all goroutines are asleep - deadlock!" when every fiber is blocked and no
  // timer, poller or syscall can wake one. A thread outside the runtime calling Go() can wake
  // fibers the runtime cannot see, so such a call switches detection off for the rest of Run();
  // set false up front if foreign threads will do that.
  bool detect_deadlock = true;
};

// Run() starts the runtime, runs main as the first fiber (G1) and returns when main returns.
// Fibers still alive then are discarded without unwinding, as Go exits with live goroutines.
// Must not be called from a fiber or while another Run() is active. Returns 0.
int Run(const Options& options, std::function<void()> main);

// Go() starts fn in a new fiber (Go's `go` statement). Callable from fibers, or from any thread
// while Run() is active.
void Go(std::function<void()> fn);

// Yield() lets other fibers run (runtime.Gosched): the caller goes to the global run queue.
void Yield();

using Clock = std::chrono::steady_clock;
// SleepFor()/SleepUntil() park the calling fiber until the time has passed. Fiber only.
void SleepFor(Clock::duration d);
void SleepUntil(Clock::time_point t);

// PreemptionPoint() yields if sysmon asked this fiber to (it has run for > 10 ms) or a
// stop-the-world is pending. Cheap: one relaxed load when there is nothing to do.
void PreemptionPoint();

// Syscall(fn) runs a blocking call (read(2), a blocking library) inside entersyscall/
// exitsyscall: while fn runs, sysmon may hand this fiber's P to another M, so other fibers keep
// running. Fiber only; fn must not call back into this library.
void EnterSyscall();
void ExitSyscall();
template <typename F>
auto Syscall(F&& fn) -> std::invoke_result_t<F> {
  EnterSyscall();
  if constexpr (std::is_void_v<std::invoke_result_t<F>>) {
    std::forward<F>(fn)();
    ExitSyscall();
  } else {
    auto r = std::forward<F>(fn)();
    ExitSyscall();
    return r;
  }
}

// SetProcs(n) stops the world, resizes the P set to n (>= 1) and restarts it (GOMAXPROCS).
// Returns the previous count. Fiber only.
int SetProcs(int n);
int Procs();

// StopTheWorld() stops every other P (running fibers stop at their next safe point);
// StartTheWorld() resumes them. The caller keeps running on its own P in between and must not
// block. Fiber only; calls do not nest.
void StopTheWorld(std::string_view reason);
void StartTheWorld();

// InFiber() is true on a fiber's stack. CurrentFiberId() is its goid (0 outside fibers).
bool InFiber();
uint64_t CurrentFiberId();

// DumpFibers() returns Go-style "goroutine N [status]:" blocks for every live fiber, and
// Schedtrace() a "SCHED ..." line with scheddetail-style P and M lines.
std::string DumpFibers();
std::string Schedtrace();

// Counters for tests and tools; monotonically increasing except the *_live ones.
struct RuntimeStats {
  uint64_t fibers_created = 0;
  uint64_t fibers_live = 0;   // Not yet dead.
  uint64_t stacks_live = 0;   // Mapped stacks (live fibers plus the free list).
  uint64_t ms = 0;            // OS threads created for Ms.
  uint64_t syscall_retakes = 0;  // Ps that sysmon took from fibers stuck in Syscall().
  uint64_t preempt_requests = 0;  // Times sysmon flagged a fiber for running > 10 ms.
  uint64_t steals = 0;        // Successful work steals.
  uint64_t leaked_last_run = 0;  // Fibers still alive when the last Run() returned.
};
RuntimeStats Stats();

}  // namespace tracetool::fiber

#endif  // TRACETOOL_LIB_FIBER_FIBER_H_
