// Observability inside the runtime: GODEBUG switches (godebug.h), the counters behind
// metrics.h and the profile records behind profiling.h. The hooks are declared in
// internal/obs.h; each call site in scheduler.cc, gc.cc and sync.cc is one line.
//
// Design: counters are relaxed atomics updated where the event happens (no central lock);
// profile records are few and slow by nature (sampled, or contention that already cost a park),
// so one std::mutex per profile guards a map from stack to counts. Stacks come from glibc's
// backtrace() on the fiber's own stack; names are resolved only when someone asks.
#if defined(__x86_64__)
#include <cpuid.h>
#endif
#include <dlfcn.h>
#include <execinfo.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "lib/fiber/fiber.h"
#include "lib/fiber/gc.h"
#include "lib/fiber/godebug.h"
#include "lib/fiber/internal/obs.h"
#include "lib/fiber/internal/runtime2.h"
#include "lib/fiber/profiling.h"

namespace tracetool::fiber {
namespace internal {
namespace {

using Ancestors = std::vector<std::pair<uint64_t, std::vector<uintptr_t>>>;

void WriteErr(const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = write(2, s.data() + off, s.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
}

// Go's fmtNSAsMS: whole ms from 10 ms up, else two significant digits, at most 3 decimals.
std::string FmtNsAsMs(uint64_t ns) {
  char buf[32];
  if (ns >= 10'000'000) {
    snprintf(buf, sizeof(buf), "%" PRIu64, ns / 1'000'000);
    return buf;
  }
  uint64_t x = ns / 1000;
  if (x == 0) return "0";
  int dec = 3;
  while (x >= 100) {
    x /= 10;
    dec--;
  }
  uint64_t pow = 1;
  for (int i = 0; i < dec; i++) pow *= 10;
  if (dec == 0) {
    snprintf(buf, sizeof(buf), "%" PRIu64, x);
  } else {
    snprintf(buf, sizeof(buf), "%" PRIu64 ".%0*" PRIu64, x / pow, dec, x % pow);
  }
  return buf;
}

void AppendPc(std::string* out, uintptr_t pc) {
  char line[320];
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(pc), &info) && info.dli_sname) {
    snprintf(line, sizeof(line), "\t%s+0x%" PRIxPTR "\n", info.dli_sname,
             pc - reinterpret_cast<uintptr_t>(info.dli_saddr));
  } else {
    snprintf(line, sizeof(line), "\t0x%" PRIxPTR "\n", pc);
  }
  out->append(line);
}

// One profile: stack -> (count, value), merged.
struct StackTable {
  std::mutex mu;
  std::map<std::vector<uintptr_t>, std::pair<double, double>> rows;  // Guarded by mu.

  void Add(const uintptr_t* pcs, int n, double count, double value) {
    std::vector<uintptr_t> key(pcs, pcs + n);
    std::lock_guard<std::mutex> l(mu);
    auto& r = rows[std::move(key)];
    r.first += count;
    r.second += value;
  }
  std::vector<prof::StackRecord> Read(double scale) {
    std::vector<prof::StackRecord> out;
    std::lock_guard<std::mutex> l(mu);
    for (const auto& [pcs, v] : rows) {
      prof::StackRecord r;
      r.pcs = pcs;
      r.count = static_cast<int64_t>(std::llround(v.first * scale));
      r.value = static_cast<int64_t>(std::llround(v.second * scale));
      out.push_back(std::move(r));
    }
    return out;
  }
};

StackTable& BlockTable() {
  static auto* t = new StackTable();
  return *t;
}
StackTable& MutexTable() {
  static auto* t = new StackTable();
  return *t;
}
StackTable& ThreadTable() {
  static auto* t = new StackTable();
  return *t;
}
// Memory: rows hold the estimated allocations and bytes (samples scaled when taken).
StackTable& MemTable() {
  static auto* t = new StackTable();
  return *t;
}
// The estimated frees of sampled allocations, by the allocation's stack (Go's heap profile
// records a sampled object's free against its allocation site).
StackTable& MemFreeTable() {
  static auto* t = new StackTable();
  return *t;
}

// Sampled allocations made with an address, until they are freed: address -> what the sample
// added to MemTable. Sharded by address so that NoteFree from many threads rarely contends;
// `live` lets a free skip the lock while nothing is tracked.
struct SampledBlock {
  std::vector<uintptr_t> pcs;
  double scale = 0;
  double bytes = 0;  // Already scaled.
};
struct SampledShard {
  std::mutex mu;
  std::unordered_map<uintptr_t, SampledBlock> blocks;  // Guarded by mu.
};
constexpr size_t kSampledShards = 16;
std::atomic<int64_t> sampled_live{0};
SampledShard& ShardOf(uintptr_t p) {
  static auto* shards = new SampledShard[kSampledShards];
  return shards[(p >> 4) * 0x9E3779B97F4A7C15ull >> 60];
}

std::mutex ancestors_mu;  // Guards every G::obs_ancestors.

struct InitFn {
  std::string name;
  std::function<void()> fn;
};
std::mutex inits_mu;
std::vector<InitFn>& Inits() {
  static auto* v = new std::vector<InitFn>();
  return *v;
}

uint64_t FastRand64() {
  thread_local uint64_t x = 0x9E3779B97F4A7C15ull ^ reinterpret_cast<uintptr_t>(&x);
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return x;
}

// Exponentially distributed distance to the next memory sample (Go's nextSample).
int64_t NextSampleDistance(int64_t rate) {
  const double u = static_cast<double>((FastRand64() >> 11) + 1) / 9007199254740993.0;
  return static_cast<int64_t>(-std::log(u) * static_cast<double>(rate)) + 1;
}

bool BlockReason(WaitReason r) {
  switch (r) {
    case WaitReason::kChanReceive:
    case WaitReason::kChanSend:
    case WaitReason::kChanReceiveNilChan:
    case WaitReason::kChanSendNilChan:
    case WaitReason::kSelect:
    case WaitReason::kSelectNoCases:
    case WaitReason::kSyncMutexLock:
    case WaitReason::kSyncRWMutexRLock:
    case WaitReason::kSyncRWMutexLock:
    case WaitReason::kSyncCondWait:
    case WaitReason::kSyncWaitGroupWait:
      return true;
    default:
      return false;
  }
}

void TraceAllocFree(const char* what, size_t bytes) {
  std::string out;
  char line[128];
  snprintf(line, sizeof(line), "%s(size=0x%zx)\n", what, bytes);
  out += line;
  const uint64_t id = CurrentFiberId();
  if (id != 0) {
    snprintf(line, sizeof(line), "goroutine %" PRIu64 " [running]:\n", id);
  } else {
    snprintf(line, sizeof(line), "thread (not a fiber):\n");
  }
  out += line;
  uintptr_t pcs[32];
  const int n = prof::CaptureStack(pcs, 32, 2);
  for (int i = 0; i < n; i++) AppendPc(&out, pcs[i]);
  out += "\n";
  WriteErr(out);
}

}  // namespace

ObsState& Obs() {
  static auto* s = new ObsState();  // Never destroyed: hooks may run during exit.
  return *s;
}

TickClock tick_clock;

void TickClockInit() {
  TickClock& c = Ticks();
#if defined(__x86_64__)
  if (c.tick0.load() != 0) return;  // Already calibrating (or calibrated) in this process.
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(0x80000000u, &eax, &ebx, &ecx, &edx) && eax >= 0x80000007u &&
      __get_cpuid(0x80000007u, &eax, &ebx, &ecx, &edx)) {
    c.invariant = (edx & (1u << 8)) != 0;
  }
  if (!c.invariant) return;
  c.ns0.store(Nanotime());
  c.tick0.store(ReadTicks());
#else
  (void)c;
#endif
}

void ObsCalibrateTicks(int64_t now) {
  TickClock& c = Ticks();
  if (!c.invariant) return;
  const int64_t dns = now - c.ns0.load(std::memory_order_relaxed);
  // Good to ~0.1% after 5 ms (both reads are within a sysmon wake-up); refine until 1 s.
  if (dns < 5 * 1000 * 1000) return;
  if (dns > 1000 * 1000 * 1000 && c.ns_per_tick_q32.load(std::memory_order_relaxed) != 0) {
    return;
  }
  const uint64_t dt = ReadTicks() - c.tick0.load(std::memory_order_relaxed);
  if (dt == 0) return;
  const uint64_t q = static_cast<uint64_t>((static_cast<unsigned __int128>(dns) << 32) / dt);
  c.ns_per_tick_q32.store(q, std::memory_order_relaxed);
}

void ObsRunStart(size_t stack_size) {
  TickClockInit();
  ObsState& o = Obs();
  o.stack_size = stack_size;
  std::vector<std::string> warnings;
  const char* env = getenv("GODEBUG");
  o.debug = ParseGoDebug(env ? env : "", &warnings);
  static std::set<std::string>* warned = new std::set<std::string>();  // Run() is serialised.
  for (const std::string& w : warnings) {
    if (warned->insert(w).second) WriteErr("lib/fiber: " + w + "\n");
  }
  if (o.debug.schedtrace == 0) {
    if (const char* st = getenv("TT_FIBER_SCHEDTRACE")) o.debug.schedtrace = atoll(st);
  }
  o.run_start_ns.store(Nanotime());
  o.schedtrace_start_ns.store(0);
}

std::function<void()> ObsWrapMain(std::function<void()> main) {
  std::vector<InitFn> inits;
  {
    std::lock_guard<std::mutex> l(inits_mu);
    inits = Inits();
  }
  if (inits.empty()) return main;
  return [inits = std::move(inits), main = std::move(main)] {
    ObsState& o = Obs();
    for (const InitFn& f : inits) {
      const uint64_t bytes0 = o.alloc_bytes.load();
      const uint64_t allocs0 = o.alloc_objects.load();
      const int64_t start = Nanotime();
      f.fn();
      const int64_t end = Nanotime();
      if (o.debug.inittrace > 0) {
        char line[512];
        snprintf(line, sizeof(line), "init %s @%s ms, %s ms clock, %" PRIu64 " bytes, %" PRIu64
                 " allocs\n",
                 f.name.c_str(),
                 FmtNsAsMs(static_cast<uint64_t>(start - o.run_start_ns.load())).c_str(),
                 FmtNsAsMs(static_cast<uint64_t>(end - start)).c_str(),
                 o.alloc_bytes.load() - bytes0, o.alloc_objects.load() - allocs0);
        WriteErr(line);
      }
    }
    main();
  };
}

int64_t ObsBlockStart(WaitReason reason) {
  if (Obs().block_rate.load(std::memory_order_relaxed) <= 0 || !BlockReason(reason)) return 0;
  return Nanotime();
}

void ObsBlockEnd(int64_t t0) {
  const int64_t rate = Obs().block_rate.load(std::memory_order_relaxed);
  if (rate <= 0) return;
  const int64_t d = std::max<int64_t>(1, Nanotime() - t0);
  // Go's blocksampled: events shorter than the rate are kept with probability d/rate and then
  // count rate/d times (removing the sampling bias, as Go 1.19 does).
  double count = 1;
  double value = static_cast<double>(d);
  if (rate > d) {
    if (static_cast<int64_t>(FastRand64() % static_cast<uint64_t>(rate)) > d) return;
    count = static_cast<double>(rate) / static_cast<double>(d);
    value = static_cast<double>(rate);
  }
  uintptr_t pcs[64];
  const int n = prof::CaptureStack(pcs, 64, 2);
  BlockTable().Add(pcs, n, count, value);
}

void ObsMutexWaited(int64_t ns) {
  if (ns > 0) Obs().mutex_wait_ns.fetch_add(static_cast<uint64_t>(ns), std::memory_order_relaxed);
}

void ObsMutexUnlockContended(int64_t ns) {
  const int32_t frac = Obs().mutex_fraction.load(std::memory_order_relaxed);
  if (frac <= 0 || ns <= 0) return;
  if (frac > 1 && FastRand64() % static_cast<uint64_t>(frac) != 0) return;
  uintptr_t pcs[64];
  const int n = prof::CaptureStack(pcs, 64, 2);
  MutexTable().Add(pcs, n, 1, static_cast<double>(ns));
}

void ObsProcResize(int32_t old_procs) {
  ObsState& o = Obs();
  const int64_t now = Nanotime();
  const int64_t since = o.procs_since.exchange(now);
  if (since != 0 && old_procs > 0) {
    o.procs_ns.fetch_add(static_cast<uint64_t>(now - since) * static_cast<uint64_t>(old_procs));
  }
}

void ObsRunEnd() {
  ObsState& o = Obs();
  ObsProcResize(ObsGomaxprocs());
  o.procs_since.store(0);
  // Ps still on the idle list are torn down without PidleGet: close their intervals.
  const uint64_t idle = ObsIdleNs(Nanotime());
  o.idle_seq.fetch_add(1);
  o.idle_ns.store(idle);
  o.idle_open_count.store(0);
  o.idle_open_sum.store(0);
  o.idle_seq.fetch_add(1);
}

void ObsThreadCreate() {
  uintptr_t pcs[64];
  const int n = prof::CaptureStack(pcs, 64, 2);
  ThreadTable().Add(pcs, n, 1, 0);
}

void ObsNewProc(G* gp, G* creator) {
  const int64_t max = Obs().debug.tracebackancestors;
  if (max <= 0 && gp->obs_ancestors == nullptr) return;
  auto* anc = new Ancestors();
  if (max > 0 && creator != nullptr) {
    uintptr_t pcs[64];
    const int n = prof::CaptureStack(pcs, 64, 3);
    anc->emplace_back(creator->goid.load(), std::vector<uintptr_t>(pcs, pcs + n));
    std::lock_guard<std::mutex> l(ancestors_mu);
    if (auto* up = static_cast<Ancestors*>(creator->obs_ancestors)) {
      for (const auto& a : *up) {
        if (static_cast<int64_t>(anc->size()) >= max) break;
        anc->push_back(a);
      }
    }
  }
  std::lock_guard<std::mutex> l(ancestors_mu);
  delete static_cast<Ancestors*>(gp->obs_ancestors);
  gp->obs_ancestors = anc->empty() ? nullptr : anc;
  if (anc->empty()) delete anc;
}

void ObsGFree(G* gp, bool teardown) {
  ObsState& o = Obs();
  if (o.debug.tracebackancestors > 0 || teardown) {
    std::lock_guard<std::mutex> l(ancestors_mu);
    delete static_cast<Ancestors*>(gp->obs_ancestors);
    gp->obs_ancestors = nullptr;
  }
  if (teardown || o.debug.madvdontneed < 0 || gp->stack.lo == nullptr) return;
  const int64_t t0 = Nanotime();
  madvise(gp->stack.lo, gp->stack.size, o.debug.madvdontneed > 0 ? MADV_DONTNEED : MADV_FREE);
  o.scavenge_ns.fetch_add(static_cast<uint64_t>(Nanotime() - t0), std::memory_order_relaxed);
  o.scavenged_bytes.fetch_add(gp->stack.size, std::memory_order_relaxed);
}

void ObsCopyAncestors(G* gp, Ancestors* out) {
  std::lock_guard<std::mutex> l(ancestors_mu);
  if (auto* anc = static_cast<Ancestors*>(gp->obs_ancestors)) *out = *anc;
}

void ObsAppendAncestors(std::string* out, G* gp) {
  Ancestors anc;
  ObsCopyAncestors(gp, &anc);
  char line[96];
  for (const auto& [goid, pcs] : anc) {
    snprintf(line, sizeof(line), "[originating from goroutine %" PRIu64 "]:\n", goid);
    out->append(line);
    for (uintptr_t pc : pcs) AppendPc(out, pc);
  }
}

void ObsGcCycle(const GcCycleInfo& c) {
  ObsState& o = Obs();
  const uint64_t n = o.gc_cycles.fetch_add(1) + 1;
  const uint64_t procs = static_cast<uint64_t>(std::max(c.procs, 1));
  o.gc_pauses.Record(c.pause1_ns);
  o.gc_pauses.Record(c.pause2_ns);
  o.gc_pause_ns.fetch_add(static_cast<uint64_t>(c.pause1_ns + c.pause2_ns));
  o.gc_pause_cpu_ns.fetch_add(static_cast<uint64_t>(c.pause1_ns + c.pause2_ns) * procs);
  o.gc_bg_mark_ns.fetch_add(static_cast<uint64_t>(c.bg_mark_ns));
  o.gc_sweep_ns.fetch_add(static_cast<uint64_t>(c.t_end - c.t_sweep));
  if (o.debug.gctrace > 0) {
    // Go's line: gc N @Ts U%: clock(sweep term + mark + mark term) ms clock,
    // cpu(sweep term + assist/background/idle + mark term) ms cpu, heap0->heap1->marked MB,
    // goal MB, stacks MB, globals MB, P. U is the share of all CPU spent in GC so far.
    const int64_t now = Nanotime();
    const int64_t since = o.procs_since.load();
    const double total = static_cast<double>(o.procs_ns.load()) +
                         (since ? static_cast<double>(now - since) * static_cast<double>(procs) : 0);
    const double gc = static_cast<double>(o.gc_pause_cpu_ns.load() + o.gc_assist_ns.load() +
                                          o.gc_bg_mark_ns.load() + o.gc_sweep_ns.load());
    const int util = total > 0 ? static_cast<int>(gc / total * 100) : 0;
    const uint64_t stacks = Stats().stacks_live * o.stack_size;  // Reserved, not resident.
    char line[512];
    const int64_t at_ms = (c.t_sweep_term - o.run_start_ns.load()) / 1'000'000;
    snprintf(line, sizeof(line),
             "gc %" PRIu64 " @%" PRId64 ".%03" PRId64 "s %d%%: %s+%s+%s ms clock, %s+%s/%s/%s+%s ms "
             "cpu, %" PRIu64 "->%" PRIu64 "->%" PRIu64 " MB, %" PRIu64 " MB goal, %" PRIu64
             " MB stacks, 0 MB globals, %d P%s\n",
             n, at_ms / 1000, at_ms % 1000, util,
             FmtNsAsMs(static_cast<uint64_t>(c.t_mark - c.t_sweep_term)).c_str(),
             FmtNsAsMs(static_cast<uint64_t>(c.t_mark_term - c.t_mark)).c_str(),
             FmtNsAsMs(static_cast<uint64_t>(c.t_sweep - c.t_mark_term)).c_str(),
             FmtNsAsMs(static_cast<uint64_t>(c.pause1_ns) * procs).c_str(),
             FmtNsAsMs(static_cast<uint64_t>(c.assist_ns)).c_str(),
             FmtNsAsMs(static_cast<uint64_t>(c.bg_mark_ns)).c_str(), "0",
             FmtNsAsMs(static_cast<uint64_t>(c.pause2_ns) * procs).c_str(), c.heap0 >> 20,
             c.heap1 >> 20, c.heap2 >> 20, c.goal >> 20, stacks >> 20, c.procs,
             c.forced ? " (forced)" : "");
    WriteErr(line);
  }
  if (o.debug.gcpacertrace > 0) {
    char line[320];
    snprintf(line, sizeof(line),
             "pacer: gc %" PRIu64 " triggered at %" PRIu64 " B (goal %" PRIu64 " B), marked %" PRIu64
             " B, GOGC=%d: next goal %" PRIu64 " B, next trigger %" PRIu64 " B\n",
             n, c.heap0, c.prev_goal, c.heap2, c.gogc, c.goal, c.trigger);
    WriteErr(line);
  }
}

void ObsGcAssist(int64_t ns) {
  if (ns > 0) Obs().gc_assist_ns.fetch_add(static_cast<uint64_t>(ns), std::memory_order_relaxed);
}

void ObsAlloc(size_t bytes, const void* p) {
  ObsState& o = Obs();
  o.alloc_bytes.fetch_add(bytes, std::memory_order_relaxed);
  o.alloc_objects.fetch_add(1, std::memory_order_relaxed);
  const int64_t rate = o.mem_rate.load(std::memory_order_relaxed);
  if (rate > 0) {
    thread_local int64_t until = 0;
    until -= static_cast<int64_t>(bytes);
    if (until < 0) {
      until = NextSampleDistance(rate);
      uintptr_t pcs[64];
      const int n = prof::CaptureStack(pcs, 64, 2);  // Skips ObsAlloc and NoteAlloc.
      // Go's scaleHeapSample, applied per sample with the rate it was taken at: a sample of
      // size s at rate r stands for 1 / (1 - exp(-s/r)) allocations of that size.
      const double scale =
          1 / (1 - std::exp(-static_cast<double>(bytes) / static_cast<double>(rate)));
      MemTable().Add(pcs, n, scale, static_cast<double>(bytes) * scale);
      if (p != nullptr) {
        const auto addr = reinterpret_cast<uintptr_t>(p);
        SampledShard& sh = ShardOf(addr);
        std::lock_guard<std::mutex> l(sh.mu);
        auto [it, inserted] = sh.blocks.try_emplace(addr);
        if (inserted) sampled_live.fetch_add(1, std::memory_order_relaxed);
        it->second = SampledBlock{std::vector<uintptr_t>(pcs, pcs + n), scale,
                                  static_cast<double>(bytes) * scale};
      }
    }
  }
  if (o.debug.allocfreetrace > 0) TraceAllocFree("tracealloc", bytes);
}

void ObsFree(size_t bytes, const void* p) {
  ObsState& o = Obs();
  o.free_bytes.fetch_add(bytes, std::memory_order_relaxed);
  o.free_objects.fetch_add(1, std::memory_order_relaxed);
  if (p != nullptr && sampled_live.load(std::memory_order_relaxed) > 0) {
    const auto addr = reinterpret_cast<uintptr_t>(p);
    SampledShard& sh = ShardOf(addr);
    SampledBlock b;
    bool found = false;
    {
      std::lock_guard<std::mutex> l(sh.mu);
      auto it = sh.blocks.find(addr);
      if (it != sh.blocks.end()) {
        b = std::move(it->second);
        sh.blocks.erase(it);
        found = true;
      }
    }
    if (found) {
      sampled_live.fetch_sub(1, std::memory_order_relaxed);
      MemFreeTable().Add(b.pcs.data(), static_cast<int>(b.pcs.size()), b.scale, b.bytes);
    }
  }
  if (o.debug.allocfreetrace > 0) TraceAllocFree("tracefree", bytes);
}

std::string FormatSchedtrace(const SchedSnapshot& s, bool detail) {
  std::string out;
  char line[256];
  // Go's schedtrace counts from its own first line ("SCHED 0ms"), not from process start.
  int64_t start = 0;
  Obs().schedtrace_start_ns.compare_exchange_strong(start, s.now);
  const int64_t ms = (s.now - (start == 0 ? s.now : start)) / 1'000'000;
  snprintf(line, sizeof(line),
           "SCHED %" PRId64 "ms: gomaxprocs=%d idleprocs=%d threads=%d spinningthreads=%d "
           "idlethreads=%d runqueue=%d",
           ms, s.gomaxprocs, s.npidle, s.mcount, s.nmspinning, s.nmidle, s.runqsize);
  out += line;
  if (detail) {
    // nmidlelocked and sysmonwait: no locked Ms, and sysmon never waits for the world here.
    snprintf(line, sizeof(line), " gcwaiting=%d nmidlelocked=0 stopwait=%d sysmonwait=0\n",
             s.gcwaiting ? 1 : 0, s.stopwait);
    out += line;
    for (size_t i = 0; i < s.ps.size(); i++) {
      const auto& p = s.ps[i];
      // timerslen: lib/fiber keeps one global timer heap; it is reported on P0.
      snprintf(line, sizeof(line),
               "  P%d: status=%u schedtick=%u syscalltick=%u m=%" PRId64 " runqsize=%u "
               "gfreecnt=%d timerslen=%d\n",
               p.id, p.status, p.schedtick, p.syscalltick, p.m, p.runqsize, p.gfreecnt,
               i == 0 ? s.timers : 0);
      out += line;
    }
    for (const auto& m : s.ms) {
      snprintf(line, sizeof(line),
               "  M%" PRId64 ": p=%" PRId64 " curg=%" PRId64 " mallocing=0 throwing=0 preemptoff= "
               "locks=0 dying=0 spinning=%s blocked=%s lockedg=-1\n",
               m.id, m.p, m.curg, m.spinning ? "true" : "false", m.blocked ? "true" : "false");
      out += line;
    }
    for (const auto& g : s.gs) {
      const std::string_view why = WaitReasonString(g.reason);
      snprintf(line, sizeof(line), "  G%" PRIu64 ": status=%u(%.*s) m=%" PRId64 " lockedm=-1\n",
               g.goid, g.status, static_cast<int>(why.size()), why.data(), g.m);
      out += line;
    }
  } else {
    for (size_t i = 0; i < s.ps.size(); i++) {
      snprintf(line, sizeof(line), "%s%u", i == 0 ? " [" : " ", s.ps[i].runqsize);
      out += line;
    }
    out += "]\n";
  }
  return out;
}

}  // namespace internal

const GoDebug& CurrentGoDebug() { return internal::Obs().debug; }

void RegisterInit(std::string name, std::function<void()> fn) {
  std::lock_guard<std::mutex> l(internal::inits_mu);
  internal::Inits().push_back({std::move(name), std::move(fn)});
}

std::string Schedtrace() {
  internal::SchedSnapshot s;
  if (!internal::SnapshotSched(&s, true)) return "SCHED: runtime not running\n";
  return internal::FormatSchedtrace(s, true);
}

namespace prof {

void SetBlockProfileRate(int64_t rate_ns) {
  internal::Obs().block_rate.store(rate_ns < 0 ? 0 : rate_ns);
}
int64_t BlockProfileRate() { return internal::Obs().block_rate.load(); }
int SetMutexProfileFraction(int n) {
  if (n < 0) return internal::Obs().mutex_fraction.load();
  return internal::Obs().mutex_fraction.exchange(n);
}
void SetMemProfileRate(int64_t bytes) { internal::Obs().mem_rate.store(bytes < 0 ? 0 : bytes); }
int64_t MemProfileRate() { return internal::Obs().mem_rate.load(); }

std::vector<StackRecord> BlockProfile() { return internal::BlockTable().Read(1); }
std::vector<StackRecord> MutexProfile() {
  // Go scales the mutex profile by the sampling fraction when writing it.
  const int frac = std::max(1, internal::Obs().mutex_fraction.load());
  return internal::MutexTable().Read(frac);
}
std::vector<StackRecord> ThreadCreateProfile() { return internal::ThreadTable().Read(1); }
std::vector<StackRecord> MemProfile() {
  std::vector<StackRecord> rows = internal::MemTable().Read(1);
  const std::vector<StackRecord> frees = internal::MemFreeTable().Read(1);
  // Both tables are keyed by the allocation stack; frees exist only for sampled allocations.
  std::map<std::vector<uintptr_t>, const StackRecord*> freed;
  for (const StackRecord& f : frees) freed.emplace(f.pcs, &f);
  for (StackRecord& r : rows) {
    auto it = freed.find(r.pcs);
    if (it == freed.end()) continue;
    r.free_count = std::min(r.count, it->second->count);
    r.free_value = std::min(r.value, it->second->value);
  }
  return rows;
}

// noinline: the skip count assumes CaptureStack is a frame of its own.
__attribute__((noinline)) int CaptureStack(uintptr_t* pcs, int max, int skip) {
  void* buf[128];
  const int want = std::min(128, max + skip + 1);
  const int n = backtrace(buf, want);
  int out = 0;
  for (int i = skip + 1; i < n && out < max; i++) pcs[out++] = reinterpret_cast<uintptr_t>(buf[i]);
  return out;
}

}  // namespace prof

}  // namespace tracetool::fiber
