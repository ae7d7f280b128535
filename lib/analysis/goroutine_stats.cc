#include "lib/analysis/goroutine_stats.h"

#include <algorithm>

namespace tracetool::analysis {

using parser::Event;
using parser::EventType;

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

GoroutineStats::GoroutineStats(const parser::Reader* reader) : reader_(reader) {}
GoroutineStats::~GoroutineStats() = default;

GoroutineStats::G* GoroutineStats::Find(uint64_t id) {
  uint32_t* i = index_.Find(id);
  return i == nullptr ? nullptr : &gs_[*i - 1];
}

ExecStats GoroutineStats::Snapshot(const G& g) const {
  ExecStats r = g.summary.stats;
  const Pending* p = &g.pending;
  if (gc_start_ != 0) {
    r.gc_ns += last_ts_ - std::max(gc_start_, g.summary.creation_ns);
  }
  if (g.summary.stats.total_ns == 0) r.total_ns = last_ts_ - g.summary.creation_ns;
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
  const ExecStats final_stats = Snapshot(*g);
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
      uint32_t pos;
      G* g;
      if (free_.empty()) {
        pos = static_cast<uint32_t>(gs_.size());
        g = &gs_.emplace_back();
      } else {
        pos = free_.back();
        free_.pop_back();
        g = &gs_[pos];
        const bool in_live = g->in_live;  // GCDone has not dropped the retired one yet
        *g = G();
        g->in_live = in_live;
      }
      g->summary.id = ev.args[0];
      g->summary.creation_ns = ev.ts;
      g->pending.block_sched = ev.ts;
      // A goroutine created inside a task's region starts inside that task (spec §5.2).
      if (G* creator = Find(ev.g); creator != nullptr && !creator->pending.active.empty()) {
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
      index_.Get(ev.args[0]) = pos + 1;
      if (!g->in_live) {
        live_.push_back(pos);
        g->in_live = true;
      }
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
    case EventType::kGoStop:
      if (G* g = Find(ev.g)) {
        Finalize(g, &ev);
        if (retire_ && ev.type == EventType::kGoEnd && g->summary.regions.empty()) {
          retire_(g->summary);
          g->retired = true;
          free_.push_back(*index_.Find(ev.g) - 1);
          index_.Erase(ev.g);
        }
      }
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
      size_t keep = 0;
      for (uint32_t i : live_) {
        GoroutineSummary& s = gs_[i].summary;
        if (s.end_ns != 0 || gs_[i].retired) {
          gs_[i].in_live = false;
          continue;
        }
        s.stats.gc_ns += ev.ts - std::max(gc_start_, s.creation_ns);
        live_[keep++] = i;
      }
      live_.resize(keep);
      gc_start_ = 0;
      break;
    }
    case EventType::kUserRegion: {
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
        r.stats = Snapshot(*g);
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
        r.stats = Snapshot(*g) - r.stats;
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

void GoroutineStats::Finish() {
  result_.clear();
  result_.reserve(gs_.size());
  while (!gs_.empty()) {
    G* g = &gs_.front();
    if (g->retired) {
      gs_.pop_front();
      continue;
    }
    Finalize(g, nullptr);  // every goroutine, ended or not, as Go does
    std::stable_sort(g->summary.regions.begin(), g->summary.regions.end(),
                     [](const RegionSummary& a, const RegionSummary& b) {
                       if (!a.has_start) return b.has_start;
                       if (!b.has_start) return false;
                       return a.start_ns < b.start_ns;
                     });
    result_.push_back(std::move(g->summary));
    gs_.pop_front();  // freed as we go: the per-goroutine state and the summaries never coexist
  }
  std::vector<uint32_t>().swap(live_);
  std::vector<uint32_t>().swap(free_);
  index_ = parser::FlatMap<uint32_t>();
  std::sort(result_.begin(), result_.end(),
            [](const GoroutineSummary& a, const GoroutineSummary& b) { return a.id < b.id; });
}

}  // namespace tracetool::analysis
