// Counters: the timeline's counter tracks — goroutines running and runnable, heap allocated —
// kept on a time grid so their size is bounded (a cell keeps the min, max and last value of
// every change inside it) and queried per pixel (min/max per column).
//
//   Counters c(grid_ns);  for each event: c.OnEvent(ev);  c.Finish(last_ts);
//   c.Query(Counters::kHeap, t0, t1, width, &columns);
#ifndef TRACETOOL_LIB_ANALYSIS_COUNTERS_H_
#define TRACETOOL_LIB_ANALYSIS_COUNTERS_H_

#include <array>
#include <cstdint>
#include <vector>

#include "lib/parser/event.h"
#include "lib/parser/flat_map.h"

namespace tracetool::analysis {

class Counters {
 public:
  enum Series { kRunning = 0, kRunnable = 1, kHeap = 2, kSeriesCount = 3 };
  struct Cell {
    int64_t ts;      // start of the grid cell (or of the first change in it)
    int64_t lo, hi;  // min and max value inside the cell
    int64_t last;    // value at the end of the cell
  };

  // `grid_ns` ≥ 1: changes closer than this share a cell.
  explicit Counters(int64_t grid_ns) : grid_(grid_ns < 1 ? 1 : grid_ns) {}
  void OnEvent(const parser::Event& ev);
  void Finish(int64_t last_ts) { end_ = last_ts; }

  // Query() appends to *out one cell per non-empty pixel column of [t0, t1] (lo/hi over the
  // column; the value carried in from before t0 counts too), at most width_px cells.
  void Query(Series s, int64_t t0, int64_t t1, int width_px, std::vector<Cell>* out) const;
  int64_t Max(Series s) const;
  uint64_t MemoryBytes() const;

 private:
  void Set(Series s, int64_t ts, int64_t v);
  void Move(uint64_t g, uint8_t to, int64_t ts);

  const int64_t grid_;
  int64_t end_ = 0;
  std::array<std::vector<Cell>, kSeriesCount> cells_;
  std::array<int64_t, kSeriesCount> value_{};
  parser::FlatMap<uint8_t> state_;  // live goroutine → 1 running, 2 runnable, 3 other
};

}  // namespace tracetool::analysis

#endif  // TRACETOOL_LIB_ANALYSIS_COUNTERS_H_
