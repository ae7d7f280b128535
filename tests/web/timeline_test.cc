// Timeline index: exact spans when zoomed in, responses bounded by the pixel width when zoomed out,
// whatever the number of events.
#include "lib/analysis/timeline.h"

#include <gtest/gtest.h>

#include <map>
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

}  // namespace
}  // namespace tracetool::analysis
