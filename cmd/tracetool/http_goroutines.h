// GoroutineDigest: what the web UI's goroutine pages need, without a summary per goroutine.
//
// A trace of 1.3 M goroutines made GoroutineStats hold ~220 bytes for each of them (285 MB for
// the 120 MB benchmark trace) only so that the groups page could sum them and a group's page list
// them. The digest instead takes each goroutine as it ends (GoroutineStats::SetRetire), adds it
// to its group's sums and keeps 24 bytes of it: id, creation time (for Go's end-of-trace GC
// rule) and group. A group's page is computed when asked for (GroupDetailJson): one more read of
// the trace that analyses only that group's goroutines, exactly as the full analysis would (the
// tracked set includes every goroutine with regions; see SetTracked). Rejected: keeping the
// summaries compressed in memory (still O(goroutines), ~60 bytes each) and keeping per-goroutine
// event offsets (the v1 format orders events across per-P batches, so a goroutine's events
// cannot be read without ordering all of them).
//
//   GoroutineDigest d;
//   d.Attach(&stats);            // before the first event
//   ... stats.OnEvent(ev) ...; stats.Finish();
//   d.Finish(stats, last_ts);    // then d is read-only (safe to share between threads)
#ifndef TRACETOOL_CMD_TRACETOOL_HTTP_GOROUTINES_H_
#define TRACETOOL_CMD_TRACETOOL_HTTP_GOROUTINES_H_

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lib/analysis/goroutine_stats.h"
#include "lib/analysis/report.h"
#include "lib/parser/status.h"

namespace tracetool::cli {

class GoroutineDigest {
 public:
  // Attach() sets `stats`' retire hook; `stats` must outlive the pass.
  void Attach(analysis::GoroutineStats* stats);
  // Finish(): after stats.Finish(), folds in the goroutines it still lists (live at the end, or
  // with regions) and applies Go's end-of-trace rules to the retired ones.
  void Finish(const analysis::GoroutineStats& stats, int64_t last_ts);

  // GroupGoroutines()'s groups, in its order.
  const std::vector<analysis::GoroutineGroup>& groups() const { return groups_; }
  // The start function of goroutine g ("" if unknown or it never ran).
  std::string_view Name(uint64_t g) const;
  // Calls f(id, start function) for every goroutine, in id order, until f returns false.
  template <typename F>
  void ForEach(F&& f) const {
    for (const Rec& r : recs_) {
      if (!f(r.id, std::string_view(groups_[r.group].name))) return;
    }
  }
  // Ids (sorted) of the goroutines in `group`, by SelectGroup()'s rule: "" for all, else a start
  // function or a start PC in hex ("0x…").
  std::vector<uint64_t> Select(std::string_view group) const;
  // Ids (sorted) of the goroutines with regions (the tracked set of GroupDetailJson needs them).
  const std::vector<uint64_t>& with_regions() const { return with_regions_; }
  size_t goroutine_count() const { return recs_.size(); }
  size_t MemoryBytes() const;

 private:
  struct Rec {
    uint64_t id;
    int64_t creation_ns;
    uint32_t group;         // index into groups_
    uint32_t zero_total;    // retired with total_ns == 0 (Go sets last − creation at the end)
  };
  uint32_t GroupOf(const analysis::GoroutineSummary& s);
  void Add(const analysis::GoroutineSummary& s, bool retired);

  std::vector<Rec> recs_;  // in retirement order while reading; by id after Finish()
  std::vector<analysis::GoroutineGroup> groups_;  // by first sight; GroupGoroutines' order after
  std::unordered_map<uint64_t, uint32_t> group_of_pc_;
  std::vector<uint64_t> with_regions_;
};

// GroupDetailJson(): GoroutinesJson() of the goroutines `ids` (sorted), by reading the trace at
// `path` again and analysing only those and `with_regions` (sorted). Errors name the trace.
Status GroupDetailJson(const std::string& path, const std::vector<uint64_t>& ids,
                       const std::vector<uint64_t>& with_regions, std::string* out);

}  // namespace tracetool::cli

#endif  // TRACETOOL_CMD_TRACETOOL_HTTP_GOROUTINES_H_
