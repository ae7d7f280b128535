#include "lib/analysis/report.h"

#include <algorithm>
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
    const ExecStats& s = g.stats;
    grp.stats.exec_ns += s.exec_ns;
    grp.stats.sched_wait_ns += s.sched_wait_ns;
    grp.stats.io_ns += s.io_ns;
    grp.stats.block_ns += s.block_ns;
    grp.stats.syscall_ns += s.syscall_ns;
    grp.stats.gc_ns += s.gc_ns;
    grp.stats.sweep_ns += s.sweep_ns;
    grp.stats.total_ns += s.total_ns;
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

// Aligned table: the first column left-aligned, the others right-aligned.
std::string Table(const std::vector<std::vector<std::string>>& rows) {
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
      if (i == 0) {
        out += r[i];
        if (r.size() > 1) out.append(pad, ' ');
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
    std::vector<std::string> r = {std::to_string(g->id), g->name.empty() ? "-" : g->name};
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

}  // namespace tracetool::analysis
