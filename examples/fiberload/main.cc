// fiberload: a mixed workload for lib/fiber that exercises every kind of blocking the runtime
// knows (channels, select with timers, Mutex/RWMutex/Cond, WaitGroup, TCP on loopback,
// Syscall() hand-off, sleeps, preemption of a CPU-bound fiber, stop-the-world pauses and
// GC hooks driven by a toy collector). With --trace=FILE it writes a Go 1.19 execution trace
// of the run, in which every event type the runtime emits appears (tests/fibertrace checks).
//
//   fiberload --duration=2s --procs=2
//   fiberload --duration=300ms --procs=2 --trace=out.trace && tracetool -d out.trace
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <vector>
#include <optional>
#include <string>
#include <string_view>

#include "lib/fiber/chan.h"
#include "lib/fiber/debug/server.h"
#include "lib/fiber/fiber.h"
#include "lib/fiber/gc.h"
#include "lib/fiber/net.h"
#include "lib/fiber/profiling.h"
#include "lib/fiber/sync.h"
#include "lib/fiber/trace.h"

namespace {

namespace fiber = tracetool::fiber;
using namespace std::chrono_literals;

constexpr const char* kUsage =
    "usage: fiberload [--duration=D] [--procs=N] [--loads=LIST] [--stack=BYTES] [--quiet]\n"
    "                 [--debug-addr=HOST:PORT]\n"
    "                 [--trace=FILE [--trace-after=D]] [--flight=FILE [--flight-age=D]]\n"
    "\n"
    "Runs a mixed lib/fiber workload for D (default 2s; units ms, s, m) on N Ps\n"
    "(default: $TT_FIBER_PROCS, $GOMAXPROCS, or the CPU count) and prints what ran.\n"
    "LIST is a comma-separated subset of pipeline,select,sync,net,syscall,stw,gc (default: all).\n"
    "--debug-addr serves /debug/pprof/ (and /debug/fiber/metrics) there while it runs, with\n"
    "block and mutex profiling on; GODEBUG=schedtrace=1000,gctrace=1 etc. work as in Go.\n"
    "--trace=FILE writes a Go 1.19 execution trace of the run to FILE, starting D after the\n"
    "loads (--trace-after, default 20ms, so that fibers blocked or in system calls exist when\n"
    "it starts) and stopping when they are stopped.\n"
    "--flight=FILE runs the flight recorder (keeping the last D of trace, --flight-age,\n"
    "default 1s, at most 64 MiB) and writes it to FILE at the end of the run, and on SIGUSR1.\n"
    "\n"
    "examples:\n"
    "  fiberload --duration=2s --procs=2\n"
    "  fiberload --duration=500ms --procs=1 --quiet\n"
    "  fiberload --duration=30s --debug-addr=127.0.0.1:6060\n"
    "  fiberload --duration=300ms --procs=2 --trace=out.trace\n"
    "  fiberload --duration=5s --flight=last.trace --flight-age=2s\n";

struct Flags {
  std::chrono::nanoseconds duration = 2s;
  int procs = 0;
  size_t stack = 64 * 1024;
  bool quiet = false;
  std::string debug_addr;
  std::string loads = "pipeline,select,sync,net,syscall,stw,gc";
  std::string trace;
  std::chrono::nanoseconds trace_after = 20ms;
  std::string flight;
  std::chrono::nanoseconds flight_age = 1s;
  bool Has(std::string_view load) const { return loads.find(load) != std::string::npos; }
};

bool ParseDuration(std::string_view s, std::chrono::nanoseconds* out) {
  char* end = nullptr;
  std::string str(s);
  const double v = strtod(str.c_str(), &end);
  if (end == str.c_str() || v < 0) return false;
  const std::string_view unit(end);
  double ns;
  if (unit == "ms") {
    ns = v * 1e6;
  } else if (unit == "s" || unit.empty()) {
    ns = v * 1e9;
  } else if (unit == "m") {
    ns = v * 60e9;
  } else if (unit == "us") {
    ns = v * 1e3;
  } else {
    return false;
  }
  *out = std::chrono::nanoseconds(static_cast<int64_t>(ns));
  return true;
}

// Returns 0 to proceed, otherwise the exit code (after printing help or an error).
int ParseFlags(int argc, char** argv, Flags* f) {
  for (int i = 1; i < argc; i++) {
    std::string_view a(argv[i]);
    auto value = [&](std::string_view name) -> std::optional<std::string_view> {
      if (a.substr(0, name.size()) == name && a.size() > name.size() && a[name.size()] == '=') {
        return a.substr(name.size() + 1);
      }
      return std::nullopt;
    };
    if (a == "-h" || a == "--help") {
      fputs(kUsage, stdout);
      return -1;
    } else if (a == "--quiet") {
      f->quiet = true;
    } else if (auto v = value("--duration")) {
      if (!ParseDuration(*v, &f->duration)) {
        fprintf(stderr, "fiberload: bad --duration %.*s (want e.g. 2s, 500ms)\n",
                static_cast<int>(v->size()), v->data());
        return 2;
      }
    } else if (auto p = value("--procs")) {
      f->procs = atoi(std::string(*p).c_str());
      if (f->procs < 1) {
        fprintf(stderr, "fiberload: bad --procs %.*s (want an integer >= 1)\n",
                static_cast<int>(p->size()), p->data());
        return 2;
      }
    } else if (auto t = value("--trace")) {
      f->trace = std::string(*t);
    } else if (auto ta = value("--trace-after")) {
      if (!ParseDuration(*ta, &f->trace_after)) {
        fprintf(stderr, "fiberload: bad --trace-after %.*s (want e.g. 20ms)\n",
                static_cast<int>(ta->size()), ta->data());
        return 2;
      }
    } else if (auto fl = value("--flight")) {
      f->flight = std::string(*fl);
    } else if (auto fa = value("--flight-age")) {
      if (!ParseDuration(*fa, &f->flight_age) || f->flight_age < 10ms) {
        fprintf(stderr, "fiberload: bad --flight-age %.*s (want e.g. 2s, at least 10ms)\n",
                static_cast<int>(fa->size()), fa->data());
        return 2;
      }
    } else if (auto l = value("--loads")) {
      f->loads = std::string(*l);
    } else if (auto d = value("--debug-addr")) {
      f->debug_addr = std::string(*d);
    } else if (auto st = value("--stack")) {
      f->stack = static_cast<size_t>(atoll(std::string(*st).c_str()));
    } else {
      fprintf(stderr, "fiberload: unknown flag %s\n\n%s", argv[i], kUsage);
      return 2;
    }
  }
  if (!f->trace.empty() && !f->flight.empty()) {
    fprintf(stderr, "fiberload: --trace and --flight are exclusive (one tracer at a time)\n");
    return 2;
  }
  return 0;
}

struct Counters {
  std::atomic<uint64_t> pipeline_items{0};
  std::atomic<uint64_t> select_ticks{0};
  std::atomic<uint64_t> mutex_ops{0};
  std::atomic<uint64_t> rw_reads{0};
  std::atomic<uint64_t> rw_writes{0};
  std::atomic<uint64_t> cond_items{0};
  std::atomic<uint64_t> net_round_trips{0};
  std::atomic<uint64_t> syscalls{0};
  std::atomic<uint64_t> sleeps{0};
  std::atomic<uint64_t> spin_iterations{0};
  std::atomic<uint64_t> stw_pauses{0};
  std::atomic<uint64_t> gc_allocs{0};
  std::atomic<int> in_long_syscall{0};  // Fibers inside a 50 ms system call right now.
};

// Channels: producer -> 4 workers -> collector, closed in order at shutdown.
void Pipeline(const std::atomic<bool>& stop, Counters* c, fiber::WaitGroup* wg) {
  auto in = std::make_shared<fiber::Chan<int>>(16);
  auto out = std::make_shared<fiber::Chan<int64_t>>();
  auto workers = std::make_shared<fiber::WaitGroup>();
  wg->Add(1);
  fiber::Go([in, &stop, wg] {
    for (int i = 0; !stop.load(); i++) in->Send(i);
    in->Close();
    wg->Done();
  });
  workers->Add(4);
  for (int w = 0; w < 4; w++) {
    fiber::Go([in, out, workers] {
      while (auto v = in->Recv()) out->Send(int64_t{*v} * *v);
      workers->Done();
    });
  }
  wg->Add(1);
  fiber::Go([out, workers, wg] {
    workers->Wait();
    out->Close();
    wg->Done();
  });
  wg->Add(1);
  fiber::Go([out, c, wg] {
    while (out->Recv()) c->pipeline_items.fetch_add(1, std::memory_order_relaxed);
    wg->Done();
  });
}

// Select over a data channel, a timer and a quit channel.
void SelectLoop(fiber::Chan<int>* quit, Counters* c, fiber::WaitGroup* wg) {
  auto data = std::make_shared<fiber::Chan<int>>(1);
  wg->Add(1);
  fiber::Go([data, quit, c, wg] {
    for (;;) {
      fiber::Timer tick(2ms);
      std::optional<int> d;
      std::optional<int> q;
      std::optional<fiber::Clock::time_point> t;
      const int k =
          fiber::Select({fiber::RecvCase(data.get(), &d), fiber::RecvCase(&tick.C(), &t),
                         fiber::RecvCase(quit, &q)});
      if (k == 2) break;
      if (k == 1) {
        c->select_ticks.fetch_add(1, std::memory_order_relaxed);
        // A task per tick that spans two fibers: a region here, a nested region and a log in
        // a helper fiber, ended when the helper is done.
        auto [ctx, task] = fiber::trace::NewTask(fiber::trace::Background(), "tick");
        auto helper_done = std::make_shared<fiber::Chan<int>>(1);
        fiber::trace::WithRegion(ctx, "tick.dispatch", [&, ctx = ctx] {
          fiber::Go([ctx, helper_done] {
            fiber::trace::Region outer = fiber::trace::StartRegion(ctx, "tick.work");
            fiber::trace::WithRegion(ctx, "tick.inner", [&] {
              fiber::trace::Logf(ctx, "tick", "helper on fiber %llu",
                                 static_cast<unsigned long long>(fiber::CurrentFiberId()));
            });
            outer.End();
            int one = 1;
            helper_done->Send(one);
          });
        });
        helper_done->Recv();
        task.End();
        int v = 1;
        data->TrySend(v);
      }
    }
    wg->Done();
  });
}

// Mutex-protected map, a Cond-based bounded queue, and an RWMutex read-mostly table.
void SyncLoad(const std::atomic<bool>& stop, Counters* c, fiber::WaitGroup* wg) {
  struct Shared {
    fiber::Mutex mu;
    std::map<int, int> m;  // Guarded by mu.
    fiber::Mutex qmu;
    fiber::Cond not_empty{&qmu};
    fiber::Cond not_full{&qmu};
    std::deque<int> q;     // Guarded by qmu.
    bool closed = false;   // Guarded by qmu.
    fiber::RWMutex rw;
    int64_t table = 0;     // Guarded by rw.
  };
  auto s = std::make_shared<Shared>();
  for (int i = 0; i < 4; i++) {
    wg->Add(1);
    fiber::Go([s, &stop, c, wg, i] {
      for (int j = 0; !stop.load(); j++) {
        s->mu.Lock();
        s->m[(i * 7919 + j) % 512]++;
        s->mu.Unlock();
        c->mutex_ops.fetch_add(1, std::memory_order_relaxed);
        if (j % 64 == 0) fiber::Yield();
      }
      wg->Done();
    });
  }
  wg->Add(1);
  fiber::Go([s, &stop, wg] {
    for (int i = 0; !stop.load(); i++) {
      s->qmu.Lock();
      while (s->q.size() >= 8) s->not_full.Wait();
      s->q.push_back(i);
      s->not_empty.Signal();
      s->qmu.Unlock();
    }
    s->qmu.Lock();
    s->closed = true;
    s->not_empty.Broadcast();
    s->qmu.Unlock();
    wg->Done();
  });
  wg->Add(1);
  fiber::Go([s, c, wg] {
    for (;;) {
      s->qmu.Lock();
      while (s->q.empty() && !s->closed) s->not_empty.Wait();
      if (s->q.empty()) {
        s->qmu.Unlock();
        break;
      }
      s->q.pop_front();
      s->not_full.Signal();
      s->qmu.Unlock();
      c->cond_items.fetch_add(1, std::memory_order_relaxed);
    }
    wg->Done();
  });
  for (int i = 0; i < 3; i++) {
    wg->Add(1);
    fiber::Go([s, &stop, c, wg, i] {
      for (int j = 0; !stop.load(); j++) {
        if (i == 0 && j % 8 == 0) {
          s->rw.Lock();
          s->table++;
          s->rw.Unlock();
          c->rw_writes.fetch_add(1, std::memory_order_relaxed);
        } else {
          s->rw.RLock();
          volatile int64_t v = s->table;
          (void)v;
          s->rw.RUnlock();
          c->rw_reads.fetch_add(1, std::memory_order_relaxed);
        }
        if (j % 32 == 0) fiber::Yield();
      }
      wg->Done();
    });
  }
}

// TCP echo on 127.0.0.1: one accept loop, a fiber per connection, 8 clients.
void NetLoad(const std::atomic<bool>& stop, Counters* c, fiber::WaitGroup* wg) {
  auto ln = std::make_shared<fiber::Listener>();
  if (int err = fiber::Listener::Listen("127.0.0.1", 0, ln.get())) {
    fprintf(stderr, "fiberload: listen on 127.0.0.1: %s (skipping net load)\n", strerror(err));
    return;
  }
  constexpr int kClients = 8;
  const uint16_t port = ln->port();
  wg->Add(1);
  fiber::Go([ln, wg] {
    for (int i = 0; i < kClients; i++) {
      auto conn = std::make_shared<fiber::Conn>();
      if (ln->Accept(conn.get()) != 0) break;
      wg->Add(1);
      fiber::Go([conn, wg] {
        char buf[512];
        for (;;) {
          const ssize_t n = conn->Read(buf, sizeof(buf));
          if (n <= 0 || conn->Write(buf, static_cast<size_t>(n)) != n) break;
        }
        wg->Done();
      });
    }
    wg->Done();
  });
  auto clients = std::make_shared<fiber::WaitGroup>();
  clients->Add(kClients);
  for (int i = 0; i < kClients; i++) {
    fiber::Go([port, &stop, c, clients] {
      fiber::Conn conn;
      if (int err = fiber::Conn::Dial("127.0.0.1", port, &conn)) {
        fprintf(stderr, "fiberload: dial 127.0.0.1:%u: %s\n", port, strerror(err));
        clients->Done();
        return;
      }
      char msg[64];
      char back[64];
      memset(msg, 'x', sizeof(msg));
      while (!stop.load()) {
        if (conn.Write(msg, sizeof(msg)) != sizeof(msg)) break;
        if (conn.ReadFull(back, sizeof(back)) != sizeof(back)) break;
        c->net_round_trips.fetch_add(1, std::memory_order_relaxed);
      }
      conn.Close();
      clients->Done();
    });
  }
  // Closing the listener wakes the accept loop if a client never arrived.
  wg->Add(1);
  fiber::Go([ln, clients, wg] {
    clients->Wait();
    ln->Close();
    wg->Done();
  });
}

// Blocking system calls (sysmon hands their P off), sleeps, and a CPU-bound fiber that only
// yields at PreemptionPoint() when sysmon asks it to.
void SyscallSleepSpin(const std::atomic<bool>& stop, Counters* c, fiber::WaitGroup* wg) {
  for (int i = 0; i < 2; i++) {
    wg->Add(1);
    fiber::Go([&stop, c, wg] {
      while (!stop.load()) {
        fiber::Syscall([] {
          struct timespec ts {0, 500 * 1000};
          nanosleep(&ts, nullptr);
        });
        c->syscalls.fetch_add(1, std::memory_order_relaxed);
      }
      wg->Done();
    });
  }
  // Long blocking calls (50 ms): what -pprof=syscall shows, and fibers that are inside a
  // system call whenever a trace starts (GoInSyscall).
  for (int i = 0; i < 3; i++) {
    wg->Add(1);
    fiber::Go([&stop, c, wg, i] {
      fiber::SleepFor(std::chrono::milliseconds(3 + 7 * i));  // Staggered, not in lock step.
      while (!stop.load()) {
        fiber::Syscall([c, i] {
          c->in_long_syscall.fetch_add(1);
          struct timespec ts {0, (50 + 3 * i) * 1000 * 1000};
          nanosleep(&ts, nullptr);
          c->in_long_syscall.fetch_sub(1);
        });
        c->syscalls.fetch_add(1, std::memory_order_relaxed);
      }
      wg->Done();
    });
  }
  for (int i = 0; i < 8; i++) {
    wg->Add(1);
    fiber::Go([&stop, c, wg, i] {
      while (!stop.load()) {
        fiber::SleepFor(std::chrono::microseconds(200 * (i + 1)));
        c->sleeps.fetch_add(1, std::memory_order_relaxed);
      }
      wg->Done();
    });
  }
  wg->Add(1);
  fiber::Go([&stop, c, wg] {
    uint64_t x = 1;
    while (!stop.load(std::memory_order_relaxed)) {
      for (int k = 0; k < 1000; k++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        asm volatile("" : "+r"(x));  // Keep the loop: it stands in for real CPU work.
      }
      c->spin_iterations.fetch_add(1, std::memory_order_relaxed);
      fiber::PreemptionPoint();
    }
    if (x == 42) fputs("", stderr);  // Keep the loop from being optimised away.
    wg->Done();
  });
}

// Periodic stop-the-world pauses, standing in for a collector's STW phases.
void StwLoad(const std::atomic<bool>& stop, Counters* c, fiber::WaitGroup* wg) {
  wg->Add(1);
  fiber::Go([&stop, c, wg] {
    while (!stop.load()) {
      fiber::SleepFor(40ms);
      fiber::StopTheWorld("fiberload pause");
      c->stw_pauses.fetch_add(1, std::memory_order_relaxed);
      fiber::StartTheWorld();
      // GOMAXPROCS up and back down once per pause (the trace's Gomaxprocs events).
      const int n = fiber::SetProcs(fiber::Procs() + 1);
      fiber::Yield();
      fiber::SetProcs(n);
    }
    wg->Done();
  });
}

// A toy mark-sweep "collector" over a table of simulated objects, driven by lib/fiber's GC
// hooks: allocation triggers cycles with two stop-the-world phases, marking and assists.
class ToyCollector : public fiber::Collector {
 public:
  void Alloc(size_t size, bool live) {
    {
      std::lock_guard<std::mutex> l(mu_);
      objs_.push_back({size, live, false});
    }
    fiber::NoteAlloc(size);
  }
  void StartCycle() override {
    std::lock_guard<std::mutex> l(mu_);
    for (Obj& o : objs_) o.marked = false;
    cursor_ = 0;
  }
  bool MarkSome(size_t budget) override {
    bool done;
    {
      std::lock_guard<std::mutex> l(mu_);
      for (size_t scanned = 0; cursor_ < objs_.size() && scanned < budget; cursor_++) {
        scanned += objs_[cursor_].size;
        objs_[cursor_].marked = objs_[cursor_].live;
      }
      done = cursor_ == objs_.size();
    }
    // The background worker's slices are long enough to let others run (assisting fibers
    // then wait for the mark lock: GoBlockGC in a trace). Never yield holding mu_.
    if (budget >= 64 * 1024 && !done) fiber::Yield();
    return done;
  }
  size_t FinishMark() override {
    std::lock_guard<std::mutex> l(mu_);
    size_t live = 0;
    for (Obj& o : objs_) {
      o.marked = o.live;
      live += o.live ? o.size : 0;
    }
    cursor_ = objs_.size();
    return live;
  }
  size_t Sweep() override {
    std::lock_guard<std::mutex> l(mu_);
    size_t freed = 0;
    std::vector<Obj> kept;
    for (const Obj& o : objs_) {
      if (o.marked || o.live) {
        kept.push_back(o);
      } else {
        freed += o.size;
      }
    }
    objs_.swap(kept);
    return freed;
  }

 private:
  struct Obj {
    size_t size;
    bool live;
    bool marked;
  };
  std::mutex mu_;
  std::vector<Obj> objs_;  // Guarded by mu_.
  size_t cursor_ = 0;      // Guarded by mu_.
};

void GcLoad(const std::atomic<bool>& stop, Counters* c, fiber::WaitGroup* wg,
            ToyCollector* heap) {
  fiber::GcOptions o;
  o.min_heap = 1 << 20;
  fiber::SetCollector(heap, o);
  auto mutators = std::make_shared<fiber::WaitGroup>();
  for (int m = 0; m < 2; m++) {
    mutators->Add(1);
    fiber::Go([&stop, c, heap, mutators, m] {
      for (int i = 0; !stop.load(); i++) {
        heap->Alloc(64 + static_cast<size_t>((i * 31 + m) % 1024), i % 16 == 0);
        c->gc_allocs.fetch_add(1, std::memory_order_relaxed);
        if (i % 128 == 0) fiber::Yield();
      }
      mutators->Done();
    });
  }
  wg->Add(1);
  fiber::Go([mutators, wg] {
    mutators->Wait();
    fiber::GC();  // Let the last cycle finish before uninstalling.
    fiber::SetCollector(nullptr);
    wg->Done();
  });
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (int rc = ParseFlags(argc, argv, &flags)) return rc < 0 ? 0 : rc;

  Counters c;
  fiber::Options opts;
  opts.procs = flags.procs;
  opts.stack_size = flags.stack;
  const auto start = std::chrono::steady_clock::now();
  int procs = 0;
  ToyCollector heap;
  fiber::HeapStats heap_stats;
  int rc = 0;
  bool trace_failed = false;
  fiber::Run(opts, [&] {
    procs = fiber::Procs();
    std::unique_ptr<fiber::debug::Server> debug_server;
    if (!flags.debug_addr.empty()) {
      fiber::prof::SetBlockProfileRate(10 * 1000);  // Every block >= 10 us, sampled below.
      fiber::prof::SetMutexProfileFraction(10);
      std::string err;
      debug_server = fiber::debug::Server::Start(flags.debug_addr, &err);
      if (!debug_server) {
        fprintf(stderr, "fiberload: %s\n", err.c_str());
        rc = 1;
        return;
      }
      fprintf(stderr, "fiberload: serving http://%s:%d/debug/pprof/\n",
              debug_server->host().c_str(), debug_server->port());
    }
    std::atomic<bool> stop{false};
    fiber::Chan<int> quit;
    fiber::WaitGroup wg;
    if (flags.Has("pipeline")) Pipeline(stop, &c, &wg);
    if (flags.Has("select")) SelectLoop(&quit, &c, &wg);
    if (flags.Has("sync")) SyncLoad(stop, &c, &wg);
    if (flags.Has("net")) NetLoad(stop, &c, &wg);
    if (flags.Has("syscall")) SyscallSleepSpin(stop, &c, &wg);
    if (flags.Has("stw")) StwLoad(stop, &c, &wg);
    if (flags.Has("gc")) GcLoad(stop, &c, &wg, &heap);
    int trace_err = 0;
    if (!flags.flight.empty()) {
      fiber::trace::FlightOptions fo;
      fo.max_age = std::chrono::duration_cast<std::chrono::milliseconds>(flags.flight_age);
      trace_err = fiber::trace::StartFlightRecorder(fo);
      if (trace_err != 0) {
        fprintf(stderr, "fiberload: --flight: %s\n", strerror(trace_err));
      } else {
        fiber::trace::SetFlightRecorderSignal(SIGUSR1, flags.flight);
      }
      fiber::SleepFor(flags.duration);
      if (trace_err == 0) {
        fiber::trace::Log(fiber::trace::Background(), "fiberload", "writing the flight recorder");
        std::string msg;
        if (fiber::trace::WriteFlightRecordFile(flags.flight, &msg) != 0) {
          fprintf(stderr, "fiberload: --flight=%s: %s\n", flags.flight.c_str(), msg.c_str());
          trace_failed = true;
        }
      }
    } else if (!flags.trace.empty()) {
      const auto wait = std::min(flags.trace_after, flags.duration / 2);
      fiber::SleepFor(wait);
      // Start while a fiber is inside a long system call (the trace then shows GoInSyscall),
      // waiting at most another quarter of the run for one (a loaded machine starts them late).
      const auto give_up = fiber::Clock::now() + flags.duration / 4;
      while (flags.Has("syscall") && c.in_long_syscall.load() == 0 &&
             fiber::Clock::now() < give_up) {
        fiber::SleepFor(1ms);
      }
      trace_err = fiber::trace::StartFile(flags.trace);
      if (trace_err != 0) {
        fprintf(stderr, "fiberload: --trace=%s: %s\n", flags.trace.c_str(), strerror(trace_err));
      }
      // A fiber that blocks forever (GoStop in a trace); discarded when main returns.
      fiber::Go([] { fiber::Select({}); });
      fiber::SleepFor(flags.duration - wait);
    } else {
      fiber::SleepFor(flags.duration);
    }
    stop.store(true);
    quit.Close();
    wg.Wait();
    if (!flags.flight.empty()) {
      fiber::trace::StopFlightRecorder();
      if (trace_err != 0) trace_failed = true;
    } else if (!flags.trace.empty() && trace_err == 0) {
      const fiber::trace::StopResult r = fiber::trace::Stop();
      if (!r.ok()) {
        fprintf(stderr, "fiberload: --trace=%s: %s\n", flags.trace.c_str(), r.message.c_str());
        trace_failed = true;
      }
    } else if (trace_err != 0) {
      trace_failed = true;
    }
    heap_stats = fiber::ReadHeapStats();
    debug_server.reset();  // Stop serving before the runtime goes away.
  });
  if (rc != 0) return rc;
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!flags.quiet) {
    const fiber::RuntimeStats st = fiber::Stats();
    printf("fiberload: %.2fs on %d Ps\n", secs, procs);
    printf("  pipeline items   %" PRIu64 "\n", c.pipeline_items.load());
    printf("  select ticks     %" PRIu64 "\n", c.select_ticks.load());
    printf("  mutex ops        %" PRIu64 "\n", c.mutex_ops.load());
    printf("  rwmutex r/w      %" PRIu64 "/%" PRIu64 "\n", c.rw_reads.load(), c.rw_writes.load());
    printf("  cond items       %" PRIu64 "\n", c.cond_items.load());
    printf("  tcp round trips  %" PRIu64 "\n", c.net_round_trips.load());
    printf("  syscalls         %" PRIu64 "\n", c.syscalls.load());
    printf("  sleeps           %" PRIu64 "\n", c.sleeps.load());
    printf("  spin iterations  %" PRIu64 "\n", c.spin_iterations.load());
    printf("  stw pauses       %" PRIu64 "\n", c.stw_pauses.load());
    printf("  gc allocations   %" PRIu64 " (cycles %" PRIu64 ", assists %" PRIu64
           ", live %" PRIu64 " B, goal %" PRIu64 " B)\n",
           c.gc_allocs.load(), heap_stats.cycles, heap_stats.assists, heap_stats.heap_marked,
           heap_stats.heap_goal);
    printf("runtime: fibers=%" PRIu64 " threads=%" PRIu64 " steals=%" PRIu64
           " syscall_retakes=%" PRIu64 " preempt_requests=%" PRIu64 " leaked=%" PRIu64 "\n",
           st.fibers_created, st.ms, st.steals, st.syscall_retakes, st.preempt_requests,
           st.leaked_last_run);
  }
  return trace_failed ? 1 : 0;
}
