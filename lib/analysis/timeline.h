// Timeline: the compact span index behind the web UI's timeline, with level of detail computed on
// the server.
//
//   Timeline tl;
//   for each event: tl.OnEvent(ev);
//   tl.Finish(last_ts);
//   tl.Query(Lens::kG, first_track, n, t0, t1, width_px, [](int track, const Span& s) { ... });
//
// Every track (one per goroutine, P, thread, plus the GC, STW, network, timer and syscall lanes) is
// a sequence of state changes ("from ts on, the track is in state K, opened by event T with stack
// S"), stored in varint-encoded blocks of 16 (~6 bytes per change; see timeline.cc) that live in
// an unlinked temporary file read through a mapping (page cache, not the process's own memory);
// a span is one change up to the next. Above the changes sits a pyramid of 16-ary nodes
// that store only their dominant state (1 byte per 16 changes): a query walks the pyramid from the
// top and stops at the first node shorter than the resolution (the time of one pixel), so a
// response is bounded by the pixels on screen, never by the number of events.
//
// Rejected: one heap object per span (Go's /jsontrace, ~150 bytes per event), and precomputed
// per-zoom tiles (their number grows with zoom depth; the pyramid is exact at every zoom).
#ifndef TRACETOOL_LIB_ANALYSIS_TIMELINE_H_
#define TRACETOOL_LIB_ANALYSIS_TIMELINE_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lib/parser/event.h"
#include "lib/parser/flat_map.h"

namespace tracetool::analysis {

namespace timeline_internal {
class Arena;
}

// What a track is doing. Values are part of the web API (web/app.js names and colours them).
enum class SpanKind : uint8_t {
  kNone = 0,      // nothing (goroutine not alive, P idle): not drawn
  kRunning = 1,   // G lens: running (aux = P); P lens: running goroutine aux; M lens: holds P aux
  kRunnable = 2,  // waiting for a P (aux = the goroutine that made it runnable, 0 if none)
  kWaiting = 3,   // blocked; the opening event's type says on what
  kSyscall = 4,   // in a blocking syscall
  kGCWait = 5,    // blocked on the GC (GoBlockGC)
  kGC = 6,        // GC lane: a GC cycle is running
  kSTW = 7,       // STW lane: the world is stopped (aux = Go's STW kind argument)
  kInstant = 8,   // network/timer/syscall lanes: an unblock at that instant (aux = target G)
  kCount = 9,
};

enum class Lens : uint8_t { kG, kP, kM };

struct Span {
  int64_t start = 0, end = 0;  // ns since the first event; end == start for instants
  SpanKind kind = SpanKind::kNone;
  parser::EventType type = parser::EventType::kNone;  // the event that opened it
  uint32_t stack = 0;                                 // that event's stack id
  uint64_t aux = 0;                                   // see SpanKind
  uint32_t count = 1;  // > 1: several spans merged below one pixel (kind = the dominant one)
  uint8_t fill = 15;   // merged spans: how much of [start, end) is busy, in 16ths (15: all)
};

struct TrackInfo {
  uint64_t id = 0;     // goroutine id, P, thread id; lanes: 0
  std::string label;   // "GC", "P 3", "M 12345"; goroutine labels are made by the caller
  uint32_t changes = 0;
};

class Timeline {
 public:
  // The shared lanes, listed first in every lens.
  static constexpr int kLanes = 5;  // GC, STW, Network, Timers, Syscalls

  Timeline();
  ~Timeline();
  Timeline(const Timeline&) = delete;
  Timeline& operator=(const Timeline&) = delete;

  void OnEvent(const parser::Event& ev);
  // Finish() closes the index at the trace's last time and builds the pyramids. Call once.
  // `on_phase` (optional) is called with a name at each step, for memory logging.
  void Finish(int64_t last_ts, const std::function<void(const char* phase)>& on_phase = {});

  int64_t end_ts() const { return end_ts_; }
  // Tracks of a lens: the kLanes lanes, then goroutines by id / Ps / threads in ascending order.
  int TrackCount(Lens lens) const;
  TrackInfo Info(Lens lens, int track) const;
  // TrackOf(lens, id): the track index of goroutine/P/thread `id`, -1 if none.
  int TrackOf(Lens lens, uint64_t id) const;

  // Query() calls `out` for the spans of tracks [first, first+n) that overlap [t0, t1], merging
  // neighbours shorter than (t1 − t0) / width_px into one span. At most about 2 spans per pixel per
  // track are produced.
  void Query(Lens lens, int first, int n, int64_t t0, int64_t t1, int width_px,
             const std::function<void(int track, const Span& s)>& out) const;
  // SpanAt(): the exact span of `track` that contains `ts` (kind kNone if none); instants match
  // within `slop` ns.
  Span SpanAt(Lens lens, int track, int64_t ts, int64_t slop) const;

  // Bytes held by the index in memory (changes and pyramids), for the overview and the
  // benchmarks; Memory() itemizes them. The encoded changes normally live in an unlinked
  // temporary file, read through a mapping (changes_file; see timeline.cc), not in memory.
  struct MemoryUse {
    uint64_t tracks = 0;          // the Track records
    uint64_t block_tables = 0;    // per track: first time and offset of each block of changes
    uint64_t pyramids = 0;        // level-of-detail nodes and time buckets
    uint64_t changes_memory = 0;  // encoded changes held in memory
    uint64_t changes_file = 0;    // encoded changes in the temporary file (page cache)
    uint64_t orders = 0;          // sorted track orders and ids
  };
  MemoryUse Memory() const;
  uint64_t MemoryBytes() const;
  uint64_t gc_count() const { return gc_count_; }
  int proc_count() const { return static_cast<int>(p_ids_.size()); }

 private:
  struct Track;
  Track* GTrack(uint64_t g);
  Track* PTrack(int64_t p);
  Track* MTrack(uint64_t m);
  const Track* Get(Lens lens, int track) const;
  void SetG(uint64_t g, int64_t ts, SpanKind k, const parser::Event& ev, uint64_t aux);

  std::unique_ptr<timeline_internal::Arena> arena_;  // the encoded changes of every track
  std::vector<Track> lanes_;
  // In order of first appearance; a deque: a million goroutines cost no doubling slack or copies.
  std::deque<Track> g_tracks_;
  std::vector<Track> g_final_;  // after Finish(): g_tracks_ moved here in id order
  std::vector<Track> p_tracks_;
  std::vector<Track> m_tracks_;
  parser::FlatMap<uint32_t> g_index_;  // goroutine → position in g_tracks_ + 1
  parser::FlatMap<uint32_t> m_index_;  // thread → position in m_tracks_ + 1
  std::vector<int64_t> p_ids_;         // P of p_tracks_[i] (real Ps only)
  parser::FlatMap<uint64_t> m_of_p_;   // P → thread running it (+1; 0: none)
  // Sorted views built by Finish(): track order by id.
  std::vector<uint32_t> g_order_, p_order_, m_order_;  // (g_order_ only until Finish() ends)
  std::vector<uint64_t> g_sorted_ids_, p_sorted_ids_, m_sorted_ids_;
  int64_t end_ts_ = 0;
  uint64_t gc_count_ = 0;
};

// Names for the web API.
const char* SpanKindName(SpanKind k);

}  // namespace tracetool::analysis

#endif  // TRACETOOL_LIB_ANALYSIS_TIMELINE_H_
