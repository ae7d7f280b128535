// GoroutineStats: per-goroutine execution statistics exactly as Go 1.19 defines them
// (internal/trace GoroutineStats; ../shared/spec/go-trace-v1-format.md §5.2), with user regions.
//
//   GoroutineStats stats(reader);
//   for each event: stats.OnEvent(ev);
//   stats.Finish();
//   for (const GoroutineSummary& g : stats.goroutines()) ...
//
// Definitions (Go's, kept on purpose so the numbers equal `go tool trace`'s goroutine pages):
// execution = time running; scheduler wait = runnable after create, unblock, sched/preempt or
// syscall exit (an unblock before the first start drops the wait since creation); network wait
// = GoBlockNet → unblock; sync block = chan/select/mutex/cond → unblock; blocking syscall =
// GoSysBlock → exit; GC pause = wall-clock overlap of the goroutine's life with GC cycles;
// GC sweeping = sweeps it performed. Sleep and generic GoBlock count in no category.
#ifndef TRACETOOL_LIB_ANALYSIS_GOROUTINE_STATS_H_
#define TRACETOOL_LIB_ANALYSIS_GOROUTINE_STATS_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string_view>
#include <string>
#include <vector>

#include "lib/parser/event.h"
#include "lib/parser/flat_map.h"
#include "lib/parser/reader.h"

namespace tracetool::analysis {

struct ExecStats {
  int64_t exec_ns = 0;
  int64_t sched_wait_ns = 0;
  int64_t io_ns = 0;
  int64_t block_ns = 0;
  int64_t syscall_ns = 0;
  int64_t gc_ns = 0;
  int64_t sweep_ns = 0;
  int64_t total_ns = 0;

  ExecStats operator-(const ExecStats& o) const;
  ExecStats& operator+=(const ExecStats& o);  // group sums
};

struct RegionSummary {
  uint64_t task_id = 0;
  std::string name;
  bool has_start = false;  // false: the region began before the trace (or is synthetic)
  int64_t start_ns = 0;
  uint32_t start_stack = 0;
  bool has_end = false;    // false: still open at the end of the trace
  int64_t end_ns = 0;
  ExecStats stats;
};

struct GoroutineSummary {
  uint64_t id = 0;
  // Start function ("" if it never ran in the trace); points into the GoroutineStats that made it.
  std::string_view name;
  uint64_t pc = 0;    // start PC: the group key (0 if it never ran)
  int64_t creation_ns = 0;
  int64_t start_ns = 0;
  int64_t end_ns = 0;  // 0: did not end in the trace
  ExecStats stats;
  std::vector<RegionSummary> regions;  // sorted by start time
};

// The sums over the goroutines with one start PC (GoroutineStats::Keep::kGroups).
struct GoroutineGroupSums {
  uint64_t pc = 0;
  std::string_view name;  // start function, as GoroutineSummary::name
  uint64_t count = 0;
  ExecStats stats;
};

// IsSystemGoroutine(): Go's rule, "runtime.*" except runtime.main.
bool IsSystemGoroutine(std::string_view start_function);

class GoroutineStats {
 public:
  // What Finish() keeps: a page needs only part of it, and the rest costs memory per goroutine.
  enum class Keep : uint8_t {
    kAll,        // every goroutine's summary, with its regions
    kSummaries,  // every goroutine's summary, regions left empty (no per-region work)
    kGroups,     // only groups(): the sums per start PC; goroutines() stays empty
    kRegions,    // the goroutines that have regions (for Annotations), with them
  };
  // `reader` (borrowed) resolves stacks and strings.
  explicit GoroutineStats(const parser::Reader* reader, Keep keep = Keep::kAll);
  ~GoroutineStats();
  void OnEvent(const parser::Event& ev);
  // Finish() finalizes every goroutine at the last event's time. Call once, after the last event.
  void Finish();
  // All goroutines, ordered by id (with SetRetire(), all but the retired ones).
  const std::vector<GoroutineSummary>& goroutines() const { return result_; }
  // Keep::kGroups: by start PC.
  const std::vector<GoroutineGroupSums>& groups() const { return groups_; }

  // Hooks for a caller that cannot hold a summary per goroutine (the web server, 1 M+ goroutines).
  // Set them before the first event.
  //
  // SetRetire(): a goroutine that ends (GoEnd) without regions is finalized, handed to `fn` and
  // forgotten, so the state follows the live goroutines and goroutines() lists only the others.
  // The summary handed over is final except where Go's end-of-trace finalize still changes it:
  // if the trace ends inside a GC (open_gc_start() != 0 after Finish()), gc_ns grows by the last
  // event's time − max(open_gc_start(), creation_ns); a total_ns of 0 becomes last − creation_ns.
  void SetRetire(std::function<void(const GoroutineSummary&)> fn) { retire_ = std::move(fn); }
  // SetTracked(): only goroutines for which `fn(id)` holds are analysed. A goroutine's numbers
  // depend on its own events, the GCs and (for task regions inherited at creation) its creator's
  // open regions, so tracking a set that includes every goroutine with regions gives each tracked
  // goroutine the summary a full analysis would.
  void SetTracked(std::function<bool(uint64_t)> fn) { tracked_ = std::move(fn); }
  int64_t open_gc_start() const { return gc_start_; }

 private:
  // Per-goroutine "since" markers (0: unset, Go's convention) and open regions, cleared on
  // finalize. Go finalizes every goroutine once more at the end of the trace, so a goroutine that
  // ended still accrues GC time if the trace ends inside a GC, and one whose total was 0 gets
  // last-event − creation: kept, to match Go's pages.
  struct Pending {
    int64_t last_start = 0;
    int64_t block_net = 0;
    int64_t block_sync = 0;
    int64_t block_syscall = 0;
    int64_t block_sweep = 0;
    int64_t block_sched = 0;
    std::vector<RegionSummary> active;  // innermost last; stats = snapshot at its start
  };
  // Memory layout (the analysis is bound by cache misses, one or two per event): the live
  // goroutines are slots of one vector, indexed by id, so the state events touch stays as small
  // as the number of goroutines alive; at GoEnd a goroutine's summary moves out to ended_, which
  // only grows at its end. (A goroutine that GoStop finalized stays live: Go keeps counting it
  // if it runs again.)
  struct G {
    GoroutineSummary summary;
    Pending pending;
    bool used = false;
  };
  G* Find(uint64_t id);
  ExecStats Snapshot(const GoroutineSummary& s, const Pending& p) const;
  void Finalize(G* g, const parser::Event* trigger);

  const parser::Reader* const reader_;
  const Keep keep_;
  const bool regions_;  // track regions
  std::vector<G> slots_;                 // live goroutines; unused slots are on free_
  std::vector<uint32_t> free_;
  parser::FlatMap<uint32_t> index_;      // live goroutine id → slot + 1
  std::deque<GoroutineSummary> ended_;   // goroutines after GoEnd, finalized
  std::function<void(const GoroutineSummary&)> retire_;  // SetRetire()
  std::function<bool(uint64_t)> tracked_;                // SetTracked()
  int64_t last_ts_ = 0;
  int64_t gc_start_ = 0;  // 0: no GC in progress (Go's convention)
  std::vector<GoroutineSummary> result_;
  // Keep::kGroups: the sums so far of the goroutines that ended, by start PC, and what Go's
  // finalization at the end of the trace still adds to them: GC time if the trace ends inside a
  // GC (needs each creation time), the whole life for a total of 0.
  struct Group {
    GoroutineGroupSums sums;
    std::vector<int64_t> creations, zero_total_creations;
  };
  std::map<uint64_t, Group> by_pc_;
  std::vector<GoroutineGroupSums> groups_;
  // Retire(): a goroutine whose summary is final but for that end-of-trace finalization (ended:
  // after GoEnd, not yet finalized for the end).
  void Retire(GoroutineSummary&& s, bool ended);
  std::deque<std::string> names_;     // interned start functions (a deque: views stay valid)
  parser::FlatMap<uint32_t> name_of_fn_;  // reader string id → position in names_ + 1
};

}  // namespace tracetool::analysis

#endif  // TRACETOOL_LIB_ANALYSIS_GOROUTINE_STATS_H_
