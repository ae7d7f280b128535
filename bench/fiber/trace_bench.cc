// Costs of lib/fiber's tracer (issue 4 "Costs"), tracing off and on side by side.
//
//   BM_AnnotationOff/procs:1       trace::Log() with tracing off: the cost of an idle annotation
//                                  (IsEnabled() is one relaxed load and a branch, and so is every
//                                  event site in the scheduler: `if (TraceOn()) TraceXxx(...)`).
//   BM_AnnotationOn/procs:1/stack:S trace::Log() while tracing into a sink that discards, with
//                                  (S=1) and without (S=0) its stack. Budget: <= 50 ns without.
//   BM_RegionOn/procs:1/stack:S    StartRegion + End (two events).
//   BM_YieldTraced/procs:N/on:T    the scheduler-heavy micro-benchmarks of fiber_bench.cc with
//   BM_ChanRoundTripTraced/...     tracing off (T=0) or on (T=1): whole-program overhead of
//                                  tracing (every switch writes 2-4 events). Budget: <= 5%.
//                                  Compare the proc_cpu counter (process CPU ns/iteration).
//
// The sink discards bytes, so the numbers are the CPU cost of producing the trace, not of disk.
// TRACETOOL_BENCH_SMOKE=1 runs each once.
#include <benchmark/benchmark.h>

#include <sys/resource.h>

#include <atomic>
#include <cstdlib>

#include "lib/fiber/chan.h"
#include "lib/fiber/fiber.h"
#include "lib/fiber/sync.h"
#include "lib/fiber/trace.h"

namespace {

namespace fiber = tracetool::fiber;
namespace trace = tracetool::fiber::trace;

// CPU time of the whole process (every thread: Ms, sysmon, the trace writer), in ns.
int64_t ProcessCpuNs() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return (static_cast<int64_t>(ru.ru_utime.tv_sec) + ru.ru_stime.tv_sec) * 1000000000 +
         (static_cast<int64_t>(ru.ru_utime.tv_usec) + ru.ru_stime.tv_usec) * 1000;
}

// Runs body in a fiber runtime, traced or not. Reports proc_cpu: process CPU ns per iteration
// (the Run() set-up included, amortised), the overhead measure that neither the wall clock
// (this VM is shared) nor the calling thread's CPU time (the loop may run on another M) gives.
void RunIn(benchmark::State& state, bool traced, const std::function<void()>& body) {
  fiber::Options opts;
  opts.procs = static_cast<int>(state.range(0));
  const int64_t cpu0 = ProcessCpuNs();
  struct Report {
    benchmark::State& state;
    int64_t cpu0;
    ~Report() {
      if (state.iterations() > 0) {
        state.counters["proc_cpu"] = static_cast<double>(ProcessCpuNs() - cpu0) /
                                     static_cast<double>(state.iterations());
      }
    }
  } report{state, cpu0};
  fiber::Run(opts, [&] {
    if (traced && trace::Start([](const void*, size_t) { return 0; }) != 0) {
      state.SkipWithError("trace::Start failed");
      return;
    }
    body();
    if (traced) {
      const trace::StopResult r = trace::Stop();
      if (!r.ok()) state.SkipWithError(r.message.c_str());
    }
  });
}

void BM_AnnotationOff(benchmark::State& state) {
  RunIn(state, false, [&] {
    const trace::Context ctx = trace::Background();
    for (auto _ : state) trace::Log(ctx, "bench", "message");
  });
}

void BM_AnnotationOn(benchmark::State& state) {
  trace::SetAnnotationStacks(state.range(1) != 0);
  RunIn(state, true, [&] {
    const trace::Context ctx = trace::Background();
    for (auto _ : state) trace::Log(ctx, "bench", "message");
  });
  trace::SetAnnotationStacks(true);
}

void BM_RegionOn(benchmark::State& state) {
  trace::SetAnnotationStacks(state.range(1) != 0);
  RunIn(state, true, [&] {
    const trace::Context ctx = trace::Background();
    for (auto _ : state) trace::StartRegion(ctx, "bench.region").End();
  });
  trace::SetAnnotationStacks(true);
}

void BM_YieldTraced(benchmark::State& state) {
  RunIn(state, state.range(1) != 0, [&] {
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

void BM_ChanRoundTripTraced(benchmark::State& state) {
  RunIn(state, state.range(1) != 0, [&] {
    fiber::Chan<int> req;
    fiber::Chan<int> resp;
    fiber::Go([&] {
      while (auto v = req.Recv()) {
        int r = *v + 1;
        resp.Send(r);
      }
    });
    int i = 0;
    for (auto _ : state) {
      req.Send(i);
      i = *resp.Recv();
    }
    req.Close();
    benchmark::DoNotOptimize(i);
  });
}

void Args(benchmark::internal::Benchmark* b, const char* second) {
  b->ArgNames({"procs", second});
  if (std::getenv("TRACETOOL_BENCH_SMOKE")) b->Iterations(1);
}

BENCHMARK(BM_AnnotationOff)->ArgNames({"procs"})->Arg(1)->Apply([](auto* b) {
  if (std::getenv("TRACETOOL_BENCH_SMOKE")) b->Iterations(1);
});
BENCHMARK(BM_AnnotationOn)->Args({1, 0})->Args({1, 1})->Apply([](auto* b) { Args(b, "stack"); });
BENCHMARK(BM_RegionOn)->Args({1, 0})->Args({1, 1})->Apply([](auto* b) { Args(b, "stack"); });
BENCHMARK(BM_YieldTraced)
    ->Args({1, 0})->Args({1, 1})->Args({2, 0})->Args({2, 1})
    ->Apply([](auto* b) { Args(b, "on"); });
BENCHMARK(BM_ChanRoundTripTraced)
    ->Args({1, 0})->Args({1, 1})->Args({2, 0})->Args({2, 1})
    ->Apply([](auto* b) { Args(b, "on"); });

}  // namespace

BENCHMARK_MAIN();
