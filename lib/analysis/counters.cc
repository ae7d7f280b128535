// Goroutine counts follow each goroutine's state (so an unexpected transition can never make a
// count negative); the heap is HeapAlloc's argument.
#include "lib/analysis/counters.h"

#include <algorithm>

namespace tracetool::analysis {

using parser::EventType;

namespace {
constexpr uint8_t kStRunning = 1, kStRunnable = 2, kStOther = 3;
}  // namespace

void Counters::Set(Series s, int64_t ts, int64_t v) {
  value_[s] = v;
  std::vector<Cell>& c = cells_[s];
  if (!c.empty() && ts - c.back().ts < grid_) {
    Cell& b = c.back();
    b.lo = std::min(b.lo, v);
    b.hi = std::max(b.hi, v);
    b.last = v;
    return;
  }
  c.push_back({ts, v, v, v});
}

void Counters::Move(uint64_t g, uint8_t to, int64_t ts) {
  uint8_t from = 0;
  if (uint8_t* st = state_.Find(g)) from = *st;
  if (from == to) return;
  if (from == kStRunning) Set(kRunning, ts, value_[kRunning] - 1);
  if (from == kStRunnable) Set(kRunnable, ts, value_[kRunnable] - 1);
  if (to == kStRunning) Set(kRunning, ts, value_[kRunning] + 1);
  if (to == kStRunnable) Set(kRunnable, ts, value_[kRunnable] + 1);
  if (to == 0) {
    state_.Erase(g);
  } else {
    state_.Get(g) = to;
  }
}

void Counters::OnEvent(const parser::Event& ev) {
  switch (ev.type) {
    case EventType::kGoCreate:
      Move(ev.args[0], kStRunnable, ev.ts);
      break;
    case EventType::kGoStart:
    case EventType::kGoStartLabel:
      Move(ev.g, kStRunning, ev.ts);
      break;
    case EventType::kGoEnd:
      Move(ev.g, 0, ev.ts);
      break;
    case EventType::kGoSched:
    case EventType::kGoPreempt:
    case EventType::kGoSysExit:
      Move(ev.g, kStRunnable, ev.ts);
      break;
    case EventType::kGoUnblock:
      Move(ev.args[0], kStRunnable, ev.ts);
      break;
    case EventType::kGoStop:
    case EventType::kGoSleep:
    case EventType::kGoBlock:
    case EventType::kGoBlockSend:
    case EventType::kGoBlockRecv:
    case EventType::kGoBlockSelect:
    case EventType::kGoBlockSync:
    case EventType::kGoBlockCond:
    case EventType::kGoBlockNet:
    case EventType::kGoBlockGC:
    case EventType::kGoSysBlock:
    case EventType::kGoWaiting:
    case EventType::kGoInSyscall:
      Move(ev.g, kStOther, ev.ts);
      break;
    case EventType::kHeapAlloc:
      Set(kHeap, ev.ts, static_cast<int64_t>(ev.args[0]));
      break;
    default:
      break;
  }
}

void Counters::Query(Series s, int64_t t0, int64_t t1, int width_px,
                     std::vector<Cell>* out) const {
  const std::vector<Cell>& c = cells_[s];
  if (c.empty() || t1 <= t0 || width_px <= 0) return;
  const double per_px = static_cast<double>(t1 - t0) / width_px;
  auto it = std::upper_bound(c.begin(), c.end(), t0,
                             [](int64_t v, const Cell& x) { return v < x.ts; });
  // The value in force at t0 opens the first column.
  bool open = false;
  Cell col{};
  int cur = -1;
  if (it != c.begin()) {
    const int64_t v = std::prev(it)->last;
    col = {t0, v, v, v};
    cur = 0;
    open = true;
  }
  for (; it != c.end() && it->ts <= t1; ++it) {
    const int px = std::min(width_px - 1, static_cast<int>((it->ts - t0) / per_px));
    if (open && px == cur) {
      col.lo = std::min(col.lo, it->lo);
      col.hi = std::max(col.hi, it->hi);
      col.last = it->last;
      continue;
    }
    if (open) out->push_back(col);
    col = *it;
    cur = px;
    open = true;
  }
  if (open) out->push_back(col);
}

int64_t Counters::Max(Series s) const {
  int64_t m = 0;
  for (const Cell& c : cells_[s]) m = std::max(m, c.hi);
  return m;
}

uint64_t Counters::MemoryBytes() const {
  uint64_t b = 0;
  for (const auto& c : cells_) b += c.capacity() * sizeof(Cell);
  return b;
}

}  // namespace tracetool::analysis
