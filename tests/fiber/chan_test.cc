// Channel and select tests: rendezvous, buffering, close semantics, no lost wake-ups under
// stress, select fairness/default/blocking, nil channels and move-only elements.
#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <vector>

#include "lib/fiber/chan.h"
#include "lib/fiber/fiber.h"
#include "lib/fiber/sync.h"
#include "tests/fiber/fiber_test_util.h"

namespace tracetool::fiber {
namespace {

using testing::ProcsTest;
using testing::RunFibers;

class ChanTest : public ProcsTest {};

TEST_P(ChanTest, UnbufferedRendezvous) {
  RunFibers(procs(), [&] {
    Chan<int> c;
    std::atomic<bool> received{false};
    WaitGroup wg;
    wg.Add(1);
    Go([&] {
      EXPECT_EQ(c.Recv(), 42);
      received.store(true);
      c.Send(0);  // Tell the sender we are done.
      wg.Done();
    });
    c.Send(42);
    EXPECT_EQ(c.Recv(), 0);
    EXPECT_TRUE(received.load());
    wg.Wait();
    EXPECT_EQ(c.Cap(), 0u);
  });
}

TEST_P(ChanTest, BufferedKeepsFifoOrder) {
  RunFibers(procs(), [&] {
    Chan<int> c(8);
    for (int i = 0; i < 8; i++) c.Send(i);
    EXPECT_EQ(c.Len(), 8u);
    int v = 99;
    EXPECT_FALSE(c.TrySend(v));  // Full.
    for (int i = 0; i < 8; i++) EXPECT_EQ(c.Recv(), i);
    std::optional<int> out;
    EXPECT_FALSE(c.TryRecv(&out));  // Empty.
  });
}

TEST_P(ChanTest, CloseDrainsThenReportsNotOk) {
  RunFibers(procs(), [&] {
    Chan<int> c(3);
    c.Send(1);
    c.Send(2);
    c.Close();
    EXPECT_EQ(c.Recv(), 1);
    EXPECT_EQ(c.Recv(), 2);
    EXPECT_EQ(c.Recv(), std::nullopt);
    EXPECT_EQ(c.Recv(), std::nullopt);
    std::optional<int> out = 5;
    EXPECT_TRUE(c.TryRecv(&out));
    EXPECT_EQ(out, std::nullopt);
  });
}

TEST_P(ChanTest, CloseWakesAllBlockedReceivers) {
  RunFibers(procs(), [&] {
    Chan<int> c;
    constexpr int kReceivers = 50;
    std::atomic<int> not_ok{0};
    WaitGroup wg;
    wg.Add(kReceivers);
    for (int i = 0; i < kReceivers; i++) {
      Go([&] {
        if (!c.Recv().has_value()) not_ok.fetch_add(1);
        wg.Done();
      });
    }
    for (int i = 0; i < 10; i++) Yield();
    c.Close();
    wg.Wait();
    EXPECT_EQ(not_ok.load(), kReceivers);
  });
}

// Many producers and consumers over a small buffer: every value arrives exactly once.
// A lost wake-up would hang here (and trip the watchdog).
TEST_P(ChanTest, NoLostWakeupsUnderStress) {
  for (size_t cap : {0u, 1u, 16u}) {
    RunFibers(procs(), [&] {
      constexpr int kProducers = 8;
      constexpr int kConsumers = 8;
      constexpr int kPerProducer = 2000;
      Chan<int> c(cap);
      std::atomic<int64_t> sum{0};
      std::atomic<int> count{0};
      WaitGroup producers;
      WaitGroup consumers;
      producers.Add(kProducers);
      consumers.Add(kConsumers);
      for (int p = 0; p < kProducers; p++) {
        Go([&, p] {
          for (int i = 0; i < kPerProducer; i++) c.Send(p * kPerProducer + i);
          producers.Done();
        });
      }
      for (int k = 0; k < kConsumers; k++) {
        Go([&] {
          while (std::optional<int> v = c.Recv()) {
            sum.fetch_add(*v, std::memory_order_relaxed);
            count.fetch_add(1, std::memory_order_relaxed);
          }
          consumers.Done();
        });
      }
      producers.Wait();
      c.Close();
      consumers.Wait();
      constexpr int64_t n = kProducers * kPerProducer;
      EXPECT_EQ(count.load(), n) << "cap " << cap;
      EXPECT_EQ(sum.load(), n * (n - 1) / 2) << "cap " << cap;
    });
  }
}

TEST_P(ChanTest, MoveOnlyElements) {
  RunFibers(procs(), [&] {
    Chan<std::unique_ptr<int>> c(2);
    Go([&] {
      c.Send(std::make_unique<int>(1));
      c.Send(std::make_unique<int>(2));
      c.Send(std::make_unique<int>(3));
      c.Close();
    });
    int sum = 0;
    while (auto v = c.Recv()) sum += **v;
    EXPECT_EQ(sum, 6);
  });
}

TEST_P(ChanTest, BufferedValuesAreDestroyedWithTheChannel) {
  auto tracked = std::make_shared<int>(0);
  RunFibers(procs(), [&] {
    Chan<std::shared_ptr<int>> c(4);
    c.Send(tracked);
    c.Send(tracked);
    EXPECT_EQ(tracked.use_count(), 3);
  });
  EXPECT_EQ(tracked.use_count(), 1);
}

class SelectTest : public ProcsTest {};

TEST_P(SelectTest, DefaultWhenNothingReady) {
  RunFibers(procs(), [&] {
    Chan<int> a;
    Chan<int> b(1);
    std::optional<int> va;
    int vb = 3;
    EXPECT_EQ(TrySelect({RecvCase(&a, &va)}), -1);
    EXPECT_EQ(TrySelect({RecvCase(&a, &va), SendCase(&b, &vb)}), 1);
    EXPECT_EQ(TrySelect({SendCase(&b, &vb)}), -1);  // b is full now.
    EXPECT_EQ(b.Recv(), 3);
  });
}

// Both cases always ready: Go picks uniformly at random. 2000 trials, expect each side within
// a very generous band (the chance of falling outside [700, 1300] is below 1e-40).
TEST_P(SelectTest, FairAmongReadyCases) {
  RunFibers(procs(), [&] {
    Chan<int> a(1);
    Chan<int> b(1);
    int counts[2] = {0, 0};
    for (int i = 0; i < 2000; i++) {
      int x = 1;
      int y = 2;
      a.TrySend(x);
      b.TrySend(y);
      std::optional<int> va;
      std::optional<int> vb;
      const int chosen = Select({RecvCase(&a, &va), RecvCase(&b, &vb)});
      ASSERT_TRUE(chosen == 0 || chosen == 1);
      counts[chosen]++;
      // Drain the other so both are ready again next round.
      std::optional<int> drain;
      (chosen == 0 ? b : a).TryRecv(&drain);
    }
    EXPECT_GT(counts[0], 700);
    EXPECT_GT(counts[1], 700);
  });
}

TEST_P(SelectTest, BlocksOnAllCasesUntilOneFires) {
  RunFibers(procs(), [&] {
    constexpr int kRounds = 300;
    Chan<int> a;
    Chan<int> b;
    Chan<int> out;
    WaitGroup wg;
    wg.Add(1);
    Go([&] {
      int got_a = 0;
      int got_b = 0;
      for (int i = 0; i < kRounds; i++) {
        std::optional<int> va;
        std::optional<int> vb;
        const int k = Select({RecvCase(&a, &va), RecvCase(&b, &vb)});
        if (k == 0) {
          EXPECT_EQ(va, i);
          got_a++;
        } else {
          EXPECT_EQ(vb, i);
          got_b++;
        }
      }
      EXPECT_EQ(got_a + got_b, kRounds);
      wg.Done();
    });
    for (int i = 0; i < kRounds; i++) (i % 3 == 0 ? a : b).Send(i);
    wg.Wait();
  });
}

// Two selecting fibers race senders on overlapping channels: every value is received once.
TEST_P(SelectTest, ConcurrentSelectsNoLostOrDuplicateValues) {
  RunFibers(procs(), [&] {
    constexpr int kPerSender = 3000;
    Chan<int> a;
    Chan<int> b(4);
    Chan<int> quit;
    std::atomic<int64_t> sum{0};
    std::atomic<int> count{0};
    WaitGroup receivers;
    WaitGroup senders;
    receivers.Add(3);
    senders.Add(2);
    for (int r = 0; r < 3; r++) {
      Go([&] {
        for (;;) {
          std::optional<int> va;
          std::optional<int> vb;
          std::optional<int> vq;
          const int k = Select({RecvCase(&a, &va), RecvCase(&b, &vb), RecvCase(&quit, &vq)});
          if (k == 2) break;
          sum.fetch_add(k == 0 ? *va : *vb);
          count.fetch_add(1);
        }
        receivers.Done();
      });
    }
    Go([&] {
      for (int i = 0; i < kPerSender; i++) a.Send(i);
      senders.Done();
    });
    Go([&] {
      for (int i = 0; i < kPerSender; i++) {
        int v = kPerSender + i;
        // A select that sends, to exercise send cases too.
        EXPECT_EQ(Select({SendCase(&b, &v)}), 0);
      }
      senders.Done();
    });
    senders.Wait();
    quit.Close();
    receivers.Wait();
    // Receivers may pick quit while b still buffers values (as in Go): drain them.
    std::optional<int> rest;
    while (b.TryRecv(&rest) && rest.has_value()) {
      sum.fetch_add(*rest);
      count.fetch_add(1);
    }
    constexpr int64_t n = 2 * kPerSender;
    EXPECT_EQ(count.load(), n);
    EXPECT_EQ(sum.load(), n * (n - 1) / 2);
  });
}

TEST_P(SelectTest, CloseWakesSelectReceiverWithNotOk) {
  RunFibers(procs(), [&] {
    Chan<int> a;
    Chan<int> b;
    WaitGroup wg;
    wg.Add(1);
    Go([&] {
      std::optional<int> va = 1;
      std::optional<int> vb = 1;
      EXPECT_EQ(Select({RecvCase(&a, &va), RecvCase(&b, &vb)}), 1);
      EXPECT_FALSE(vb.has_value());
      wg.Done();
    });
    for (int i = 0; i < 5; i++) Yield();
    b.Close();
    wg.Wait();
  });
}

TEST_P(SelectTest, NilChannelsAreNeverReady) {
  RunFibers(procs(), [&] {
    Chan<int>* nil = nullptr;
    Chan<int> c(1);
    std::optional<int> v;
    int x = 5;
    EXPECT_EQ(TrySelect({RecvCase(nil, &v)}), -1);
    EXPECT_EQ(Select({SendCase(nil, &x), SendCase(&c, &x)}), 1);
    EXPECT_EQ(Select({RecvCase(nil, &v), RecvCase(&c, &v)}), 1);
    EXPECT_EQ(v, 5);
  });
}

TEST_P(SelectTest, SameChannelTwice) {
  RunFibers(procs(), [&] {
    Chan<int> c;
    WaitGroup wg;
    wg.Add(1);
    Go([&] {
      std::optional<int> v1;
      std::optional<int> v2;
      const int k = Select({RecvCase(&c, &v1), RecvCase(&c, &v2)});
      EXPECT_EQ(k == 0 ? v1 : v2, 9);
      wg.Done();
    });
    c.Send(9);
    wg.Wait();
  });
}

TT_FIBER_INSTANTIATE_PROCS(ChanTest);
TT_FIBER_INSTANTIATE_PROCS(SelectTest);

}  // namespace
}  // namespace tracetool::fiber
