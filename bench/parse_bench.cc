// BM_Parse/<file>: the streaming reader alone (Input::Open + Reader::Open + Next() to the end) over
// whole trace files, reporting bytes/s of trace (issue 2: parser throughput ≥ 300 MB/s on one core).
// It informs where the -pprof and -d time goes: when this is far above `tracetool -pprof=sched`'s
// throughput, the analysis or the exporter is the bottleneck, not the parser.
//
//   build/bin/parse_bench [benchmark flags] [TRACE...]
//
// Without TRACE arguments it reads testdata/go1.19/*.trace and Go 1.19's canned traces.
// TRACETOOL_BENCH_SMOKE=1 runs each benchmark once, only to prove it still runs (CI).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "lib/parser/event.h"
#include "lib/parser/input.h"
#include "lib/parser/reader.h"
#include "lib/parser/status.h"

namespace {

// Set when any run fails, so that the smoke test (CTest parse_bench_smoke) fails too.
bool g_failed = false;

void BM_Parse(benchmark::State& state, const std::string& path) {
  using tracetool::parser::Event;
  using tracetool::parser::Input;
  using tracetool::parser::Reader;
  uint64_t bytes = 0;
  uint64_t events = 0;
  for (auto _ : state) {
    std::unique_ptr<Input> input;
    tracetool::Status st = Input::Open(path, &input);
    std::unique_ptr<Reader> reader;
    if (st.ok()) st = Reader::Open(std::move(input), &reader);
    if (!st.ok()) {
      g_failed = true;
      state.SkipWithError(st.ToString().c_str());
      return;
    }
    Event ev;
    bool done = false;
    uint64_t n = 0;
    while (true) {
      st = reader->Next(&ev, &done);
      if (!st.ok() || done) break;
      benchmark::DoNotOptimize(ev.ts);
      ++n;
    }
    if (!st.ok()) {
      g_failed = true;
      state.SkipWithError(st.ToString().c_str());
      return;
    }
    bytes += reader->stats().bytes;
    events += n;
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["events"] = benchmark::Counter(static_cast<double>(events),
                                                benchmark::Counter::kIsRate);
}

std::vector<std::string> DefaultTraces() {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  const char* src = std::getenv("TRACETOOL_SOURCE_DIR");
  std::vector<fs::path> dirs = {fs::path(src ? src : TRACETOOL_SOURCE_DIR) / "testdata" / "go1.19",
                                "/usr/lib/go-1.19/src/internal/trace/testdata"};
  for (const auto& dir : dirs) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      const std::string name = e.path().filename().string();
      if (e.is_regular_file() && (name.ends_with(".trace") || name.ends_with("_good"))) {
        out.push_back(e.path().string());
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool Sanitized() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
  return true;
#else
  return false;
#endif
#else
  return false;
#endif
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (Sanitized()) {
    std::fprintf(stderr, "***WARNING*** parse_bench built with sanitizers: timings are meaningless\n");
  }
#ifndef NDEBUG
  std::fprintf(stderr, "***WARNING*** parse_bench built without NDEBUG: timings are pessimistic\n");
#endif
  std::vector<std::string> traces(argv + 1, argv + argc);
  if (traces.empty()) traces = DefaultTraces();
  if (traces.empty()) {
    std::fprintf(stderr, "parse_bench: no traces\n");
    return 2;
  }
  const bool smoke = std::getenv("TRACETOOL_BENCH_SMOKE") != nullptr;
  for (const auto& path : traces) {
    auto* b = benchmark::RegisterBenchmark(
        ("BM_Parse/" + std::filesystem::path(path).filename().string()).c_str(), BM_Parse, path);
    b->Unit(benchmark::kMillisecond)->UseRealTime();
    if (smoke) b->Iterations(1);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (g_failed) {
    std::fprintf(stderr, "parse_bench: some traces failed to parse (ERROR OCCURRED above)\n");
    return 1;
  }
  return 0;
}
