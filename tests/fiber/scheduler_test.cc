// Scheduler tests: spawning, yielding, sleeping, timers, syscall hand-off, preemption,
// stop-the-world, SetProcs, dumps, deadlock detection and guard pages.
#include <cfenv>
#include <time.h>

#include <atomic>
#include <chrono>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "lib/fiber/chan.h"
#include "lib/fiber/fiber.h"
#include "lib/fiber/metrics.h"
#include "lib/fiber/sync.h"
#include "tests/fiber/fiber_test_util.h"

namespace tracetool::fiber {
namespace {

using testing::ProcsTest;
using testing::RunFibers;
using namespace std::chrono_literals;

static_assert(static_cast<int>(GStatus::kIdle) == 0);
static_assert(static_cast<int>(GStatus::kRunnable) == 1);
static_assert(static_cast<int>(GStatus::kRunning) == 2);
static_assert(static_cast<int>(GStatus::kSyscall) == 3);
static_assert(static_cast<int>(GStatus::kWaiting) == 4);
static_assert(static_cast<int>(GStatus::kDead) == 6);
static_assert(static_cast<int>(GStatus::kCopystack) == 8);
static_assert(static_cast<int>(GStatus::kPreempted) == 9);
static_assert(static_cast<int>(PStatus::kIdle) == 0);
static_assert(static_cast<int>(PStatus::kRunning) == 1);
static_assert(static_cast<int>(PStatus::kSyscall) == 2);
static_assert(static_cast<int>(PStatus::kGcstop) == 3);
static_assert(static_cast<int>(PStatus::kDead) == 4);

TEST(FiberNames, MatchGo) {
  EXPECT_EQ(GStatusName(GStatus::kRunnable), "runnable");
  EXPECT_EQ(GStatusName(GStatus::kPreempted), "preempted");
  EXPECT_EQ(PStatusName(PStatus::kGcstop), "gcstop");
  EXPECT_EQ(WaitReasonString(WaitReason::kChanReceive), "chan receive");
  EXPECT_EQ(WaitReasonString(WaitReason::kSyncMutexLock), "sync.Mutex.Lock");
  EXPECT_EQ(WaitReasonString(WaitReason::kSelectNoCases), "select (no cases)");
}

class SchedulerTest : public ProcsTest {};

TEST_P(SchedulerTest, MainRunsAsFiber) {
  bool ran = false;
  uint64_t id = 0;
  RunFibers(procs(), [&] {
    ran = InFiber();
    id = CurrentFiberId();
    EXPECT_EQ(Procs(), procs());
  });
  EXPECT_TRUE(ran);
  EXPECT_GT(id, 0u);
  EXPECT_FALSE(InFiber());
}

TEST_P(SchedulerTest, SpawnManyAndJoin) {
  constexpr int kFibers = 5000 / testing::kSanitizerSlowdown;
  std::atomic<int> sum{0};
  RunFibers(procs(), [&] {
    WaitGroup wg;
    wg.Add(kFibers);
    for (int i = 0; i < kFibers; i++) {
      Go([&, i] {
        sum.fetch_add(i, std::memory_order_relaxed);
        wg.Done();
      });
    }
    wg.Wait();
  });
  EXPECT_EQ(sum.load(), kFibers * (kFibers - 1) / 2);
}

// A binary tree of fibers, each joining its children through a channel (skynet in miniature).
int64_t Tree(int depth, int64_t id) {
  if (depth == 0) return id;
  Chan<int64_t> c(2);
  Go([&c, depth, id] { c.Send(Tree(depth - 1, 2 * id)); });
  Go([&c, depth, id] { c.Send(Tree(depth - 1, 2 * id + 1)); });
  return *c.Recv() + *c.Recv();
}

TEST_P(SchedulerTest, NestedSpawnTree) {
  int64_t total = 0;
  const int depth = testing::kSanitizerSlowdown > 1 ? 8 : 12;
  RunFibers(procs(), [&] { total = Tree(depth, 1); });
  // Leaves are ids 2^depth .. 2^(depth+1)-1.
  const int64_t lo = int64_t{1} << depth;
  const int64_t hi = (int64_t{1} << (depth + 1)) - 1;
  EXPECT_EQ(total, (lo + hi) * lo / 2);
}

TEST_P(SchedulerTest, YieldLetsEveryoneFinish) {
  constexpr int kFibers = 16;
  constexpr int kYields = 500;
  std::atomic<int> done{0};
  RunFibers(procs(), [&] {
    WaitGroup wg;
    wg.Add(kFibers);
    for (int i = 0; i < kFibers; i++) {
      Go([&] {
        for (int j = 0; j < kYields; j++) Yield();
        done.fetch_add(1);
        wg.Done();
      });
    }
    wg.Wait();
  });
  EXPECT_EQ(done.load(), kFibers);
}

TEST_P(SchedulerTest, SleepLastsAtLeastItsDuration) {
  RunFibers(procs(), [&] {
    WaitGroup wg;
    constexpr int kFibers = 20;
    std::atomic<int> too_early{0};
    wg.Add(kFibers);
    for (int i = 0; i < kFibers; i++) {
      Go([&, i] {
        const auto d = std::chrono::milliseconds(1 + i % 7);
        const auto start = Clock::now();
        SleepFor(d);
        if (Clock::now() - start < d) too_early.fetch_add(1);
        wg.Done();
      });
    }
    wg.Wait();
    EXPECT_EQ(too_early.load(), 0);
    SleepUntil(Clock::now() - 1s);  // In the past: returns at once.
  });
}

TEST_P(SchedulerTest, TimerFiresOnChannelAndStopWorks) {
  RunFibers(procs(), [&] {
    const auto start = Clock::now();
    Timer t(5ms);
    std::optional<Clock::time_point> fired = t.C().Recv();
    ASSERT_TRUE(fired.has_value());
    EXPECT_GE(*fired - start, 5ms);
    EXPECT_FALSE(t.Stop());  // Already fired.

    Timer never(1h);
    EXPECT_TRUE(never.Stop());
    std::optional<Clock::time_point> none;
    EXPECT_FALSE(never.C().TryRecv(&none));

    Chan<int> done(1);
    Timer af(2ms, [&] { done.Send(7); });
    EXPECT_EQ(done.Recv(), 7);

    Timer reset(1h);
    EXPECT_TRUE(reset.Reset(1ms));
    EXPECT_TRUE(reset.C().Recv().has_value());
  });
}

TEST_P(SchedulerTest, SelectWithTimerTimesOut) {
  RunFibers(procs(), [&] {
    Chan<int> never;
    Timer t(3ms);
    std::optional<int> v;
    std::optional<Clock::time_point> tick;
    EXPECT_EQ(Select({RecvCase(&never, &v), RecvCase(&t.C(), &tick)}), 1);
    EXPECT_TRUE(tick.has_value());
  });
}

TEST_P(SchedulerTest, StopTheWorldStopsOtherFibers) {
  std::atomic<int64_t> counter{0};
  std::atomic<bool> stop{false};
  RunFibers(procs(), [&] {
    WaitGroup wg;
    const int workers = 2 * procs();
    wg.Add(workers);
    for (int i = 0; i < workers; i++) {
      Go([&] {
        while (!stop.load()) {
          counter.fetch_add(1, std::memory_order_relaxed);
          PreemptionPoint();
        }
        wg.Done();
      });
    }
    while (counter.load() < 1000) Yield();
    for (int round = 0; round < 3; round++) {
      StopTheWorld("test");
      const int64_t before = counter.load();
      const auto until = Clock::now() + 20ms;
      while (Clock::now() < until) {
      }
      const int64_t after = counter.load();
      StartTheWorld();
      EXPECT_EQ(before, after) << "a fiber ran during stop-the-world";
      const int64_t resumed_from = counter.load();
      while (counter.load() < resumed_from + 100) Yield();
    }
    stop.store(true);
    wg.Wait();
  });
}

TEST_P(SchedulerTest, SetProcsResizes) {
  std::atomic<int> sum{0};
  RunFibers(procs(), [&] {
    for (int n : {1, 3, 8, 2}) {
      const int old = SetProcs(n);
      EXPECT_GE(old, 1);
      EXPECT_EQ(Procs(), n);
      WaitGroup wg;
      wg.Add(100);
      for (int i = 0; i < 100; i++) {
        Go([&] {
          Yield();
          sum.fetch_add(1);
          wg.Done();
        });
      }
      wg.Wait();
    }
  });
  EXPECT_EQ(sum.load(), 400);
}

TEST_P(SchedulerTest, DumpShowsWaitReason) {
  RunFibers(procs(), [&] {
    Chan<int> c;
    Chan<int> started;
    WaitGroup wg;
    wg.Add(1);
    Go([&] {
      started.Send(1);
      c.Recv();
      wg.Done();
    });
    started.Recv();
    // The receiver may not have parked yet; poll the dump.
    std::string dump;
    for (int i = 0; i < 10000; i++) {
      dump = DumpFibers();
      if (dump.find("[chan receive]") != std::string::npos) break;
      Yield();
    }
    EXPECT_NE(dump.find("[chan receive]"), std::string::npos) << dump;
    EXPECT_NE(dump.find("goroutine "), std::string::npos);
    EXPECT_NE(Schedtrace().find("SCHED"), std::string::npos);
    c.Send(1);
    wg.Wait();
  });
}

// The blocked fiber is discarded with its stack; its channel still lists the fiber's (freed)
// sudog, so the channel must never be destroyed: keep it reachable from a static.
Chan<int>* OrphanedChannel() {
  static Chan<int>* c = new Chan<int>();
  return c;
}

TEST_P(SchedulerTest, MainReturningDiscardsBlockedFibers) {
  RunFibers(
      procs(),
      [&] {
        Go([] { OrphanedChannel()->Recv(); });
        Yield();
      },
      /*expect_no_leaks=*/false);
  EXPECT_LE(Stats().leaked_last_run, 1u);
}

// Yield switches fiber to fiber through the local runq; a pair yielding to each other forever
// must still let a timer fire and a fiber on the global runq (spawned by a foreign thread) run:
// every 61st switch goes through the scheduler, global runq first.
TEST_P(SchedulerTest, YieldPingPongDoesNotStarveTimersOrGlobalQueue) {
  std::atomic<bool> slept{false};
  std::atomic<bool> foreign_ran{false};
  Options opts;
  opts.procs = procs();
  opts.detect_deadlock = false;  // A foreign thread calls Go().
  testing::RunFibersWith(opts, [&] {
    WaitGroup wg;
    wg.Add(procs() + 2);
    auto done = [&] { return slept.load() && foreign_ran.load(); };
    for (int i = 0; i < procs() + 1; i++) {  // More yielders than Ps: every P has a pair.
      Go([&] {
        while (!done()) Yield();
        wg.Done();
      });
    }
    Go([&] {
      SleepFor(2ms);
      slept.store(true);
      wg.Done();
    });
    std::thread t([&] { Go([&] { foreign_ran.store(true); }); });
    t.join();
    while (!done()) Yield();
    wg.Wait();
  });
  EXPECT_TRUE(slept.load());
  EXPECT_TRUE(foreign_ran.load());
}

// Go's main returning ends the program at once; Run() must not wait for a sleeping fiber's
// timer (it once waited for the next timer, ~10 s here) nor touch its freed stack.
TEST_P(SchedulerTest, MainReturningDoesNotWaitForSleepers) {
  const auto t0 = std::chrono::steady_clock::now();
  RunFibers(
      procs(),
      [&] {
        // Only stack-resident waits: a discarded fiber's destructors never run (README), so a
        // Timer here would leak its heap parts under LeakSanitizer.
        for (int i = 0; i < 5; i++) Go([i] { SleepFor(10s + i * 1s); });
        SleepFor(1ms);  // Let every sleeper park, some Ms go idle in netpoll.
      },
      /*expect_no_leaks=*/false);
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(took, 2s) << "Run() waited "
                      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                      << " ms after main returned";
  EXPECT_EQ(Stats().leaked_last_run, 5u);
}

TEST_P(SchedulerTest, GoFromForeignThread) {
  std::atomic<int> ran{0};
  // The foreign thread's first Go() switches deadlock detection off; until then main's
  // wg.Wait() may look like a deadlock, so start with detection off, as Options documents.
  Options opts;
  opts.procs = procs();
  opts.detect_deadlock = false;
  testing::RunFibersWith(opts, [&] {
    WaitGroup wg;
    wg.Add(10);
    std::thread t([&] {
      for (int i = 0; i < 10; i++) {
        Go([&] {
          ran.fetch_add(1);
          wg.Done();
        });
      }
    });
    wg.Wait();
    t.join();
  });
  EXPECT_EQ(ran.load(), 10);
}

TT_FIBER_INSTANTIATE_PROCS(SchedulerTest);

// With one P, a CPU-bound fiber keeps running while another sits in a blocking system call:
// sysmon must retake the P from the syscall and hand it to a new M.
TEST(SyscallTest, HandoffFreesTheOnlyP) {
  const uint64_t retakes_before = Stats().syscall_retakes;
  std::atomic<bool> in_syscall{false};
  std::atomic<bool> syscall_done{false};
  std::atomic<int64_t> progress_during_syscall{0};
  RunFibers(1, [&] {
    WaitGroup wg;
    wg.Add(2);
    Go([&] {
      Syscall([&] {
        in_syscall.store(true);
        // Block (in 1 ms naps) until the other fiber has provably run, or give up after 30 s:
        // the assertion below then fails instead of the test depending on sysmon's timing.
        for (int i = 0; i < 30000 && progress_during_syscall.load() == 0; i++) {
          struct timespec ts {0, 1000 * 1000};
          nanosleep(&ts, nullptr);
        }
        syscall_done.store(true);
      });
      wg.Done();
    });
    Go([&] {
      while (!in_syscall.load()) Yield();
      while (!syscall_done.load()) {
        progress_during_syscall.fetch_add(1, std::memory_order_relaxed);
        PreemptionPoint();
      }
      wg.Done();
    });
    wg.Wait();
  });
  EXPECT_GT(progress_during_syscall.load(), 0);
  EXPECT_GT(Stats().syscall_retakes, retakes_before);
}

TEST(SyscallTest, ShortSyscallsKeepTheirP) {
  int64_t sum = 0;
  RunFibers(2, [&] {
    for (int i = 0; i < 1000; i++) sum += Syscall([i] { return static_cast<int64_t>(i); });
    Syscall([] {});
  });
  EXPECT_EQ(sum, 999 * 1000 / 2);
}

// With one P, a fiber spinning on PreemptionPoint() is preempted by sysmon so that another
// fiber gets to run.
TEST(PreemptionTest, SecondFiberRunsWhileOneSpins) {
  const uint64_t before = Stats().preempt_requests;
  std::atomic<bool> spinner_started{false};
  std::atomic<bool> flag{false};
  RunFibers(1, [&] {
    WaitGroup wg;
    wg.Add(2);
    Go([&] {
      spinner_started.store(true);
      while (!flag.load()) PreemptionPoint();
      wg.Done();
    });
    while (!spinner_started.load()) Yield();
    // We only get here because the spinner was preempted.
    Go([&] {
      flag.store(true);
      wg.Done();
    });
    wg.Wait();
  });
  EXPECT_TRUE(flag.load());
  EXPECT_GE(Stats().preempt_requests, before + 1);
}

// A fiber gets its stack when it first runs, and a dead fiber's stack goes to the next new one:
// 5000 spawned-but-not-started fibers hold no stacks, and running them one after another reuses
// a handful.
TEST(StackCacheTest, QueuedFibersHoldNoStacks) {
  RunFibers(1, [&] {
    const uint64_t base = Stats().stacks_live;
    WaitGroup wg;
    std::atomic<int> ran{0};
    constexpr int kFibers = 5000;
    wg.Add(kFibers);
    for (int i = 0; i < kFibers; i++) {
      Go([&] {
        ran.fetch_add(1);
        wg.Done();
      });
    }
    // Eagerly allocated stacks would be one per fiber. Some fibers may hold one: when sysmon
    // preempts main meanwhile, queued fibers run, and one preempted in turn keeps its stack
    // while it waits at the global runq's tail (~150 of them in the slow TSan build).
    EXPECT_LE(Stats().stacks_live, base + kFibers / 10);
    wg.Wait();
    EXPECT_EQ(ran.load(), kFibers);
    EXPECT_LE(Stats().stacks_live, base + kFibers / 10);
  });
}

// /sched/latencies:seconds samples 1 in 8 runnable -> running transitions with the TSC once
// sysmon has calibrated it (internal/obs.h). A fiber readied while the only P spins for 2 ms
// must land in a >= 1 ms bucket, and nothing may land above 1 s (a bad tick conversion would).
TEST(LatencyMetricTest, TscSamplesAreRealTime) {
  auto read = [] {
    std::vector<metrics::Sample> s(1);
    s[0].name = "/sched/latencies:seconds";
    metrics::Read(s);
    return s[0].value.Histogram();
  };
  auto count_in = [](const metrics::Float64Histogram& h, double lo, double hi) {
    uint64_t n = 0;
    for (size_t i = 0; i < h.counts.size(); i++) {
      if (h.buckets[i] >= lo && h.buckets[i + 1] <= hi) n += h.counts[i];
    }
    return n;
  };
  constexpr double kInf = std::numeric_limits<double>::infinity();
  RunFibers(1, [&] {
    SleepFor(30ms);  // Lets sysmon calibrate the TSC (>= 5 ms of both clocks).
    const metrics::Float64Histogram before = read();
    Chan<int> ping;
    Chan<int> pong;
    WaitGroup wg;
    wg.Add(1);
    Go([&] {
      while (auto v = ping.Recv()) {
        if (*v < 0) {
          SleepFor(1us);  // One more runnable transition: shifts the sampling phase.
        } else {
          pong.Send(*v);
        }
      }
      wg.Done();
    });
    // Which of the echo's transitions the 1-in-8 sample hits depends on its phase, so repeat
    // rounds (each ~50 ms), shifting the phase by one between them, until one hit a 2 ms wait.
    int round = 0;
    for (; round < 20 && count_in(read(), 1e-3, 1e9) == count_in(before, 1e-3, 1e9); round++) {
      ping.Send(-1);
      for (int i = 0; i < 24; i++) {
        ping.Send(i);
        pong.Recv();  // Takes the value from the parked echo: the echo is runnable now...
        const auto until = std::chrono::steady_clock::now() + 2ms;
        while (std::chrono::steady_clock::now() < until) {
        }  // ...and waits 2 ms for the only P, until the next Send parks main.
      }
    }
    ping.Close();
    wg.Wait();
    const metrics::Float64Histogram after = read();
    EXPECT_LT(round, 20);
    EXPECT_GE(count_in(after, 1e-3, 1e9) - count_in(before, 1e-3, 1e9), 1u);
    EXPECT_EQ(count_in(after, 1.0, kInf) - count_in(before, 1.0, kInf), 0u);
  });
}

#if defined(TT_FIBER_FP_CONTROL)
// -DTRACETOOL_FIBER_FP_CONTROL=ON: a fiber's rounding mode survives switches and does not leak
// into the fiber it switches to.
TEST(FpControlTest, RoundingModeIsPerFiber) {
  RunFibers(1, [&] {
    WaitGroup wg;
    wg.Add(1);
    int other_mode = -1;
    Go([&] {
      other_mode = fegetround();
      wg.Done();
    });
    ASSERT_EQ(fesetround(FE_UPWARD), 0);
    Yield();
    wg.Wait();
    EXPECT_EQ(fegetround(), FE_UPWARD);
    EXPECT_EQ(other_mode, FE_TONEAREST);
    fesetround(FE_TONEAREST);
  });
}
#endif

TEST(DeadlockDeathTest, AllAsleepIsFatal) {
  GTEST_FLAG_SET(death_test_style, TT_FIBER_DEATH_STYLE);
  EXPECT_DEATH(
      {
        Options opts;
        opts.procs = 2;
        fiber::Run(opts, [] {
          Chan<int> c;
          Go([&] {
            Mutex mu;
            mu.Lock();
            mu.Lock();
          });
          c.Recv();
        });
      },
      "fatal error: all goroutines are asleep - deadlock!(.|\n)*goroutine 1 \\[chan "
      "receive\\]:(.|\n)*\\[sync.Mutex.Lock\\]");
}

TEST(MisuseDeathTest, SendOnClosedChannel) {
  GTEST_FLAG_SET(death_test_style, TT_FIBER_DEATH_STYLE);
  EXPECT_DEATH(
      {
        Options opts;
        opts.procs = 1;
        fiber::Run(opts, [] {
          Chan<int> c(1);
          c.Close();
          c.Send(1);
        });
      },
      "fatal error: send on closed channel");
}

TEST(MisuseDeathTest, BlockingOutsideFiber) {
  GTEST_FLAG_SET(death_test_style, TT_FIBER_DEATH_STYLE);
  EXPECT_DEATH(
      {
        Chan<int> c;
        c.Recv();
      },
      "blocking call outside a fiber");
}

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
__attribute__((noinline)) int Recurse(int n) {
  volatile char pad[1024];
  pad[0] = static_cast<char>(n);
  if (n == 0) return pad[0];
  return Recurse(n - 1) + pad[0];
}

TEST(GuardPageDeathTest, OverflowNamesTheFiber) {
  GTEST_FLAG_SET(death_test_style, TT_FIBER_DEATH_STYLE);
  EXPECT_DEATH(
      {
        Options opts;
        opts.procs = 1;
        opts.stack_size = 64 * 1024;
        fiber::Run(opts, [] { Recurse(1 << 20); });
      },
      "stack overflow in fiber 1");
}
#endif

}  // namespace
}  // namespace tracetool::fiber
