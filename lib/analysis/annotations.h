// Annotations: user tasks, regions and logs (runtime/trace's NewTask, StartRegion, Log), as Go
// 1.19's `go tool trace` pages compute them (cmd/trace/annotations.go; spec §8.1).
//
//   GoroutineStats gstats(reader, GoroutineStats::Keep::kRegions); Annotations ann(reader);
//   for each event: gstats.OnEvent(ev); ann.OnEvent(ev);
//   gstats.Finish(); ann.Finish(gstats, last_ts);
//
// Regions come from the goroutine analysis (Keep::kRegions is enough: only goroutine ids and
// regions are read); their per-instance execution statistics are the difference of the
// goroutine's statistics at their end and start. Tasks and logs are kept per task; memory grows
// with the number of annotation events, not with the trace.
#ifndef TRACETOOL_LIB_ANALYSIS_ANNOTATIONS_H_
#define TRACETOOL_LIB_ANALYSIS_ANNOTATIONS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "lib/analysis/goroutine_stats.h"
#include "lib/parser/event.h"
#include "lib/parser/reader.h"

namespace tracetool::analysis {

// Go's duration histogram: five buckets per decade, bucket(d) = ⌊ln d / ln 10^0.2⌋ (0 for d ≤ 0).
struct DurationHistogram {
  std::map<int, uint64_t> buckets;  // bucket → count
  uint64_t count = 0;
  int min_bucket = 0, max_bucket = 0;  // Go's bookkeeping, quirk included (see .cc)
  void Add(int64_t d_ns);
  static int Bucket(int64_t d_ns);
  static int64_t BucketMin(int bucket);  // lower bound in ns (truncated, as Go)
};

struct LogEntry {
  int64_t ts_ns = 0;
  uint64_t g = 0;
  uint64_t task_id = 0;
  std::string category;
  std::string message;
};

struct TaskSummary {
  uint64_t id = 0;
  std::string name;       // its type ("" if the creation is not in the trace)
  uint64_t parent = 0;
  bool has_create = false, has_end = false;
  int64_t first_ns = 0;   // creation, or the trace's first event
  int64_t end_ns = 0;     // end, or the trace's last event
  int64_t last_ns = 0;    // max(end_ns, its last event)
  std::vector<uint64_t> goroutines;  // sorted
  std::vector<LogEntry> logs;
  std::vector<size_t> regions;       // indexes into Annotations::region_instances()
  std::vector<uint64_t> children;
  bool complete() const { return has_create && has_end; }
  int64_t duration_ns() const { return end_ns - first_ns; }
};

struct Frame {
  uint64_t pc = 0;
  std::string function, file;
  int64_t line = 0;
};

struct RegionInstance {
  uint64_t g = 0;
  RegionSummary region;
  int64_t first_ns = 0;  // start, or the trace's first event
  int64_t last_ns = 0;   // end, or the trace's last event
  int64_t duration_ns() const { return last_ns - first_ns; }
};

// A region type: its name and the top frame of its start (Go's regionTypeID).
struct RegionType {
  std::string name;
  Frame frame;
  std::vector<size_t> instances;  // indexes into region_instances()
  DurationHistogram histogram;
};

struct TaskType {
  std::string name;
  uint64_t count = 0;
  uint64_t complete = 0;
  DurationHistogram histogram;  // complete tasks only
  std::vector<int64_t> durations;  // complete tasks, sorted
};

class Annotations {
 public:
  explicit Annotations(const parser::Reader* reader) : reader_(reader) {}
  void OnEvent(const parser::Event& ev);
  // Finish() joins the goroutine analysis' regions. `last_ns`: the trace's last event time.
  void Finish(const GoroutineStats& gstats, int64_t last_ns);

  const std::map<uint64_t, TaskSummary>& tasks() const { return tasks_; }
  const std::vector<TaskType>& task_types() const { return task_types_; }        // by name
  const std::vector<RegionType>& region_types() const { return region_types_; }  // by name, PC
  const std::vector<RegionInstance>& region_instances() const { return instances_; }
  const std::vector<LogEntry>& logs() const { return logs_; }  // all logs, in time order

 private:
  TaskSummary* Task(uint64_t id);

  const parser::Reader* const reader_;
  std::map<uint64_t, TaskSummary> tasks_;
  std::map<uint64_t, int64_t> task_last_event_;
  std::vector<TaskType> task_types_;
  std::vector<RegionType> region_types_;
  std::vector<RegionInstance> instances_;
  std::vector<LogEntry> logs_;
};

}  // namespace tracetool::analysis

#endif  // TRACETOOL_LIB_ANALYSIS_ANNOTATIONS_H_
