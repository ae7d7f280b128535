// The /debug/pprof HTTP server of a lib/fiber program (Go's net/http/pprof), opt-in with one
// call while Run() is active:
//
//   std::string err;
//   auto srv = tracetool::fiber::debug::Server::Start("127.0.0.1:6060", &err);
//   if (!srv) fprintf(stderr, "%s\n", err.c_str());
//   ...                            // curl http://127.0.0.1:6060/debug/pprof/
//   srv.reset();                   // stop it before Run() returns
//
// Endpoints: /debug/pprof/ (index), goroutine (?debug=1|2 text), heap, allocs, block, mutex,
// threadcreate (?debug=1 text), profile?seconds=N (CPU, SIGPROF), trace?seconds=N (a Go 1.19
// execution trace of N seconds, default 1; 500 "tracing is already enabled" while another trace
// runs), trace?flight=1 (the flight recorder's window; 409 if it is not running), and
// /debug/fiber/metrics, /debug/fiber/schedtrace (text). Bad query values get 400 with a message. Handlers run on the server's own threads,
// never on fibers, so a busy or deadlocked program still answers.
//
// It lives in its own library target (tracetool::fiber_debug) so the runtime itself never
// links cpp-httplib, libdw or lib/pprof_export.
#ifndef TRACETOOL_LIB_FIBER_DEBUG_SERVER_H_
#define TRACETOOL_LIB_FIBER_DEBUG_SERVER_H_

#include <memory>
#include <string>
#include <string_view>

namespace tracetool::fiber::debug {

class Server {
 public:
  // Also sets SIGPIPE to ignored if it has the default action (a client hanging up must not
  // kill the program). Listens on addr, "host:port" or ":port" (host 127.0.0.1). Port 0 picks a free one. A host
  // other than 127.0.0.1 / localhost / ::1 prints a warning to stderr: the endpoints show every
  // stack and let any client burn CPU. Returns null with *error set when it cannot listen.
  static std::unique_ptr<Server> Start(std::string_view addr, std::string* error);
  ~Server();  // Stops: interrupts running CPU profiles and joins the threads.
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int port() const;
  const std::string& host() const;

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Splits "host:port" (host may be empty or [v6]); false with *error on a malformed address.
bool ParseAddr(std::string_view addr, std::string* host, int* port, std::string* error);

}  // namespace tracetool::fiber::debug

#endif  // TRACETOOL_LIB_FIBER_DEBUG_SERVER_H_
