// lib/fiber execution tracing: Go's runtime/trace in C++ idiom. The runtime writes a Go 1.19
// execution trace (header "go 1.19 trace") that tracetool and Go 1.19's `go tool trace` read.
//
//   namespace trace = tracetool::fiber::trace;
//   if (int err = trace::StartFile("out.trace")) { ... }      // inside fiber::Run
//   auto [ctx, task] = trace::NewTask(trace::Background(), "request");
//   fiber::Go([ctx = ctx] {
//     trace::WithRegion(ctx, "decode", [] { ... });           // the task spans fibers
//     trace::Log(ctx, "size", "42");
//   });
//   task.End();
//   trace::StopResult r = trace::Stop();                      // flushes; r.error, r.*_lost
//
// What is traced: every scheduler event (fiber create/start/block/unblock/end, syscalls, P
// start/stop, GOMAXPROCS), GC cycles of lib/fiber/gc.h, and the annotations below, each with a
// frame-pointer stack where Go records one (symbolized with libdw when the trace stops).
// Costs: with tracing off every event site and annotation is one relaxed atomic load and a
// branch; see lib/fiber/README.md ("Tracing") for measured numbers and known gaps.
#ifndef TRACETOOL_LIB_FIBER_TRACE_H_
#define TRACETOOL_LIB_FIBER_TRACE_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

namespace tracetool::fiber::internal {
extern std::atomic<bool> trace_enabled;
}  // namespace tracetool::fiber::internal

namespace tracetool::fiber::trace {

// A byte sink. Called from the trace writer thread only, never concurrently; returns 0 or an
// errno value. After an error no more bytes are offered (they are counted as lost).
using Writer = std::function<int(const void* data, size_t size)>;

struct StartOptions {
  // CPU samples in the trace (Go 1.19's CPUSample events, as with runtime/pprof's CPU profile
  // running beside the trace): SIGPROF at this rate (1..1000 Hz; 0: none), each sample with the
  // interrupted thread's P, fiber and frame-pointer stack. The process has one ITIMER_PROF:
  // Start answers EBUSY while another CPU profile (lib/fiber/debug) has it armed.
  int cpu_profile_hz = 0;
};

// Start() begins writing a trace to w. Callable from a fiber or from any thread while
// fiber::Run() is active (from a thread outside the runtime it starts a helper fiber, which
// switches off deadlock detection like any foreign Go()). Returns 0, EBUSY if a trace is
// already running (or starting/stopping) or the CPU profiling timer is taken, ESRCH if no
// runtime is running, EINVAL for a bad option.
int Start(Writer w, const StartOptions& options = {});
// StartFile() opens path (create/truncate) and starts; StartFd() writes to fd (not closed).
int StartFile(const std::string& path, const StartOptions& options = {});
int StartFd(int fd, const StartOptions& options = {});

struct StopResult {
  int error = 0;              // First errno of the writer (or of the sink), 0 if none.
  std::string message;        // Human-readable summary of error and losses ("" if clean).
  uint64_t bytes_written = 0;
  uint64_t bytes_lost = 0;    // Bytes not written: sink error, or the sink was too slow.
  uint64_t events_lost = 0;   // Events inside those bytes.
  // CPU samples written (StartOptions::cpu_profile_hz), and taken but not written (the sample
  // ring was full, or the interrupted thread's stack could not be read).
  uint64_t cpu_samples = 0;
  uint64_t cpu_samples_lost = 0;
  // Regions started outside a fiber holding a P (see Region below): not recorded.
  uint64_t regions_dropped = 0;
  bool ok() const { return error == 0 && bytes_lost == 0; }
};
// Stop() ends the trace: flushes every buffer, appends the frequency, string and symbolized
// stack records, waits for the writer and reports. Idempotent: without a running trace it
// returns the result of the last trace again. Callable where Start() is. If fiber::Run() returns
// while tracing, the trace is finished then and Stop() returns its result.
StopResult Stop();

// SetAnnotationStacks(false) records user annotations (tasks, regions, logs) without a stack,
// which roughly halves their cost; the default records one, as Go does. Any thread.
void SetAnnotationStacks(bool on);

// IsEnabled() is true while a trace is being written.
inline bool IsEnabled() { return internal::trace_enabled.load(std::memory_order_relaxed); }

// A Context carries the current task, as Go's context.Context does for runtime/trace. Copy it
// freely into other fibers: their regions and logs then belong to the task.
class Context {
 public:
  Context() = default;
  uint64_t task_id() const { return task_; }

 private:
  friend class Task;
  friend std::pair<Context, class Task> NewTask(const Context&, std::string_view);
  explicit Context(uint64_t task) : task_(task) {}
  uint64_t task_ = 0;
};
inline Context Background() { return Context(); }

// A Task is a logical operation (Go's trace.Task). End() marks its end; once only.
class Task {
 public:
  Task() = default;
  Task(Task&& o) noexcept : id_(std::exchange(o.id_, 0)) {}
  Task& operator=(Task&& o) noexcept {
    id_ = std::exchange(o.id_, 0);
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() = default;  // Not ended implicitly: a task may outlive the scope that created it.
  void End();
  uint64_t id() const { return id_; }

 private:
  friend std::pair<Context, Task> NewTask(const Context&, std::string_view);
  explicit Task(uint64_t id) : id_(id) {}
  uint64_t id_ = 0;
};
// NewTask() creates a task of the given type, a child of ctx's task, and returns a context that
// carries it.
std::pair<Context, Task> NewTask(const Context& ctx, std::string_view type);

// Annotations outside fibers. Go always has a goroutine; a thread that is not a fiber (or a
// fiber in a system call, which has given up its P) has none. Its tasks and logs are written to
// the global batch (P -1), where the reader attributes them to G 0, Go's "no goroutine"; Go's
// runtime writes events of an M without a P the same way. Its regions are dropped and counted
// (StopResult::regions_dropped): the reader checks region nesting per goroutine, and the
// overlapping regions of several threads on G 0 would make Go's tool reject the trace.

// A Region is a time interval of one fiber (Go's trace.Region). End() it on the fiber that
// started it; regions nest. The destructor ends it if End() was not called.
class Region {
 public:
  Region() = default;
  Region(Region&& o) noexcept
      : task_(o.task_), type_(std::exchange(o.type_, std::string_view())), live_(std::exchange(o.live_, false)) {}
  Region& operator=(Region&&) = delete;
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;
  ~Region() { End(); }
  void End() {
    if (live_) EndSlow();
  }

 private:
  friend Region StartRegion(const Context&, std::string_view);
  Region(uint64_t task, std::string_view type) : task_(task), type_(type), live_(true) {}
  void EndSlow();
  uint64_t task_ = 0;
  std::string_view type_;  // Must outlive the region (a literal, typically).
  bool live_ = false;
};
// StartRegion() starts a region of the given type (which must outlive it) in ctx's task.
Region StartRegion(const Context& ctx, std::string_view type);
// WithRegion() runs fn inside a region.
template <typename F>
void WithRegion(const Context& ctx, std::string_view type, F&& fn) {
  Region r = StartRegion(ctx, type);
  std::forward<F>(fn)();
}

// Log() records a message with a category (may be empty) in ctx's task.
void Log(const Context& ctx, std::string_view category, std::string_view message);
void Logf(const Context& ctx, std::string_view category, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));

// ---- Flight recorder (Go 1.25's trace.FlightRecorder, in the 1.19 format) ----
//
//   trace::StartFlightRecorder({.max_age = std::chrono::seconds(10), .max_bytes = 32 << 20});
//   ...                                            // something odd happened:
//   trace::WriteFlightRecordFile("last10s.trace");  // the last ~10 s, a valid Go 1.19 trace
//
// The tracer runs into memory instead of a sink. Every max_age/2 (and when the newest segment
// passes max_bytes/2) a checkpoint stops the world for a moment, flushes every batch and notes
// the state of every fiber; the recorder keeps the segments between checkpoints whose span is
// needed for max_age, dropping the oldest first whenever the total passes max_bytes. A dump
// checkpoints, then writes the state noted at the oldest kept checkpoint (as Start announces
// fibers), the events since, and the stack and string records. While it runs, Start() answers
// EBUSY and Stop() leaves it alone.
struct FlightOptions {
  std::chrono::milliseconds max_age{10000};  // Keep at least this much (>= 10 ms).
  size_t max_bytes = 64 << 20;               // Keep at most this much (>= 256 KiB; batches
                                             // are 64 KiB per P, so give it a few MiB).
};
// 0, EBUSY (a trace or recorder already runs), ESRCH (no runtime), EINVAL (bad options).
// Callable where Start() is.
int StartFlightRecorder(const FlightOptions& options);
// Writes the kept window to w (see Writer) and returns 0, or an errno (ENOENT: not running;
// ENODATA: the newest segment outgrew max_bytes, nothing valid is kept) with *message set.
// Callable where Start() is; dumps are serialised.
int WriteFlightRecord(const Writer& w, std::string* message = nullptr);
int WriteFlightRecordFile(const std::string& path, std::string* message = nullptr);
// Stops the recorder and frees its memory. Idempotent.
void StopFlightRecorder();
bool FlightRecorderEnabled();
// From now on signal signo (e.g. SIGUSR1) dumps the recorder to path (overwriting it); the
// handler only sets a flag, the recorder's fiber writes within ~100 ms and prints one line to
// stderr. 0, or EINVAL. The handler stays installed; a signal without a recorder is ignored.
int SetFlightRecorderSignal(int signo, const std::string& path);

struct FlightStats {
  bool enabled = false;
  uint64_t segments = 0;     // Kept, the open one included.
  uint64_t bytes = 0;        // Kept trace bytes (prologues, events, epilogues).
  uint64_t checkpoints = 0;  // Since StartFlightRecorder.
  uint64_t dumps = 0;
  uint64_t dropped_segments = 0;
  int64_t window_ns = 0;     // From the oldest kept checkpoint to now.
};
FlightStats GetFlightStats();

}  // namespace tracetool::fiber::trace

#endif  // TRACETOOL_LIB_FIBER_TRACE_H_
