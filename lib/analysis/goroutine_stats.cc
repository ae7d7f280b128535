#include "lib/analysis/goroutine_stats.h"

#include <algorithm>

namespace tracetool::analysis {

using parser::Event;
using parser::EventType;

ExecStats& ExecStats::operator+=(const ExecStats& s) {
  exec_ns += s.exec_ns;
  sched_wait_ns += s.sched_wait_ns;
  io_ns += s.io_ns;
  block_ns += s.block_ns;
  syscall_ns += s.syscall_ns;
  gc_ns += s.gc_ns;
  sweep_ns += s.sweep_ns;
  total_ns += s.total_ns;
  return *this;
}

ExecStats ExecStats::operator-(const ExecStats& o) const {
  ExecStats r;
  r.exec_ns = exec_ns - o.exec_ns;
  r.sched_wait_ns = sched_wait_ns - o.sched_wait_ns;
  r.io_ns = io_ns - o.io_ns;
  r.block_ns = block_ns - o.block_ns;
  r.syscall_ns = syscall_ns - o.syscall_ns;
  r.gc_ns = gc_ns - o.gc_ns;
  r.sweep_ns = sweep_ns - o.sweep_ns;
  r.total_ns = total_ns - o.total_ns;
  return r;
}

bool IsSystemGoroutine(std::string_view fn) {
  return fn != "runtime.main" && fn.substr(0, 8) == "runtime.";
}

GoroutineStats::GoroutineStats(const parser::Reader* reader, Keep keep)
    : reader_(reader),
      keep_(keep),
      regions_(keep == Keep::kAll || keep == Keep::kRegions) {}
GoroutineStats::~GoroutineStats() = default;

GoroutineStats::G* GoroutineStats::Find(uint64_t id) {
  uint32_t* i = index_.Find(id);
  return i == nullptr ? nullptr : &slots_[*i - 1];
}

ExecStats GoroutineStats::Snapshot(const GoroutineSummary& s, const Pending& pending) const {
  ExecStats r = s.stats;
  const Pending* p = &pending;
  if (gc_start_ != 0) {
    r.gc_ns += last_ts_ - std::max(gc_start_, s.creation_ns);
  }
  if (s.stats.total_ns == 0) r.total_ns = last_ts_ - s.creation_ns;
  if (p->last_start != 0) r.exec_ns += last_ts_ - p->last_start;
  if (p->block_net != 0) r.io_ns += last_ts_ - p->block_net;
  if (p->block_sync != 0) r.block_ns += last_ts_ - p->block_sync;
  if (p->block_syscall != 0) r.syscall_ns += last_ts_ - p->block_syscall;
  if (p->block_sched != 0) r.sched_wait_ns += last_ts_ - p->block_sched;
  if (p->block_sweep != 0) r.sweep_ns += last_ts_ - p->block_sweep;
  return r;
}

void GoroutineStats::Finalize(G* g, const Event* trigger) {
  if (trigger != nullptr) g->summary.end_ns = trigger->ts;
  const ExecStats final_stats = Snapshot(g->summary, g->pending);
  g->summary.stats = final_stats;
  if (!IsSystemGoroutine(g->summary.name)) {
    for (RegionSummary& r : g->pending.active) {
      r.has_end = trigger != nullptr;
      if (trigger != nullptr) r.end_ns = trigger->ts;
      r.stats = final_stats - r.stats;
      g->summary.regions.push_back(std::move(r));
    }
  }
  g->pending = Pending();
}

void GoroutineStats::OnEvent(const Event& ev) {
  last_ts_ = ev.ts;
  switch (ev.type) {
    case EventType::kGoCreate: {
      if (tracked_ && !tracked_(ev.args[0])) break;
      uint32_t slot;
      if (free_.empty()) {
        slot = static_cast<uint32_t>(slots_.size());
        slots_.emplace_back();
      } else {
        slot = free_.back();
        free_.pop_back();
      }
      G* g = &slots_[slot];  // after the emplace: a pointer into slots_ stays valid below
      g->used = true;
      g->summary.id = ev.args[0];
      g->summary.creation_ns = ev.ts;
      g->pending.block_sched = ev.ts;
      // A goroutine created inside a task's region starts inside that task (spec §5.2).
      if (G* creator = Find(ev.g); regions_ && creator != nullptr &&
                                   !creator->pending.active.empty()) {
        const RegionSummary& s = creator->pending.active.back();
        if (s.task_id != 0) {
          RegionSummary r;
          r.task_id = s.task_id;
          r.has_start = true;
          r.start_ns = ev.ts;
          r.start_stack = ev.stack_id;
          g->pending.active.push_back(r);
        }
      }
      index_.Get(ev.args[0]) = slot + 1;
      break;
    }
    case EventType::kGoStart:
    case EventType::kGoStartLabel: {
      G* g = Find(ev.g);
      if (g == nullptr) break;
      if (g->summary.pc == 0) {
        std::span<const parser::Frame> stk = reader_->Stack(ev.stack_id);
        if (!stk.empty()) {
          g->summary.pc = stk[0].pc;
          // Interned: a few distinct start functions name a million goroutines.
          bool inserted = false;
          uint32_t& idx = name_of_fn_.Get(stk[0].fn, &inserted);
          if (inserted || idx == 0) {
            names_.emplace_back(reader_->String(stk[0].fn));
            idx = static_cast<uint32_t>(names_.size());
          }
          g->summary.name = names_[idx - 1];
        }
      }
      g->pending.last_start = ev.ts;
      if (g->summary.start_ns == 0) g->summary.start_ns = ev.ts;
      if (g->pending.block_sched != 0) {
        g->summary.stats.sched_wait_ns += ev.ts - g->pending.block_sched;
        g->pending.block_sched = 0;
      }
      break;
    }
    case EventType::kGoEnd:
      // Its id never comes back (the parser checks): the summary leaves the live slots.
      if (uint32_t* i = index_.Find(ev.g)) {
        const uint32_t slot = *i - 1;
        G* g = &slots_[slot];
        Finalize(g, &ev);
        if (retire_ && g->summary.regions.empty()) {
          retire_(g->summary);  // SetRetire(): handed over and forgotten
        } else {
          Retire(std::move(g->summary), /*ended=*/true);
        }
        *g = G();
        free_.push_back(slot);
        index_.Erase(ev.g);
      }
      break;
    case EventType::kGoStop:
      if (G* g = Find(ev.g)) Finalize(g, &ev);
      break;
    case EventType::kGoBlockSend:
    case EventType::kGoBlockRecv:
    case EventType::kGoBlockSelect:
    case EventType::kGoBlockSync:
    case EventType::kGoBlockCond:
    case EventType::kGoSched:
    case EventType::kGoPreempt:
    case EventType::kGoSleep:
    case EventType::kGoBlock:
    case EventType::kGoBlockNet:
    case EventType::kGoBlockGC:
    case EventType::kGoSysBlock: {
      G* g = Find(ev.g);
      if (g == nullptr) break;
      Pending& p = g->pending;
      g->summary.stats.exec_ns += ev.ts - p.last_start;
      p.last_start = 0;
      switch (ev.type) {
        case EventType::kGoSched:
        case EventType::kGoPreempt:
          p.block_sched = ev.ts;
          break;
        case EventType::kGoBlockNet:
          p.block_net = ev.ts;
          break;
        case EventType::kGoSysBlock:
          p.block_syscall = ev.ts;
          break;
        case EventType::kGoSleep:
        case EventType::kGoBlock:
        case EventType::kGoBlockGC:  // Go records the time but never uses it
          break;
        default:
          p.block_sync = ev.ts;
          break;
      }
      break;
    }
    case EventType::kGoUnblock: {
      G* g = Find(ev.args[0]);
      if (g == nullptr) break;
      Pending& p = g->pending;
      if (p.block_net != 0) {
        g->summary.stats.io_ns += ev.ts - p.block_net;
        p.block_net = 0;
      }
      if (p.block_sync != 0) {
        g->summary.stats.block_ns += ev.ts - p.block_sync;
        p.block_sync = 0;
      }
      p.block_sched = ev.ts;
      break;
    }
    case EventType::kGoSysExit: {
      G* g = Find(ev.g);
      if (g == nullptr) break;
      Pending& p = g->pending;
      if (p.block_syscall != 0) {
        g->summary.stats.syscall_ns += ev.ts - p.block_syscall;
        p.block_syscall = 0;
      }
      p.block_sched = ev.ts;
      break;
    }
    case EventType::kGCSweepStart:
      if (G* g = Find(ev.g)) g->pending.block_sweep = ev.ts;
      break;
    case EventType::kGCSweepDone:
      if (G* g = Find(ev.g); g != nullptr && g->pending.block_sweep != 0) {
        g->summary.stats.sweep_ns += ev.ts - g->pending.block_sweep;
        g->pending.block_sweep = 0;
      }
      break;
    case EventType::kGCStart:
      gc_start_ = ev.ts;
      break;
    case EventType::kGCDone: {
      // Every goroutine that has not ended accrues the GC's wall time (Go's definition).
      for (G& g : slots_) {
        GoroutineSummary& s = g.summary;
        if (!g.used || s.end_ns != 0) continue;
        s.stats.gc_ns += ev.ts - std::max(gc_start_, s.creation_ns);
      }
      gc_start_ = 0;
      break;
    }
    case EventType::kUserRegion: {
      if (!regions_) break;
      G* g = Find(ev.g);
      if (g == nullptr) break;
      const std::string_view name = reader_->String(ev.args[2]);
      if (ev.args[1] == 0) {
        RegionSummary r;
        r.task_id = ev.args[0];
        r.name = std::string(name);
        r.has_start = true;
        r.start_ns = ev.ts;
        r.start_stack = ev.stack_id;
        r.stats = Snapshot(g->summary, g->pending);
        g->pending.active.push_back(std::move(r));
      } else if (ev.args[1] == 1) {
        RegionSummary r;
        if (!g->pending.active.empty()) {
          r = std::move(g->pending.active.back());
          g->pending.active.pop_back();
        } else {
          r.task_id = ev.args[0];
          r.name = std::string(name);
        }
        r.stats = Snapshot(g->summary, g->pending) - r.stats;
        r.has_end = true;
        r.end_ns = ev.ts;
        g->summary.regions.push_back(std::move(r));
      }
      break;
    }
    default:
      break;
  }
}

void GoroutineStats::Retire(GoroutineSummary&& s, bool ended) {
  switch (keep_) {
    case Keep::kAll:
    case Keep::kSummaries:
      ended_.push_back(std::move(s));
      break;
    case Keep::kRegions:
      if (!s.regions.empty()) ended_.push_back(std::move(s));
      break;
    case Keep::kGroups: {
      Group& grp = by_pc_[s.pc];
      if (grp.sums.count++ == 0) {
        grp.sums.pc = s.pc;
        grp.sums.name = s.name;
      }
      grp.sums.stats += s.stats;
      if (ended) {
        grp.creations.push_back(s.creation_ns);
        if (s.stats.total_ns == 0) grp.zero_total_creations.push_back(s.creation_ns);
      }
      break;
    }
  }
}

void GoroutineStats::Finish() {
  // Go finalizes every goroutine once more at the end, ended or not.
  const Pending none;
  for (GoroutineSummary& s : ended_) s.stats = Snapshot(s, none);
  for (auto& [pc, grp] : by_pc_) {  // the same for the goroutines already summed
    for (int64_t c : grp.creations) {
      if (gc_start_ != 0) grp.sums.stats.gc_ns += last_ts_ - std::max(gc_start_, c);
    }
    for (int64_t c : grp.zero_total_creations) grp.sums.stats.total_ns += last_ts_ - c;
  }
  for (G& g : slots_) {
    if (!g.used) continue;
    Finalize(&g, nullptr);
    Retire(std::move(g.summary), /*ended=*/false);
  }
  std::vector<G>().swap(slots_);
  std::vector<uint32_t>().swap(free_);
  index_ = parser::FlatMap<uint32_t>();
  groups_.clear();
  for (auto& [pc, grp] : by_pc_) groups_.push_back(grp.sums);
  by_pc_.clear();
  // By id: sort the keys, then move each summary once (they are large).
  std::vector<std::pair<uint64_t, uint32_t>> order;
  order.reserve(ended_.size());
  for (size_t i = 0; i < ended_.size(); ++i) {
    order.emplace_back(ended_[i].id, static_cast<uint32_t>(i));
  }
  std::sort(order.begin(), order.end());
  result_.clear();
  result_.reserve(order.size());
  for (const auto& [id, i] : order) {
    GoroutineSummary& s = ended_[i];
    std::stable_sort(s.regions.begin(), s.regions.end(),
                     [](const RegionSummary& a, const RegionSummary& b) {
                       if (!a.has_start) return b.has_start;
                       if (!b.has_start) return false;
                       return a.start_ns < b.start_ns;
                     });
    result_.push_back(std::move(s));
  }
  std::deque<GoroutineSummary>().swap(ended_);
}

}  // namespace tracetool::analysis
