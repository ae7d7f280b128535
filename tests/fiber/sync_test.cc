// Mutex, RWMutex, Cond, WaitGroup and Once tests.
#include <atomic>
#include <vector>

#include "lib/fiber/chan.h"
#include "lib/fiber/fiber.h"
#include "lib/fiber/sync.h"
#include "tests/fiber/fiber_test_util.h"

namespace tracetool::fiber {
namespace {

using testing::ProcsTest;
using testing::RunFibers;

class SyncTest : public ProcsTest {};

TEST_P(SyncTest, MutexProtectsCounter) {
  int64_t counter = 0;  // Plain int: TSan checks the mutex really orders the accesses.
  RunFibers(procs(), [&] {
    Mutex mu;
    WaitGroup wg;
    constexpr int kFibers = 32;
    constexpr int kIters = 500;
    wg.Add(kFibers);
    for (int i = 0; i < kFibers; i++) {
      Go([&] {
        for (int j = 0; j < kIters; j++) {
          mu.Lock();
          counter++;
          if (j % 50 == 0) Yield();  // Hold the lock across a reschedule now and then.
          mu.Unlock();
        }
        wg.Done();
      });
    }
    wg.Wait();
    EXPECT_FALSE(!mu.TryLock());
    mu.Unlock();
  });
  EXPECT_EQ(counter, 32 * 500);
}

TEST_P(SyncTest, RWMutexReadersShareWritersExclude) {
  int64_t value = 0;
  std::atomic<int> readers_inside{0};
  std::atomic<int> max_readers{0};
  std::atomic<bool> writer_saw_reader{false};
  RunFibers(procs(), [&] {
    RWMutex mu;
    WaitGroup wg;
    constexpr int kReaders = 16;
    constexpr int kWriters = 4;
    wg.Add(kReaders + kWriters);
    for (int i = 0; i < kReaders; i++) {
      Go([&] {
        for (int j = 0; j < 200; j++) {
          mu.RLock();
          const int n = readers_inside.fetch_add(1) + 1;
          int m = max_readers.load();
          while (n > m && !max_readers.compare_exchange_weak(m, n)) {
          }
          volatile int64_t v = value;
          (void)v;
          Yield();
          readers_inside.fetch_sub(1);
          mu.RUnlock();
        }
        wg.Done();
      });
    }
    for (int i = 0; i < kWriters; i++) {
      Go([&] {
        for (int j = 0; j < 100; j++) {
          mu.Lock();
          if (readers_inside.load() != 0) writer_saw_reader.store(true);
          value++;
          mu.Unlock();
          Yield();
        }
        wg.Done();
      });
    }
    wg.Wait();
  });
  EXPECT_EQ(value, 400);
  EXPECT_FALSE(writer_saw_reader.load());
  EXPECT_GE(max_readers.load(), 1);
}

TEST_P(SyncTest, CondProducerConsumer) {
  RunFibers(procs(), [&] {
    Mutex mu;
    Cond not_empty(&mu);
    Cond not_full(&mu);
    std::vector<int> queue;  // Guarded by mu.
    constexpr size_t kCap = 4;
    constexpr int kItems = 3000;
    int64_t sum = 0;
    WaitGroup wg;
    wg.Add(2);
    Go([&] {
      for (int i = 0; i < kItems; i++) {
        mu.Lock();
        while (queue.size() == kCap) not_full.Wait();
        queue.push_back(i);
        not_empty.Signal();
        mu.Unlock();
      }
      wg.Done();
    });
    Go([&] {
      for (int i = 0; i < kItems; i++) {
        mu.Lock();
        while (queue.empty()) not_empty.Wait();
        sum += queue.front();
        queue.erase(queue.begin());
        not_full.Signal();
        mu.Unlock();
      }
      wg.Done();
    });
    wg.Wait();
    EXPECT_EQ(sum, int64_t{kItems} * (kItems - 1) / 2);
  });
}

TEST_P(SyncTest, CondBroadcastWakesEveryone) {
  RunFibers(procs(), [&] {
    Mutex mu;
    Cond cv(&mu);
    bool go = false;
    int woke = 0;
    WaitGroup wg;
    constexpr int kWaiters = 20;
    wg.Add(kWaiters);
    for (int i = 0; i < kWaiters; i++) {
      Go([&] {
        mu.Lock();
        while (!go) cv.Wait();
        woke++;
        mu.Unlock();
        wg.Done();
      });
    }
    for (int i = 0; i < 10; i++) Yield();
    mu.Lock();
    go = true;
    cv.Broadcast();
    mu.Unlock();
    wg.Wait();
    EXPECT_EQ(woke, kWaiters);
  });
}

TEST_P(SyncTest, WaitGroupManyWaiters) {
  RunFibers(procs(), [&] {
    WaitGroup work;
    WaitGroup waiters;
    std::atomic<int> done{0};
    std::atomic<int> released{0};
    work.Add(10);
    waiters.Add(5);
    for (int i = 0; i < 5; i++) {
      Go([&] {
        work.Wait();
        EXPECT_EQ(done.load(), 10);
        released.fetch_add(1);
        waiters.Done();
      });
    }
    for (int i = 0; i < 10; i++) {
      Go([&] {
        Yield();
        done.fetch_add(1);
        work.Done();
      });
    }
    waiters.Wait();
    EXPECT_EQ(released.load(), 5);
    work.Wait();  // Counter is zero: returns at once.
  });
}

TEST_P(SyncTest, OnceRunsExactlyOnce) {
  RunFibers(procs(), [&] {
    Once once;
    int runs = 0;
    WaitGroup wg;
    wg.Add(20);
    for (int i = 0; i < 20; i++) {
      Go([&] {
        once.Do([&] {
          Yield();  // Make the others wait inside Do.
          runs++;
        });
        EXPECT_EQ(runs, 1);
        wg.Done();
      });
    }
    wg.Wait();
    EXPECT_EQ(runs, 1);
  });
}

TT_FIBER_INSTANTIATE_PROCS(SyncTest);

TEST(SyncDeathTest, UnlockOfUnlockedMutex) {
  GTEST_FLAG_SET(death_test_style, TT_FIBER_DEATH_STYLE);
  EXPECT_DEATH(
      {
        Options opts;
        opts.procs = 1;
        fiber::Run(opts, [] {
          Mutex mu;
          mu.Unlock();
        });
      },
      "fatal error: sync: unlock of unlocked mutex");
}

}  // namespace
}  // namespace tracetool::fiber
