// lib/fiber micro-benchmarks, each with a Go twin in go/bench_test.go doing the same work
// (issue 3 "Speed"); bench/fiber/run.sh runs both and prints the ratios.
//
//   BM_Yield/procs:N          Yield() ping-pong between two fibers: ns per context switch.
//                             Informs the switch path (asm swap + runq + global queue).
//   BM_SpawnJoin/procs:N      Go() + WaitGroup join of one fiber: cost of G reuse and wake-up.
//   BM_ChanRoundTrip/procs:N  unbuffered send + reply: the park/ready fast path.
//   BM_ChanBuffered/procs:N   items/s through a 128-slot channel, one producer, one consumer.
//   BM_MutexContended/procs:N 4 fibers incrementing one counter under Mutex: lock hand-offs.
//   BM_Select/procs:N         2-case select where one case is always ready.
//   BM_Skynet/procs:N         10-ary tree of 10^6 fibers (10^5 in smoke mode) summing ids.
//   BM_TcpEcho/procs:N        64-byte request/response over 127.0.0.1: round trips/s.
//   BM_MetricsRead/busy:B     metrics::Read() of every metric (samples reused), while B fibers
//                             keep 2 Ps busy: the cost of one production poll (issue 5 asks
//                             that polling every second be cheap). No Go twin: Go's
//                             metrics.Read is measured in runtime/metrics' own benchmarks.
//
// Every benchmark runs inside one fiber::Run() per measurement, so runtime start-up is outside
// the timed loop. TRACETOOL_BENCH_SMOKE=1 runs each once (CI proves they still work).
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <vector>

#include "lib/fiber/chan.h"
#include "lib/fiber/fiber.h"
#include "lib/fiber/metrics.h"
#include "lib/fiber/net.h"
#include "lib/fiber/sync.h"

namespace {

namespace fiber = tracetool::fiber;

bool Smoke() { return std::getenv("TRACETOOL_BENCH_SMOKE") != nullptr; }

void RunIn(benchmark::State& state, const std::function<void()>& body,
           size_t stack = 64 * 1024, bool guard = true) {
  fiber::Options opts;
  opts.procs = static_cast<int>(state.range(0));
  opts.stack_size = stack;
  opts.guard_pages = guard;
  fiber::Run(opts, body);
}

void BM_Yield(benchmark::State& state) {
  RunIn(state, [&] {
    std::atomic<bool> stop{false};
    fiber::WaitGroup wg;
    wg.Add(1);
    fiber::Go([&] {
      while (!stop.load(std::memory_order_relaxed)) fiber::Yield();
      wg.Done();
    });
    for (auto _ : state) fiber::Yield();
    stop.store(true);
    wg.Wait();
  });
}

void BM_SpawnJoin(benchmark::State& state) {
  RunIn(state, [&] {
    for (auto _ : state) {
      fiber::WaitGroup wg;
      wg.Add(1);
      fiber::Go([&] { wg.Done(); });
      wg.Wait();
    }
  });
}

void BM_ChanRoundTrip(benchmark::State& state) {
  RunIn(state, [&] {
    fiber::Chan<int> ping;
    fiber::Chan<int> pong;
    fiber::WaitGroup wg;
    wg.Add(1);
    fiber::Go([&] {
      while (auto v = ping.Recv()) pong.Send(*v);
      wg.Done();
    });
    int i = 0;
    for (auto _ : state) {
      ping.Send(i++);
      benchmark::DoNotOptimize(pong.Recv());
    }
    ping.Close();
    wg.Wait();
  });
}

void BM_ChanBuffered(benchmark::State& state) {
  RunIn(state, [&] {
    fiber::Chan<int> c(128);
    fiber::WaitGroup wg;
    wg.Add(1);
    int64_t sum = 0;
    fiber::Go([&] {
      while (auto v = c.Recv()) sum += *v;
      wg.Done();
    });
    int i = 0;
    for (auto _ : state) c.Send(i++);
    c.Close();
    wg.Wait();
    benchmark::DoNotOptimize(sum);
  });
  state.SetItemsProcessed(state.iterations());
}

void BM_MutexContended(benchmark::State& state) {
  RunIn(state, [&] {
    fiber::Mutex mu;
    int64_t counter = 0;
    std::atomic<bool> stop{false};
    fiber::WaitGroup wg;
    constexpr int kOthers = 3;
    wg.Add(kOthers);
    for (int i = 0; i < kOthers; i++) {
      fiber::Go([&] {
        while (!stop.load(std::memory_order_relaxed)) {
          mu.Lock();
          counter++;
          mu.Unlock();
        }
        wg.Done();
      });
    }
    for (auto _ : state) {
      mu.Lock();
      counter++;
      mu.Unlock();
    }
    stop.store(true);
    wg.Wait();
    benchmark::DoNotOptimize(counter);
  });
}

void BM_Select(benchmark::State& state) {
  RunIn(state, [&] {
    fiber::Chan<int> ready(1);
    fiber::Chan<int> never;
    for (auto _ : state) {
      int v = 1;
      ready.TrySend(v);
      std::optional<int> a;
      std::optional<int> b;
      benchmark::DoNotOptimize(
          fiber::Select({fiber::RecvCase(&ready, &a), fiber::RecvCase(&never, &b)}));
    }
  });
}

int64_t Skynet(int64_t num, int64_t size) {
  if (size == 1) return num;
  fiber::Chan<int64_t> c(10);
  const int64_t child = size / 10;
  for (int64_t i = 0; i < 10; i++) {
    fiber::Go([&c, num, child, i] { c.Send(Skynet(num + i * child, child)); });
  }
  int64_t sum = 0;
  for (int i = 0; i < 10; i++) sum += *c.Recv();
  return sum;
}

void BM_Skynet(benchmark::State& state) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  const int64_t n = Smoke() ? 1000 : 1000000;  // Sanitized fibers are ~50x dearer to create.
#else
  const int64_t n = Smoke() ? 100000 : 1000000;
#endif
  RunIn(
      state,
      [&] {
        for (auto _ : state) {
          const int64_t sum = Skynet(0, n);
          if (sum != n * (n - 1) / 2) state.SkipWithError("skynet: wrong sum");
        }
      },
      32 * 1024, /*guard=*/false);
  state.SetItemsProcessed(state.iterations() * n);
}

void BM_TcpEcho(benchmark::State& state) {
  RunIn(state, [&] {
    fiber::Listener ln;
    if (fiber::Listener::Listen("127.0.0.1", 0, &ln) != 0) {
      state.SkipWithError("listen failed");
      return;
    }
    fiber::WaitGroup wg;
    wg.Add(1);
    fiber::Go([&] {
      fiber::Conn c;
      if (ln.Accept(&c) == 0) {
        char buf[64];
        while (c.ReadFull(buf, sizeof(buf)) == sizeof(buf)) {
          if (c.Write(buf, sizeof(buf)) != sizeof(buf)) break;
        }
      }
      wg.Done();
    });
    fiber::Conn c;
    if (fiber::Conn::Dial("127.0.0.1", ln.port(), &c) != 0) {
      state.SkipWithError("dial failed");
      ln.Close();
      wg.Wait();
      return;
    }
    char msg[64] = {};
    for (auto _ : state) {
      c.Write(msg, sizeof(msg));
      c.ReadFull(msg, sizeof(msg));
    }
    c.Close();
    wg.Wait();
  });
  state.SetItemsProcessed(state.iterations());
}

void Procs(benchmark::internal::Benchmark* b) {
  b->ArgName("procs")->Arg(1)->Arg(2)->UseRealTime();
  if (Smoke()) b->Iterations(1);
}

BENCHMARK(BM_Yield)->Apply(Procs);
BENCHMARK(BM_SpawnJoin)->Apply(Procs);
BENCHMARK(BM_ChanRoundTrip)->Apply(Procs);
BENCHMARK(BM_ChanBuffered)->Apply(Procs);
BENCHMARK(BM_MutexContended)->Apply(Procs);
BENCHMARK(BM_Select)->Apply(Procs);
BENCHMARK(BM_Skynet)->Apply(Procs)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TcpEcho)->Apply(Procs);

void BM_MetricsRead(benchmark::State& state) {
  std::vector<fiber::metrics::Sample> samples;
  for (const auto& d : fiber::metrics::All()) samples.push_back({d.name, {}});
  const int busy = static_cast<int>(state.range(0));
  fiber::Options opts;
  opts.procs = 2;
  fiber::Run(opts, [&] {
    std::atomic<bool> stop{false};
    fiber::WaitGroup wg;
    for (int i = 0; i < busy; i++) {
      wg.Add(1);
      fiber::Go([&] {
        while (!stop.load(std::memory_order_relaxed)) fiber::Yield();
        wg.Done();
      });
    }
    for (auto _ : state) {
      fiber::metrics::Read(samples);
      benchmark::DoNotOptimize(samples.data());
    }
    stop.store(true);
    wg.Wait();
  });
  state.counters["metrics"] = static_cast<double>(samples.size());
}
BENCHMARK(BM_MetricsRead)->ArgName("busy")->Arg(0)->Arg(4)->UseRealTime()->Iterations(
    Smoke() ? 1 : 20000);

}  // namespace

int main(int argc, char** argv) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  std::fprintf(stderr, "***\n*** WARNING: fiber_bench built with sanitizers; numbers are "
                       "meaningless\n***\n");
#endif
#if !defined(NDEBUG) || !defined(__OPTIMIZE__)
  std::fprintf(stderr, "***\n*** WARNING: fiber_bench built without optimisation or with "
                       "assertions; numbers are meaningless\n***\n");
#endif
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
