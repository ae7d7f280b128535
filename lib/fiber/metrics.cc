// metrics.h: a fixed table of readers over the runtime's counters (internal/obs.h). Each
// reader is a few relaxed loads; nothing here takes a runtime lock.
#include "lib/fiber/metrics.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string_view>

#include "lib/fiber/fiber.h"
#include "lib/fiber/gc.h"
#include "lib/fiber/internal/obs.h"

namespace tracetool::fiber::metrics {
namespace {

using internal::Obs;
using internal::ObsState;

double Secs(uint64_t ns) { return static_cast<double>(ns) / 1e9; }

// CPU classes, Go's way: total is gomaxprocs integrated over wall time; gc, idle and scavenge
// are measured; user is what is left.
struct Cpu {
  double total, gc_pause, gc_assist, gc_dedicated, gc_sweep, gc_total, idle, scavenge, user;
};
Cpu ReadCpu() {
  ObsState& o = Obs();
  const int64_t now = internal::Nanotime();
  Cpu c{};
  const int64_t since = o.procs_since.load(std::memory_order_relaxed);
  double total = static_cast<double>(o.procs_ns.load(std::memory_order_relaxed));
  if (since != 0) {
    total += static_cast<double>(now - since) * static_cast<double>(internal::ObsGomaxprocs());
  }
  const double idle = static_cast<double>(internal::ObsIdleNs(now));
  c.total = total / 1e9;
  c.idle = std::min(idle / 1e9, c.total);
  c.gc_pause = Secs(o.gc_pause_cpu_ns.load(std::memory_order_relaxed));
  c.gc_assist = Secs(o.gc_assist_ns.load(std::memory_order_relaxed));
  c.gc_dedicated = Secs(o.gc_bg_mark_ns.load(std::memory_order_relaxed));
  c.gc_sweep = Secs(o.gc_sweep_ns.load(std::memory_order_relaxed));
  c.gc_total = c.gc_pause + c.gc_assist + c.gc_dedicated + c.gc_sweep;
  c.scavenge = Secs(o.scavenge_ns.load(std::memory_order_relaxed));
  c.user = std::max(0.0, c.total - c.gc_total - c.idle - c.scavenge);
  return c;
}

void FillHistogram(const internal::TimeHistogram& h, Float64Histogram* out) {
  constexpr int n = internal::TimeHistogram::kBuckets;
  if (out->buckets.size() != n + 1) {
    out->buckets.resize(n + 1);
    out->buckets[0] = 0;
    for (int i = 1; i < n; i++) out->buckets[i] = static_cast<double>(uint64_t{1} << (i - 1)) / 1e9;
    out->buckets[n] = std::numeric_limits<double>::infinity();
  }
  out->counts.resize(n);
  for (int i = 0; i < n; i++) out->counts[i] = h.counts[i].load(std::memory_order_relaxed);
}

struct Entry {
  Description d;
  uint64_t (*u64)() = nullptr;
  double (*f64)() = nullptr;
  const internal::TimeHistogram* (*hist)() = nullptr;
};

Entry U(const char* name, bool cum, const char* doc, uint64_t (*f)()) {
  return {{name, doc, ValueKind::kUint64, cum}, f, nullptr, nullptr};
}
Entry F(const char* name, bool cum, const char* doc, double (*f)()) {
  return {{name, doc, ValueKind::kFloat64, cum}, nullptr, f, nullptr};
}
Entry H(const char* name, bool cum, const char* doc, const internal::TimeHistogram* (*f)()) {
  return {{name, doc, ValueKind::kFloat64Histogram, cum}, nullptr, nullptr, f};
}

const std::vector<Entry>& Table() {
  static const std::vector<Entry>* table = [] {
    auto* t = new std::vector<Entry>{
        F("/cpu/classes/gc/mark/assist:cpu-seconds", true,
          "Estimated total CPU time fibers spent performing GC mark assists (NoteAlloc during "
          "marking).",
          [] { return ReadCpu().gc_assist; }),
        F("/cpu/classes/gc/mark/dedicated:cpu-seconds", true,
          "Estimated total CPU time spent by the background mark fiber.",
          [] { return ReadCpu().gc_dedicated; }),
        F("/cpu/classes/gc/pause:cpu-seconds", true,
          "Estimated total CPU time spent with the world stopped by the GC: pause time "
          "multiplied by gomaxprocs, as Go counts it.",
          [] { return ReadCpu().gc_pause; }),
        F("/cpu/classes/gc/sweep:cpu-seconds", true,
          "Estimated total CPU time spent in Collector::Sweep.",
          [] { return ReadCpu().gc_sweep; }),
        F("/cpu/classes/gc/total:cpu-seconds", true,
          "Estimated total CPU time spent performing GC tasks: the sum of the other "
          "/cpu/classes/gc metrics.",
          [] { return ReadCpu().gc_total; }),
        F("/cpu/classes/idle:cpu-seconds", true,
          "Estimated total available CPU time not spent running fibers or runtime code: time "
          "Ps spent on the idle list.",
          [] { return ReadCpu().idle; }),
        F("/cpu/classes/scavenge/total:cpu-seconds", true,
          "Estimated total CPU time spent returning dead fibers' stack pages to the OS "
          "(GODEBUG=madvdontneed).",
          [] { return ReadCpu().scavenge; }),
        F("/cpu/classes/total:cpu-seconds", true,
          "Estimated total available CPU time: gomaxprocs integrated over the wall time Run() "
          "was active.",
          [] { return ReadCpu().total; }),
        F("/cpu/classes/user:cpu-seconds", true,
          "Estimated total CPU time spent running fiber code: total minus gc, idle and "
          "scavenge.",
          [] { return ReadCpu().user; }),
        U("/gc/cycles/total:gc-cycles", true, "Count of all completed GC cycles.",
          [] { return Obs().gc_cycles.load(std::memory_order_relaxed); }),
        U("/gc/heap/allocs:bytes", true, "Cumulative sum of bytes passed to NoteAlloc.",
          [] { return Obs().alloc_bytes.load(std::memory_order_relaxed); }),
        U("/gc/heap/allocs:objects", true, "Cumulative count of NoteAlloc calls.",
          [] { return Obs().alloc_objects.load(std::memory_order_relaxed); }),
        U("/gc/heap/frees:bytes", true, "Cumulative sum of bytes passed to NoteFree.",
          [] { return Obs().free_bytes.load(std::memory_order_relaxed); }),
        U("/gc/heap/frees:objects", true, "Cumulative count of NoteFree calls.",
          [] { return Obs().free_objects.load(std::memory_order_relaxed); }),
        U("/gc/heap/goal:bytes", false, "Heap size target for the end of the GC cycle.",
          [] { return ReadHeapStats().heap_goal; }),
        H("/gc/pauses:seconds", true,
          "Distribution of individual GC-related stop-the-world pause latencies.",
          []() -> const internal::TimeHistogram* { return &Obs().gc_pauses; }),
        U("/memory/classes/heap/released:bytes", true,
          "Cumulative bytes of dead fibers' stacks returned to the OS (GODEBUG=madvdontneed).",
          [] { return Obs().scavenged_bytes.load(std::memory_order_relaxed); }),
        U("/sched/gomaxprocs:threads", false,
          "The current number of Ps (Options::procs, SetProcs): how many fibers can run at "
          "once.",
          [] { return static_cast<uint64_t>(std::max(0, internal::ObsGomaxprocs())); }),
        U("/sched/goroutines:goroutines", false, "Count of live fibers (not yet dead).",
          [] { return Stats().fibers_live; }),
        H("/sched/latencies:seconds", true,
          "Distribution of the time fibers have spent runnable before actually running "
          "(sampled: one transition in eight, as Go does).",
          []() -> const internal::TimeHistogram* { return &Obs().sched_latency; }),
        F("/sched/pauses-total/gc:seconds", true,
          "Cumulative wall time the world was stopped for GC (both stop-the-world phases of "
          "every cycle).",
          [] { return Secs(Obs().gc_pause_ns.load(std::memory_order_relaxed)); }),
        F("/sync/mutex/wait/total:seconds", true,
          "Approximate cumulative time fibers have spent blocked on a fiber::Mutex or "
          "RWMutex.",
          [] { return Secs(Obs().mutex_wait_ns.load(std::memory_order_relaxed)); }),
    };
    std::sort(t->begin(), t->end(),
              [](const Entry& a, const Entry& b) { return a.d.name < b.d.name; });
    return t;
  }();
  return *table;
}

const Entry* Find(std::string_view name) {
  const auto& t = Table();
  auto it = std::lower_bound(t.begin(), t.end(), name,
                             [](const Entry& e, std::string_view n) { return e.d.name < n; });
  return it != t.end() && it->d.name == name ? &*it : nullptr;
}

[[noreturn]] void KindMismatch(const char* want, ValueKind have) {
  fprintf(stderr, "fatal error: metrics.Value: called %s on a value of kind %d\n", want,
          static_cast<int>(have));
  abort();
}

}  // namespace

uint64_t Value::Uint64() const {
  if (kind_ != ValueKind::kUint64) KindMismatch("Uint64", kind_);
  return u64_;
}
double Value::Float64() const {
  if (kind_ != ValueKind::kFloat64) KindMismatch("Float64", kind_);
  return f64_;
}
const Float64Histogram& Value::Histogram() const {
  if (kind_ != ValueKind::kFloat64Histogram) KindMismatch("Histogram", kind_);
  return hist_;
}

const std::vector<Description>& All() {
  static const std::vector<Description>* all = [] {
    auto* v = new std::vector<Description>();
    for (const Entry& e : Table()) v->push_back(e.d);
    return v;
  }();
  return *all;
}

void Read(std::span<Sample> samples) {
  for (Sample& s : samples) {
    const Entry* e = Find(s.name);
    Value& v = s.value;
    if (e == nullptr) {
      v.kind_ = ValueKind::kBad;
      continue;
    }
    v.kind_ = e->d.kind;
    if (e->u64) v.u64_ = e->u64();
    if (e->f64) v.f64_ = e->f64();
    if (e->hist) FillHistogram(*e->hist(), &v.hist_);
  }
}

}  // namespace tracetool::fiber::metrics
