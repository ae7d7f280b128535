#include "lib/analysis/annotations.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <tuple>

namespace tracetool::analysis {

using parser::Event;
using parser::EventType;

namespace {
const double kLogDiv = std::log(std::pow(10.0, 1.0 / 5));
}

int DurationHistogram::Bucket(int64_t d) {
  return d > 0 ? static_cast<int>(std::log(static_cast<double>(d)) / kLogDiv) : 0;
}

int64_t DurationHistogram::BucketMin(int bucket) {
  return static_cast<int64_t>(std::exp(static_cast<double>(bucket) * kLogDiv));
}

void DurationHistogram::Add(int64_t d) {
  const int b = Bucket(d);
  buckets[b]++;
  // Go's bookkeeping: the minimum is also reset while the maximum is still 0.
  if (b < min_bucket || max_bucket == 0) min_bucket = b;
  if (b > max_bucket) max_bucket = b;
  count++;
}

TaskSummary* Annotations::Task(uint64_t id) {
  if (id == 0) return nullptr;
  TaskSummary& t = tasks_[id];
  t.id = id;
  return &t;
}

void Annotations::OnEvent(const Event& ev) {
  switch (ev.type) {
    case EventType::kUserTaskCreate:
    case EventType::kUserTaskEnd:
    case EventType::kUserLog: {
      if (ev.type == EventType::kUserLog) {
        logs_.push_back(LogEntry{ev.ts, ev.g, ev.args[0], std::string(reader_->String(ev.args[1])),
                                 std::string(ev.message)});
      }
      TaskSummary* t = Task(ev.args[0]);
      if (t == nullptr) break;
      t->goroutines.push_back(ev.g);
      task_last_event_[t->id] = ev.ts;
      if (ev.type == EventType::kUserTaskCreate) {
        t->name = std::string(reader_->String(ev.args[2]));
        t->has_create = true;
        t->first_ns = ev.ts;
        if (ev.args[1] != 0) {
          t->parent = ev.args[1];
          Task(ev.args[1])->children.push_back(t->id);
        }
      } else if (ev.type == EventType::kUserTaskEnd) {
        t->has_end = true;
        t->end_ns = ev.ts;
      } else {
        t->logs.push_back(logs_.back());
      }
      break;
    }
    default:
      break;
  }
}

void Annotations::Finish(const GoroutineStats& gstats, int64_t last_ns) {
  const int64_t first_ns = 0;  // times are relative to the first event
  // Regions, from the goroutine analysis, grouped by (name, top frame of the start).
  std::map<std::tuple<std::string, uint64_t, std::string, std::string, int64_t>, size_t> type_index;
  for (const GoroutineSummary& g : gstats.goroutines()) {
    for (const RegionSummary& r : g.regions) {
      RegionInstance inst;
      inst.g = g.id;
      inst.region = r;
      inst.first_ns = r.has_start ? r.start_ns : first_ns;
      inst.last_ns = r.has_end ? r.end_ns : last_ns;
      const size_t idx = instances_.size();
      instances_.push_back(inst);
      if (r.task_id != 0) {
        TaskSummary* t = Task(r.task_id);
        t->goroutines.push_back(g.id);
        t->regions.push_back(idx);
      }
      Frame f;
      if (r.has_start) {
        std::span<const parser::Frame> stk = reader_->Stack(r.start_stack);
        if (!stk.empty()) {
          f.pc = stk[0].pc;
          f.function = std::string(reader_->String(stk[0].fn));
          f.file = std::string(reader_->String(stk[0].file));
          f.line = static_cast<int64_t>(stk[0].line);
        }
      }
      auto key = std::make_tuple(r.name, f.pc, f.function, f.file, f.line);
      auto [it, inserted] = type_index.emplace(key, region_types_.size());
      if (inserted) region_types_.push_back(RegionType{r.name, f, {}, {}});
      RegionType& rt = region_types_[it->second];
      rt.instances.push_back(idx);
      rt.histogram.Add(inst.duration_ns());
    }
  }
  std::sort(region_types_.begin(), region_types_.end(), [](const RegionType& a, const RegionType& b) {
    return a.name != b.name ? a.name < b.name : a.frame.pc < b.frame.pc;
  });
  // Tasks: defaults for missing create/end, goroutine sets, regions by time.
  std::map<std::string, TaskType> types;
  for (auto& [id, t] : tasks_) {
    if (!t.has_create) t.first_ns = first_ns;
    if (!t.has_end) t.end_ns = last_ns;
    t.last_ns = t.end_ns;
    if (auto it = task_last_event_.find(id); it != task_last_event_.end() && it->second > t.last_ns) {
      t.last_ns = it->second;
    }
    std::sort(t.goroutines.begin(), t.goroutines.end());
    t.goroutines.erase(std::unique(t.goroutines.begin(), t.goroutines.end()), t.goroutines.end());
    std::stable_sort(t.regions.begin(), t.regions.end(), [&](size_t a, size_t b) {
      const RegionInstance& x = instances_[a];
      const RegionInstance& y = instances_[b];
      return x.first_ns != y.first_ns ? x.first_ns < y.first_ns : x.last_ns < y.last_ns;
    });
    TaskType& tt = types[t.name];
    tt.name = t.name;
    tt.count++;
    if (t.complete()) {
      tt.complete++;
      tt.histogram.Add(t.duration_ns());
      tt.durations.push_back(t.duration_ns());
    }
  }
  for (auto& [name, tt] : types) {
    std::sort(tt.durations.begin(), tt.durations.end());
    task_types_.push_back(std::move(tt));
  }
}

}  // namespace tracetool::analysis
