#include "lib/fiber/debug/server.h"

#include <httplib.h>
#include <signal.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "lib/fiber/debug/cpu_profile.h"
#include "lib/fiber/debug/profiles.h"
#include "lib/fiber/fiber.h"
#include "lib/fiber/metrics.h"
#include "lib/fiber/profiling.h"
#include "lib/fiber/trace.h"

namespace tracetool::fiber::debug {
namespace {

constexpr int kCpuHz = 100;  // Go's default profiling rate.

struct ProfileInfo {
  const char* name;
  const char* doc;
};
// Go's profileDescriptions, adapted to what each profile means here.
constexpr ProfileInfo kProfiles[] = {
    {"allocs", "A sampling of all past NoteAlloc() calls (the runtime's allocation hook)."},
    {"block", "Stack traces that led to blocking on channels, select and sync primitives. "
              "Off until prof::SetBlockProfileRate()."},
    {"goroutine", "Stack traces of all current fibers. Use debug=2 as a query parameter to "
                  "export in the same format as an unrecovered panic."},
    {"heap", "A sampling of memory allocations noted by NoteAlloc(); in-use numbers count those "
             "not yet freed through NoteFree(ptr, bytes)."},
    {"mutex", "Stack traces of holders of contended fiber mutexes. Off until "
              "prof::SetMutexProfileFraction()."},
    {"profile", "CPU profile. You can specify the duration in the seconds GET parameter. After "
                "you get the profile file, use the go tool pprof command to investigate it."},
    {"threadcreate", "Stack traces that led to the creation of new OS threads (Ms)."},
    {"trace", "A trace of execution of the current program. You can specify the duration in "
              "the seconds GET parameter. After you get the trace file, use the tracetool or go "
              "tool trace command to investigate the trace. With flight=1: the flight "
              "recorder's window, if trace::StartFlightRecorder() runs."},
};

// Parses an optional integer query parameter. Returns false (and fills res with a 400) when it
// is present but not an integer in [lo, hi].
bool IntParam(const httplib::Request& req, httplib::Response& res, const char* name, int64_t lo,
              int64_t hi, int64_t* out) {
  if (!req.has_param(name)) return true;
  const std::string v = req.get_param_value(name);
  int64_t n = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size() || n < lo || n > hi) {
    res.status = 400;
    res.set_content("bad " + std::string(name) + " value \"" + v + "\": want an integer in " +
                        std::to_string(lo) + ".." + std::to_string(hi) + "\n",
                    "text/plain; charset=utf-8");
    return false;
  }
  *out = n;
  return true;
}

// Parses an optional seconds parameter (Go accepts fractions): false with a 400 in res when it
// is present but not a number in (0, hi].
bool SecondsParam(const httplib::Request& req, httplib::Response& res, double hi, double* out) {
  if (!req.has_param("seconds")) return true;
  const std::string v = req.get_param_value("seconds");
  double d = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size() || !(d > 0) || d > hi) {
    res.status = 400;
    res.set_content("bad seconds value \"" + v + "\": want a number of seconds in (0, " +
                        std::to_string(static_cast<int>(hi)) + "]\n",
                    "text/plain; charset=utf-8");
    return false;
  }
  *out = d;
  return true;
}

void ServeProto(httplib::Response& res, const std::string& name, std::string body) {
  res.set_header("Content-Disposition", "attachment; filename=\"" + name + "\"");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_content(std::move(body), "application/octet-stream");
}

std::string MetricsText() {
  std::vector<metrics::Sample> samples;
  for (const auto& d : metrics::All()) samples.push_back({d.name, {}});
  metrics::Read(samples);
  std::string out;
  char line[160];
  for (const auto& s : samples) {
    switch (s.value.kind()) {
      case metrics::ValueKind::kUint64:
        snprintf(line, sizeof(line), " %llu\n",
                 static_cast<unsigned long long>(s.value.Uint64()));
        break;
      case metrics::ValueKind::kFloat64:
        snprintf(line, sizeof(line), " %.9g\n", s.value.Float64());
        break;
      case metrics::ValueKind::kFloat64Histogram: {
        const auto& h = s.value.Histogram();
        uint64_t total = 0;
        for (uint64_t c : h.counts) total += c;
        snprintf(line, sizeof(line), " count=%llu\n", static_cast<unsigned long long>(total));
        out += s.name + line;
        for (size_t i = 0; i < h.counts.size(); i++) {
          if (h.counts[i] == 0) continue;
          snprintf(line, sizeof(line), "  [%.3g, %.3g) %llu\n", h.buckets[i], h.buckets[i + 1],
                   static_cast<unsigned long long>(h.counts[i]));
          out += line;
        }
        continue;
      }
      case metrics::ValueKind::kBad:
        snprintf(line, sizeof(line), " (bad)\n");
        break;
    }
    out += s.name + line;
  }
  return out;
}

std::string Index() {
  std::string out =
      "<html>\n<head>\n<title>/debug/pprof/</title>\n</head>\n<body>\n/debug/pprof/<br>\n<br>\n"
      "Types of profiles available:\n<table>\n<thead><td>Count</td><td>Profile</td></thead>\n";
  auto row = [&](const std::string& count, const std::string& name, const std::string& href) {
    out += "<tr><td>" + count + "</td><td><a href='" + href + "'>" + name + "</a></td></tr>\n";
  };
  row(std::to_string(prof::MemProfile().size()), "allocs", "allocs?debug=1");
  row(std::to_string(prof::BlockProfile().size()), "block", "block?debug=1");
  row("", "cmdline", "cmdline");
  row(std::to_string(prof::Fibers().size()), "goroutine", "goroutine?debug=1");
  row(std::to_string(prof::MemProfile().size()), "heap", "heap?debug=1");
  row(std::to_string(prof::MutexProfile().size()), "mutex", "mutex?debug=1");
  row("", "profile", "profile");
  row(std::to_string(prof::ThreadCreateProfile().size()), "threadcreate", "threadcreate?debug=1");
  row("", "trace", "trace?seconds=1");
  out += "</table>\n<a href=\"goroutine?debug=2\">full goroutine stack dump</a>\n<br>\n"
         "<a href=\"/debug/fiber/metrics\">runtime metrics</a> · "
         "<a href=\"/debug/fiber/schedtrace\">schedtrace</a>\n<p>\nProfile Descriptions:\n<ul>\n";
  for (const auto& p : kProfiles) {
    out += std::string("<li><div class=profile-name>") + p.name + ": </div> " + p.doc + "</li>\n";
  }
  out += "</ul>\n</p>\n</body>\n</html>\n";
  return out;
}

}  // namespace

struct Server::Impl {
  httplib::Server http;
  std::thread thread;
  std::string host;
  int port = 0;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;  // Guarded by mu.

  // Sleeps up to d; false if the server is stopping.
  template <typename Duration>
  bool Wait(Duration d) {
    std::unique_lock<std::mutex> l(mu);
    return !cv.wait_for(l, d, [this] { return stopping; });
  }
  void Routes();
};

void Server::Impl::Routes() {
  http.Get("/debug/pprof/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(Index(), "text/html; charset=utf-8");
  });
  http.Get("/debug/pprof/cmdline", [](const httplib::Request&, httplib::Response& res) {
    std::string cmd;
    if (FILE* f = fopen("/proc/self/cmdline", "r")) {
      int c;
      while ((c = fgetc(f)) != EOF) cmd += c == 0 ? '\0' : static_cast<char>(c);
      fclose(f);
    }
    res.set_content(cmd, "text/plain; charset=utf-8");
  });
  http.Get("/debug/pprof/trace", [this](const httplib::Request& req, httplib::Response& res) {
    int64_t flight = 0;
    if (!IntParam(req, res, "flight", 0, 1, &flight)) return;
    double seconds = 1;  // Go's default.
    if (!SecondsParam(req, res, 3600, &seconds)) return;
    auto fail = [&res](int status, const std::string& msg) {
      res.status = status;
      res.set_content(msg + "\n", "text/plain; charset=utf-8");
    };
    if (flight == 1) {
      std::string body, msg;
      const int rc = trace::WriteFlightRecord(
          [&body](const void* d, size_t n) {
            body.append(static_cast<const char*>(d), n);
            return 0;
          },
          &msg);
      if (rc == ENOENT) {
        return fail(409, "Could not dump the flight recorder: it is not running (start it with "
                         "trace::StartFlightRecorder)");
      }
      if (rc != 0) return fail(500, "Could not dump the flight recorder: " + msg);
      return ServeProto(res, "trace", std::move(body));
    }
    // The trace is collected in memory and sent when it ends: a capture costs its size in
    // memory, up to kMaxTraceBytes (then it fails with 500 rather than send a broken trace).
    constexpr size_t kMaxTraceBytes = size_t{512} << 20;
    auto body = std::make_shared<std::string>();
    auto body_mu = std::make_shared<std::mutex>();
    const int rc = trace::Start([body, body_mu](const void* d, size_t n) {
      std::lock_guard<std::mutex> l(*body_mu);
      if (body->size() + n > kMaxTraceBytes) return EFBIG;
      body->append(static_cast<const char*>(d), n);
      return 0;
    });
    if (rc == EBUSY) {
      return fail(500, trace::FlightRecorderEnabled()
                           ? "Could not enable tracing: tracing is already enabled (by the "
                             "flight recorder: use ?flight=1)"
                           : "Could not enable tracing: tracing is already enabled");
    }
    if (rc != 0) {
      return fail(503, std::string("Could not enable tracing: ") +
                           (rc == ESRCH ? "the fiber runtime is not running" : strerror(rc)));
    }
    // A client that hangs up meanwhile costs nothing more: the capture ends on time, and
    // writing the answer fails quietly (SIGPIPE is ignored, see Start).
    const bool finished = Wait(std::chrono::duration<double>(seconds));
    const trace::StopResult r = trace::Stop();
    if (!finished) return fail(503, "server stopping");
    if (!r.ok()) return fail(500, "trace capture failed: " + r.message);
    std::lock_guard<std::mutex> l(*body_mu);
    ServeProto(res, "trace", std::move(*body));
  });
  http.Get("/debug/pprof/profile", [this](const httplib::Request& req, httplib::Response& res) {
    int64_t seconds = 30;  // Go's default.
    if (!IntParam(req, res, "seconds", 1, 3600, &seconds)) return;
    std::string err;
    if (!StartCpuProfile(kCpuHz, &err)) {
      res.status = 500;
      res.set_content("Could not enable CPU profiling: " + err + "\n", "text/plain; charset=utf-8");
      return;
    }
    const bool finished = Wait(std::chrono::seconds(seconds));
    uint64_t lost = 0;
    std::vector<prof::StackRecord> rows = StopCpuProfile(&lost);
    if (!finished) {
      res.status = 503;
      res.set_content("server stopping\n", "text/plain; charset=utf-8");
      return;
    }
    ServeProto(res, "profile", CpuProfilePprof(rows, kCpuHz));
  });
  http.Get(R"(/debug/pprof/([a-z]+))", [](const httplib::Request& req, httplib::Response& res) {
    const std::string name = req.matches[1];
    int64_t dbg = 0;
    if (!IntParam(req, res, "debug", 0, 2, &dbg)) return;
    int64_t gc = 0;
    if (!IntParam(req, res, "gc", 0, 1, &gc)) return;  // Accepted; no forced GC from here.
    if (name == "goroutine") {
      if (dbg == 0) return ServeProto(res, name, GoroutineProfile());
      return res.set_content(GoroutineText(static_cast<int>(dbg)), "text/plain; charset=utf-8");
    }
    std::vector<prof::StackRecord> rows;
    std::string proto;
    if (name == "heap" || name == "allocs") {
      if (dbg == 0) return ServeProto(res, name, HeapProfile(name == "allocs"));
      rows = prof::MemProfile();
    } else if (name == "block") {
      if (dbg == 0) return ServeProto(res, name, BlockProfilePprof());
      rows = prof::BlockProfile();
    } else if (name == "mutex") {
      if (dbg == 0) return ServeProto(res, name, MutexProfilePprof());
      rows = prof::MutexProfile();
    } else if (name == "threadcreate") {
      if (dbg == 0) return ServeProto(res, name, ThreadCreateProfile());
      rows = prof::ThreadCreateProfile();
    } else {
      res.status = 404;
      return res.set_content("Unknown profile: " + name + "\n", "text/plain; charset=utf-8");
    }
    res.set_content(StackRecordsText(name + " profile: " + std::to_string(rows.size()) +
                                         " stacks (count value @ pcs)",
                                     rows),
                    "text/plain; charset=utf-8");
  });
  http.Get("/debug/fiber/metrics", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(MetricsText(), "text/plain; charset=utf-8");
  });
  http.Get("/debug/fiber/schedtrace", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(Schedtrace(), "text/plain; charset=utf-8");
  });
}

bool ParseAddr(std::string_view addr, std::string* host, int* port, std::string* error) {
  const size_t colon = addr.rfind(':');
  if (colon == std::string_view::npos) {
    *error = "debug address \"" + std::string(addr) + "\": want host:port";
    return false;
  }
  std::string_view h = addr.substr(0, colon);
  const std::string_view p = addr.substr(colon + 1);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  int n = -1;
  const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), n);
  if (p.empty() || ec != std::errc() || end != p.data() + p.size() || n < 0 || n > 65535) {
    *error = "debug address \"" + std::string(addr) + "\": bad port \"" + std::string(p) + "\"";
    return false;
  }
  *host = h.empty() ? "127.0.0.1" : std::string(h);
  *port = n;
  return true;
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

std::unique_ptr<Server> Server::Start(std::string_view addr, std::string* error) {
  auto impl = std::make_unique<Impl>();
  int port = 0;
  if (!ParseAddr(addr, &impl->host, &port, error)) return nullptr;
  if (impl->host != "127.0.0.1" && impl->host != "localhost" && impl->host != "::1") {
    fprintf(stderr,
            "lib/fiber/debug: warning: serving /debug/pprof on %s, not loopback: anyone who can "
            "reach it sees every stack and can start CPU profiles\n",
            impl->host.c_str());
  }
  // A client that hangs up mid-response must not kill the program: writing to its socket would
  // raise SIGPIPE. Ignore it unless the program installed its own handler (Go ignores SIGPIPE
  // on sockets, too).
  struct sigaction old {};
  if (sigaction(SIGPIPE, nullptr, &old) == 0 && old.sa_handler == SIG_DFL &&
      !(old.sa_flags & SA_SIGINFO)) {
    signal(SIGPIPE, SIG_IGN);
  }
  impl->Routes();
  if (port == 0) {
    port = impl->http.bind_to_any_port(impl->host);
    if (port < 0) port = 0;
  } else if (!impl->http.bind_to_port(impl->host, port)) {
    port = 0;
  }
  if (port == 0) {
    *error = "debug server: cannot listen on " + std::string(addr) + ": " + strerror(errno);
    return nullptr;
  }
  impl->port = port;
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->http.listen_after_bind(); });
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::~Server() {
  {
    std::lock_guard<std::mutex> l(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  auto stop = [this] {
    impl_->http.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
  };
  // A trace capture in flight ends with trace::Stop(), which stops the world: a fiber blocked
  // here must not hold its P meanwhile, so the wait counts as a system call.
  if (InFiber()) {
    Syscall(stop);
  } else {
    stop();
  }
}

int Server::port() const { return impl_->port; }
const std::string& Server::host() const { return impl_->host; }

}  // namespace tracetool::fiber::debug
