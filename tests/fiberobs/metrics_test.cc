// metrics.h against known workloads: names and kinds, Bad for unknown names, gauges that track
// the program (N fibers blocked -> goroutines), histograms and totals that move after
// contention, and the CPU classes adding up.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "lib/fiber/chan.h"
#include "lib/fiber/fiber.h"
#include "lib/fiber/gc.h"
#include "lib/fiber/metrics.h"
#include "lib/fiber/sync.h"
#include "tests/fiber/fiber_test_util.h"

namespace tracetool::fiber {
namespace {

using metrics::Sample;
using metrics::ValueKind;
using testing::RunFibers;

Sample Read1(const std::string& name) {
  std::vector<Sample> s(1);
  s[0].name = name;
  metrics::Read(s);
  return s[0];
}

uint64_t HistTotal(const Sample& s) {
  uint64_t n = 0;
  for (uint64_t c : s.value.Histogram().counts) n += c;
  return n;
}

TEST(Metrics, AllHasTheIssueMetricsWithTheirKinds) {
  const std::vector<std::pair<std::string, ValueKind>> want = {
      {"/sched/goroutines:goroutines", ValueKind::kUint64},
      {"/sched/gomaxprocs:threads", ValueKind::kUint64},
      {"/sched/latencies:seconds", ValueKind::kFloat64Histogram},
      {"/sched/pauses-total/gc:seconds", ValueKind::kFloat64},
      {"/cpu/classes/gc/mark/assist:cpu-seconds", ValueKind::kFloat64},
      {"/cpu/classes/gc/total:cpu-seconds", ValueKind::kFloat64},
      {"/cpu/classes/idle:cpu-seconds", ValueKind::kFloat64},
      {"/cpu/classes/user:cpu-seconds", ValueKind::kFloat64},
      {"/cpu/classes/scavenge/total:cpu-seconds", ValueKind::kFloat64},
      {"/sync/mutex/wait/total:seconds", ValueKind::kFloat64},
  };
  const auto& all = metrics::All();
  for (const auto& [name, kind] : want) {
    auto it = std::find_if(all.begin(), all.end(), [&](const auto& d) { return d.name == name; });
    ASSERT_NE(it, all.end()) << name;
    EXPECT_EQ(it->kind, kind) << name;
    EXPECT_FALSE(it->description.empty()) << name;
  }
  std::set<std::string> names;
  for (const auto& d : all) {
    EXPECT_TRUE(names.insert(d.name).second) << "duplicate " << d.name;
    // /category/sub:unit
    EXPECT_EQ(d.name[0], '/') << d.name;
    EXPECT_NE(d.name.find(':'), std::string::npos) << d.name;
    EXPECT_NE(d.kind, ValueKind::kBad) << d.name;
  }
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end(),
                             [](const auto& a, const auto& b) { return a.name < b.name; }));
}

TEST(Metrics, UnknownNameIsBad) {
  EXPECT_EQ(Read1("/no/such:metric").value.kind(), ValueKind::kBad);
  EXPECT_EQ(Read1("").value.kind(), ValueKind::kBad);
  EXPECT_EQ(Read1("/sched/goroutines:goroutine").value.kind(), ValueKind::kBad);
}

TEST(Metrics, EveryMetricReadsWithItsKind) {
  std::vector<Sample> s;
  for (const auto& d : metrics::All()) s.push_back({d.name, {}});
  metrics::Read(s);
  for (size_t i = 0; i < s.size(); i++) {
    EXPECT_EQ(s[i].value.kind(), metrics::All()[i].kind) << s[i].name;
    if (s[i].value.kind() == ValueKind::kFloat64Histogram) {
      const auto& h = s[i].value.Histogram();
      EXPECT_EQ(h.buckets.size(), h.counts.size() + 1) << s[i].name;
      EXPECT_TRUE(std::is_sorted(h.buckets.begin(), h.buckets.end())) << s[i].name;
    }
  }
}

TEST(Metrics, GoroutinesCountsBlockedFibersAndGomaxprocsTheProcs) {
  constexpr int kBlocked = 25;
  RunFibers(3, [] {
    Chan<int> never;
    WaitGroup started;
    started.Add(kBlocked);
    for (int i = 0; i < kBlocked; i++) {
      Go([&] {
        started.Done();
        never.Recv();
      });
    }
    started.Wait();
    // Done() comes just before the Recv; wait until every one has parked.
    while (DumpFibers().find("[chan receive]") == std::string::npos) Yield();
    EXPECT_EQ(Read1("/sched/goroutines:goroutines").value.Uint64(), kBlocked + 1u);
    EXPECT_EQ(Read1("/sched/gomaxprocs:threads").value.Uint64(), 3u);
    SetProcs(2);
    EXPECT_EQ(Read1("/sched/gomaxprocs:threads").value.Uint64(), 2u);
    never.Close();
  });
}

TEST(Metrics, LatencyHistogramAndMutexWaitMoveUnderContention) {
  const uint64_t lat0 = HistTotal(Read1("/sched/latencies:seconds"));
  const double wait0 = Read1("/sync/mutex/wait/total:seconds").value.Float64();
  RunFibers(2, [] {
    Mutex mu;
    WaitGroup wg;
    for (int i = 0; i < 4; i++) {
      wg.Add(1);
      Go([&] {
        for (int j = 0; j < 200; j++) {
          mu.Lock();
          SleepFor(std::chrono::microseconds(20));  // Hold it long enough to make others park.
          mu.Unlock();
        }
        wg.Done();
      });
    }
    wg.Wait();
  });
  EXPECT_GT(HistTotal(Read1("/sched/latencies:seconds")), lat0);
  EXPECT_GT(Read1("/sync/mutex/wait/total:seconds").value.Float64(), wait0);
}

TEST(Metrics, CpuClassesAddUp) {
  const auto cpu = [] {
    std::vector<Sample> s(5);
    s[0].name = "/cpu/classes/total:cpu-seconds";
    s[1].name = "/cpu/classes/user:cpu-seconds";
    s[2].name = "/cpu/classes/idle:cpu-seconds";
    s[3].name = "/cpu/classes/gc/total:cpu-seconds";
    s[4].name = "/cpu/classes/scavenge/total:cpu-seconds";
    metrics::Read(s);
    std::vector<double> v;
    for (auto& x : s) v.push_back(x.value.Float64());
    return v;
  };
  const std::vector<double> a = cpu();
  const auto t0 = std::chrono::steady_clock::now();
  double inner = 0;  // Wall time inside Run(): a lower bound of the span the Ps exist.
  RunFibers(2, [&inner] {
    const auto i0 = std::chrono::steady_clock::now();
    // One fiber sleeps (its P idles), one spins: about half the capacity is idle.
    WaitGroup wg;
    wg.Add(1);
    Go([&] {
      const auto stop = Clock::now() + std::chrono::milliseconds(200);
      while (Clock::now() < stop) PreemptionPoint();
      wg.Done();
    });
    SleepFor(std::chrono::milliseconds(200));
    wg.Wait();
    inner = std::chrono::duration<double>(std::chrono::steady_clock::now() - i0).count();
  });
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::vector<double> b = cpu();
  const double total = b[0] - a[0];
  const double user = b[1] - a[1];
  const double idle = b[2] - a[2];
  // 2 Ps for the duration of Run(): at least the time inside it, at most the time around it
  // (thread start and stop take a while on a loaded machine or under TSan, so no tighter bound).
  EXPECT_GE(total, 2 * inner * 0.95);
  EXPECT_LE(total, 2 * wall * 1.05);
  EXPECT_NEAR(user + idle + (b[3] - a[3]) + (b[4] - a[4]), total, 1e-6);
  EXPECT_GT(idle, 0.2 * total);
  EXPECT_GT(user, 0.2 * total);
}

class Fixed : public Collector {
 public:
  void StartCycle() override {}
  bool MarkSome(size_t) override {
    // Some marking work, so the background mark time is measurable.
    volatile uint64_t x = 0;
    for (int i = 0; i < 20000; i++) x = x + static_cast<uint64_t>(i);
    return ++slices % 8 == 0;
  }
  size_t FinishMark() override { return 1 << 20; }
  size_t Sweep() override { return 0; }
  std::atomic<int> slices{0};
};

TEST(Metrics, GcPausesAndCpuAfterCycles) {
  const double pause0 = Read1("/sched/pauses-total/gc:seconds").value.Float64();
  const double gc0 = Read1("/cpu/classes/gc/total:cpu-seconds").value.Float64();
  const uint64_t cycles0 = Read1("/gc/cycles/total:gc-cycles").value.Uint64();
  const uint64_t pauses0 = HistTotal(Read1("/gc/pauses:seconds"));
  Fixed heap;
  RunFibers(2, [&] {
    SetCollector(&heap);
    for (int i = 0; i < 3; i++) GC();
    SetCollector(nullptr);
  });
  EXPECT_GT(Read1("/sched/pauses-total/gc:seconds").value.Float64(), pause0);
  EXPECT_GT(Read1("/cpu/classes/gc/total:cpu-seconds").value.Float64(), gc0);
  EXPECT_EQ(Read1("/gc/cycles/total:gc-cycles").value.Uint64(), cycles0 + 3);
  EXPECT_EQ(HistTotal(Read1("/gc/pauses:seconds")), pauses0 + 6);  // Two pauses per cycle.
}

TEST(Metrics, AssistTimeWhenAllocatingDuringMark) {
  const double assist0 = Read1("/cpu/classes/gc/mark/assist:cpu-seconds").value.Float64();
  Fixed heap;
  RunFibers(2, [&] {
    GcOptions o;
    o.min_heap = 1 << 16;
    SetCollector(&heap, o);
    std::atomic<bool> stop{false};
    WaitGroup wg;
    wg.Add(1);
    Go([&] {
      while (!stop.load()) {
        NoteAlloc(4096);  // Triggers cycles and, during marking, assists.
        Yield();
      }
      wg.Done();
    });
    while (ReadHeapStats().assists == 0) SleepFor(std::chrono::milliseconds(1));
    stop = true;
    wg.Wait();
    GC();
    SetCollector(nullptr);
  });
  EXPECT_GT(Read1("/cpu/classes/gc/mark/assist:cpu-seconds").value.Float64(), assist0);
}

TEST(Metrics, ReadOutsideRunGivesZeroGauges) {
  EXPECT_EQ(Read1("/sched/gomaxprocs:threads").value.Uint64(), 0u);
  EXPECT_EQ(Read1("/sched/goroutines:goroutines").value.Uint64(), 0u);
}

}  // namespace
}  // namespace tracetool::fiber
