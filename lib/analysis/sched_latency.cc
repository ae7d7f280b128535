#include "lib/analysis/sched_latency.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace tracetool::analysis {

using parser::EventType;

// Values below kSub map to themselves; above, (power of two, 64 linear steps within it).
int LatencyHistogram::Index(uint64_t v) {
  if (v < kSub) return static_cast<int>(v);
  const int exp = 63 - std::countl_zero(v);  // ≥ 6
  const int shift = exp - 6;
  return (exp - 5) * kSub + static_cast<int>((v >> shift) - kSub);
}

int64_t LatencyHistogram::Lower(int index) {
  if (index < kSub) return index;
  const int exp = index / kSub + 5;
  const int sub = index % kSub;
  return static_cast<int64_t>((static_cast<uint64_t>(kSub + sub)) << (exp - 6));
}

void LatencyHistogram::Add(int64_t ns) {
  if (ns < 0) ns = 0;
  buckets_[Index(static_cast<uint64_t>(ns))]++;
  count_++;
  sum_ += ns;
  min_ = std::min(min_, ns);
  max_ = std::max(max_, ns);
}

int64_t LatencyHistogram::Quantile(double q) const {
  if (count_ == 0) return 0;
  if (q <= 0) return min_;
  if (q >= 1) return max_;
  const auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  uint64_t seen = 0;
  for (const auto& [idx, n] : buckets_) {
    seen += n;
    if (seen >= rank) return std::min(max_, std::max(min_, Lower(idx + 1) - 1));
  }
  return max_;
}

std::vector<std::array<int64_t, 3>> LatencyHistogram::Buckets() const {
  std::vector<std::array<int64_t, 3>> out;
  for (const auto& [idx, n] : buckets_) {
    out.push_back({Lower(idx), Lower(idx + 1), static_cast<int64_t>(n)});
  }
  return out;
}

void SchedLatency::OnEvent(const parser::Event& ev) {
  if ((ev.type == EventType::kGoStart || ev.type == EventType::kGoStartLabel) &&
      group_of_.Find(ev.g) == nullptr) {
    // The first start carries the creation stack: its top frame names the group (Go's rule).
    std::span<const parser::Frame> stk = reader_->Stack(ev.stack_id);
    const uint64_t pc = stk.empty() ? 0 : stk[0].pc;
    auto [it, inserted] = group_by_pc_.emplace(pc, static_cast<uint32_t>(groups_.size()));
    if (inserted) {
      LatencyGroup g;
      g.pc = pc;
      if (!stk.empty()) g.name = std::string(reader_->String(stk[0].fn));
      groups_.push_back(std::move(g));
    }
    group_of_.Get(ev.g) = it->second + 1;
  }
  GoStateMachine::OnEvent(ev, this);
}

void SchedLatency::OnInterval(const Interval& iv) {
  if (iv.state != GoState::kRunnable) return;
  const int64_t d = iv.end_ts - iv.begin_ts;
  auto count = [&](LatencyGroup& g) {
    g.hist.Add(d);
    switch (iv.begin_type) {
      case EventType::kGoCreate:
      case EventType::kGoUnblock:
        g.after_wakeup++;
        break;
      case EventType::kGoSysExit:
        g.after_syscall++;
        break;
      default:
        g.after_yield++;
        break;
    }
  };
  count(total_);
  if (const uint32_t* gi = group_of_.Find(iv.g)) count(groups_[*gi - 1]);
}

std::vector<LatencyGroup> SchedLatency::groups() const {
  std::vector<LatencyGroup> out = groups_;
  std::stable_sort(out.begin(), out.end(), [](const LatencyGroup& a, const LatencyGroup& b) {
    return a.hist.sum_ns() > b.hist.sum_ns();
  });
  return out;
}

}  // namespace tracetool::analysis
