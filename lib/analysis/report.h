// Report: renders analysis results as aligned text tables or as JSON (stable schemas, documented
// in README.md "JSON output"). Pure functions of the results; no I/O.
#ifndef TRACETOOL_LIB_ANALYSIS_REPORT_H_
#define TRACETOOL_LIB_ANALYSIS_REPORT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/analysis/annotations.h"
#include "lib/analysis/goroutine_stats.h"
#include "lib/analysis/mmu.h"
#include "lib/analysis/sched_latency.h"

namespace tracetool::analysis {

// GoDuration(1234567) == "1.234567ms": Go's time.Duration.String(), as Go's pages print times.
std::string GoDuration(int64_t ns);

// A group of goroutines with the same start PC (Go's goroutine page grouping).
struct GoroutineGroup {
  uint64_t pc = 0;
  std::string name;
  uint64_t count = 0;
  ExecStats stats;  // sums over the group
};

// GroupGoroutines() groups by start PC, sorted by execution time, largest first (Go's order).
std::vector<GoroutineGroup> GroupGoroutines(const std::vector<GoroutineSummary>& gs);

// Columns that tables sort by: "total", "exec", "sched", "io", "block", "syscall", "sweep", "gc",
// "count" (groups), "id" (goroutines). nullopt for an unknown name.
enum class Column : uint8_t { kTotal, kExec, kSched, kIO, kBlock, kSyscall, kSweep, kGC, kCount, kId };
std::optional<Column> ParseColumn(std::string_view name);

std::string GroupsText(std::vector<GoroutineGroup> groups, Column sort_by);
std::string GroupsJson(const std::vector<GoroutineGroup>& groups);
// GoroutinesText/Json: the goroutines of one group (all when `group` is empty). `group` matches a
// start function name or a start PC in hex ("0x4a5b60").
std::string GoroutinesText(const std::vector<GoroutineSummary>& gs, Column sort_by);
std::string GoroutinesJson(const std::vector<GoroutineSummary>& gs);
std::vector<GoroutineSummary> SelectGroup(const std::vector<GoroutineSummary>& gs,
                                          std::string_view group);

// Percentile(sorted, 90): nearest-rank percentile of sorted values (0 if empty).
int64_t Percentile(const std::vector<int64_t>& sorted, double p);

// -tasks: task types (count, complete, duration percentiles of complete tasks, histogram).
std::string TaskTypesText(const Annotations& a);
std::string TaskTypesJson(const Annotations& a);
// -tasks=TYPE: the tasks of one type ("all": every task), shortest first as Go lists them.
std::string TasksText(const Annotations& a, std::string_view type);
std::string TasksJson(const Annotations& a, std::string_view type);
// -regions: region types by name and start location; -regions=TYPE: their instances.
std::string RegionTypesText(const Annotations& a);
std::string RegionTypesJson(const Annotations& a);
std::string RegionsText(const Annotations& a, std::string_view type, Column sort_by);
std::string RegionsJson(const Annotations& a, std::string_view type);
// -logs[=TEXT]: user logs in time order, optionally only those whose category or message
// contains TEXT.
std::string LogsText(const Annotations& a, std::string_view text);
std::string LogsJson(const Annotations& a, std::string_view text);

// ParseGoDuration("10ms") == 10'000'000 (units ns, us, µs, ms, s, m, h; decimals allowed; a bare
// number is nanoseconds). nullopt if malformed or not positive.
std::optional<int64_t> ParseGoDuration(std::string_view s);
// UtilFlagsString(flags) == "stw|background|assist" (Go's words).
std::string UtilFlagsString(uint32_t flags);

// -mmu: the MMU curve and, for each of `windows`, the 10 worst windows.
std::string MMUText(const MMUCurve& curve, uint32_t flags, const std::vector<int64_t>& windows);
std::string MMUJson(const MMUCurve& curve, uint32_t flags, const std::vector<int64_t>& windows);

// -schedlat: scheduler latency distribution, overall and per goroutine group.
std::string SchedLatencyText(const SchedLatency& s);
std::string SchedLatencyJson(const SchedLatency& s);

}  // namespace tracetool::analysis

#endif  // TRACETOOL_LIB_ANALYSIS_REPORT_H_
