// SchedLatency: scheduler latency as a distribution, beyond Go's tool (which only offers the
// unblock/create → start profile). Every interval a goroutine spends runnable before it runs —
// after creation, an unblock, a yield (GoSched), a preemption or a syscall exit — goes into a
// histogram for the whole program and one per goroutine group (start function).
//
// Histograms are log-linear (64 sub-buckets per power of two: values within 1.6% of the truth;
// exact count, sum, min and max), so memory stays bounded however long the trace.
#ifndef TRACETOOL_LIB_ANALYSIS_SCHED_LATENCY_H_
#define TRACETOOL_LIB_ANALYSIS_SCHED_LATENCY_H_

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "lib/analysis/go_state_machine.h"
#include "lib/parser/flat_map.h"
#include "lib/parser/reader.h"

namespace tracetool::analysis {

class LatencyHistogram {
 public:
  void Add(int64_t ns);
  uint64_t count() const { return count_; }
  int64_t sum_ns() const { return sum_; }
  int64_t min_ns() const { return count_ ? min_ : 0; }
  int64_t max_ns() const { return max_; }
  // Quantile(0.99): the upper bound of the bucket holding the q-th value (exact at min and max).
  int64_t Quantile(double q) const;
  // Non-empty buckets as (lower bound, upper bound, count).
  std::vector<std::array<int64_t, 3>> Buckets() const;

 private:
  static constexpr int kSub = 64;  // sub-buckets per power of two
  static int Index(uint64_t v);
  static int64_t Lower(int index);
  std::map<int, uint64_t> buckets_;
  uint64_t count_ = 0;
  int64_t sum_ = 0, min_ = INT64_MAX, max_ = 0;
};

struct LatencyGroup {
  std::string name;  // start function ("" for goroutines that never showed one)
  uint64_t pc = 0;
  LatencyHistogram hist;
  // Why the goroutine was runnable: after create/unblock (Go's -pprof=sched), after a yield or
  // preemption, after a syscall exit.
  uint64_t after_wakeup = 0, after_yield = 0, after_syscall = 0;
};

class SchedLatency final : public IntervalSink {
 public:
  explicit SchedLatency(const parser::Reader* reader) : reader_(reader) {}
  // OnEvent() learns goroutine groups from first starts, then feeds the state engine.
  void OnEvent(const parser::Event& ev);
  void OnInterval(const Interval& iv) override;

  const LatencyGroup& total() const { return total_; }
  // Groups ordered by total latency, largest first.
  std::vector<LatencyGroup> groups() const;

 private:
  const parser::Reader* const reader_;
  parser::FlatMap<uint32_t> group_of_;  // goroutine → index in groups_ + 1
  std::map<uint64_t, uint32_t> group_by_pc_;
  std::vector<LatencyGroup> groups_;
  LatencyGroup total_;
};

}  // namespace tracetool::analysis

#endif  // TRACETOOL_LIB_ANALYSIS_SCHED_LATENCY_H_
