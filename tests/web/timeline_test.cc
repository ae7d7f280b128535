// Timeline index: exact spans when zoomed in, responses bounded by the pixel width when zoomed out,
// whatever the number of events.
#include "lib/analysis/timeline.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace tracetool::analysis {
namespace {

using parser::Event;
using parser::EventType;

Event Ev(EventType type, int64_t ts, uint64_t g, int64_t p, uint64_t arg0 = 0, uint32_t stack = 0) {
  Event e;
  e.type = type;
  e.ts = ts;
  e.g = g;
  e.p = p;
  e.args[0] = arg0;
  e.stack_id = stack;
  return e;
}

// One goroutine (G7 created by G1) that runs for 600 ns then blocks for 400 ns, n times, on P0.
void Build(int n, Timeline* out) {
  Timeline& tl = *out;
  tl.OnEvent(Ev(EventType::kProcStart, 0, 0, 0, /*thread=*/42));
  tl.OnEvent(Ev(EventType::kGoCreate, 10, 1, 0, 7, /*stack=*/3));
  int64_t t = 100;
  for (int i = 0; i < n; ++i) {
    tl.OnEvent(Ev(EventType::kGoStart, t, 7, 0));
    tl.OnEvent(Ev(EventType::kGoBlockRecv, t + 600, 7, 0, 0, /*stack=*/5));
    tl.OnEvent(Ev(EventType::kGoUnblock, t + 1000, 1, 0, 7, /*stack=*/6));
    t += 1000;
  }
  tl.OnEvent(Ev(EventType::kGCStart, 150, 0, format::kGCP, 1));
  tl.Finish(t);
}

std::map<int, std::vector<Span>> Query(const Timeline& tl, Lens lens, int64_t t0, int64_t t1,
                                       int width) {
  std::map<int, std::vector<Span>> out;
  tl.Query(lens, 0, tl.TrackCount(lens), t0, t1, width,
           [&](int track, const Span& s) { out[track].push_back(s); });
  return out;
}

TEST(TimelineTest, TracksOfEachLens) {
  Timeline tl;
  Build(10, &tl);
  EXPECT_EQ(tl.TrackCount(Lens::kG), Timeline::kLanes + 1);  // G7 (G1 only acts, never changes)
  EXPECT_EQ(tl.TrackCount(Lens::kP), Timeline::kLanes + 1);
  EXPECT_EQ(tl.TrackCount(Lens::kM), Timeline::kLanes + 1);
  EXPECT_EQ(tl.TrackOf(Lens::kG, 7), Timeline::kLanes);
  EXPECT_EQ(tl.TrackOf(Lens::kG, 8), -1);
  EXPECT_EQ(tl.Info(Lens::kP, Timeline::kLanes).label, "P 0");
  EXPECT_EQ(tl.Info(Lens::kM, Timeline::kLanes).label, "M 42");
  EXPECT_EQ(tl.Info(Lens::kG, 0).label, "GC");
  EXPECT_EQ(tl.gc_count(), 1u);
}

TEST(TimelineTest, ZoomedInSpansAreExact) {
  Timeline tl;
  Build(100, &tl);
  const int g = tl.TrackOf(Lens::kG, 7);
  auto spans = Query(tl, Lens::kG, 2000, 3000, 1000)[g];
  // [1100,1700) running ... every span intersecting [2000, 3000].
  ASSERT_GE(spans.size(), 3u);
  for (const Span& s : spans) {
    EXPECT_EQ(s.count, 1u);
    EXPECT_LE(s.start, 3000);
    EXPECT_GE(s.end, 2000);
  }
  const Span* run = nullptr;
  for (const Span& s : spans) {
    if (s.start == 2100) run = &s;
  }
  ASSERT_NE(run, nullptr);
  EXPECT_EQ(run->kind, SpanKind::kRunning);
  EXPECT_EQ(run->end, 2700);
  EXPECT_EQ(run->aux, 0u);  // P0
}

TEST(TimelineTest, ZoomedOutIsBoundedByPixels) {
  Timeline tl;
  Build(100000, &tl);  // 200k changes on G7 and on P0
  for (int width : {10, 100, 1000}) {
    auto all = Query(tl, Lens::kG, 0, tl.end_ts(), width);
    for (const auto& [track, spans] : all) {
      EXPECT_LE(spans.size(), static_cast<size_t>(2 * width + 2)) << "track " << track;
    }
    const auto& g = all[tl.TrackOf(Lens::kG, 7)];
    ASSERT_FALSE(g.empty());
    auto at = [](const std::vector<Span>& v, int64_t t) {
      for (const Span& s : v) {
        if (s.start <= t && t < s.end) return s;
      }
      return Span();
    };
    const int64_t mid = tl.end_ts() / 2;
    // Running 600 and blocked 400 of every 1000 ns: merged spans say running (the dominant
    // state), always busy; on the P, running 60% of the time.
    EXPECT_EQ(at(g, mid).kind, SpanKind::kRunning);
    EXPECT_GT(at(g, mid).count, 1u);
    EXPECT_EQ(at(g, mid).fill, 15);
    EXPECT_EQ(g.back().fill, 15);  // the last, clipped bucket too
    auto ps = Query(tl, Lens::kP, 0, tl.end_ts(), width)[Timeline::kLanes];
    ASSERT_FALSE(ps.empty());
    EXPECT_LE(ps.size(), static_cast<size_t>(2 * width + 2));
    EXPECT_EQ(at(ps, mid).kind, SpanKind::kRunning);
    EXPECT_NEAR(at(ps, mid).fill, 9, 1);
  }
}

TEST(TimelineTest, SpanAtFindsDetails) {
  Timeline tl;
  Build(50, &tl);
  const int g = tl.TrackOf(Lens::kG, 7);
  Span s = tl.SpanAt(Lens::kG, g, 5800, 0);  // 5100 + 600 = 5700: blocked until 6100
  EXPECT_EQ(s.kind, SpanKind::kWaiting);
  EXPECT_EQ(s.type, EventType::kGoBlockRecv);
  EXPECT_EQ(s.stack, 5u);
  EXPECT_EQ(s.start, 5700);
  EXPECT_EQ(s.end, 6100);
  s = tl.SpanAt(Lens::kG, g, 6050, 0);
  EXPECT_EQ(s.kind, SpanKind::kWaiting);
  s = tl.SpanAt(Lens::kG, g, 20, 0);  // created at 10 by G1
  EXPECT_EQ(s.kind, SpanKind::kRunnable);
  EXPECT_EQ(s.aux, 1u);
  EXPECT_EQ(s.stack, 3u);
  s = tl.SpanAt(Lens::kP, Timeline::kLanes, 5200, 0);
  EXPECT_EQ(s.kind, SpanKind::kRunning);
  EXPECT_EQ(s.aux, 7u);  // the goroutine on the P
  EXPECT_EQ(tl.SpanAt(Lens::kG, g, 5, 0).kind, SpanKind::kNone);  // before its creation
}


// Goroutines 100..100+n, goroutine i with 1 + 3·(i mod 40) changes (one block inline, or a table of
// several), interleaved on 4 Ps so the blocks of every track are spread over the index.
void BuildMany(int n, Timeline* tl) {
  for (int p = 0; p < 4; ++p) tl->OnEvent(Ev(EventType::kProcStart, 0, 0, p, 40 + p));
  int64_t t = 10;
  for (int i = 0; i < n; ++i) {
    tl->OnEvent(Ev(EventType::kGoCreate, t++, 1, 0, 100 + i, 3));
  }
  for (int round = 0; round < 40; ++round) {
    for (int i = 0; i < n; ++i) {
      if (round >= i % 40) continue;
      const int p = i % 4;
      tl->OnEvent(Ev(EventType::kGoStart, t, 100 + i, p));
      tl->OnEvent(Ev(EventType::kGoBlockRecv, t + 5, 100 + i, p, 0, 5));
      tl->OnEvent(Ev(EventType::kGoUnblock, t + 9, 1, p, 100 + i, 6));
      t += 11;
    }
  }
  tl->Finish(t);
}

using Flat = std::vector<std::tuple<int, int64_t, int64_t, int, uint64_t, uint32_t, uint32_t>>;
Flat Everything(const Timeline& tl) {
  Flat out;
  for (Lens lens : {Lens::kG, Lens::kP, Lens::kM}) {
    for (int width : {100, 100000}) {
      tl.Query(lens, 0, tl.TrackCount(lens), 0, tl.end_ts(), width, [&](int track, const Span& s) {
        out.emplace_back(track, s.start, s.end, static_cast<int>(s.kind), s.aux, s.stack, s.count);
      });
    }
  }
  return out;
}

// The encoded changes live in a temporary file when one can be made, in memory otherwise: the
// answers are the same, and many block reads (past the release of mapped pages) stay correct.
TEST(TimelineTest, IndexFileAndMemoryAgree) {
  Timeline on_file;
  BuildMany(1200, &on_file);
  const char* old = getenv("TMPDIR");
  const std::string saved = old != nullptr ? old : "";
  setenv("TMPDIR", "/nonexistent/tracetool-test", 1);
  Timeline in_memory;
  BuildMany(1200, &in_memory);
  if (old != nullptr) {
    setenv("TMPDIR", saved.c_str(), 1);
  } else {
    unsetenv("TMPDIR");
  }
  EXPECT_GT(on_file.Memory().changes_file, 0u);
  EXPECT_EQ(on_file.Memory().changes_memory, 0u);
  EXPECT_EQ(in_memory.Memory().changes_file, 0u);
  EXPECT_GT(in_memory.Memory().changes_memory, 0u);
  ASSERT_EQ(on_file.TrackCount(Lens::kG), Timeline::kLanes + 1200);
  const Flat a = Everything(on_file);
  EXPECT_GT(a.size(), 1200u);
  EXPECT_EQ(a, Everything(in_memory));
  // Exact spans of a goroutine with a table of blocks (G139, i = 39: created, 39 rounds of 3).
  const int g = on_file.TrackOf(Lens::kG, 139);
  ASSERT_GE(g, 0);
  EXPECT_EQ(on_file.Info(Lens::kG, g).changes, 1u + 3 * 39);
  for (int64_t ts : {int64_t{50}, on_file.end_ts() / 3, on_file.end_ts() / 2}) {
    const Span x = on_file.SpanAt(Lens::kG, g, ts, 0), y = in_memory.SpanAt(Lens::kG, g, ts, 0);
    EXPECT_EQ(std::tie(x.start, x.end, x.kind, x.stack), std::tie(y.start, y.end, y.kind, y.stack));
  }
}

}  // namespace
}  // namespace tracetool::analysis
