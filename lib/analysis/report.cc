#include "lib/analysis/report.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

namespace tracetool::analysis {

std::string GoDuration(int64_t ns) {
  if (ns == 0) return "0s";
  std::string sign;
  uint64_t u = static_cast<uint64_t>(ns);
  if (ns < 0) {
    sign = "-";
    u = 0 - u;
  }
  // Fractional part of v / unit with trailing zeros trimmed.
  auto frac = [](uint64_t v, uint64_t unit, int digits) {
    std::string s = std::to_string(v / unit);
    uint64_t f = v % unit;
    if (f != 0) {
      char buf[32];
      snprintf(buf, sizeof(buf), "%0*" PRIu64, digits, f);
      std::string fs(buf);
      while (!fs.empty() && fs.back() == '0') fs.pop_back();
      s += "." + fs;
    }
    return s;
  };
  if (u < 1000) return sign + std::to_string(u) + "ns";
  if (u < 1000000) return sign + frac(u, 1000, 3) + "\xc2\xb5s";  // µs
  if (u < 1000000000) return sign + frac(u, 1000000, 6) + "ms";
  std::string out = sign;
  const uint64_t h = u / 3600000000000ull;
  u -= h * 3600000000000ull;
  const uint64_t m = u / 60000000000ull;
  u -= m * 60000000000ull;
  if (h > 0) out += std::to_string(h) + "h";
  if (h > 0 || m > 0) out += std::to_string(m) + "m";
  return out + frac(u, 1000000000, 9) + "s";
}

std::vector<GoroutineGroup> GroupGoroutines(const std::vector<GoroutineSummary>& gs) {
  std::map<uint64_t, GoroutineGroup> by_pc;
  for (const GoroutineSummary& g : gs) {
    GoroutineGroup& grp = by_pc[g.pc];
    grp.pc = g.pc;
    grp.name = g.name;
    grp.count++;
    grp.stats += g.stats;
  }
  std::vector<GoroutineGroup> out;
  for (auto& [pc, g] : by_pc) out.push_back(std::move(g));
  std::stable_sort(out.begin(), out.end(), [](const GoroutineGroup& a, const GoroutineGroup& b) {
    return a.stats.exec_ns > b.stats.exec_ns;
  });
  return out;
}

std::optional<Column> ParseColumn(std::string_view n) {
  if (n == "total") return Column::kTotal;
  if (n == "exec") return Column::kExec;
  if (n == "sched") return Column::kSched;
  if (n == "io" || n == "net") return Column::kIO;
  if (n == "block" || n == "sync") return Column::kBlock;
  if (n == "syscall") return Column::kSyscall;
  if (n == "sweep") return Column::kSweep;
  if (n == "gc") return Column::kGC;
  if (n == "count") return Column::kCount;
  if (n == "id") return Column::kId;
  return std::nullopt;
}

namespace {

int64_t Value(const ExecStats& s, Column c) {
  switch (c) {
    case Column::kTotal: return s.total_ns;
    case Column::kExec: return s.exec_ns;
    case Column::kSched: return s.sched_wait_ns;
    case Column::kIO: return s.io_ns;
    case Column::kBlock: return s.block_ns;
    case Column::kSyscall: return s.syscall_ns;
    case Column::kSweep: return s.sweep_ns;
    case Column::kGC: return s.gc_ns;
    default: return 0;
  }
}

// Aligned table: the first `left` columns left-aligned (names), the others right-aligned (numbers).
std::string Table(const std::vector<std::vector<std::string>>& rows, size_t left = 1) {
  std::vector<size_t> width;
  auto display = [](const std::string& s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xc0) != 0x80;  // count UTF-8 code points (µ)
    return n;
  };
  for (const auto& r : rows) {
    if (width.size() < r.size()) width.resize(r.size());
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], display(r[i]));
  }
  std::string out;
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) {
      const size_t pad = width[i] - display(r[i]);
      if (i < left) {
        if (i > 0) out.append(2, ' ');
        out += r[i];
        if (i + 1 < r.size()) out.append(pad, ' ');
      } else {
        out.append(pad + 2, ' ');
        out += r[i];
      }
    }
    out += '\n';
  }
  return out;
}

std::vector<std::string> StatCells(const ExecStats& s) {
  return {GoDuration(s.total_ns),   GoDuration(s.exec_ns),    GoDuration(s.sched_wait_ns),
          GoDuration(s.io_ns),      GoDuration(s.block_ns),   GoDuration(s.syscall_ns),
          GoDuration(s.sweep_ns),   GoDuration(s.gc_ns)};
}

const std::vector<std::string> kStatHeader = {"TOTAL",      "EXECUTION", "SCHED WAIT",
                                              "NET WAIT",   "SYNC BLOCK", "SYSCALL",
                                              "GC SWEEP",   "GC PAUSE"};

nlohmann::ordered_json StatsJson(const ExecStats& s) {
  nlohmann::ordered_json j;
  j["total_ns"] = s.total_ns;
  j["exec_ns"] = s.exec_ns;
  j["sched_wait_ns"] = s.sched_wait_ns;
  j["net_wait_ns"] = s.io_ns;
  j["sync_block_ns"] = s.block_ns;
  j["syscall_ns"] = s.syscall_ns;
  j["gc_sweep_ns"] = s.sweep_ns;
  j["gc_pause_ns"] = s.gc_ns;
  return j;
}

std::string Hex(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
  return buf;
}

}  // namespace

std::string GroupsText(std::vector<GoroutineGroup> groups, Column sort_by) {
  if (sort_by != Column::kExec) {
    std::stable_sort(groups.begin(), groups.end(), [&](const GoroutineGroup& a, const GoroutineGroup& b) {
      if (sort_by == Column::kCount) return a.count > b.count;
      return Value(a.stats, sort_by) > Value(b.stats, sort_by);
    });
  }
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header = {"START FUNCTION", "PC", "N"};
  header.insert(header.end(), kStatHeader.begin(), kStatHeader.end());
  rows.push_back(header);
  for (const GoroutineGroup& g : groups) {
    std::vector<std::string> r = {g.name.empty() ? "(never ran in the trace)" : g.name, Hex(g.pc),
                                  std::to_string(g.count)};
    auto cells = StatCells(g.stats);
    r.insert(r.end(), cells.begin(), cells.end());
    rows.push_back(std::move(r));
  }
  return Table(rows);
}

std::string GroupsJson(const std::vector<GoroutineGroup>& groups) {
  nlohmann::ordered_json j;
  j["schema"] = "tracetool.goroutine_groups.v1";
  j["groups"] = nlohmann::ordered_json::array();
  for (const GoroutineGroup& g : groups) {
    nlohmann::ordered_json e;
    e["start_function"] = g.name;
    e["pc"] = g.pc;
    e["count"] = g.count;
    e["stats"] = StatsJson(g.stats);
    j["groups"].push_back(std::move(e));
  }
  return j.dump(2) + "\n";
}

std::vector<GoroutineSummary> SelectGroup(const std::vector<GoroutineSummary>& gs,
                                          std::string_view group) {
  std::vector<GoroutineSummary> out;
  for (const GoroutineSummary& g : gs) {
    if (group.empty() || g.name == group || Hex(g.pc) == group) out.push_back(g);
  }
  return out;
}

std::string GoroutinesText(const std::vector<GoroutineSummary>& gs, Column sort_by) {
  std::vector<const GoroutineSummary*> sorted;
  for (const GoroutineSummary& g : gs) sorted.push_back(&g);
  std::stable_sort(sorted.begin(), sorted.end(), [&](const GoroutineSummary* a, const GoroutineSummary* b) {
    if (sort_by == Column::kId || sort_by == Column::kCount) return a->id < b->id;
    return Value(a->stats, sort_by) > Value(b->stats, sort_by);
  });
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header = {"GOROUTINE", "START FUNCTION"};
  header.insert(header.end(), kStatHeader.begin(), kStatHeader.end());
  rows.push_back(header);
  for (const GoroutineSummary* g : sorted) {
    std::vector<std::string> r = {std::to_string(g->id),
                                  std::string(g->name.empty() ? "-" : g->name)};
    auto cells = StatCells(g->stats);
    r.insert(r.end(), cells.begin(), cells.end());
    rows.push_back(std::move(r));
  }
  return Table(rows);
}

std::string GoroutinesJson(const std::vector<GoroutineSummary>& gs) {
  nlohmann::ordered_json j;
  j["schema"] = "tracetool.goroutines.v1";
  j["goroutines"] = nlohmann::ordered_json::array();
  for (const GoroutineSummary& g : gs) {
    nlohmann::ordered_json e;
    e["id"] = g.id;
    e["start_function"] = g.name;
    e["pc"] = g.pc;
    e["creation_ns"] = g.creation_ns;
    e["start_ns"] = g.start_ns;
    e["end_ns"] = g.end_ns == 0 ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(g.end_ns);
    e["stats"] = StatsJson(g.stats);
    nlohmann::ordered_json regions = nlohmann::ordered_json::array();
    for (const RegionSummary& r : g.regions) {
      nlohmann::ordered_json rj;
      rj["task_id"] = r.task_id;
      rj["name"] = r.name;
      rj["start_ns"] = r.has_start ? nlohmann::ordered_json(r.start_ns) : nlohmann::ordered_json(nullptr);
      rj["end_ns"] = r.has_end ? nlohmann::ordered_json(r.end_ns) : nlohmann::ordered_json(nullptr);
      rj["stats"] = StatsJson(r.stats);
      regions.push_back(std::move(rj));
    }
    e["regions"] = std::move(regions);
    j["goroutines"].push_back(std::move(e));
  }
  return j.dump(2) + "\n";
}

int64_t Percentile(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  if (rank == 0) rank = 1;
  return sorted[std::min(rank, sorted.size()) - 1];
}

namespace {

std::string Location(const Frame& f) {
  if (f.function.empty() && f.pc == 0) return "(start not in trace)";
  return f.function + " " + f.file + ":" + std::to_string(f.line);
}

nlohmann::ordered_json HistogramJson(const DurationHistogram& h) {
  nlohmann::ordered_json j = nlohmann::ordered_json::array();
  for (const auto& [b, n] : h.buckets) {
    nlohmann::ordered_json e;
    e["min_ns"] = DurationHistogram::BucketMin(b);
    e["max_ns"] = DurationHistogram::BucketMin(b + 1);
    e["count"] = n;
    j.push_back(std::move(e));
  }
  return j;
}

nlohmann::ordered_json Nullable(bool has, int64_t v) {
  return has ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr);
}

std::vector<int64_t> SortedDurations(const Annotations& a, const std::vector<size_t>& idx) {
  std::vector<int64_t> d;
  for (size_t i : idx) d.push_back(a.region_instances()[i].duration_ns());
  std::sort(d.begin(), d.end());
  return d;
}

std::vector<std::string> PercentileCells(const std::vector<int64_t>& d) {
  if (d.empty()) return {"-", "-", "-", "-", "-"};
  return {GoDuration(d.front()), GoDuration(Percentile(d, 50)), GoDuration(Percentile(d, 90)),
          GoDuration(Percentile(d, 99)), GoDuration(d.back())};
}

nlohmann::ordered_json PercentileJson(const std::vector<int64_t>& d) {
  nlohmann::ordered_json j;
  if (d.empty()) return nullptr;
  j["min_ns"] = d.front();
  j["p50_ns"] = Percentile(d, 50);
  j["p90_ns"] = Percentile(d, 90);
  j["p99_ns"] = Percentile(d, 99);
  j["max_ns"] = d.back();
  return j;
}

std::vector<const TaskSummary*> TasksOfType(const Annotations& a, std::string_view type) {
  std::vector<const TaskSummary*> out;
  for (const auto& [id, t] : a.tasks()) {
    if (type == "all" || t.name == type) out.push_back(&t);
  }
  std::stable_sort(out.begin(), out.end(), [](const TaskSummary* x, const TaskSummary* y) {
    return x->duration_ns() < y->duration_ns();
  });
  return out;
}

// The start-location PC of the region type that instance i belongs to.
uint64_t RegionPC(const Annotations& a, size_t i) {
  for (const RegionType& rt : a.region_types()) {
    if (std::find(rt.instances.begin(), rt.instances.end(), i) != rt.instances.end()) return rt.frame.pc;
  }
  return 0;
}

std::vector<size_t> RegionsOfType(const Annotations& a, std::string_view type) {
  std::vector<size_t> out;
  for (const RegionType& rt : a.region_types()) {
    if (type == "all" || rt.name == type) out.insert(out.end(), rt.instances.begin(), rt.instances.end());
  }
  return out;
}

bool LogMatches(const LogEntry& l, std::string_view text) {
  return text.empty() || l.category.find(text) != std::string::npos ||
         l.message.find(text) != std::string::npos;
}

}  // namespace

std::string TaskTypesText(const Annotations& a) {
  std::vector<std::vector<std::string>> rows = {
      {"TASK TYPE", "COUNT", "COMPLETE", "MIN", "P50", "P90", "P99", "MAX"}};
  for (const TaskType& t : a.task_types()) {
    std::vector<std::string> r = {t.name.empty() ? "(created before the trace)" : t.name,
                                  std::to_string(t.count), std::to_string(t.complete)};
    auto p = PercentileCells(t.durations);
    r.insert(r.end(), p.begin(), p.end());
    rows.push_back(std::move(r));
  }
  return Table(rows);
}

std::string TaskTypesJson(const Annotations& a) {
  nlohmann::ordered_json j;
  j["schema"] = "tracetool.task_types.v1";
  j["task_types"] = nlohmann::ordered_json::array();
  for (const TaskType& t : a.task_types()) {
    nlohmann::ordered_json e;
    e["type"] = t.name;
    e["count"] = t.count;
    e["complete"] = t.complete;
    e["duration"] = PercentileJson(t.durations);
    e["histogram"] = HistogramJson(t.histogram);
    j["task_types"].push_back(std::move(e));
  }
  return j.dump(2) + "\n";
}

std::string TasksText(const Annotations& a, std::string_view type) {
  std::vector<std::vector<std::string>> rows = {
      {"TASK", "TYPE", "PARENT", "START", "DURATION", "COMPLETE", "GOROUTINES", "REGIONS", "LOGS"}};
  for (const TaskSummary* t : TasksOfType(a, type)) {
    rows.push_back({std::to_string(t->id), t->name, t->parent ? std::to_string(t->parent) : "-",
                    GoDuration(t->first_ns), GoDuration(t->duration_ns()),
                    t->complete() ? "yes" : "no", std::to_string(t->goroutines.size()),
                    std::to_string(t->regions.size()), std::to_string(t->logs.size())});
  }
  return Table(rows);
}

std::string TasksJson(const Annotations& a, std::string_view type) {
  nlohmann::ordered_json j;
  j["schema"] = "tracetool.tasks.v1";
  j["tasks"] = nlohmann::ordered_json::array();
  for (const TaskSummary* t : TasksOfType(a, type)) {
    nlohmann::ordered_json e;
    e["id"] = t->id;
    e["type"] = t->name;
    e["parent"] = t->parent;
    e["create_ns"] = Nullable(t->has_create, t->first_ns);
    e["end_ns"] = Nullable(t->has_end, t->end_ns);
    e["duration_ns"] = t->duration_ns();
    e["complete"] = t->complete();
    e["goroutines"] = t->goroutines;
    e["children"] = t->children;
    nlohmann::ordered_json logs = nlohmann::ordered_json::array();
    for (const LogEntry& l : t->logs) {
      logs.push_back({{"ts_ns", l.ts_ns}, {"g", l.g}, {"category", l.category}, {"message", l.message}});
    }
    e["logs"] = std::move(logs);
    nlohmann::ordered_json regions = nlohmann::ordered_json::array();
    for (size_t i : t->regions) {
      const RegionInstance& r = a.region_instances()[i];
      regions.push_back({{"g", r.g}, {"name", r.region.name},
                         {"start_ns", Nullable(r.region.has_start, r.region.start_ns)},
                         {"end_ns", Nullable(r.region.has_end, r.region.end_ns)}});
    }
    e["regions"] = std::move(regions);
    j["tasks"].push_back(std::move(e));
  }
  return j.dump(2) + "\n";
}

std::string RegionTypesText(const Annotations& a) {
  std::vector<std::vector<std::string>> rows = {
      {"REGION TYPE", "START LOCATION", "COUNT", "MIN", "P50", "P90", "P99", "MAX"}};
  for (const RegionType& rt : a.region_types()) {
    std::vector<std::string> r = {rt.name.empty() ? "(task's goroutine)" : rt.name,
                                  Location(rt.frame), std::to_string(rt.instances.size())};
    auto p = PercentileCells(SortedDurations(a, rt.instances));
    r.insert(r.end(), p.begin(), p.end());
    rows.push_back(std::move(r));
  }
  return Table(rows, 2);
}

std::string RegionTypesJson(const Annotations& a) {
  nlohmann::ordered_json j;
  j["schema"] = "tracetool.region_types.v1";
  j["region_types"] = nlohmann::ordered_json::array();
  for (const RegionType& rt : a.region_types()) {
    nlohmann::ordered_json e;
    e["type"] = rt.name;
    e["pc"] = rt.frame.pc;
    e["function"] = rt.frame.function;
    e["file"] = rt.frame.file;
    e["line"] = rt.frame.line;
    e["count"] = rt.instances.size();
    e["duration"] = PercentileJson(SortedDurations(a, rt.instances));
    e["histogram"] = HistogramJson(rt.histogram);
    j["region_types"].push_back(std::move(e));
  }
  return j.dump(2) + "\n";
}

std::string RegionsText(const Annotations& a, std::string_view type, Column sort_by) {
  std::vector<size_t> idx = RegionsOfType(a, type);
  std::stable_sort(idx.begin(), idx.end(), [&](size_t x, size_t y) {
    const RegionInstance& rx = a.region_instances()[x];
    const RegionInstance& ry = a.region_instances()[y];
    if (sort_by == Column::kId || sort_by == Column::kCount) return rx.g < ry.g;
    return Value(rx.region.stats, sort_by) > Value(ry.region.stats, sort_by);
  });
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header = {"REGION", "GOROUTINE", "TASK", "START", "DURATION"};
  header.insert(header.end(), kStatHeader.begin(), kStatHeader.end());
  rows.push_back(header);
  for (size_t i : idx) {
    const RegionInstance& r = a.region_instances()[i];
    std::vector<std::string> row = {r.region.name, std::to_string(r.g),
                                    r.region.task_id ? std::to_string(r.region.task_id) : "-",
                                    r.region.has_start ? GoDuration(r.region.start_ns) : "-",
                                    GoDuration(r.duration_ns())};
    auto cells = StatCells(r.region.stats);
    row.insert(row.end(), cells.begin(), cells.end());
    rows.push_back(std::move(row));
  }
  return Table(rows);
}

std::string RegionsJson(const Annotations& a, std::string_view type) {
  nlohmann::ordered_json j;
  j["schema"] = "tracetool.regions.v1";
  j["regions"] = nlohmann::ordered_json::array();
  for (size_t i : RegionsOfType(a, type)) {
    const RegionInstance& r = a.region_instances()[i];
    nlohmann::ordered_json e;
    e["type"] = r.region.name;
    e["pc"] = RegionPC(a, i);
    e["g"] = r.g;
    e["task_id"] = r.region.task_id;
    e["start_ns"] = Nullable(r.region.has_start, r.region.start_ns);
    e["end_ns"] = Nullable(r.region.has_end, r.region.end_ns);
    e["duration_ns"] = r.duration_ns();
    e["stats"] = StatsJson(r.region.stats);
    j["regions"].push_back(std::move(e));
  }
  return j.dump(2) + "\n";
}

std::string LogsText(const Annotations& a, std::string_view text) {
  std::vector<std::vector<std::string>> rows = {{"TIME", "GOROUTINE", "TASK", "CATEGORY", "MESSAGE"}};
  for (const LogEntry& l : a.logs()) {
    if (!LogMatches(l, text)) continue;
    rows.push_back({GoDuration(l.ts_ns), std::to_string(l.g), l.task_id ? std::to_string(l.task_id) : "-",
                    l.category, l.message});
  }
  // Times and ids right-aligned, the text columns left-aligned after them.
  std::string out;
  for (auto& r : rows) std::rotate(r.begin(), r.begin() + 3, r.end());
  out = Table(rows, 2);
  return out;
}

std::string LogsJson(const Annotations& a, std::string_view text) {
  nlohmann::ordered_json j;
  j["schema"] = "tracetool.logs.v1";
  j["logs"] = nlohmann::ordered_json::array();
  for (const LogEntry& l : a.logs()) {
    if (!LogMatches(l, text)) continue;
    j["logs"].push_back({{"ts_ns", l.ts_ns}, {"g", l.g}, {"task_id", l.task_id},
                         {"category", l.category}, {"message", l.message}});
  }
  return j.dump(2) + "\n";
}

std::optional<int64_t> ParseGoDuration(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  if (i == 0) return std::nullopt;
  double v = 0;
  try {
    v = std::stod(std::string(s.substr(0, i)));
  } catch (...) {
    return std::nullopt;
  }
  const std::string_view unit = s.substr(i);
  double mult;
  if (unit.empty() || unit == "ns") {
    mult = 1;
  } else if (unit == "us" || unit == "\xc2\xb5s") {
    mult = 1e3;
  } else if (unit == "ms") {
    mult = 1e6;
  } else if (unit == "s") {
    mult = 1e9;
  } else if (unit == "m") {
    mult = 60e9;
  } else if (unit == "h") {
    mult = 3600e9;
  } else {
    return std::nullopt;
  }
  const double ns = v * mult;
  if (!(ns >= 1) || ns > 9.2e18) return std::nullopt;
  return static_cast<int64_t>(std::llround(ns));
}

std::string UtilFlagsString(uint32_t flags) {
  std::string out;
  auto add = [&](uint32_t bit, const char* name) {
    if (!(flags & bit)) return;
    if (!out.empty()) out += "|";
    out += name;
  };
  add(UtilFlags::kPerProc, "perProc");
  add(UtilFlags::kSTW, "stw");
  add(UtilFlags::kBackground, "background");
  add(UtilFlags::kAssist, "assist");
  add(UtilFlags::kSweep, "sweep");
  return out.empty() ? "none" : out;
}

namespace {
std::string Percent(double u) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%.4f%%", u * 100);
  return buf;
}
}  // namespace

std::string MMUText(const MMUCurve& curve, uint32_t flags, const std::vector<int64_t>& windows) {
  if (curve.empty()) return "no mutator utilization data (the trace has no Gomaxprocs event)\n";
  MMUPlot plot = PlotMMU(curve);
  std::string out = "Minimum mutator utilization, counting " + UtilFlagsString(flags) +
                    ((flags & UtilFlags::kPerProc) ? " (per P)" : " (whole program)") + "\n";
  std::vector<std::vector<std::string>> rows = {{"WINDOW", "MMU"}};
  for (const auto& [w, m] : plot.curve) rows.push_back({GoDuration(w), Percent(m)});
  out += Table(rows);
  for (int64_t w : windows) {
    out += "\nWorst " + GoDuration(w) + " windows:\n";
    std::vector<std::vector<std::string>> wr = {{"START", "END", "MUTATOR UTILIZATION"}};
    for (const UtilWindow& u : curve.Examples(w, 10)) {
      wr.push_back({GoDuration(u.time), GoDuration(u.time + w), Percent(u.mutator_util)});
    }
    out += Table(wr);
  }
  return out;
}

std::string MMUJson(const MMUCurve& curve, uint32_t flags, const std::vector<int64_t>& windows) {
  nlohmann::ordered_json j;
  j["schema"] = "tracetool.mmu.v1";
  j["flags"] = UtilFlagsString(flags);
  MMUPlot plot = PlotMMU(curve);
  j["x_min_ns"] = plot.x_min;
  j["x_max_ns"] = plot.x_max;
  j["curve"] = nlohmann::ordered_json::array();
  for (const auto& [w, m] : plot.curve) j["curve"].push_back({w, m});
  j["worst"] = nlohmann::ordered_json::array();
  for (int64_t w : windows) {
    nlohmann::ordered_json e;
    e["window_ns"] = w;
    e["windows"] = nlohmann::ordered_json::array();
    if (!curve.empty()) {
      for (const UtilWindow& u : curve.Examples(w, 10)) {
        e["windows"].push_back({{"time_ns", u.time}, {"mutator_util", u.mutator_util}});
      }
    }
    j["worst"].push_back(std::move(e));
  }
  return j.dump(2) + "\n";
}

namespace {
std::vector<std::string> LatencyCells(const LatencyGroup& g) {
  const LatencyHistogram& h = g.hist;
  if (h.count() == 0) return {"0", "-", "-", "-", "-", "-", "0s", "0", "0", "0"};
  return {std::to_string(h.count()),          GoDuration(h.min_ns()),
          GoDuration(h.Quantile(0.5)),        GoDuration(h.Quantile(0.9)),
          GoDuration(h.Quantile(0.99)),       GoDuration(h.max_ns()),
          GoDuration(h.sum_ns()),             std::to_string(g.after_wakeup),
          std::to_string(g.after_yield),      std::to_string(g.after_syscall)};
}

nlohmann::ordered_json LatencyJson(const LatencyGroup& g) {
  const LatencyHistogram& h = g.hist;
  nlohmann::ordered_json j;
  j["start_function"] = g.name;
  j["pc"] = g.pc;
  j["count"] = h.count();
  j["total_ns"] = h.sum_ns();
  j["min_ns"] = h.min_ns();
  j["p50_ns"] = h.Quantile(0.5);
  j["p90_ns"] = h.Quantile(0.9);
  j["p99_ns"] = h.Quantile(0.99);
  j["max_ns"] = h.max_ns();
  j["after_wakeup"] = g.after_wakeup;
  j["after_yield"] = g.after_yield;
  j["after_syscall"] = g.after_syscall;
  j["histogram"] = nlohmann::ordered_json::array();
  for (const auto& b : h.Buckets()) {
    j["histogram"].push_back({{"min_ns", b[0]}, {"max_ns", b[1]}, {"count", b[2]}});
  }
  return j;
}
}  // namespace

std::string SchedLatencyText(const SchedLatency& s) {
  std::vector<std::vector<std::string>> rows = {{"START FUNCTION", "COUNT", "MIN", "P50", "P90",
                                                 "P99", "MAX", "TOTAL", "AFTER WAKEUP",
                                                 "AFTER YIELD", "AFTER SYSCALL"}};
  auto add = [&](const std::string& name, const LatencyGroup& g) {
    std::vector<std::string> r = {name};
    auto c = LatencyCells(g);
    r.insert(r.end(), c.begin(), c.end());
    rows.push_back(std::move(r));
  };
  add("(all goroutines)", s.total());
  for (const LatencyGroup& g : s.groups()) add(g.name.empty() ? "(unknown)" : g.name, g);
  return "Scheduler latency: time runnable before running (percentiles within 1.6%)\n" + Table(rows);
}

std::string SchedLatencyJson(const SchedLatency& s) {
  nlohmann::ordered_json j;
  j["schema"] = "tracetool.sched_latency.v1";
  j["total"] = LatencyJson(s.total());
  j["groups"] = nlohmann::ordered_json::array();
  for (const LatencyGroup& g : s.groups()) j["groups"].push_back(LatencyJson(g));
  return j.dump(2) + "\n";
}

}  // namespace tracetool::analysis
