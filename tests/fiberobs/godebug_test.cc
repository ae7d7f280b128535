// GODEBUG parsing and each switch's effect, checked on what the runtime prints to stderr.
#include <gtest/gtest.h>

#include <mutex>
#include <regex>
#include <string>
#include <vector>

#include "lib/fiber/chan.h"
#include "lib/fiber/fiber.h"
#include "lib/fiber/gc.h"
#include "lib/fiber/godebug.h"
#include "lib/fiber/metrics.h"
#include "lib/fiber/sync.h"
#include "tests/fiber/fiber_test_util.h"
#include "tests/fiberobs/obs_test_util.h"

namespace tracetool::fiber {
namespace {

using testing::Lines;
using testing::RunFibers;
using testing::StartsWith;

TEST(ParseGoDebug, KnownKeys) {
  std::vector<std::string> w;
  const GoDebug d = ParseGoDebug(
      "schedtrace=1000,scheddetail=1,gctrace=1,tracebackancestors=5,madvdontneed=1,"
      "allocfreetrace=1,gcpacertrace=1,gccheckmark=1,inittrace=1",
      &w);
  EXPECT_TRUE(w.empty());
  EXPECT_EQ(d.schedtrace, 1000);
  EXPECT_EQ(d.scheddetail, 1);
  EXPECT_EQ(d.gctrace, 1);
  EXPECT_EQ(d.tracebackancestors, 5);
  EXPECT_EQ(d.madvdontneed, 1);
  EXPECT_EQ(d.allocfreetrace, 1);
  EXPECT_EQ(d.gcpacertrace, 1);
  EXPECT_EQ(d.gccheckmark, 1);
  EXPECT_EQ(d.inittrace, 1);
}

TEST(ParseGoDebug, UnknownKeysAndJunkItemsAreIgnored) {
  std::vector<std::string> w;
  const GoDebug d = ParseGoDebug("http2debug=2,,noequals,gctrace=1,x509sha1=1,", &w);
  EXPECT_TRUE(w.empty()) << w[0];
  EXPECT_EQ(d.gctrace, 1);
  EXPECT_EQ(d.schedtrace, 0);
  EXPECT_EQ(d.madvdontneed, -1);
}

TEST(ParseGoDebug, MalformedValuesWarnAndKeepDefaults) {
  std::vector<std::string> w;
  const GoDebug d = ParseGoDebug("schedtrace=abc,gctrace=-1,scheddetail=7,inittrace=1", &w);
  ASSERT_EQ(w.size(), 3u);
  EXPECT_NE(w[0].find("\"abc\" for schedtrace"), std::string::npos) << w[0];
  EXPECT_NE(w[1].find("gctrace"), std::string::npos) << w[1];
  EXPECT_NE(w[2].find("scheddetail"), std::string::npos) << w[2];
  EXPECT_EQ(d.schedtrace, 0);
  EXPECT_EQ(d.gctrace, 0);
  EXPECT_EQ(d.scheddetail, 0);
  EXPECT_EQ(d.inittrace, 1);
}

TEST(GoDebugEnv, MalformedValueWarnsOncePerProcess) {
  testing::ScopedGodebug env("tracebackancestors=lots");
  testing::StderrCapture cap;
  RunFibers(1, [] {});
  RunFibers(1, [] {});
  const std::string err = cap.Finish();
  const std::regex warn("lib/fiber: GODEBUG: bad value \"lots\" for tracebackancestors");
  const auto n = std::distance(std::sregex_iterator(err.begin(), err.end(), warn),
                               std::sregex_iterator());
  EXPECT_EQ(n, 1) << err;
  EXPECT_EQ(CurrentGoDebug().tracebackancestors, 0);
}

// A collector whose heap is a counter: everything allocated is live until freed.
class CountingHeap : public Collector {
 public:
  void StartCycle() override { starts++; }
  bool MarkSome(size_t) override { return true; }
  size_t FinishMark() override { return live.load(); }
  size_t Sweep() override { return 0; }
  std::atomic<int> starts{0};
  std::atomic<size_t> live{0};
};

TEST(GoDebugEnv, GctraceAndPacertracePrintOneLinePerCycle) {
  testing::ScopedGodebug env("gctrace=1,gcpacertrace=1,gccheckmark=1");
  testing::StderrCapture cap;
  CountingHeap heap;
  RunFibers(2, [&] {
    SetCollector(&heap);
    heap.live = 3 << 20;
    NoteAlloc(3 << 20);
    GC();
    GC();
    SetCollector(nullptr);
  });
  const std::string err = cap.Finish();
  // Go's gctrace line, field by field.
  const std::regex gc_line(
      "gc [0-9]+ @[0-9]+\\.[0-9]{3}s [0-9]+%: [0-9.]+\\+[0-9.]+\\+[0-9.]+ ms clock, "
      "[0-9.]+\\+[0-9.]+/[0-9.]+/[0-9.]+\\+[0-9.]+ ms cpu, [0-9]+->[0-9]+->[0-9]+ MB, [0-9]+ MB "
      "goal, [0-9]+ MB stacks, [0-9]+ MB globals, 2 P( \\(forced\\))?");
  int gc_lines = 0;
  int pacer_lines = 0;
  for (const std::string& l : Lines(err)) {
    if (StartsWith(l, "gc ")) {
      gc_lines++;
      EXPECT_TRUE(std::regex_match(l, gc_line)) << l;
      EXPECT_NE(l.find("3->3->3 MB"), std::string::npos) << l;
      EXPECT_NE(l.find("(forced)"), std::string::npos) << l;
    }
    if (StartsWith(l, "pacer: ")) {
      pacer_lines++;
      EXPECT_NE(l.find("marked 3145728 B, GOGC=100: next goal 6291456 B"), std::string::npos) << l;
    }
  }
  EXPECT_EQ(gc_lines, 2) << err;
  EXPECT_EQ(pacer_lines, 2) << err;
  // gccheckmark: a second, stop-the-world StartCycle per cycle.
  EXPECT_EQ(heap.starts.load(), 4);
}

TEST(GoDebugEnv, GccheckmarkCatchesAMarkThatMissesLiveBytes) {
  // Concurrent marking finds 1 MiB, the stop-the-world re-mark 2 MiB: a lost object.
  class Lossy : public CountingHeap {
   public:
    size_t FinishMark() override { return (++calls % 2 == 1) ? 1 << 20 : 2 << 20; }
    int calls = 0;
  };
  EXPECT_DEATH(
      {
        testing::ScopedGodebug env("gccheckmark=1");
        Lossy heap;
        Options o;
        o.procs = 1;
        ::tracetool::fiber::Run(o, [&] {
          SetCollector(&heap);
          GC();
        });
      },
      "gccheckmark: concurrent mark found 1048576 live bytes");
}

TEST(GoDebugEnv, InittraceReportsEachInitializer) {
  static std::atomic<int> ran{0};
  RegisterInit("tests/fiberobs.alloc", [] {
    NoteAlloc(1000);
    NoteAlloc(24);
    NoteFree(1024);
    ran++;
  });
  testing::ScopedGodebug env("inittrace=1");
  testing::StderrCapture cap;
  int seen_in_main = 0;
  RunFibers(1, [&] { seen_in_main = ran.load(); });
  const std::string err = cap.Finish();
  EXPECT_EQ(seen_in_main, 1);  // Initializers run before main.
  EXPECT_TRUE(std::regex_search(
      err, std::regex("init tests/fiberobs\\.alloc @[0-9.]+ ms, [0-9.]+ ms clock, 1024 bytes, "
                      "2 allocs\n")))
      << err;
}

TEST(GoDebugEnv, AllocfreetracePrintsEveryAllocationWithItsFiber) {
  testing::ScopedGodebug env("allocfreetrace=1");
  testing::StderrCapture cap;
  uint64_t id = 0;
  RunFibers(1, [&] {
    id = CurrentFiberId();
    NoteAlloc(48);
    NoteFree(48);
  });
  const std::string err = cap.Finish();
  EXPECT_NE(err.find("tracealloc(size=0x30)\ngoroutine " + std::to_string(id) + " [running]:\n\t"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("tracefree(size=0x30)\ngoroutine " + std::to_string(id) + " [running]:\n"),
            std::string::npos)
      << err;
}

TEST(GoDebugEnv, TracebackAncestorsInDumps) {
  testing::ScopedGodebug env("tracebackancestors=2");
  RunFibers(2, [] {
    Chan<int> done;
    Chan<int> hold;
    WaitGroup exited;
    uint64_t parent_id = 0;
    uint64_t main_id = CurrentFiberId();
    exited.Add(2);
    Go([&] {
      parent_id = CurrentFiberId();
      Go([&] {
        done.Send(1);
        hold.Recv();
        exited.Done();
      });
      hold.Recv();
      exited.Done();
    });
    done.Recv();
    const std::string dump = DumpFibers();
    EXPECT_NE(dump.find("[originating from goroutine " + std::to_string(parent_id) + "]:"),
              std::string::npos)
        << dump;
    EXPECT_NE(dump.find("[originating from goroutine " + std::to_string(main_id) + "]:"),
              std::string::npos)
        << dump;
    hold.Close();
    exited.Wait();
  });
}

TEST(GoDebugEnv, MadvdontneedReturnsDeadStacks) {
  testing::ScopedGodebug env("madvdontneed=1");
  std::vector<metrics::Sample> s(2);
  s[0].name = "/memory/classes/heap/released:bytes";
  s[1].name = "/cpu/classes/scavenge/total:cpu-seconds";
  metrics::Read(s);
  const uint64_t before = s[0].value.Uint64();
  const double cpu_before = s[1].value.Float64();
  RunFibers(1, [] {
    WaitGroup wg;
    for (int i = 0; i < 8; i++) {
      wg.Add(1);
      Go([&] { wg.Done(); });
    }
    wg.Wait();
  });
  metrics::Read(s);
  EXPECT_GE(s[0].value.Uint64() - before, 8u * 64 * 1024);
  EXPECT_GT(s[1].value.Float64(), cpu_before);
}

TEST(GoDebugEnv, UnsetMadvdontneedKeepsStacks) {
  std::vector<metrics::Sample> s(1);
  s[0].name = "/memory/classes/heap/released:bytes";
  metrics::Read(s);
  const uint64_t before = s[0].value.Uint64();
  RunFibers(1, [] {
    WaitGroup wg;
    wg.Add(1);
    Go([&] { wg.Done(); });
    wg.Wait();
  });
  metrics::Read(s);
  EXPECT_EQ(s[0].value.Uint64(), before);
}

}  // namespace
}  // namespace tracetool::fiber
