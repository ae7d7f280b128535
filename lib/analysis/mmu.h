// Minimum mutator utilization (MMU), as Go 1.19 computes it (internal/trace/gc.go; spec §8.2).
//
//   MutatorUtilization mu(UtilFlags::kSTW | UtilFlags::kBackground | UtilFlags::kAssist);
//   for each event: mu.OnEvent(ev, reader);   then mu.Finish(last_ts)
//   MMUCurve curve(mu.series());
//   double m = curve.MMU(10'000'000);                    // worst 10 ms window
//   std::vector<UtilWindow> worst = curve.Examples(10'000'000, 10);
//
// The utilization series hold one point per change of utilization, so their size grows with the
// number of GC-related transitions (not with the whole trace).
#ifndef TRACETOOL_LIB_ANALYSIS_MMU_H_
#define TRACETOOL_LIB_ANALYSIS_MMU_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/parser/event.h"
#include "lib/parser/flat_map.h"
#include "lib/parser/reader.h"
#include "lib/parser/status.h"

namespace tracetool::analysis {

// What counts as "not mutator" time. Bit values are Go's.
namespace UtilFlags {
inline constexpr uint32_t kSTW = 1;         // stop-the-world pauses
inline constexpr uint32_t kBackground = 2;  // background mark workers
inline constexpr uint32_t kAssist = 4;      // mark assists
inline constexpr uint32_t kSweep = 8;       // sweeping
inline constexpr uint32_t kPerProc = 16;    // one series per P instead of one for the program
}  // namespace UtilFlags

// ParseUtilFlags("stw|background|assist") (also ','-separated); unknown words are an error here
// (Go ignores them). Returns nullopt with *bad set to the unknown word.
std::optional<uint32_t> ParseUtilFlags(std::string_view s, std::string* bad);

struct MutatorUtil {
  int64_t time;  // ns
  double util;   // fraction of the program (or P) running user code, from `time` on
};

class MutatorUtilization {
 public:
  explicit MutatorUtilization(uint32_t flags) : flags_(flags) {}
  // OnEvent() consumes one event. A GC event on a P outside [0, GOMAXPROCS) is an error (Go's
  // tool crashes on it).
  Status OnEvent(const parser::Event& ev, const parser::Reader& reader);
  void Finish(int64_t last_ts);
  const std::vector<std::vector<MutatorUtil>>& series() const { return out_; }

 private:
  struct PerP {
    int gc = 0;
    size_t series = 0;
  };
  static void Add(std::vector<MutatorUtil>* s, MutatorUtil mu);
  Status P(const parser::Event& ev, PerP** p);

  const uint32_t flags_;
  std::vector<PerP> ps_;
  int stw_ = 0;
  std::vector<std::vector<MutatorUtil>> out_;
  parser::FlatMap<bool> assists_;  // goroutines in a mark assist (value true)
  parser::FlatMap<bool> bg_mark_;  // goroutines running as background mark workers
  bool have_events_ = false;
};

struct UtilWindow {
  int64_t time;  // window start, ns
  double mutator_util;
};

class MMUCurve {
 public:
  // `series` is borrowed and must outlive the curve.
  explicit MMUCurve(const std::vector<std::vector<MutatorUtil>>& series);
  ~MMUCurve();
  MMUCurve(const MMUCurve&) = delete;  // the bands point into series_
  MMUCurve& operator=(const MMUCurve&) = delete;
  // MMU() is the minimum mutator utilization over all windows of `window_ns`.
  double MMU(int64_t window_ns) const;
  // Examples() returns up to n non-overlapping windows with the lowest utilization, lowest first.
  std::vector<UtilWindow> Examples(int64_t window_ns, int n) const;
  bool empty() const { return series_.empty(); }
  // The first and last time over all series.
  int64_t min_time() const;
  int64_t max_time() const;

 private:
  struct Series;
  struct Accumulator;
  void Run(int64_t window_ns, Accumulator* acc) const;
  std::vector<Series> series_;
};

// The /mmuPlot curve: 100 windows from xMin to xMax on a log scale, Go's choice of range.
struct MMUPlot {
  int64_t x_min = 0, x_max = 0;
  std::vector<std::pair<int64_t, double>> curve;  // (window ns, MMU)
};
MMUPlot PlotMMU(const MMUCurve& curve);

}  // namespace tracetool::analysis

#endif  // TRACETOOL_LIB_ANALYSIS_MMU_H_
