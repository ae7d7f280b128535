// The /debug/pprof server end to end: a fiber program under load serves every endpoint to an
// HTTP client on another thread; profiles must decode as gzipped profile.proto with Go's
// sample types and named frames, text dumps must carry states and stacks, bad queries get 400,
// a second CPU profile gets Go's error, and a client that hangs up mid-profile does no harm;
// likewise for execution traces (/debug/pprof/trace) and the flight recorder's ?flight=1.
// With $TRACETOOL_PPROF_OUT set, the fetched profiles are also written there for the oracle
// test (pprof_oracle.sh), which feeds them to `go tool pprof -raw`.
#include <gtest/gtest.h>
#include <httplib.h>
#include <zlib.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <thread>

#include "lib/fiber/chan.h"
#include "lib/fiber/debug/server.h"
#include "lib/fiber/fiber.h"
#include "lib/fiber/gc.h"
#include "lib/fiber/profiling.h"
#include "lib/fiber/sync.h"
#include "lib/fiber/trace.h"
#include "lib/pprof_export/profile.pb.h"
#include "tests/fiber/fiber_test_util.h"

namespace tracetool::fiber {
namespace {

std::string Gunzip(const std::string& gz) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return "";
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  zs.avail_in = static_cast<uInt>(gz.size());
  std::string out;
  char buf[16384];
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof(buf) - zs.avail_out);
  }
  inflateEnd(&zs);
  return rc == Z_STREAM_END ? out : "";
}

struct Decoded {
  bool ok = false;
  tracetool::pprof::Profile p;
  std::vector<std::string> sample_types;
  std::set<std::string> functions;
  int64_t total0 = 0;  // Sum of the first value.
};

Decoded Decode(const std::string& body) {
  Decoded d;
  const std::string raw = Gunzip(body);
  if (raw.empty() || !d.p.ParseFromString(raw)) return d;
  d.ok = true;
  for (const auto& st : d.p.sample_type()) d.sample_types.push_back(d.p.string_table(st.type()));
  for (const auto& f : d.p.function()) d.functions.insert(d.p.string_table(f.name()));
  for (const auto& s : d.p.sample()) d.total0 += s.value(0);
  return d;
}

bool AnyFunctionHas(const Decoded& d, const std::string& part) {
  for (const auto& f : d.functions) {
    if (f.find(part) != std::string::npos) return true;
  }
  return false;
}

void SaveForOracle(const std::string& name, const std::string& body) {
  const char* dir = getenv("TRACETOOL_PPROF_OUT");
  if (dir == nullptr) return;
  std::ofstream(std::string(dir) + "/" + name + ".pb.gz", std::ios::binary) << body;
}

// Traces go to $TRACETOOL_PPROF_OUT/NAME.trace, for `go tool trace -d` in pprof_oracle.sh.
void SaveTraceForOracle(const std::string& name, const std::string& body) {
  const char* dir = getenv("TRACETOOL_PPROF_OUT");
  if (dir == nullptr) return;
  std::ofstream(std::string(dir) + "/" + name + ".trace", std::ios::binary) << body;
}

__attribute__((noipa)) void ServerTestSpin(const std::atomic<bool>& stop) {
  uint64_t x = 1;
  while (!stop.load(std::memory_order_relaxed)) {
    for (int i = 0; i < 10000; i++) x = x * 6364136223846793005ull + 1;
    asm volatile("" : "+r"(x));
    PreemptionPoint();
  }
}

__attribute__((noipa)) void ServerTestParked(Chan<int>* c) {
  c->Recv();
  asm volatile("");
}

// Runs a workload in fibers and `client` on a plain thread with the server's port.
void WithServer(const std::function<void(int port)>& client, bool flight = false) {
  testing::Watchdog dog(std::chrono::seconds(60));
  prof::SetBlockProfileRate(1);
  prof::SetMutexProfileFraction(1);
  Options opts;
  opts.procs = 2;
  opts.stack_size = 128 * 1024;
  Run(opts, [&] {
    std::string err;
    auto srv = debug::Server::Start("127.0.0.1:0", &err);
    ASSERT_NE(srv, nullptr) << err;
    if (flight) {
      trace::FlightOptions fo;
      fo.max_age = std::chrono::milliseconds(200);
      ASSERT_EQ(trace::StartFlightRecorder(fo), 0);
    }
    std::atomic<bool> stop{false};
    Chan<int> park;
    WaitGroup wg;
    for (int i = 0; i < 3; i++) {
      wg.Add(1);
      Go([&] {
        ServerTestParked(&park);
        wg.Done();
      });
    }
    wg.Add(1);
    Go([&] {
      ServerTestSpin(stop);
      wg.Done();
    });
    // Contention and allocations for block, mutex and heap.
    wg.Add(1);
    Go([&] {
      Mutex mu;
      WaitGroup inner;
      for (int i = 0; i < 2; i++) {
        inner.Add(1);
        Go([&] {
          for (int j = 0; j < 50; j++) {
            mu.Lock();
            SleepFor(std::chrono::microseconds(100));
            mu.Unlock();
            NoteAlloc(64 * 1024);
          }
          inner.Done();
        });
      }
      inner.Wait();
      wg.Done();
    });
    std::atomic<bool> client_done{false};
    std::thread t([&] {
      client(srv->port());
      client_done = true;
    });
    while (!client_done.load()) SleepFor(std::chrono::milliseconds(5));
    t.join();
    if (flight) trace::StopFlightRecorder();
    stop = true;
    park.Close();
    wg.Wait();
    srv.reset();
  });
  prof::SetBlockProfileRate(0);
  prof::SetMutexProfileFraction(0);
}

TEST(DebugServer, EveryEndpoint) {
  WithServer([](int port) {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(30, 0);

    auto index = c.Get("/debug/pprof/");
    ASSERT_TRUE(index);
    EXPECT_EQ(index->status, 200);
    for (const char* p : {"allocs", "block", "goroutine", "heap", "mutex", "profile",
                          "threadcreate", "trace"}) {
      EXPECT_NE(index->body.find(std::string(">") + p), std::string::npos) << p;
    }

    auto g = c.Get("/debug/pprof/goroutine");
    ASSERT_TRUE(g);
    ASSERT_EQ(g->status, 200);
    SaveForOracle("goroutine", g->body);
    Decoded gd = Decode(g->body);
    ASSERT_TRUE(gd.ok);
    EXPECT_EQ(gd.sample_types, std::vector<std::string>{"goroutine"});
    EXPECT_GE(gd.total0, 5);  // main, 3 parked, the spinner, ...
    EXPECT_TRUE(AnyFunctionHas(gd, "ServerTestParked")) << "parked fibers' stacks";

    auto g1 = c.Get("/debug/pprof/goroutine?debug=1");
    ASSERT_TRUE(g1);
    EXPECT_EQ(g1->body.rfind("goroutine profile: total ", 0), 0u) << g1->body;
    EXPECT_NE(g1->body.find("ServerTestParked"), std::string::npos) << g1->body;

    auto g2 = c.Get("/debug/pprof/goroutine?debug=2");
    ASSERT_TRUE(g2);
    EXPECT_NE(g2->body.find(" [chan receive]:\n"), std::string::npos) << g2->body;
    EXPECT_NE(g2->body.find("ServerTestParked"), std::string::npos) << g2->body;
    EXPECT_NE(g2->body.find("created by "), std::string::npos) << g2->body;

    auto prof = c.Get("/debug/pprof/profile?seconds=1");
    ASSERT_TRUE(prof);
    ASSERT_EQ(prof->status, 200) << prof->body;
    SaveForOracle("profile", prof->body);
    Decoded pd = Decode(prof->body);
    ASSERT_TRUE(pd.ok);
    EXPECT_EQ(pd.sample_types, (std::vector<std::string>{"samples", "cpu"}));
    EXPECT_GT(pd.total0, 10) << "1 s of a spinning fiber at 100 Hz";
    EXPECT_TRUE(AnyFunctionHas(pd, "ServerTestSpin"));

    for (const char* name : {"heap", "allocs", "block", "mutex", "threadcreate"}) {
      auto r = c.Get((std::string("/debug/pprof/") + name).c_str());
      ASSERT_TRUE(r) << name;
      ASSERT_EQ(r->status, 200) << name << ": " << r->body;
      SaveForOracle(name, r->body);
      Decoded d = Decode(r->body);
      ASSERT_TRUE(d.ok) << name;
      EXPECT_FALSE(d.sample_types.empty()) << name;
      EXPECT_GT(d.p.sample_size(), 0) << name;
      auto text = c.Get((std::string("/debug/pprof/") + name + "?debug=1").c_str());
      ASSERT_TRUE(text) << name;
      EXPECT_EQ(text->status, 200) << name;
      EXPECT_NE(text->body.find(" @ 0x"), std::string::npos) << name << ": " << text->body;
    }
    Decoded block = Decode(c.Get("/debug/pprof/block")->body);
    EXPECT_EQ(block.sample_types, (std::vector<std::string>{"contentions", "delay"}));
    Decoded heap = Decode(c.Get("/debug/pprof/heap")->body);
    EXPECT_EQ(heap.sample_types, (std::vector<std::string>{"alloc_objects", "alloc_space",
                                                           "inuse_objects", "inuse_space"}));
    EXPECT_EQ(heap.p.default_sample_type(), 0) << "heap: pprof's default, inuse_space";
    Decoded allocs = Decode(c.Get("/debug/pprof/allocs")->body);
    EXPECT_EQ(allocs.p.string_table(allocs.p.default_sample_type()), "alloc_space");

    auto m = c.Get("/debug/fiber/metrics");
    ASSERT_TRUE(m);
    EXPECT_NE(m->body.find("/sched/goroutines:goroutines "), std::string::npos) << m->body;
    auto st = c.Get("/debug/fiber/schedtrace");
    ASSERT_TRUE(st);
    EXPECT_EQ(st->body.rfind("SCHED ", 0), 0u) << st->body;

    auto trace = c.Get("/debug/pprof/trace?seconds=0.5");
    ASSERT_TRUE(trace);
    ASSERT_EQ(trace->status, 200) << trace->body;
    EXPECT_EQ(trace->body.substr(0, 16), std::string("go 1.19 trace\0\0\0", 16));
    EXPECT_NE(trace->body.find("ServerTestSpin"), std::string::npos) << "symbolized stacks";
    SaveTraceForOracle("trace", trace->body);
  });
}

TEST(DebugServer, TraceCaptureErrorsAndHangups) {
  WithServer([](int port) {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(30, 0);
    for (const char* path : {"/debug/pprof/trace?seconds=abc", "/debug/pprof/trace?seconds=0",
                             "/debug/pprof/trace?seconds=-1", "/debug/pprof/trace?seconds=99999",
                             "/debug/pprof/trace?flight=2"}) {
      auto r = c.Get(path);
      ASSERT_TRUE(r) << path;
      EXPECT_EQ(r->status, 400) << path;
      EXPECT_NE(r->body.find("bad "), std::string::npos) << path << ": " << r->body;
    }
    auto nf = c.Get("/debug/pprof/trace?flight=1");
    ASSERT_TRUE(nf);
    EXPECT_EQ(nf->status, 409);
    EXPECT_NE(nf->body.find("not running"), std::string::npos) << nf->body;

    // A 2 s capture whose client hangs up after 200 ms, and a second capture meanwhile.
    std::thread hangup([port] {
      httplib::Client h("127.0.0.1", port);
      h.set_read_timeout(0, 200 * 1000);
      auto r = h.Get("/debug/pprof/trace?seconds=2");
      EXPECT_FALSE(r) << "expected a client-side timeout";
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto busy = c.Get("/debug/pprof/trace?seconds=1");
    ASSERT_TRUE(busy);
    EXPECT_EQ(busy->status, 500);
    EXPECT_NE(busy->body.find("Could not enable tracing: tracing is already enabled"),
              std::string::npos)
        << busy->body;
    hangup.join();
    // The abandoned capture still ends on time and releases the tracer.
    auto ok = c.Get("/debug/pprof/trace?seconds=0.2");
    for (int i = 0; i < 40 && ok && ok->status == 500; i++) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      ok = c.Get("/debug/pprof/trace?seconds=0.2");
    }
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200) << ok->body;
    EXPECT_FALSE(trace::IsEnabled());
  });
}

// Destroying the server from a fiber while a capture runs: the capture's trace::Stop() stops
// the world, so the destructor must not hold its P while it waits (it used to hang here).
TEST(DebugServer, StopDuringTraceCapture) {
  testing::Watchdog dog(std::chrono::seconds(60));
  for (int procs : {1, 2}) {
    int status = 0;
    Options opts;
    opts.procs = procs;
    tracetool::fiber::Run(opts, [&] {
      std::string err;
      auto srv = debug::Server::Start("127.0.0.1:0", &err);
      ASSERT_NE(srv, nullptr) << err;
      const int port = srv->port();
      std::thread client([port, &status] {
        httplib::Client c("127.0.0.1", port);
        c.set_read_timeout(30, 0);
        auto r = c.Get("/debug/pprof/trace?seconds=20");
        status = r ? r->status : -1;
      });
      while (!trace::IsEnabled()) SleepFor(std::chrono::milliseconds(5));
      srv.reset();
      Syscall([&] { client.join(); });
      EXPECT_FALSE(trace::IsEnabled());
    });
    EXPECT_EQ(status, 503) << "procs=" << procs;
  }
}

TEST(DebugServer, FlightRecorderDump) {
  WithServer(
      [](int port) {
        httplib::Client c("127.0.0.1", port);
        c.set_read_timeout(30, 0);
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        auto r = c.Get("/debug/pprof/trace?flight=1");
        ASSERT_TRUE(r);
        ASSERT_EQ(r->status, 200) << r->body;
        EXPECT_EQ(r->body.substr(0, 16), std::string("go 1.19 trace\0\0\0", 16));
        EXPECT_NE(r->body.find("ServerTestSpin"), std::string::npos) << "symbolized stacks";
        SaveTraceForOracle("flight", r->body);
        auto busy = c.Get("/debug/pprof/trace?seconds=1");
        ASSERT_TRUE(busy);
        EXPECT_EQ(busy->status, 500);
        EXPECT_NE(busy->body.find("flight recorder"), std::string::npos) << busy->body;
      },
      /*flight=*/true);
}

TEST(DebugServer, BadQueriesAndUnknownProfiles) {
  WithServer([](int port) {
    httplib::Client c("127.0.0.1", port);
    for (const char* path : {"/debug/pprof/profile?seconds=abc", "/debug/pprof/profile?seconds=0",
                             "/debug/pprof/profile?seconds=-3", "/debug/pprof/goroutine?debug=x",
                             "/debug/pprof/heap?debug=9", "/debug/pprof/heap?gc=2"}) {
      auto r = c.Get(path);
      ASSERT_TRUE(r) << path;
      EXPECT_EQ(r->status, 400) << path;
      EXPECT_NE(r->body.find("bad "), std::string::npos) << path << ": " << r->body;
    }
    auto r = c.Get("/debug/pprof/nosuch");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404);
  });
}

TEST(DebugServer, SecondCpuProfileIsRefusedAndHangupsAreHarmless) {
  WithServer([](int port) {
    // A client that starts a 2 s profile and hangs up after 200 ms.
    std::thread hangup([port] {
      httplib::Client c("127.0.0.1", port);
      c.set_read_timeout(0, 200 * 1000);
      auto r = c.Get("/debug/pprof/profile?seconds=2");
      EXPECT_FALSE(r) << "expected a client-side timeout";
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(10, 0);
    auto busy = c.Get("/debug/pprof/profile?seconds=1");
    ASSERT_TRUE(busy);
    EXPECT_EQ(busy->status, 500);
    EXPECT_NE(busy->body.find("cpu profiling already in use"), std::string::npos) << busy->body;
    hangup.join();
    // The abandoned profile still ends (2 s plus building it, slow under sanitizers); afterwards
    // a new one works and the server is alive.
    auto ok = c.Get("/debug/pprof/profile?seconds=1");
    for (int i = 0; i < 40 && ok && ok->status == 500; i++) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      ok = c.Get("/debug/pprof/profile?seconds=1");
    }
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200) << ok->body;
    auto g = c.Get("/debug/pprof/goroutine?debug=1");
    ASSERT_TRUE(g);
    EXPECT_EQ(g->status, 200);
  });
}

TEST(DebugServer, AddressHandling) {
  std::string host, err;
  int port = -1;
  EXPECT_TRUE(debug::ParseAddr(":6060", &host, &port, &err));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 6060);
  EXPECT_TRUE(debug::ParseAddr("[::1]:0", &host, &port, &err));
  EXPECT_EQ(host, "::1");
  EXPECT_FALSE(debug::ParseAddr("localhost", &host, &port, &err));
  EXPECT_NE(err.find("want host:port"), std::string::npos) << err;
  EXPECT_FALSE(debug::ParseAddr("127.0.0.1:http", &host, &port, &err));
  EXPECT_NE(err.find("bad port"), std::string::npos) << err;
  EXPECT_EQ(debug::Server::Start("127.0.0.1:99999", &err), nullptr);
}

}  // namespace
}  // namespace tracetool::fiber
