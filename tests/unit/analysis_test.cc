// Unit tests of lib/analysis pieces that have no Go oracle: the latency histogram and the
// scheduler-latency analysis, checked against brute force on synthetic data.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "lib/analysis/report.h"
#include "lib/analysis/sched_latency.h"
#include "lib/parser/input.h"
#include "lib/parser/reader.h"
#include "tests/unit/trace_builder.h"

namespace tracetool::analysis {
namespace {

using format::EventType;

TEST(LatencyHistogramTest, QuantilesWithinBucketPrecision) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(9.0, 2.0);  // ~8µs median, heavy tail
  LatencyHistogram h;
  std::vector<int64_t> v;
  for (int i = 0; i < 20000; ++i) {
    auto x = static_cast<int64_t>(dist(rng));
    v.push_back(x);
    h.Add(x);
  }
  std::sort(v.begin(), v.end());
  EXPECT_EQ(h.count(), v.size());
  EXPECT_EQ(h.min_ns(), v.front());
  EXPECT_EQ(h.max_ns(), v.back());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const int64_t exact = v[static_cast<size_t>(std::ceil(q * static_cast<double>(v.size()))) - 1];
    const int64_t approx = h.Quantile(q);
    EXPECT_GE(approx, exact) << q;
    EXPECT_LE(static_cast<double>(approx), static_cast<double>(exact) * 1.016 + 1) << q;
  }
  uint64_t total = 0;
  for (const auto& b : h.Buckets()) {
    EXPECT_LT(b[0], b[1]);
    total += static_cast<uint64_t>(b[2]);
  }
  EXPECT_EQ(total, v.size());
}

TEST(SchedLatencyTest, CountsEveryRunnableInterval) {
  // g1 created at 1 (runnable 9 ns until its start at 10), yields at 20, restarts at 50
  // (30 ns), blocks at 60, is unblocked by g2 at 70 and starts at 75 (5 ns).
  testing::TraceBuilder b;
  b.Batch(0, 0)
      .Ev(EventType::kGoCreate, 1, {/*g=*/1, /*newstk=*/1, /*stk=*/0})  // t=1
      .Ev(EventType::kGoCreate, 1, {/*g=*/2, /*newstk=*/2, /*stk=*/0})  // t=2
      .Ev(EventType::kProcStart, 1, {/*thread=*/1})                     // t=3
      .Ev(EventType::kGoStart, 7, {/*g=*/1, /*seq=*/1})                  // t=10
      .Ev(EventType::kGoSched, 10, {/*stk=*/1})                          // t=20
      .Ev(EventType::kGoStart, 30, {/*g=*/1, /*seq=*/2})                 // t=50
      .Ev(EventType::kGoBlockRecv, 10, {/*stk=*/1})                      // t=60
      .Ev(EventType::kGoStart, 5, {/*g=*/2, /*seq=*/1})                  // t=65
      .Ev(EventType::kGoUnblock, 5, {/*g=*/1, /*seq=*/3, /*stk=*/2})     // t=70
      .Ev(EventType::kGoEnd, 1, {})                                      // t=71
      .Ev(EventType::kGoStart, 4, {/*g=*/1, /*seq=*/4})                  // t=75
      .Ev(EventType::kGoEnd, 1, {})                                      // t=76
      .Ev(EventType::kProcStop, 1, {})
      .String(1, "main.worker")
      .String(2, "main.go")
      .String(3, "main.waker")
      .Stack(1, {{0x1000, 1, 2, 10}})
      .Stack(2, {{0x2000, 3, 2, 20}})
      .Frequency(1000000000);
  std::unique_ptr<parser::Input> in;
  ASSERT_TRUE(parser::Input::FromMemory(b.bytes(), &in).ok());
  std::unique_ptr<parser::Reader> r;
  Status st = parser::Reader::Open(std::move(in), &r);
  ASSERT_TRUE(st.ok()) << st.ToString();
  SchedLatency s(r.get());
  parser::Event ev;
  while (true) {
    bool done = false;
    st = r->Next(&ev, &done);
    ASSERT_TRUE(st.ok()) << st.ToString();
    if (done) break;
    s.OnEvent(ev);
  }
  // Times are relative to the first event (t=1): g1 waits 9, 30, 5; g2 waits 63.
  EXPECT_EQ(s.total().hist.count(), 4u);
  EXPECT_EQ(s.total().hist.sum_ns(), 9 + 30 + 5 + 63);
  EXPECT_EQ(s.total().after_wakeup, 3u);  // two creates, one unblock
  EXPECT_EQ(s.total().after_yield, 1u);
  EXPECT_EQ(s.total().hist.max_ns(), 63);
  auto groups = s.groups();
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].name, "main.waker");  // largest total first
  EXPECT_EQ(groups[0].hist.sum_ns(), 63);
  EXPECT_EQ(groups[1].name, "main.worker");
  EXPECT_EQ(groups[1].hist.count(), 3u);
}

TEST(ReportTest, GoDurationMatchesGo) {
  EXPECT_EQ(GoDuration(0), "0s");
  EXPECT_EQ(GoDuration(999), "999ns");
  EXPECT_EQ(GoDuration(1500), "1.5\xc2\xb5s");
  EXPECT_EQ(GoDuration(1234567), "1.234567ms");
  EXPECT_EQ(GoDuration(2000000000), "2s");
  EXPECT_EQ(GoDuration(61500000000), "1m1.5s");
  EXPECT_EQ(GoDuration(3723000000000), "1h2m3s");
  EXPECT_EQ(GoDuration(-1500), "-1.5\xc2\xb5s");
  EXPECT_EQ(ParseGoDuration("10ms"), 10000000);
  EXPECT_EQ(ParseGoDuration("1.5s"), 1500000000);
  EXPECT_EQ(ParseGoDuration("250"), 250);
  EXPECT_FALSE(ParseGoDuration("soon").has_value());
  EXPECT_FALSE(ParseGoDuration("0").has_value());
}

}  // namespace
}  // namespace tracetool::analysis
