// MMU as Go 1.19 computes it (internal/trace/gc.go), so the numbers match `go tool trace`'s MMU
// page: the same utilization function, the same band decomposition with lower bounds, the same
// heap order (container/heap semantics) and the same accumulator, with the same double arithmetic.
// Go's MUD (percentiles) is never fed in 1.19 and reduces to the MMU (spec §8.2), so it is not here.
#include "lib/analysis/mmu.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <limits>

namespace tracetool::analysis {

using parser::Event;
using parser::EventType;

std::optional<uint32_t> ParseUtilFlags(std::string_view s, std::string* bad) {
  uint32_t flags = 0;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find_first_of("|,", start);
    if (end == std::string_view::npos) end = s.size();
    std::string_view w = s.substr(start, end - start);
    if (w == "perProc" || w == "perproc") {
      flags |= UtilFlags::kPerProc;
    } else if (w == "stw") {
      flags |= UtilFlags::kSTW;
    } else if (w == "background") {
      flags |= UtilFlags::kBackground;
    } else if (w == "assist") {
      flags |= UtilFlags::kAssist;
    } else if (w == "sweep") {
      flags |= UtilFlags::kSweep;
    } else if (!w.empty()) {
      *bad = std::string(w);
      return std::nullopt;
    }
    start = end + 1;
  }
  return flags;
}

void MutatorUtilization::Add(std::vector<MutatorUtil>* s, MutatorUtil mu) {
  if (!s->empty()) {
    if (mu.util == s->back().util) return;
    if (mu.time == s->back().time) {
      if (mu.util < s->back().util) s->back() = mu;
      return;
    }
  }
  s->push_back(mu);
}

Status MutatorUtilization::P(const Event& ev, PerP** p) {
  if (ev.p < 0 || static_cast<uint64_t>(ev.p) >= ps_.size()) {
    return ErrStatus(ErrorTag::kInconsistent,
                     "offset 0x%" PRIx64 ": %s on p %" PRId64 " outside GOMAXPROCS=%zu: cannot "
                     "compute mutator utilization",
                     ev.offset, std::string(format::Spec(ev.type).name).c_str(), ev.p, ps_.size());
  }
  *p = &ps_[static_cast<size_t>(ev.p)];
  return OkStatus();
}

Status MutatorUtilization::OnEvent(const Event& ev, const parser::Reader& reader) {
  have_events_ = true;
  PerP* p = nullptr;
  switch (ev.type) {
    case EventType::kGomaxprocs: {
      const auto n = static_cast<size_t>(ev.args[0]);
      if (ps_.size() > n) {
        if (flags_ & UtilFlags::kPerProc) {
          for (size_t i = n; i < ps_.size(); ++i) Add(&out_[ps_[i].series], {ev.ts, 0});
        }
        ps_.resize(n);
      }
      while (ps_.size() < n) {
        size_t series = 0;
        if ((flags_ & UtilFlags::kPerProc) || out_.empty()) {
          series = out_.size();
          out_.push_back({{ev.ts, 1}});
        }
        ps_.push_back(PerP{0, series});
      }
      break;
    }
    case EventType::kGCSTWStart:
      if (flags_ & UtilFlags::kSTW) stw_++;
      break;
    case EventType::kGCSTWDone:
      if (flags_ & UtilFlags::kSTW) stw_--;
      break;
    case EventType::kGCMarkAssistStart:
      if (flags_ & UtilFlags::kAssist) {
        TT_RETURN_IF_ERROR(P(ev, &p));
        p->gc++;
        assists_.Get(ev.g) = true;
      }
      break;
    case EventType::kGCMarkAssistDone:
      if (flags_ & UtilFlags::kAssist) {
        TT_RETURN_IF_ERROR(P(ev, &p));
        p->gc--;
        if (bool* a = assists_.Find(ev.g)) *a = false;
      }
      break;
    case EventType::kGCSweepStart:
      if (flags_ & UtilFlags::kSweep) {
        TT_RETURN_IF_ERROR(P(ev, &p));
        p->gc++;
      }
      break;
    case EventType::kGCSweepDone:
      if (flags_ & UtilFlags::kSweep) {
        TT_RETURN_IF_ERROR(P(ev, &p));
        p->gc--;
      }
      break;
    case EventType::kGoStartLabel:
    case EventType::kGoStart: {
      if (ev.type == EventType::kGoStartLabel && (flags_ & UtilFlags::kBackground)) {
        const std::string_view label = reader.String(ev.args[2]);
        if (label.substr(0, 3) == "GC " && label != "GC (idle)" &&
            !((flags_ & UtilFlags::kPerProc) && label == "GC (dedicated)")) {
          TT_RETURN_IF_ERROR(P(ev, &p));
          bg_mark_.Get(ev.g) = true;
          p->gc++;
        }
      }
      if (const bool* a = assists_.Find(ev.g); a != nullptr && *a) {
        TT_RETURN_IF_ERROR(P(ev, &p));
        p->gc++;
      }
      break;
    }
    default: {
      // Only the event that ends a goroutine's run counts (Go's `ev != block[ev.G]` skip); the
      // reader links each such event back to the GoStart it ends.
      const bool ends_run = (ev.from.type == EventType::kGoStart ||
                             ev.from.type == EventType::kGoStartLabel) &&
                            ev.from.g == ev.g;
      if (!ends_run) return OkStatus();
      if (const bool* a = assists_.Find(ev.g); a != nullptr && *a) {
        TT_RETURN_IF_ERROR(P(ev, &p));
        p->gc--;
      }
      if (bool* b = bg_mark_.Find(ev.g); b != nullptr && *b) {
        TT_RETURN_IF_ERROR(P(ev, &p));
        p->gc--;
        *b = false;
      }
      break;
    }
  }
  if (!(flags_ & UtilFlags::kPerProc)) {
    if (ps_.empty()) return OkStatus();
    size_t gc_ps = 0;
    if (stw_ > 0) {
      gc_ps = ps_.size();
    } else {
      for (const PerP& q : ps_) gc_ps += q.gc > 0;
    }
    Add(&out_[0], {ev.ts, 1 - static_cast<double>(gc_ps) / static_cast<double>(ps_.size())});
  } else {
    for (const PerP& q : ps_) Add(&out_[q.series], {ev.ts, (stw_ > 0 || q.gc > 0) ? 0.0 : 1.0});
  }
  return OkStatus();
}

void MutatorUtilization::Finish(int64_t last_ts) {
  if (!have_events_) return;
  for (const PerP& q : ps_) Add(&out_[q.series], {last_ts, 0});
}

// ---------------------------------------------------------------------------------------------

namespace {

// container/heap on a vector with a "less" relation, with Go's exact sift order.
template <typename T, typename Less>
bool HeapDown(std::vector<T>& h, size_t i0, size_t n, Less less) {
  size_t i = i0;
  while (true) {
    size_t j1 = 2 * i + 1;
    if (j1 >= n) break;
    size_t j = j1;
    if (size_t j2 = j1 + 1; j2 < n && less(h[j2], h[j1])) j = j2;
    if (!less(h[j], h[i])) break;
    std::swap(h[i], h[j]);
    i = j;
  }
  return i > i0;
}
template <typename T, typename Less>
void HeapUp(std::vector<T>& h, size_t j, Less less) {
  while (j > 0) {
    size_t i = (j - 1) / 2;
    if (i == j || !less(h[j], h[i])) break;
    std::swap(h[i], h[j]);
    j = i;
  }
}
template <typename T, typename Less>
void HeapInit(std::vector<T>& h, Less less) {
  const size_t n = h.size();
  for (size_t i = n / 2; i-- > 0;) HeapDown(h, i, n, less);
}
template <typename T, typename Less>
void HeapPush(std::vector<T>& h, T x, Less less) {
  h.push_back(x);
  HeapUp(h, h.size() - 1, less);
}
template <typename T, typename Less>
T HeapPop(std::vector<T>& h, Less less) {
  const size_t n = h.size() - 1;
  std::swap(h[0], h[n]);
  HeapDown(h, 0, n, less);
  T x = h.back();
  h.pop_back();
  return x;
}
template <typename T, typename Less>
void HeapRemove(std::vector<T>& h, size_t i, Less less) {
  const size_t n = h.size() - 1;
  if (n != i) {
    std::swap(h[i], h[n]);
    if (!HeapDown(h, i, n, less)) HeapUp(h, i, less);
  }
  h.pop_back();
}

}  // namespace

struct MMUCurve::Series {
  const std::vector<MutatorUtil>* util;
  std::vector<double> sums;
  struct Integrator {
    const Series* s;
    size_t pos;
    // Go's integrator.advance: total utilization from the series start up to `time`.
    double Advance(int64_t time) {
      const std::vector<MutatorUtil>& u = *s->util;
      constexpr size_t kMaxSeq = 8;
      if (pos + kMaxSeq < u.size() && u[pos + kMaxSeq].time > time) {
        while (pos + 1 < u.size() && u[pos + 1].time <= time) pos++;
      } else {
        size_t l = pos, r = u.size();
        while (l < r) {
          size_t h = (l + r) / 2;
          if (u[h].time <= time) {
            l = h + 1;
          } else {
            r = h;
          }
        }
        pos = l - 1;  // non-strict predecessor (l ≥ 1: time ≥ the first point)
      }
      double partial = 0;
      if (time != u[pos].time) partial = u[pos].util * static_cast<double>(time - u[pos].time);
      return s->sums[pos] + partial;
    }
    int64_t Next(int64_t time) const {
      const std::vector<MutatorUtil>& u = *s->util;
      for (size_t i = pos; i < u.size(); ++i) {
        if (u[i].time > time) return u[i].time;
      }
      return std::numeric_limits<int64_t>::max();
    }
  };
  struct Band {
    double min_util;
    double cum_util;
    Integrator integrator;
  };
  std::vector<Band> bands;
  int64_t band_dur = 1;

  std::pair<int64_t, int64_t> BandTime(size_t i) const {
    const int64_t start = static_cast<int64_t>(i) * band_dur + (*util)[0].time;
    return {start, start + band_dur};
  }
};

struct MMUCurve::Accumulator {
  double mmu = 1.0;
  double bound = 1.0;
  int n_worst = 0;
  std::vector<UtilWindow> heap;  // max-heap by util, then time (Go's utilHeap)

  static bool Less(const UtilWindow& a, const UtilWindow& b) {
    if (a.mutator_util != b.mutator_util) return a.mutator_util > b.mutator_util;
    return a.time > b.time;
  }
  // Go's accumulator.addMU; true: stop.
  bool Add(int64_t time, double mu, int64_t window) {
    if (mu < mmu) mmu = mu;
    bound = mmu;
    if (n_worst == 0) return mu == 0;
    if (static_cast<int>(heap.size()) < n_worst || mu < heap[0].mutator_util) {
      bool keep = false;
      for (size_t i = 0; i < heap.size(); ++i) {
        const UtilWindow& ui = heap[i];
        if (time + window > ui.time && ui.time + window > time) {
          if (ui.mutator_util <= mu) {
            keep = true;
          } else {
            HeapRemove(heap, i, Less);
          }
          break;
        }
      }
      if (!keep) {
        HeapPush(heap, UtilWindow{time, mu}, Less);
        if (static_cast<int>(heap.size()) > n_worst) HeapPop(heap, Less);
      }
    }
    if (static_cast<int>(heap.size()) < n_worst) {
      bound = 1.0;
    } else {
      bound = std::max(bound, heap[0].mutator_util);
    }
    return static_cast<int>(heap.size()) == n_worst && heap[0].mutator_util == 0;
  }
};

MMUCurve::MMUCurve(const std::vector<std::vector<MutatorUtil>>& all) {
  for (const std::vector<MutatorUtil>& util : all) {
    if (util.empty()) continue;
    series_.push_back(Series{});
    Series& s = series_.back();
    s.util = &util;
    s.sums.resize(util.size());
    MutatorUtil prev{0, 0};
    double sum = 0;
    for (size_t j = 0; j < util.size(); ++j) {
      sum += prev.util * static_cast<double>(util[j].time - prev.time);
      s.sums[j] = sum;
      prev = util[j];
    }
  }
  // Bands, once the series vector no longer moves (integrators point at their series).
  for (Series& s : series_) {
    const std::vector<MutatorUtil>& util = *s.util;
    const int64_t num_bands = std::min<int64_t>(1000, static_cast<int64_t>(util.size()));
    const int64_t dur = util.back().time - util[0].time;
    s.band_dur = std::max<int64_t>(1, (dur + num_bands - 1) / num_bands);
    s.bands.resize(static_cast<size_t>(num_bands + 1));
    Series::Integrator left{&s, 0};
    for (size_t i = 0; i < s.bands.size(); ++i) {
      auto [start, end] = s.BandTime(i);
      const double cum = left.Advance(start);
      double min_util = 1.0;
      for (size_t k = left.pos; k < util.size() && util[k].time < end; ++k) {
        min_util = std::min(min_util, util[k].util);
      }
      s.bands[i] = Series::Band{min_util, cum, left};
    }
  }
}

MMUCurve::~MMUCurve() = default;

int64_t MMUCurve::min_time() const {
  int64_t t = std::numeric_limits<int64_t>::max();
  for (const Series& s : series_) t = std::min(t, s.util->front().time);
  return t;
}

int64_t MMUCurve::max_time() const {
  int64_t t = std::numeric_limits<int64_t>::min();
  for (const Series& s : series_) t = std::max(t, s.util->back().time);
  return t;
}

void MMUCurve::Run(int64_t window, Accumulator* acc) const {
  if (window <= 0) {
    acc->mmu = 0;
    return;
  }
  struct BandUtil {
    size_t series;
    size_t band;
    double bound;
  };
  auto less = [](const BandUtil& a, const BandUtil& b) { return a.bound < b.bound; };
  std::vector<BandUtil> heap;
  std::vector<int64_t> windows(series_.size());
  for (size_t si = 0; si < series_.size(); ++si) {
    const Series& s = series_[si];
    int64_t w = std::min(window, s.util->back().time - (*s.util)[0].time);
    windows[si] = w;
    // Go's mkBandUtil: a lower bound of the utilization of any window starting in each band.
    const int64_t min_bands = (w + s.band_dur - 1) / s.band_dur;
    const int64_t max_bands = (w + 2 * (s.band_dur - 1)) / s.band_dur;
    const int64_t tail = w % s.band_dur;
    int64_t n = static_cast<int64_t>(s.bands.size()) - max_bands + 1;
    if (n < 0) n = 0;
    for (int64_t i = 0; i < n; ++i) {
      const size_t ui = static_cast<size_t>(i);
      double util = 0;
      const double l = s.bands[ui].min_util;
      const double r1 = s.bands[ui + static_cast<size_t>(min_bands) - 1].min_util;
      const double r2 = s.bands[ui + static_cast<size_t>(max_bands) - 1].min_util;
      const double min_band = std::min(l, std::min(r1, r2));
      if (min_bands == 1) {
        util += min_band * static_cast<double>(w);
      } else {
        util += min_band * static_cast<double>(s.band_dur);
        double mid = 0;
        if (min_band == l) {
          mid = std::min(r1, r2);
        } else if (min_band == r1) {
          mid = std::min(l, r2);
        } else if (min_band == r2) {
          mid = std::min(l, r1);
        }
        util += mid * static_cast<double>(tail);
      }
      if (min_bands > 2) {
        util += s.bands[ui + static_cast<size_t>(min_bands) - 1].cum_util - s.bands[ui + 1].cum_util;
      }
      heap.push_back(BandUtil{si, ui, util / static_cast<double>(w)});
    }
  }
  HeapInit(heap, less);
  while (!heap.empty() && heap[0].bound < acc->bound) {
    const Series& s = series_[heap[0].series];
    const int64_t w = windows[heap[0].series];
    // Go's bandMMU.
    Series::Integrator left = s.bands[heap[0].band].integrator;
    Series::Integrator right = left;
    auto [time, end] = s.BandTime(heap[0].band);
    if (int64_t util_end = s.util->back().time - w; util_end < end) end = util_end;
    while (true) {
      const double mu = (right.Advance(time + w) - left.Advance(time)) / static_cast<double>(w);
      if (acc->Add(time, mu, w)) break;
      if (time == end) break;
      const int64_t min_time = time + static_cast<int64_t>((mu - acc->bound) * static_cast<double>(w));
      const int64_t t1 = left.Next(time);
      const int64_t t2 = right.Next(time + w) - w;
      time = t1 < t2 ? t1 : t2;
      if (time < min_time) time = min_time;
      if (time >= end) time = end;
    }
    HeapPop(heap, less);
  }
}

double MMUCurve::MMU(int64_t window) const {
  Accumulator acc;
  Run(window, &acc);
  return acc.mmu;
}

std::vector<UtilWindow> MMUCurve::Examples(int64_t window, int n) const {
  Accumulator acc;
  acc.n_worst = n;
  Run(window, &acc);
  std::vector<UtilWindow> out = acc.heap;
  // sort.Sort(sort.Reverse(heap)): insertion sort (≤ 12 elements) on the reversed order.
  auto before = [](const UtilWindow& a, const UtilWindow& b) { return Accumulator::Less(b, a); };
  for (size_t i = 1; i < out.size(); ++i) {
    for (size_t j = i; j > 0 && before(out[j], out[j - 1]); --j) std::swap(out[j], out[j - 1]);
  }
  if (out.size() > 12) std::stable_sort(out.begin(), out.end(), before);
  return out;
}

MMUPlot PlotMMU(const MMUCurve& curve) {
  MMUPlot plot;
  if (curve.empty()) return plot;
  int64_t x_min = 1000000000;
  while (x_min > 1) {
    if (curve.MMU(x_min) < 0.0001) break;
    x_min /= 1000;
  }
  int64_t x_max = x_min * 1000000;
  const int64_t span = curve.max_time() - curve.min_time();
  if (x_max > span) x_max = span;
  plot.x_min = x_min;
  plot.x_max = x_max;
  const double log_min = std::log(static_cast<double>(x_min));
  const double log_max = std::log(static_cast<double>(x_max));
  constexpr int kSamples = 100;
  for (int i = 0; i < kSamples; ++i) {
    const auto window = static_cast<int64_t>(
        std::exp(static_cast<double>(i) / (kSamples - 1) * (log_max - log_min) + log_min));
    plot.curve.emplace_back(window, curve.MMU(window));
  }
  return plot;
}

}  // namespace tracetool::analysis
