// Runtime metrics for lib/fiber, mirroring Go's runtime/metrics: stable names of the form
// /category/sub:unit, a description table (All) and a batch read (Read).
//
//   std::vector<metrics::Sample> s(2);
//   s[0].name = "/sched/goroutines:goroutines";
//   s[1].name = "/sched/latencies:seconds";
//   metrics::Read(s);                       // cheap: poll it every second in production
//   uint64_t n = s[0].value.Uint64();
//
// Read() takes no runtime-wide lock and allocates nothing once a sample's histogram has its
// size (reuse the samples between calls). Any thread, inside or outside Run(); outside Run()
// the cumulative values keep their last numbers and gauges read 0.
#ifndef TRACETOOL_LIB_FIBER_METRICS_H_
#define TRACETOOL_LIB_FIBER_METRICS_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace tracetool::fiber::metrics {

enum class ValueKind : uint8_t { kBad, kUint64, kFloat64, kFloat64Histogram };

struct Description {
  std::string name;         // "/sched/goroutines:goroutines"
  std::string description;  // One sentence, Go's wording where Go has the metric.
  ValueKind kind = ValueKind::kBad;
  bool cumulative = false;  // Only ever grows while the process lives.
};

// Counts[i] events fell in [Buckets[i], Buckets[i+1]); Buckets has Counts.size()+1 entries and
// may start at 0 and end at +Inf (as in Go).
struct Float64Histogram {
  std::vector<uint64_t> counts;
  std::vector<double> buckets;
};

struct Sample;

class Value {
 public:
  ValueKind kind() const { return kind_; }
  // The accessors abort on a kind mismatch, as Go's panic.
  uint64_t Uint64() const;
  double Float64() const;
  const Float64Histogram& Histogram() const;

 private:
  friend void Read(std::span<Sample> samples);
  ValueKind kind_ = ValueKind::kBad;
  uint64_t u64_ = 0;
  double f64_ = 0;
  Float64Histogram hist_;
};

struct Sample {
  std::string name;
  Value value;
};

// All() describes every supported metric, sorted by name.
const std::vector<Description>& All();

// Read() fills each sample's value; an unknown name yields kind kBad.
void Read(std::span<Sample> samples);

}  // namespace tracetool::fiber::metrics

#endif  // TRACETOOL_LIB_FIBER_METRICS_H_
