// The execution tracer: Go 1.19-format trace events from the fiber scheduler.
//
// Design note (STYLE.md P9).
//
// Where events come from. Every G status change goes through CasGStatus(), which calls
// TraceGStatus(): the transition says which event it is (kDead->kRunnable GoCreate,
// kRunnable->kRunning GoStart, kRunning->kWaiting one of GoBlock*/GoSleep/GoStop by wait reason,
// kWaiting->kRunnable GoUnblock, kRunning->kSyscall GoSysCall, ...). The few events that are not
// G transitions have one-line hooks where the runtime does the thing: AcquireP/ReleaseP
// (ProcStart/ProcStop), the three places a P is taken from a fiber in a system call
// (GoSysBlock), SetProcs (Gomaxprocs), gc.cc (GC*, Heap*, mark assists).
//
// Buffers. Each P owns a 64 KiB batch (PTrace::buf), written only by whoever owns the P, so the
// hot path takes no lock: a timestamp (rdtsc on x86-64: clock_gettime costs 45 ns on this kind
// of VM), a few varints, done. A full batch goes to the writer thread's queue, and a new batch
// starts with a batch header (P id, time). Events of threads without a P (netpoll injection,
// the syscall-exit slow path, foreign threads) go to one global batch with P = -1 under
// global_lock. The writer thread hands batches to the user's Writer; if the queue holds more
// than kMaxQueuedBytes (a slow sink) or the sink failed, batches are dropped and counted: the
// program never waits for the sink, and Stop() reports what was lost.
//
// Consistency with Go's validator (spec §4.4). Start and Stop stop the world (as Go's
// StartTrace/StopTrace do), so only the caller holds a P while the trace announces every live
// fiber (GoCreate + GoWaiting/GoInSyscall) or closes every open slice (GoSched, ProcStop).
// Transitions on P-less threads cannot be stopped that way, so they run their CAS and event
// under global_lock (TraceCasGStatusNoP), with a Dekker handshake (nop_inflight) that lets a
// starting trace wait out a CAS that decided "tracing is off" a moment before.
// System calls follow Go: GoSysCall when entering; the thread that takes the P away writes
// GoSysBlock + ProcStop into that P's batch; the fiber, when it returns without its P, waits
// until that was written (GTrace::sys state 3) before it writes GoSysExit, so the exit never
// precedes the block in time.
//
// Stacks are return-address chains walked through frame pointers (lib/fiber and its users are
// built with -fno-omit-frame-pointer), deduplicated by content into ids, and symbolized only at
// Stop (trace_symbolize.cc, libdw). The stack of a parked fiber is walked from its saved context.
//
// Fiber switches. The scheduler's direct fiber-to-fiber switch (DirectSwitch) stays on while
// tracing: the outgoing fiber's GoSched/GoBlock/GoEnd is written while it still runs on its own
// stack (walked from TraceGStatus's frame, not from a saved context), and the incoming fiber's
// GoStart reuses that event's clock read (PTrace::switch_ts): a traced switch costs one rdtsc,
// one frame walk (hashed as it goes) and two events.
//
// CPU samples and annotations outside fibers: see their sections below and trace.h.
//
// Rejected: a global locked buffer (contended at 2+ Ps, and Go's per-P batches are what the
// reader expects); lazily announcing fibers on first use instead of stopping the world (two Ps
// can race to announce one fiber, and the announcement's time must precede every event of it);
// clock_gettime timestamps (3x the cost of rdtsc here; a 50 ns annotation budget cannot pay 45);
// a per-fiber stack cache keyed by the frame pointer and the first few return addresses (cheaper
// than a walk, but not exact: two call paths that differ only deeper down, at equal depths,
// would share a stack); dropping the stack of GoSched (Go records it; sync/sched profiles and
// the viewer use it).
#include "lib/fiber/trace.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include "lib/fiber/chan.h"
#include "lib/fiber/fiber.h"
#include "lib/fiber/internal/context.h"
#include "lib/fiber/internal/lock.h"
#include "lib/fiber/internal/runtime2.h"
#include "lib/fiber/internal/trace.h"
#include "lib/fiber/internal/trace_symbolize.h"
#include "lib/fiber/sync.h"
#include "lib/format/event_table.h"

namespace tracetool::fiber {
namespace internal {

std::atomic<bool> trace_enabled{false};

struct Checkpoint;

// One batch: a batch header and the events after it, as they go to the file.
struct TraceBuf {
  static constexpr size_t kSize = 64 * 1024 - 64;
  size_t len = 0;
  uint64_t events = 0;
  uint64_t last = 0;  // Time of the last event (or of the batch header).
  Checkpoint* cp = nullptr;  // Flight recorder: a checkpoint marker (len 0), not a batch.
  bool poison = false;              // Flight recorder: a batch was dropped here (len 0).
  uint8_t data[kSize];
};

namespace {

using trace::Writer;

using format::EventType;

constexpr size_t kBufSize = TraceBuf::kSize;
constexpr size_t kMaxQueuedBytes = 64 << 20;  // Beyond this the sink is "too slow": drop.
constexpr size_t kMaxLogMessage = 16 * 1024;  // Longer UserLog messages are truncated.
constexpr int kMaxFrames = 64;


enum class State : uint32_t { kOff, kStarting, kOn, kStopping };
std::atomic<uint32_t> state{static_cast<uint32_t>(State::kOff)};
std::atomic<uint32_t> trace_gen{0};
std::atomic<int32_t> nop_inflight{0};

Lock global_lock;   // Guards global_pt and serialises P-less transitions with Start/Stop.
PTrace global_pt;   // P -1.

std::atomic<uint64_t> regions_dropped{0};  // This trace's regions outside fibers (trace.h).
std::atomic<bool> cpu_on{false};  // CPU samples are taken (see "CPU samples" below).
void DrainCpuSamples();

// ---- Session: writer thread and results ----

struct Ring;

struct Session {
  Writer writer;
  std::thread thread;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<TraceBuf*> queue;     // Guarded by mu.
  std::string tail;                // Meta records written last. Guarded by mu.
  size_t queued_bytes = 0;         // Guarded by mu.
  bool closing = false;            // Guarded by mu.
  int error = 0;                   // Guarded by mu.
  uint64_t written = 0;            // Guarded by mu.
  uint64_t lost_bytes = 0;         // Guarded by mu.
  uint64_t lost_events = 0;        // Guarded by mu.
  uint64_t ticks_start = 0;
  int64_t ns_start = 0;
  Ring* ring = nullptr;            // Flight recorder: batches go here, not to writer.
  int cpu_error = 0;               // Arming the CPU-sample timer failed (errno).
  uint64_t cpu_samples = 0;        // Set by CloseAndFlush.
  uint64_t cpu_lost = 0;
  std::condition_variable ring_cv; // Signalled when the writer took a checkpoint marker.
};
Session* session = nullptr;        // Valid from Start to the end of Stop.
std::mutex stats_mu;               // Held to clear session: GetFlightStats reads through it.
std::mutex result_mu;
trace::StopResult last_result;     // Guarded by result_mu.

void SetLastResult(const trace::StopResult& r) {
  std::lock_guard<std::mutex> l(result_mu);
  last_result = r;
}
trace::StopResult LastResult() {
  std::lock_guard<std::mutex> l(result_mu);
  return last_result;
}

std::mutex pool_mu;
// Free batches, guarded by pool_mu. Never destroyed: batches stay reachable (no leak reports)
// and a trace finishing during exit still has a pool.
std::vector<TraceBuf*>& pool = *new std::vector<TraceBuf*>();

TraceBuf* AllocBuf() {
  {
    std::lock_guard<std::mutex> l(pool_mu);
    if (!pool.empty()) {
      TraceBuf* b = pool.back();
      pool.pop_back();
      b->len = 0;
      b->events = 0;
      b->last = 0;
      b->cp = nullptr;
      b->poison = false;
      return b;
    }
  }
  return new TraceBuf();
}

void FreeBuf(TraceBuf* b) {
  std::lock_guard<std::mutex> l(pool_mu);
  if (pool.size() < 64) {
    pool.push_back(b);
  } else {
    delete b;
  }
}

void Submit(TraceBuf* b) {
  Session* s = session;
  std::unique_lock<std::mutex> l(s->mu);
  if (s->ring != nullptr && s->queued_bytes + b->len > kMaxQueuedBytes) {
    // The recorder cannot drop a batch silently: the segment it belongs to is unusable now.
    s->lost_bytes += b->len;
    s->lost_events += b->events;
    b->len = 0;
    b->events = 0;
    b->poison = true;
  } else if (s->error != 0 || s->queued_bytes + b->len > kMaxQueuedBytes) {
    s->lost_bytes += b->len;
    s->lost_events += b->events;
    l.unlock();
    FreeBuf(b);
    return;
  }
  s->queued_bytes += b->len;
  s->queue.push_back(b);
  l.unlock();
  s->cv.notify_one();
}

// ---- Flight recorder ring (the design is at trace::StartFlightRecorder in trace.h) ----

}  // namespace

// What a checkpoint noted with the world stopped: how a dump that starts there announces every
// fiber, and how it closes when it ends there.
struct Checkpoint {
  uint64_t id = 0;
  int64_t ns = 0;
  std::string prologue;  // A batch: GoCreate (+GoWaiting/GoInSyscall) per fiber, Gomaxprocs,
                         // ProcStart and GoStart of the checkpointing fiber, GCStart if open.
  std::string epilogue;  // Batches closing what is open (GoSched, ProcStop, GC end).
  // goid -> what to subtract from the seq argument of its later events: the prologue restarts
  // every fiber's sequence as a trace start does (spec §3.2), the stream goes on counting.
  std::unordered_map<uint64_t, uint64_t> seq_off;
  uint64_t gc_base = 0;  // Likewise for GCStart's sequence number.
};

namespace {

// The events between two checkpoints.
struct Segment {
  int64_t start_ns = 0;
  std::string prologue;
  std::unordered_map<uint64_t, uint64_t> seq_off;
  uint64_t gc_base = 0;
  std::string data;      // Batches as written.
  std::string epilogue;  // Set when the next checkpoint closes this segment.
  bool closed = false;
  bool poisoned = false;  // A batch of it was lost: no dump may include it.
  size_t Bytes() const { return prologue.size() + data.size() + epilogue.size(); }
};

struct Ring {
  int64_t max_age_ns = 0;
  size_t max_bytes = 0;
  std::deque<std::shared_ptr<Segment>> segs;  // Oldest first; back() is open. Guarded by mu.
  size_t bytes = 0;                           // Guarded by Session::mu.
  uint64_t taken_cp = 0;                      // Last checkpoint marker taken. Guarded.
  uint64_t dropped = 0;                       // Guarded.
  std::atomic<bool> want_checkpoint{false};   // The open segment passed max_bytes / 2.
  Chan<int> wake{1};                          // The writer wakes the recorder's fiber with it.
};

// Drops the oldest segments not needed for max_age, or over max_bytes. Session::mu held.
void RingTrim(Ring* r) {
  const int64_t now = Nanotime();
  while (r->segs.size() > 1 &&
         (r->bytes > r->max_bytes || r->segs[1]->start_ns <= now - r->max_age_ns)) {
    r->bytes -= r->segs.front()->Bytes();
    r->segs.pop_front();
    r->dropped++;
  }
  Segment* cur = r->segs.back().get();
  if (r->bytes > r->max_bytes && !cur->poisoned) {
    // Only the open segment is left and it alone is too big: give it up until the next
    // checkpoint (asked for below, long before this happens unless the program outruns it).
    r->bytes -= cur->data.size();
    cur->data = std::string();
    cur->poisoned = true;
  }
  if (cur->Bytes() > r->max_bytes / 2) r->want_checkpoint.store(true, std::memory_order_relaxed);
}

// The writer thread's side of the ring: a batch joins the open segment, a marker closes it.
void RingTake(Session* s, TraceBuf* b) {
  Ring* r = s->ring;
  Segment* cur = r->segs.back().get();
  if (b->cp != nullptr) {
    Checkpoint* cp = b->cp;
    r->bytes += cp->epilogue.size();
    cur->epilogue = std::move(cp->epilogue);
    cur->closed = true;
    auto seg = std::make_shared<Segment>();
    seg->start_ns = cp->ns;
    seg->prologue = std::move(cp->prologue);
    seg->seq_off = std::move(cp->seq_off);
    seg->gc_base = cp->gc_base;
    r->bytes += seg->prologue.size();
    r->segs.push_back(std::move(seg));
    r->taken_cp = cp->id;
    delete cp;
    s->ring_cv.notify_all();
  } else if (b->poison) {
    r->bytes -= cur->data.size();
    cur->data = std::string();
    cur->poisoned = true;
  } else if (cur->poisoned) {
    s->lost_bytes += b->len;
    s->lost_events += b->events;
  } else {
    cur->data.append(reinterpret_cast<const char*>(b->data), b->len);
    r->bytes += b->len;
    s->written += b->len;
  }
  RingTrim(r);
}

void WriterLoop(Session* s) {
  // A closed pipe must give EPIPE here, not kill the process.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  int rc = s->ring ? 0 : s->writer(format::kHeader1019.data(), format::kHeader1019.size());
  std::unique_lock<std::mutex> l(s->mu);
  if (s->ring) {
  } else if (rc != 0) {
    s->error = rc;
    s->lost_bytes += format::kHeader1019.size();
  } else {
    s->written += format::kHeader1019.size();
  }
  for (;;) {
    const auto ready = [s] { return !s->queue.empty() || s->closing; };
    if (cpu_on.load(std::memory_order_relaxed)) {
      // CPU samples wait in their ring until drained: every 100 ms.
      s->cv.wait_for(l, std::chrono::milliseconds(100), ready);
      if (cpu_on.load(std::memory_order_relaxed)) {
        l.unlock();
        DrainCpuSamples();
        l.lock();
      }
      if (!ready()) continue;
    } else {
      s->cv.wait(l, ready);
    }
    if (s->queue.empty()) break;
    TraceBuf* b = s->queue.front();
    s->queue.pop_front();
    s->queued_bytes -= b->len;
    if (s->ring != nullptr) {
      RingTake(s, b);
      if (s->ring->want_checkpoint.load(std::memory_order_relaxed)) {
        // Outside mu: waking a fiber from this thread may emit a GoUnblock, which takes
        // global_lock, which a checkpoint holds while it takes mu.
        l.unlock();
        int v = 0;
        s->ring->wake.TrySend(v);
        l.lock();
      }
    } else if (s->error == 0) {
      l.unlock();
      rc = s->writer(b->data, b->len);
      l.lock();
      if (rc != 0) {
        s->error = rc;
        s->lost_bytes += b->len;
        s->lost_events += b->events;
      } else {
        s->written += b->len;
      }
    } else {
      s->lost_bytes += b->len;
      s->lost_events += b->events;
    }
    l.unlock();
    FreeBuf(b);
    l.lock();
  }
  if (!s->tail.empty() && s->ring == nullptr) {
    if (s->error == 0) {
      std::string tail = std::move(s->tail);
      l.unlock();
      rc = s->writer(tail.data(), tail.size());
      l.lock();
      if (rc != 0) {
        s->error = rc;
        s->lost_bytes += tail.size();
      } else {
        s->written += tail.size();
      }
    } else {
      s->lost_bytes += s->tail.size();
    }
  }
  // Drain a SIGPIPE our writes raised, so it does not outlive the mask.
  struct timespec zero {0, 0};
  while (sigtimedwait(&set, nullptr, &zero) > 0) {
  }
}

// ---- Clock ----

inline uint64_t Ticks() {
#if defined(__x86_64__)
  return __rdtsc();
#else
  return static_cast<uint64_t>(Nanotime());
#endif
}

// ---- Encoding ----

inline uint8_t* PutUvarint(uint8_t* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<uint8_t>(v) | 0x80;
    v >>= 7;
  }
  *p++ = static_cast<uint8_t>(v);
  return p;
}

void PutUvarint(std::string* out, uint64_t v) {
  uint8_t tmp[10];
  uint8_t* e = PutUvarint(tmp, v);
  out->append(reinterpret_cast<char*>(tmp), static_cast<size_t>(e - tmp));
}

// Writes event t with its k wire values (time delta, arguments, stack) at p; returns the end.
uint8_t* EncodeEvent(uint8_t* p, EventType t, const uint64_t* vals, int k) {
  if (k <= 3) {
    *p++ = static_cast<uint8_t>(static_cast<uint8_t>(t) | ((k - 1) << 6));
    for (int i = 0; i < k; i++) p = PutUvarint(p, vals[i]);
  } else {
    *p++ = static_cast<uint8_t>(static_cast<uint8_t>(t) | (3 << 6));
    uint8_t* lenp = p++;
    uint8_t* start = p;
    for (int i = 0; i < k; i++) p = PutUvarint(p, vals[i]);
    *lenp = static_cast<uint8_t>(p - start);  // <= 60 bytes: one varint byte.
  }
  return p;
}

// BufFor's slow path: submits pt's full (or stale) batch and starts a new one at ts.
__attribute__((noinline)) TraceBuf* NewBufFor(PTrace* pt, int64_t pid, uint64_t ts) {
  const uint32_t gen = trace_gen.load(std::memory_order_relaxed);
  TraceBuf* b = pt->buf;
  if (b != nullptr) {
    if (pt->gen == gen) {
      Submit(b);
    } else {
      FreeBuf(b);  // Left from an older trace (cannot happen: Stop flushes every P).
    }
  }
  if (pt->gen != gen) {
    pt->running = false;
    pt->curg = 0;
  }
  b = AllocBuf();
  uint8_t* p = b->data;
  *p++ = static_cast<uint8_t>(EventType::kBatch) | (1 << 6);
  p = PutUvarint(p, static_cast<uint64_t>(pid));
  p = PutUvarint(p, ts);
  b->len = static_cast<size_t>(p - b->data);
  b->last = ts;
  pt->buf = b;
  pt->gen = gen;
  return b;
}

// The batch of pt with room for need bytes, started at ts if a new one is needed.
inline TraceBuf* BufFor(PTrace* pt, int64_t pid, uint64_t ts, size_t need) {
  TraceBuf* b = pt->buf;
  if (b != nullptr && pt->gen == trace_gen.load(std::memory_order_relaxed) &&
      b->len + need <= kBufSize) {
    return b;
  }
  return NewBufFor(pt, pid, ts);
}

// Emit writes one event of type t into pt's batch. args are the event's argument slots in
// table order; stk is used iff the type has a stack; msg only for UserLog.
// Inlined: with t and the argument count known at each call site, the table lookups and loops
// fold into straight-line code (the scheduler's GoSched/GoStart pair was 10% of a traced switch).
__attribute__((always_inline)) inline void Emit(PTrace* pt, int64_t pid, EventType t, uint64_t ts,
                                                std::initializer_list<uint64_t> args,
                                                uint64_t stk = 0, std::string_view msg = {}) {
  const format::EventSpec& spec = format::Spec(t);
  TT_FIBER_CHECK(args.size() == spec.num_args);
  if (msg.size() > kMaxLogMessage) msg = msg.substr(0, kMaxLogMessage);
  const size_t need = 2 + 10 * (args.size() + 2) + (t == EventType::kUserLog ? 10 + msg.size() : 0);
  TraceBuf* b = BufFor(pt, pid, ts, need);
  if (ts < b->last) ts = b->last;  // Another CPU's counter a hair behind: keep deltas >= 0.
  // Encoded straight into the batch (EncodeEvent's layout): gathering the values into an array
  // first compiled to a `rep movsq` whose start-up cost was a quarter of this function.
  const int k = 1 + static_cast<int>(args.size()) + (spec.has_stack ? 1 : 0);
  uint8_t* p = b->data + b->len;
  uint8_t* lenp = nullptr;
  if (k <= 3) {
    *p++ = static_cast<uint8_t>(static_cast<uint8_t>(t) | ((k - 1) << 6));
  } else {
    *p++ = static_cast<uint8_t>(static_cast<uint8_t>(t) | (3 << 6));
    lenp = p++;
  }
  uint8_t* const start = p;
  p = PutUvarint(p, ts - b->last);
  for (uint64_t a : args) p = PutUvarint(p, a);
  if (spec.has_stack) p = PutUvarint(p, stk);
  if (lenp != nullptr) *lenp = static_cast<uint8_t>(p - start);  // <= 60 bytes: one byte.
  b->last = ts;
  if (t == EventType::kUserLog) {
    p = PutUvarint(p, msg.size());
    memcpy(p, msg.data(), msg.size());
    p += msg.size();
  }
  b->len = static_cast<size_t>(p - b->data);
  b->events++;
}

// Appends an event without a message to out (flight recorder prologues and epilogues); *last is
// the time of the previous event of out's current batch.
void AppendEvent(std::string* out, uint64_t* last, EventType t, uint64_t ts,
                 std::initializer_list<uint64_t> args, uint64_t stk = 0) {
  const format::EventSpec& spec = format::Spec(t);
  TT_FIBER_CHECK(args.size() == spec.num_args && t != EventType::kUserLog);
  if (ts < *last) ts = *last;
  uint64_t vals[2 + format::kMaxArgs];
  int k = 0;
  vals[k++] = ts - *last;
  for (uint64_t a : args) vals[k++] = a;
  if (spec.has_stack) vals[k++] = stk;
  *last = ts;
  uint8_t tmp[2 + 10 * (2 + format::kMaxArgs)];
  uint8_t* e = EncodeEvent(tmp, t, vals, k);
  out->append(reinterpret_cast<char*>(tmp), static_cast<size_t>(e - tmp));
}

void AppendBatch(std::string* out, uint64_t* last, int64_t pid, uint64_t ts) {
  const uint64_t vals[2] = {static_cast<uint64_t>(pid), ts};
  uint8_t tmp[24];
  uint8_t* e = EncodeEvent(tmp, EventType::kBatch, vals, 2);
  out->append(reinterpret_cast<char*>(tmp), static_cast<size_t>(e - tmp));
  *last = ts;
}

void FlushPT(PTrace* pt) {
  if (pt->buf == nullptr) return;
  if (pt->gen == trace_gen.load(std::memory_order_relaxed) && pt->buf->events > 0) {
    Submit(pt->buf);
  } else {
    FreeBuf(pt->buf);
  }
  pt->buf = nullptr;
}

// ---- Strings ----

struct SvHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};

Lock str_lock;
std::unordered_map<std::string, uint64_t, SvHash, std::equal_to<>> strings;  // Guarded.
std::vector<const std::string*> string_order;                              // Guarded.

uint64_t StringIdSlow(std::string_view s, const std::string** interned) {
  LockGuard g(&str_lock);
  auto it = strings.find(s);
  if (it == strings.end()) {
    it = strings.emplace(std::string(s), string_order.size() + 1).first;
    string_order.push_back(&it->first);
  }
  if (interned) *interned = &it->first;
  return it->second;
}

// A direct-mapped per-thread cache in front of the string table, so an annotation with a type
// it has seen costs a hash and a memcmp, not a lock.
struct StrCacheEntry {
  uint32_t gen = 0;
  size_t hash = 0;
  const std::string* s = nullptr;
  uint64_t id = 0;
};
thread_local StrCacheEntry str_cache[64];

uint64_t StringId(std::string_view s) {
  if (s.empty()) return 0;
  const uint32_t gen = trace_gen.load(std::memory_order_relaxed);
  const size_t h = std::hash<std::string_view>()(s);
  StrCacheEntry& e = str_cache[h % 64];
  if (e.gen == gen && e.hash == h && e.s->size() == s.size() &&
      memcmp(e.s->data(), s.data(), s.size()) == 0) {
    return e.id;
  }
  const std::string* interned = nullptr;
  const uint64_t id = StringIdSlow(s, &interned);
  e = {gen, h, interned, id};
  return id;
}

// ---- Stacks ----

Lock stk_lock;
std::unordered_map<std::string, uint64_t, SvHash, std::equal_to<>> stacks;  // PCs bytes -> id.
std::vector<const std::string*> stack_order;                               // Guarded.

// Per-thread cache in front of the stack table, as for strings: a repeated stack costs a hash
// and a memcmp.
thread_local StrCacheEntry stk_cache[256];

// The cache's hash of a stack: a rotate-xor per frame (a 1-cycle chain that runs under the
// frame walk's loads), mixed once. Collisions only cost a cache miss: a hit compares every PC.
struct StackHasher {
  uint64_t h = 0;
  void Add(uintptr_t pc) { h = ((h << 7) | (h >> 57)) ^ pc; }
  size_t Final(int n) const {
    uint64_t v = (h ^ static_cast<uint64_t>(n)) * 0x9E3779B97F4A7C15ull;
    return static_cast<size_t>(v ^ (v >> 29));
  }
};

uint64_t StackIdHashed(const uintptr_t* pcs, int n, size_t h) {
  if (n <= 0) return 0;
  std::string_view key(reinterpret_cast<const char*>(pcs), static_cast<size_t>(n) * sizeof(*pcs));
  const uint32_t gen = trace_gen.load(std::memory_order_relaxed);
  StrCacheEntry& e = stk_cache[h % 256];
  if (e.gen == gen && e.hash == h && e.s->size() == key.size()) {
    // Word by word, inline: a libc memcmp call was a third of this function's time.
    const char* c = e.s->data();
    int i = 0;
    for (; i < n; i++) {
      uintptr_t w;
      memcpy(&w, c + i * sizeof(w), sizeof(w));
      if (w != pcs[i]) break;
    }
    if (i == n) return e.id;
  }
  LockGuard g(&stk_lock);
  auto it = stacks.find(key);
  if (it == stacks.end()) {
    it = stacks.emplace(std::string(key), stack_order.size() + 1).first;
    stack_order.push_back(&it->first);
  }
  e = {gen, h, &it->first, it->second};
  return it->second;
}

uint64_t StackId(const uintptr_t* pcs, int n) {
  StackHasher hs;
  for (int i = 0; i < n; i++) hs.Add(pcs[i]);
  return StackIdHashed(pcs, n, hs.Final(n));
}

struct ThreadStack {
  uintptr_t lo = 0;
  uintptr_t hi = 0;  // 1: unknown (no stacks on this thread).
};
thread_local ThreadStack thread_stack;

// Caches the calling thread's own stack bounds (whatever stack it runs on now), so that the
// CPU-sample handler, which cannot ask pthread, can walk the thread's scheduler stack.
void CacheThreadStack() {
  if (thread_stack.hi != 0) return;
  pthread_attr_t attr;
  ThreadStack b;
  b.hi = 1;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    void* addr = nullptr;
    size_t size = 0;
    pthread_attr_getstack(&attr, &addr, &size);
    pthread_attr_destroy(&attr);
    b.lo = reinterpret_cast<uintptr_t>(addr);
    b.hi = b.lo + size;
  }
  thread_stack = b;
}

// The bounds of the stack the caller runs on: its fiber's (gp, the current G), or its thread's.
ThreadStack StackBoundsOf(G* gp) {
  if (gp != nullptr) {
    const uintptr_t lo = reinterpret_cast<uintptr_t>(gp->stack.lo);
    return {lo, lo + gp->stack.size};
  }
  CacheThreadStack();
  return thread_stack;
}

// Walks the frame-pointer chain from fp inside [lo, hi), hashing the PCs as it goes (hs may be
// null). Reads only inside that range.
__attribute__((no_sanitize_address, no_sanitize_thread)) int WalkFrames(
    uintptr_t fp, uintptr_t lo, uintptr_t hi, uintptr_t* pcs, int n, int max,
    StackHasher* hs = nullptr) {
  while (n < max && fp >= lo && fp + 16 <= hi && fp % 8 == 0) {
    const uintptr_t ret = reinterpret_cast<const uintptr_t*>(fp)[1];
    const uintptr_t next = reinterpret_cast<const uintptr_t*>(fp)[0];
    if (ret == 0) break;
    pcs[n++] = ret;
    if (hs != nullptr) hs->Add(ret);
    if (next <= fp) break;
    fp = next;
  }
  return n;
}

// The stack of the caller of the function whose frame is fp (an entry point's
// __builtin_frame_address(0)); self is the current G (GetG()), or null on a thread's stack.
uint64_t StackFromG(void* fp, G* self) {
  const ThreadStack b = StackBoundsOf(self);
  uintptr_t pcs[kMaxFrames];
  StackHasher hs;
  const int n = WalkFrames(reinterpret_cast<uintptr_t>(fp), b.lo, b.hi, pcs, 0, kMaxFrames, &hs);
  return StackIdHashed(pcs, n, hs.Final(n));
}

uint64_t StackFrom(void* fp) { return StackFromG(fp, GetG()); }

// The stack of a fiber that is switched out (parked, yielded): from its saved context.
__attribute__((no_sanitize_address, no_sanitize_thread)) uint64_t StackOfParked(G* gp) {
#if defined(__x86_64__)
  const uintptr_t lo = reinterpret_cast<uintptr_t>(gp->stack.lo);
  const uintptr_t hi = lo + gp->stack.size;
  const uintptr_t sp = reinterpret_cast<uintptr_t>(gp->context.sp);
  if (sp < lo || sp + kFrameSize > hi) return 0;
  uintptr_t pcs[kMaxFrames];
  int n = 0;
  StackHasher hs;
  pcs[n++] = *reinterpret_cast<const uintptr_t*>(sp + kFrameRet);
  hs.Add(pcs[0]);
  n = WalkFrames(*reinterpret_cast<const uintptr_t*>(sp + 48), lo, hi, pcs, n, kMaxFrames, &hs);
  return StackIdHashed(pcs, n, hs.Final(n));
#else
  (void)gp;
  return 0;
#endif
}

// The one-frame creation stack of a fiber: where Go() was called (the start function's group).
uint64_t StartStack(G* gp) {
  uintptr_t pc = reinterpret_cast<uintptr_t>(gp->caller_pc);
  if (pc == 0) pc = reinterpret_cast<uintptr_t>(&StartStack) + 1;  // Never 0 (spec §4.4 8).
  return StackId(&pc, 1);
}

// ---- CPU samples (StartOptions::cpu_profile_hz) ----
//
// SIGPROF (setitimer ITIMER_PROF, as runtime/pprof's CPU profile) interrupts a thread using CPU.
// The handler only fills a slot of a fixed ring: time, P, fiber and a frame-pointer walk of the
// interrupted stack, bounded by that stack (the fiber's, or the thread's when its bounds were
// cached outside the handler; else just the interrupted PC). The writer thread drains the ring
// every 100 ms (and Stop drains the rest) into a batch of its own whose header says P 0, as Go
// 1.19's traceReadCPU does: each CPUSample's time is when it was drained, its first argument
// the time it was taken (the reader re-sorts samples by it). Rejected: writing samples into
// the interrupted P's batch from the handler (the handler may have interrupted an Emit into it).

constexpr int kCpuSlots = 4096;  // About 40 s of one busy CPU at 100 Hz between two drains.
constexpr int kCpuDepth = 48;

struct CpuSlot {
  std::atomic<uint32_t> state{0};  // 0 free, 1 being written by a handler, 2 ready.
  uint64_t ts = 0;
  uint64_t p = 0;
  uint64_t g = 0;
  int n = 0;
  uintptr_t pcs[kCpuDepth + 1];  // +1: the CPU-stack marker (see StackIdCpu).
};
CpuSlot* cpu_slots = nullptr;           // Allocated at the first sampled Start; never freed.
std::atomic<int32_t> cpu_in_handler{0};
std::atomic<uint64_t> cpu_next{0};
std::atomic<uint64_t> cpu_lost{0};      // This trace's samples that found no free slot.
std::atomic<bool> cpu_handler_installed{false};
std::mutex cpu_mu;                      // Serialises drains (writer thread, Stop).
PTrace cpu_pt;                          // The samples' batch (header P 0). Guarded by cpu_mu.
uint64_t cpu_written = 0;               // Guarded by cpu_mu.

// Reads the interrupted pc, sp and frame pointer from the signal context.
bool SignalRegs(void* uctx, uintptr_t* pc, uintptr_t* sp, uintptr_t* fp) {
  const auto* uc = static_cast<const ucontext_t*>(uctx);
#if defined(__x86_64__)
  *pc = static_cast<uintptr_t>(uc->uc_mcontext.gregs[REG_RIP]);
  *sp = static_cast<uintptr_t>(uc->uc_mcontext.gregs[REG_RSP]);
  *fp = static_cast<uintptr_t>(uc->uc_mcontext.gregs[REG_RBP]);
  return true;
#elif defined(__aarch64__)
  *pc = static_cast<uintptr_t>(uc->uc_mcontext.pc);
  *sp = static_cast<uintptr_t>(uc->uc_mcontext.sp);
  *fp = static_cast<uintptr_t>(uc->uc_mcontext.regs[29]);
  return true;
#else
  (void)uc;
  (void)pc;
  (void)sp;
  (void)fp;
  return false;
#endif
}

__attribute__((no_sanitize_address, no_sanitize_thread)) void OnCpuSignal(int, siginfo_t*,
                                                                          void* uctx) {
  const int saved_errno = errno;
  cpu_in_handler.fetch_add(1, std::memory_order_seq_cst);
  if (cpu_on.load(std::memory_order_seq_cst)) {
    CpuSlot& s = cpu_slots[cpu_next.fetch_add(1, std::memory_order_relaxed) % kCpuSlots];
    uint32_t expect = 0;
    if (!s.state.compare_exchange_strong(expect, 1, std::memory_order_acquire)) {
      cpu_lost.fetch_add(1, std::memory_order_relaxed);
    } else {
      s.ts = Ticks();
      M* m = GetM();
      G* gp = m != nullptr ? m->curg : nullptr;
      s.p = m != nullptr && m->p != nullptr ? static_cast<uint64_t>(m->p->id) : ~uint64_t{0};
      s.g = gp != nullptr ? gp->goid.load(std::memory_order_relaxed) : 0;
      s.n = 0;
      uintptr_t pc = 0, sp = 0, fp = 0;
      if (SignalRegs(uctx, &pc, &sp, &fp) && pc != 0) {
        s.pcs[s.n++] = pc + 1;  // Symbolized as pc - 1, like the return addresses after it.
        uintptr_t lo = 0, hi = 0;
        if (gp != nullptr) {
          lo = reinterpret_cast<uintptr_t>(gp->stack.lo);
          hi = lo + gp->stack.size;
        }
        if (sp < lo || sp >= hi) {  // Not on the fiber's stack: g0 or a thread of its own.
          lo = thread_stack.lo;
          hi = thread_stack.hi > 1 ? thread_stack.hi : 0;
        }
        if (sp >= lo && sp < hi) s.n = WalkFrames(fp, sp, hi, s.pcs, s.n, kCpuDepth);
      }
      s.state.store(2, std::memory_order_release);
    }
  }
  cpu_in_handler.fetch_sub(1, std::memory_order_seq_cst);
  errno = saved_errno;
}

// Drains every ready slot into cpu_pt, oldest first. Any thread but the handler's.
void DrainCpuSamples() {
  std::lock_guard<std::mutex> l(cpu_mu);
  if (cpu_slots == nullptr) return;
  struct Taken {
    uint64_t ts, p, g;
    int n;
    uintptr_t pcs[kCpuDepth + 1];
  };
  static std::vector<Taken>& taken = *new std::vector<Taken>();  // Guarded by cpu_mu.
  taken.clear();
  for (int i = 0; i < kCpuSlots; i++) {
    CpuSlot& s = cpu_slots[i];
    if (s.state.load(std::memory_order_acquire) != 2) continue;
    Taken t{s.ts, s.p, s.g, s.n, {}};
    memcpy(t.pcs, s.pcs, sizeof(uintptr_t) * static_cast<size_t>(s.n));
    taken.push_back(t);
    s.state.store(0, std::memory_order_release);
  }
  std::sort(taken.begin(), taken.end(),
            [](const Taken& a, const Taken& b) { return a.ts < b.ts; });
  for (Taken& t : taken) {
    // A marker word ends a CPU sample's key: its stack is kept whole at Stop (events drop their
    // leading runtime-internal frames, a sample must not), and never shares an id with an
    // event's stack of the same PCs.
    t.pcs[t.n] = 0;
    const uint64_t stk = t.n > 0 ? StackId(t.pcs, t.n + 1) : 0;
    Emit(&cpu_pt, 0, EventType::kCPUSample, Ticks(), {t.ts, t.p, t.g}, stk);
    cpu_written++;
  }
}

// Arms the profiling timer for a trace starting now. 0, EBUSY (the timer is in use), or errno.
int StartCpuSampling(int hz) {
  struct itimerval cur {};
  if (getitimer(ITIMER_PROF, &cur) != 0) return errno;
  if (cur.it_value.tv_sec != 0 || cur.it_value.tv_usec != 0) return EBUSY;
  {
    std::lock_guard<std::mutex> l(cpu_mu);
    if (cpu_slots == nullptr) cpu_slots = new CpuSlot[kCpuSlots];
    for (int i = 0; i < kCpuSlots; i++) cpu_slots[i].state.store(0, std::memory_order_relaxed);
    cpu_written = 0;
    cpu_pt = PTrace();
  }
  cpu_lost.store(0);
  if (!cpu_handler_installed.exchange(true)) {
    // Stays installed (ignoring signals while off): a late SIGPROF must not kill the process.
    struct sigaction sa {};
    sa.sa_sigaction = OnCpuSignal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPROF, &sa, nullptr) != 0) {
      cpu_handler_installed.store(false);
      return errno;
    }
  }
  CacheThreadStack();
  cpu_on.store(true, std::memory_order_seq_cst);
  struct itimerval it {};
  it.it_interval.tv_usec = 1000000 / hz;
  it.it_value = it.it_interval;
  if (setitimer(ITIMER_PROF, &it, nullptr) != 0) {
    const int err = errno;
    cpu_on.store(false);
    return err;
  }
  return 0;
}

// Disarms the timer, waits out running handlers and writes what is left (before the stack
// table is built). *written/*lost: this trace's sample counts.
void StopCpuSampling(uint64_t* written, uint64_t* lost) {
  if (!cpu_on.load()) return;
  struct itimerval zero {};
  setitimer(ITIMER_PROF, &zero, nullptr);
  cpu_on.store(false, std::memory_order_seq_cst);
  while (cpu_in_handler.load(std::memory_order_seq_cst) != 0) {
  }
  DrainCpuSamples();
  std::lock_guard<std::mutex> l(cpu_mu);
  FlushPT(&cpu_pt);
  *written = cpu_written;
  *lost = cpu_lost.load();
}

// ---- Emission helpers ----

inline int64_t PidOf(P* pp) { return pp ? pp->id : -1; }
inline PTrace* PtOf(P* pp) { return pp ? &pp->trace : &global_pt; }

// The P a transition's event goes to: the current M's P, else the global batch (caller holds
// global_lock then).
inline P* CurP() {
  M* m = GetM();
  return m ? m->p : nullptr;
}

EventType BlockEvent(G* gp) {
  if (gp->trace.block_override != 0) return static_cast<EventType>(gp->trace.block_override);
  switch (gp->waitreason.load(std::memory_order_relaxed)) {
    case WaitReason::kChanReceive: return EventType::kGoBlockRecv;
    case WaitReason::kChanSend: return EventType::kGoBlockSend;
    case WaitReason::kChanReceiveNilChan:
    case WaitReason::kChanSendNilChan:
    case WaitReason::kSelectNoCases: return EventType::kGoStop;
    case WaitReason::kSelect: return EventType::kGoBlockSelect;
    case WaitReason::kSleep: return EventType::kGoSleep;
    case WaitReason::kSyncMutexLock:
    case WaitReason::kSyncRWMutexRLock:
    case WaitReason::kSyncRWMutexLock:
    case WaitReason::kSyncWaitGroupWait: return EventType::kGoBlockSync;
    case WaitReason::kSyncCondWait: return EventType::kGoBlockCond;
    case WaitReason::kIOWait: return EventType::kGoBlockNet;
    case WaitReason::kZero:
    case WaitReason::kTimerGoroutineIdle: return EventType::kGoBlock;
  }
  return EventType::kGoBlock;
}

void EmitCreate(PTrace* pt, int64_t pid, G* gp, uint64_t stk) {
  gp->trace.gen = trace_gen.load(std::memory_order_relaxed);
  gp->trace.seq = 0;
  gp->trace.sys.store(0, std::memory_order_relaxed);
  Emit(pt, pid, EventType::kGoCreate, Ticks(), {gp->goid.load(std::memory_order_relaxed), StartStack(gp)},
       stk);
}

void EmitStart(PTrace* pt, int64_t pid, G* gp) {
  const uint64_t id = gp->goid.load(std::memory_order_relaxed);
  // Right after the previous fiber's slice end on a direct switch: share its clock read (one
  // tick later, so the two events keep distinct times as Go's do).
  const uint64_t sw = std::exchange(pt->switch_ts, 0);
  Emit(pt, pid, EventType::kGoStart, sw != 0 ? sw + 1 : Ticks(), {id, ++gp->trace.seq});
  pt->curg = id;
  pt->curg_g = gp;
}

// Ends the P's open slice with t (GoSched, GoBlock*, GoEnd, ...). switching: the caller is the
// outgoing fiber itself, on a direct fiber-to-fiber switch whose GoStart follows at once.
void EmitSliceEnd(PTrace* pt, int64_t pid, EventType t, uint64_t stk, bool switching = false) {
  const uint64_t ts = Ticks();
  Emit(pt, pid, t, ts, {}, stk);
  pt->curg = 0;
  pt->curg_g = nullptr;
  pt->switch_ts = switching ? ts : 0;
}

inline uint64_t SysWord(uint32_t gen, uint64_t st) { return (static_cast<uint64_t>(gen) << 2) | st; }

// The fiber returns from a system call whose P was taken: wait until the taker wrote GoSysBlock.
// The taker is between its CAS on the P's status and this hook, a few instructions; the 1 s
// bound only keeps a tracer bug from hanging the program.
void AwaitSysBlocked(G* gp, uint32_t gen) {
  const int64_t deadline = Nanotime() + 1000 * 1000 * 1000;
  for (int spins = 0;; spins++) {
    const uint64_t w = gp->trace.sys.load(std::memory_order_acquire);
    if (w == SysWord(gen, 3) || (w >> 2) != gen || !TraceOn()) return;
    if (spins > 100) {
      sched_yield();
      if (Nanotime() > deadline) return;
    }
  }
}

// pp's slice belongs to another fiber still in a system call: this one took pp by its stale
// syscall-exit CAS (the victim's P was retaken from us, given to the victim, and the victim
// entered a syscall on it). As Go's exitsyscallfast_reacquired does, write the victim's
// GoSysBlock; the victim will find its P gone and write GoSysExit.
void BlockStolenSlice(P* pp, G* thief) {
  PTrace* pt = &pp->trace;
  G* victim = pt->curg_g;
  if (pt->curg == 0 || victim == nullptr || victim == thief) return;
  const uint32_t gen = trace_gen.load(std::memory_order_relaxed);
  uint64_t expect = SysWord(gen, 1);
  const bool in_sys =
      victim->trace.sys.compare_exchange_strong(expect, SysWord(gen, 2), std::memory_order_acq_rel);
  Emit(pt, pp->id, EventType::kGoSysBlock, Ticks(), {});
  pt->curg = 0;
  pt->curg_g = nullptr;
  if (in_sys) victim->trace.sys.store(SysWord(gen, 3), std::memory_order_release);
}

}  // namespace

// ---- Hooks ----

void TraceGStatus(G* gp, GStatus from, GStatus to) {
  void* fp = __builtin_frame_address(0);
  M* const m = GetM();  // Once: GetM is an opaque call (TT_NOIPA).
  G* const cur = m != nullptr ? m->curg : nullptr;
  P* pp = m != nullptr ? m->p : nullptr;
  PTrace* pt = PtOf(pp);
  const int64_t pid = PidOf(pp);
  const uint32_t gen = trace_gen.load(std::memory_order_relaxed);
  if (from == GStatus::kDead && to == GStatus::kRunnable) {
    EmitCreate(pt, pid, gp, cur ? StackFromG(fp, cur) : 0);
    return;
  }
  if (gp->trace.gen != gen) return;  // Not announced in this trace (cannot happen).
  const uint64_t id = gp->goid.load(std::memory_order_relaxed);
  switch (to) {
    case GStatus::kRunning:
      if (from == GStatus::kSyscall) {
        BlockStolenSlice(pp, gp);
        uint64_t w = gp->trace.sys.load(std::memory_order_acquire);
        if ((w >> 2) != gen) return;
        // Got its own P back before anyone took it: the syscall did not block.
        if ((w & 3) == 1 && gp->trace.sys_p == pp &&
            gp->trace.sys.compare_exchange_strong(w, 0, std::memory_order_acq_rel)) {
          return;
        }
        AwaitSysBlocked(gp, gen);
        gp->trace.sys.store(0, std::memory_order_relaxed);
        Emit(pt, pid, EventType::kGoSysExit, Ticks(), {id, ++gp->trace.seq, 0});
      }
      EmitStart(pt, pid, gp);
      return;
    case GStatus::kRunnable:
      if (from == GStatus::kWaiting) {
        Emit(pt, pid, EventType::kGoUnblock, Ticks(), {id, ++gp->trace.seq},
             cur ? StackFromG(fp, cur) : 0);
      } else if (from == GStatus::kRunning) {
        const bool self = gp == cur;
        EmitSliceEnd(pt, pid, gp->trace.preempt ? EventType::kGoPreempt : EventType::kGoSched,
                     self ? StackFromG(fp, gp) : StackOfParked(gp), self);
        gp->trace.preempt = false;
      } else if (from == GStatus::kSyscall) {
        const uint64_t w = gp->trace.sys.load(std::memory_order_acquire);
        if ((w >> 2) != gen) return;
        AwaitSysBlocked(gp, gen);
        gp->trace.sys.store(0, std::memory_order_relaxed);
        Emit(pt, pid, EventType::kGoSysExit, Ticks(), {id, ++gp->trace.seq, 0});
      }
      return;  // kPreempted -> kRunnable: already runnable in the trace.
    case GStatus::kPreempted:
      EmitSliceEnd(pt, pid, EventType::kGoPreempt, StackOfParked(gp));
      return;
    case GStatus::kWaiting: {
      // On the direct switch (DirectSwitch) the fiber still runs on its own stack: walk it from
      // here; on the slow path it is parked and its saved context is the start.
      const bool self = gp == cur;
      EmitSliceEnd(pt, pid, BlockEvent(gp), self ? StackFromG(fp, gp) : StackOfParked(gp), self);
      return;
    }
    case GStatus::kDead:
      if (from == GStatus::kRunning) EmitSliceEnd(pt, pid, EventType::kGoEnd, 0, gp == cur);
      return;
    case GStatus::kSyscall:
      Emit(pt, pid, EventType::kGoSysCall, Ticks(), {}, StackFromG(fp, cur));
      gp->trace.sys_p = pp;
      gp->trace.sys.store(SysWord(gen, 1), std::memory_order_release);
      return;
    default:
      return;
  }
}

bool TraceCasGStatusNoP(G* gp, GStatus from, GStatus to, uint32_t* seen) {
  nop_inflight.fetch_add(1, std::memory_order_seq_cst);
  if (!trace_enabled.load(std::memory_order_seq_cst)) {
    const bool ok = gp->atomicstatus.compare_exchange_strong(*seen, static_cast<uint32_t>(to),
                                                             std::memory_order_acq_rel);
    nop_inflight.fetch_sub(1, std::memory_order_seq_cst);
    return ok;
  }
  nop_inflight.fetch_sub(1, std::memory_order_seq_cst);
  LockGuard g(&global_lock);
  const bool ok = gp->atomicstatus.compare_exchange_strong(*seen, static_cast<uint32_t>(to),
                                                           std::memory_order_acq_rel);
  if (ok && TraceOn()) TraceGStatus(gp, from, to);
  return ok;
}

void TraceProcStart(M* m, P* pp) {
  if (m == GetM()) CacheThreadStack();  // For CPU samples of this thread's scheduler stack.
  PTrace* pt = &pp->trace;
  const uint32_t gen = trace_gen.load(std::memory_order_relaxed);
  if (pt->gen == gen && pt->running) return;
  Emit(pt, pp->id, EventType::kProcStart, Ticks(), {static_cast<uint64_t>(m->id)});
  pt->running = true;
  pt->curg = 0;
}

void TraceProcStop(P* pp) {
  PTrace* pt = &pp->trace;
  if (pt->gen != trace_gen.load(std::memory_order_relaxed) || !pt->running) return;
  Emit(pt, pp->id, EventType::kProcStop, Ticks(), {});
  pt->running = false;
}

void TraceSysBlock(P* pp) {
  G* gp = pp->curg.load(std::memory_order_acquire);
  if (gp == nullptr) return;
  const uint32_t gen = trace_gen.load(std::memory_order_relaxed);
  uint64_t expect = SysWord(gen, 1);
  if (!gp->trace.sys.compare_exchange_strong(expect, SysWord(gen, 2), std::memory_order_acq_rel)) {
    return;
  }
  PTrace* pt = &pp->trace;
  Emit(pt, pp->id, EventType::kGoSysBlock, Ticks(), {});
  pt->curg = 0;
  pt->curg_g = nullptr;
  TraceProcStop(pp);
  gp->trace.sys.store(SysWord(gen, 3), std::memory_order_release);
}

void TraceProcMove(G* gp, M* m, P* oldp, P* newp) {
  PTrace* pt = &oldp->trace;
  if (pt->curg != 0) EmitSliceEnd(pt, oldp->id, EventType::kGoSched, 0);
  TraceProcStop(oldp);
  TraceProcStart(m, newp);
  EmitStart(&newp->trace, newp->id, gp);
}

void TraceGomaxprocs(int32_t procs) {
  void* fp = __builtin_frame_address(0);
  P* pp = CurP();
  if (pp == nullptr) return;
  Emit(&pp->trace, pp->id, EventType::kGomaxprocs, Ticks(), {static_cast<uint64_t>(procs)},
       StackFrom(fp));
}

// ---- GC ----

namespace {
struct GcTrace {
  uint32_t open_gen = 0;    // GCStart emitted in this session, GCDone not yet.
  uint64_t seq = 0;         // GCStart sequence (0, 1, ... per session).
  uint32_t seq_gen = 0;
  uint32_t stw_gen = 0;     // GCSTWStart emitted, GCSTWDone not yet.
  // A sweep in progress: emitted as a Start/Done pair at its end, when nothing else was
  // written to its P in between (sweep start and done must be on one P).
  uint32_t sweep_gen = 0;
  P* sweep_p = nullptr;
  uint64_t sweep_ts = 0;
  uint64_t sweep_stk = 0;
  uint64_t sweep_events = 0;
  TraceBuf* sweep_buf = nullptr;
};
GcTrace gct;  // Written only by the GC cycle fiber (one at a time) and, world stopped, by Stop.
std::mutex gc_mu;
}  // namespace

void TraceGCStart() {
  void* fp = __builtin_frame_address(0);
  P* pp = CurP();
  if (pp == nullptr) return;
  std::lock_guard<std::mutex> l(gc_mu);
  const uint32_t gen = trace_gen.load(std::memory_order_relaxed);
  if (gct.seq_gen != gen) {
    gct.seq_gen = gen;
    gct.seq = 0;
  }
  Emit(&pp->trace, pp->id, EventType::kGCStart, Ticks(), {gct.seq++}, StackFrom(fp));
  gct.open_gen = gen;
}

void TraceGCDone() {
  P* pp = CurP();
  if (pp == nullptr) return;
  std::lock_guard<std::mutex> l(gc_mu);
  if (gct.open_gen != trace_gen.load(std::memory_order_relaxed)) return;
  Emit(&pp->trace, pp->id, EventType::kGCDone, Ticks(), {});
  gct.open_gen = 0;
}

void TraceGCSTWStart(int kind) {
  P* pp = CurP();
  if (pp == nullptr) return;
  std::lock_guard<std::mutex> l(gc_mu);
  Emit(&pp->trace, pp->id, EventType::kGCSTWStart, Ticks(), {static_cast<uint64_t>(kind)});
  gct.stw_gen = trace_gen.load(std::memory_order_relaxed);
}

void TraceGCSTWDone() {
  P* pp = CurP();
  if (pp == nullptr) return;
  std::lock_guard<std::mutex> l(gc_mu);
  if (gct.stw_gen != trace_gen.load(std::memory_order_relaxed)) return;
  Emit(&pp->trace, pp->id, EventType::kGCSTWDone, Ticks(), {});
  gct.stw_gen = 0;
}

void TraceGCSweepStart() {
  void* fp = __builtin_frame_address(0);
  P* pp = CurP();
  if (pp == nullptr) return;
  std::lock_guard<std::mutex> l(gc_mu);
  gct.sweep_gen = trace_gen.load(std::memory_order_relaxed);
  gct.sweep_p = pp;
  gct.sweep_stk = StackFrom(fp);
  gct.sweep_buf = pp->trace.buf;
  gct.sweep_events = pp->trace.buf ? pp->trace.buf->events : 0;
  gct.sweep_ts = Ticks();
}

void TraceGCSweepDone(uint64_t swept, uint64_t reclaimed) {
  P* pp = CurP();
  if (pp == nullptr) return;
  std::lock_guard<std::mutex> l(gc_mu);
  const bool same = gct.sweep_gen == trace_gen.load(std::memory_order_relaxed) &&
                    gct.sweep_p == pp && pp->trace.buf == gct.sweep_buf &&
                    (pp->trace.buf ? pp->trace.buf->events : 0) == gct.sweep_events;
  gct.sweep_gen = 0;
  if (!same) return;  // The sweeper moved or was interleaved: no pair (see GcTrace).
  Emit(&pp->trace, pp->id, EventType::kGCSweepStart, gct.sweep_ts, {}, gct.sweep_stk);
  Emit(&pp->trace, pp->id, EventType::kGCSweepDone, Ticks(), {swept, reclaimed});
}

void TraceHeap(uint64_t alloc, uint64_t goal) {
  P* pp = CurP();
  if (pp == nullptr) return;
  Emit(&pp->trace, pp->id, EventType::kHeapAlloc, Ticks(), {alloc});
  if (goal != 0) Emit(&pp->trace, pp->id, EventType::kHeapGoal, Ticks(), {goal});
}

void TraceAssistScope::Begin() {
  void* fp = __builtin_frame_address(0);
  G* gp = GetG();
  P* pp = CurP();
  if (gp == nullptr || pp == nullptr) return;
  if (gp->trace.gen != trace_gen.load(std::memory_order_relaxed)) return;
  on_ = true;
  gp->trace.block_override = static_cast<int>(EventType::kGoBlockGC);
  Emit(&pp->trace, pp->id, EventType::kGCMarkAssistStart, Ticks(), {}, StackFrom(fp));
}

void TraceAssistScope::End() {
  G* gp = GetG();
  gp->trace.block_override = 0;
  P* pp = CurP();
  if (pp == nullptr || !TraceOn()) return;
  if (gp->trace.gen != trace_gen.load(std::memory_order_relaxed)) return;
  Emit(&pp->trace, pp->id, EventType::kGCMarkAssistDone, Ticks(), {});
}

void TraceBlockAsScope::Begin(format::EventType t) {
  G* gp = GetG();
  if (gp == nullptr) return;
  gp_ = gp;
  saved_ = gp->trace.block_override;
  gp->trace.block_override = static_cast<int>(t);
}

void TraceBlockAsScope::End() { gp_->trace.block_override = saved_; }

// ---- Start / Stop ----

namespace {

void AnnounceG(G* gp, void* arg) {
  G* self = static_cast<G*>(arg);
  P* pp = CurP();
  PTrace* pt = &pp->trace;
  const GStatus s = ReadGStatus(gp);
  if (s == GStatus::kDead || s == GStatus::kIdle) return;
  if (s == GStatus::kRunning && gp != self) return;  // Cannot happen with the world stopped.
  EmitCreate(pt, pp->id, gp, 0);
  const uint64_t id = gp->goid.load(std::memory_order_relaxed);
  const uint32_t gen = gp->trace.gen;
  if (s == GStatus::kWaiting) {
    ++gp->trace.seq;
    Emit(pt, pp->id, EventType::kGoWaiting, Ticks(), {id});
  } else if (s == GStatus::kSyscall) {
    ++gp->trace.seq;
    Emit(pt, pp->id, EventType::kGoInSyscall, Ticks(), {id});
    gp->trace.sys.store(SysWord(gen, 3), std::memory_order_release);  // Owes GoSysExit.
  }
}

// Runs on a fiber: the world is stopped around the announcement of every live fiber.
int StartOnFiber(Writer w, Ring* ring, int cpu_hz = 0) {
  G* self = MustGetG();
  StopTheWorld("start trace");
  auto* s = new Session();
  s->writer = std::move(w);
  if (ring != nullptr) {
    auto first = std::make_shared<Segment>();  // Its announcements are in the stream itself.
    first->start_ns = Nanotime();
    ring->segs.push_back(std::move(first));
    s->ring = ring;
  }
  {
    LockGuard g(&str_lock);
    strings.clear();
    string_order.clear();
  }
  {
    LockGuard g(&stk_lock);
    stacks.clear();
    stack_order.clear();
  }
  session = s;
  const uint32_t gen = trace_gen.fetch_add(1, std::memory_order_relaxed) + 1;
  (void)gen;
  s->ticks_start = Ticks();
  s->ns_start = Nanotime();
  s->thread = std::thread(WriterLoop, s);
  for (int32_t i = 0, n = TraceGomaxprocsNow(); i < n; i++) {
    if (P* pp = TraceAllP(i)) {
      pp->trace.running = false;
      pp->trace.curg = 0;
      pp->trace.switch_ts = 0;
    }
  }
  global_pt.running = false;
  global_pt.curg = 0;
  {
    std::lock_guard<std::mutex> l(gc_mu);
    gct = GcTrace();
  }
  trace_enabled.store(true, std::memory_order_seq_cst);
  global_lock.Acquire();
  while (nop_inflight.load(std::memory_order_seq_cst) != 0) {
  }
  // P-less transitions are now serialised with this snapshot.
  ForEachG(AnnounceG, self);
  global_lock.Release();
  regions_dropped.store(0);
  if (cpu_hz > 0) s->cpu_error = StartCpuSampling(cpu_hz);
  M* m = GetM();
  P* pp = m->p;
  Emit(&pp->trace, pp->id, EventType::kGomaxprocs, Ticks(),
       {static_cast<uint64_t>(TraceGomaxprocsNow())}, 0);
  TraceProcStart(m, pp);
  EmitStart(&pp->trace, pp->id, self);
  StartTheWorld();
  return 0;
}

// Appends the frequency, string and stack records (symbolizing every PC first).
std::string MetaRecords(uint64_t ticks_start, int64_t ns_start, uint64_t ticks_end,
                        int64_t ns_end) {
  std::string out;
  // Frequency: ticks per second, measured over the trace (as Go does).
  double secs = static_cast<double>(ns_end - ns_start) / 1e9;
  uint64_t freq = 1000000000;
#if defined(__x86_64__)
  if (secs > 0) freq = static_cast<uint64_t>(static_cast<double>(ticks_end - ticks_start) / secs);
  if (freq == 0) freq = 1;
#else
  (void)ticks_start;
  (void)ticks_end;
  (void)secs;
#endif
  out.push_back(static_cast<char>(EventType::kFrequency));
  PutUvarint(&out, freq);

  std::vector<std::string> keys;
  {
    LockGuard g(&stk_lock);
    for (const std::string* k : stack_order) keys.push_back(*k);
  }
  std::vector<uintptr_t> pcs;
  for (const std::string& k : keys) {
    const size_t n = k.size() / sizeof(uintptr_t);
    for (size_t i = 0; i < n; i++) {
      uintptr_t pc;
      memcpy(&pc, k.data() + i * sizeof(uintptr_t), sizeof(pc));
      if (pc != 0) pcs.push_back(pc - 1);  // A PC inside the call instruction, as Go's hold.
    }
  }
  std::sort(pcs.begin(), pcs.end());
  pcs.erase(std::unique(pcs.begin(), pcs.end()), pcs.end());
  std::unordered_map<uintptr_t, std::vector<SymFrame>> syms = Symbolize(pcs);
  static constexpr std::string_view kInternalPrefix = "tracetool::fiber::internal::";

  // A stack record's frames: each PC expands to its inline frames. Frames of one PC after the
  // first get a PC of their own (depth in bits 48..55, above any user-space address), because
  // pprof and the trace viewer key frames by PC (spec §1.6).
  std::string body;
  for (size_t id = 1; id <= keys.size(); id++) {
    const std::string& k = keys[id - 1];
    size_t npc = k.size() / sizeof(uintptr_t);
    // A CPU sample's stack ends with a 0 marker (DrainCpuSamples): kept whole.
    bool cpu_stack = false;
    if (npc > 0) {
      uintptr_t last;
      memcpy(&last, k.data() + (npc - 1) * sizeof(uintptr_t), sizeof(last));
      if (last == 0) {
        npc--;
        cpu_stack = true;
      }
    }
    body.clear();
    size_t n = 0;
    std::string frames;
    // As Go's traces hide the runtime below its API (goready, ready, casgstatus …), a stack
    // starts at the first frame outside lib/fiber's internals — Chan::Send, fiber::Go, the
    // user's code — unless every frame is internal (the scheduler's own events).
    size_t skip_pcs = 0, skip_depth = 0;
    {
      bool found = false;
      for (size_t i = 0; i < npc && !found; i++) {
        uintptr_t pc;
        memcpy(&pc, k.data() + i * sizeof(uintptr_t), sizeof(pc));
        const std::vector<SymFrame>& fs = syms[pc - 1];
        for (size_t d = 0; d < fs.size(); d++) {
          if (fs[d].function.rfind(kInternalPrefix, 0) != 0) {
            skip_pcs = i;
            skip_depth = d;
            found = true;
            break;
          }
        }
      }
      if (!found || cpu_stack) skip_pcs = skip_depth = 0;
    }
    for (size_t i = skip_pcs; i < npc && n < 1000; i++) {
      uintptr_t pc;
      memcpy(&pc, k.data() + i * sizeof(uintptr_t), sizeof(pc));
      pc -= 1;
      const std::vector<SymFrame>& fs = syms[pc];
      for (size_t d = i == skip_pcs ? skip_depth : 0; d < fs.size() && n < 1000; d++, n++) {
        const SymFrame& f = fs[d];
        PutUvarint(&frames, pc | (static_cast<uint64_t>(d & 0xff) << 48));
        PutUvarint(&frames, StringIdSlow(f.function, nullptr));
        PutUvarint(&frames, f.file.empty() ? 0 : StringIdSlow(f.file, nullptr));
        PutUvarint(&frames, f.line);
      }
    }
    PutUvarint(&body, id);
    PutUvarint(&body, n);
    body += frames;
    out.push_back(static_cast<char>(static_cast<uint8_t>(EventType::kStack) | (3 << 6)));
    PutUvarint(&out, body.size());
    out += body;
  }
  LockGuard g(&str_lock);
  for (size_t i = 0; i < string_order.size(); i++) {
    out.push_back(static_cast<char>(EventType::kString));
    PutUvarint(&out, i + 1);
    const std::string& str = *string_order[i];
    const size_t len = std::min<size_t>(str.size(), 1000000);
    PutUvarint(&out, len);
    out.append(str.data(), len);
  }
  return out;
}

// Closes what the viewer needs closed, flushes every batch and disables tracing. World stopped
// (or the runtime gone): the caller owns every P.
void CloseAndFlush(G* self) {
  const int32_t n = 256;  // Every P ever made: ones beyond GOMAXPROCS may hold events too.
  StopCpuSampling(&session->cpu_samples, &session->cpu_lost);
  if (self != nullptr) {
    P* mine = CurP();
    if (mine && mine->trace.curg != 0) {
      void* fp = __builtin_frame_address(0);
      EmitSliceEnd(&mine->trace, mine->id, EventType::kGoSched, StackFrom(fp));
    }
  }
  {
    std::lock_guard<std::mutex> l(gc_mu);
    const uint32_t gen = trace_gen.load(std::memory_order_relaxed);
    P* p0 = TraceAllP(0);
    if (p0 != nullptr && gct.stw_gen == gen) Emit(&p0->trace, p0->id, EventType::kGCSTWDone, Ticks(), {});
    if (p0 != nullptr && gct.open_gen == gen) Emit(&p0->trace, p0->id, EventType::kGCDone, Ticks(), {});
    gct = GcTrace();
  }
  for (int32_t i = 0; i < n; i++) {
    P* pp = TraceAllP(i);
    if (pp == nullptr || pp->trace.gen != trace_gen.load(std::memory_order_relaxed)) continue;
    if (pp->trace.curg != 0) EmitSliceEnd(&pp->trace, pp->id, EventType::kGoSched, 0);
    TraceProcStop(pp);
  }
  {
    LockGuard g(&global_lock);
    trace_enabled.store(false, std::memory_order_seq_cst);
    FlushPT(&global_pt);
  }
  for (int32_t i = 0; i < n; i++) {
    if (P* pp = TraceAllP(i)) FlushPT(&pp->trace);
  }
}

trace::StopResult Finish() {
  Session* s = session;
  const uint64_t ticks_end = Ticks();
  const int64_t ns_end = Nanotime();
  std::string meta = MetaRecords(s->ticks_start, s->ns_start, ticks_end, ns_end);
  {
    std::lock_guard<std::mutex> l(s->mu);
    s->tail = std::move(meta);
    s->closing = true;
  }
  s->cv.notify_one();
  s->thread.join();
  trace::StopResult r;
  r.error = s->error;
  r.bytes_written = s->written;
  r.bytes_lost = s->lost_bytes;
  r.events_lost = s->lost_events;
  r.cpu_samples = s->cpu_samples;
  r.cpu_samples_lost = s->cpu_lost;
  r.regions_dropped = regions_dropped.exchange(0);
  if (r.error != 0 || r.bytes_lost != 0) {
    char msg[256];
    snprintf(msg, sizeof(msg), "trace writer: %s; lost %llu bytes (%llu events)",
             r.error ? strerror(r.error) : "sink too slow",
             static_cast<unsigned long long>(r.bytes_lost),
             static_cast<unsigned long long>(r.events_lost));
    r.message = msg;
  }
  if (s->cpu_error != 0) {
    if (!r.message.empty()) r.message += "; ";
    r.message += std::string("cpu samples: setitimer: ") + strerror(s->cpu_error);
  }
  {
    std::lock_guard<std::mutex> l(stats_mu);
    session = nullptr;
  }
  delete s->ring;
  delete s;
  return r;
}

trace::StopResult StopOnFiber() {
  G* self = MustGetG();
  StopTheWorld("stop trace");
  CloseAndFlush(self);
  StartTheWorld();
  trace::StopResult r;
  // Symbolizing and waiting for the sink take a while: let the P go meanwhile. libdw wants
  // more stack than a fiber may have, so it runs on a thread of its own.
  Syscall([&] {
    std::thread t([&] { r = Finish(); });
    t.join();
  });
  return r;
}

// Runs fn on a fiber: directly when called from one, else in a new fiber while this thread
// waits.
template <typename T, typename F>
T OnFiber(F fn) {
  if (InFiber()) return fn();
  std::promise<T> done;
  std::future<T> f = done.get_future();
  Go([&] { done.set_value(fn()); });
  return f.get();
}

bool CasState(State from, State to) {
  uint32_t expect = static_cast<uint32_t>(from);
  return state.compare_exchange_strong(expect, static_cast<uint32_t>(to));
}

}  // namespace

std::atomic<bool> flight_on{false};  // The running trace is the flight recorder's.

void TraceRuntimeExit() {
  if (!CasState(State::kOn, State::kStopping)) return;
  CloseAndFlush(nullptr);
  trace::StopResult r = Finish();
  if (!flight_on.exchange(false)) SetLastResult(r);
  state.store(static_cast<uint32_t>(State::kOff));
}

// ---- Flight recorder ----

namespace {

std::atomic<uint32_t> flight_gen{0};        // Bumped by every start and stop of the recorder.
std::atomic<uint64_t> checkpoint_ids{0};
std::atomic<uint64_t> flight_checkpoints{0};
std::atomic<uint64_t> flight_dumps{0};
std::atomic<int64_t> last_checkpoint_ns{0};
std::atomic<bool> flight_signal_pending{false};
uint64_t flight_ticks_start = 0;            // Written with the world stopped, before flight_on.
int64_t flight_ns_start = 0;
Mutex flight_mu;                            // Serialises checkpoints and stop (fibers).
Mutex dump_mu;                              // Serialises dumps and stop; taken before flight_mu.
std::mutex signal_path_mu;
std::string& signal_path = *new std::string();  // Guarded by signal_path_mu.

struct NotePass {
  G* self;
  Checkpoint* cp;
  uint64_t last;
  uint32_t gen;
};

// Announces gp in the checkpoint's prologue, as AnnounceG does at Start, without touching its
// live trace state: the stream goes on with gp's sequence as it is.
void NoteG(G* gp, void* arg) {
  auto* n = static_cast<NotePass*>(arg);
  const GStatus s = ReadGStatus(gp);
  if (s == GStatus::kDead || s == GStatus::kIdle) return;
  if (s == GStatus::kRunning && gp != n->self) return;  // Cannot happen with the world stopped.
  if (gp->trace.gen != n->gen) return;
  const uint64_t id = gp->goid.load(std::memory_order_relaxed);
  AppendEvent(&n->cp->prologue, &n->last, EventType::kGoCreate, Ticks(), {id, StartStack(gp)}, 0);
  uint64_t used = 0;  // Sequence numbers the prologue spends on gp after GoCreate.
  if (s == GStatus::kWaiting) {
    AppendEvent(&n->cp->prologue, &n->last, EventType::kGoWaiting, Ticks(), {id});
    used = 1;
  } else if (s == GStatus::kSyscall) {
    AppendEvent(&n->cp->prologue, &n->last, EventType::kGoInSyscall, Ticks(), {id});
    used = 1;
  } else if (gp == n->self) {
    used = 1;  // GoStart(self, 1) ends the prologue.
  }
  // In the stream gp's next sequenced event carries seq+1; after the prologue it must carry
  // 1+used (GoCreate leaves sequence 1).
  const uint64_t seq = gp->trace.seq;
  if (seq > used) n->cp->seq_off[id] = seq - used;
}

// Stops the world, flushes every batch into the ring and queues a marker holding the state of
// every fiber at this instant. Returns the marker's id. Runs on a fiber, flight_mu held.
uint64_t CheckpointOnFiber() {
  G* self = MustGetG();
  StopTheWorld("flight recorder checkpoint");
  auto* cp = new Checkpoint();
  const uint32_t gen = trace_gen.load(std::memory_order_relaxed);
  global_lock.Acquire();
  FlushPT(&global_pt);
  for (int32_t i = 0; i < 256; i++) {
    if (P* pp = TraceAllP(i)) FlushPT(&pp->trace);
  }
  M* m = GetM();
  P* mine = m->p;
  const uint64_t t0 = Ticks();
  cp->ns = Nanotime();
  {
    std::lock_guard<std::mutex> l(gc_mu);
    const bool gc_open = gct.open_gen == gen;
    // Epilogue: what CloseAndFlush writes at Stop, for a dump that ends here.
    for (int32_t i = 0; i < 256; i++) {
      P* pp = TraceAllP(i);
      if (pp == nullptr) continue;
      const bool busy = pp->trace.gen == gen && (pp->trace.curg != 0 || pp->trace.running);
      if (!busy && pp != mine) continue;
      uint64_t last = 0;
      AppendBatch(&cp->epilogue, &last, pp->id, t0);
      if (pp == mine) {
        if (gct.stw_gen == gen) AppendEvent(&cp->epilogue, &last, EventType::kGCSTWDone, t0, {});
        if (gc_open) AppendEvent(&cp->epilogue, &last, EventType::kGCDone, t0, {});
      }
      if (!busy) continue;
      if (pp->trace.curg != 0) AppendEvent(&cp->epilogue, &last, EventType::kGoSched, t0, {}, 0);
      if (pp->trace.running) AppendEvent(&cp->epilogue, &last, EventType::kProcStop, t0, {});
    }
    // Prologue: what StartOnFiber writes, for a dump that starts here.
    NotePass n{self, cp, 0, gen};
    AppendBatch(&cp->prologue, &n.last, mine->id, t0);
    ForEachG(NoteG, &n);
    AppendEvent(&cp->prologue, &n.last, EventType::kGomaxprocs, Ticks(),
                {static_cast<uint64_t>(TraceGomaxprocsNow())}, 0);
    AppendEvent(&cp->prologue, &n.last, EventType::kProcStart, Ticks(),
                {static_cast<uint64_t>(m->id)});
    AppendEvent(&cp->prologue, &n.last, EventType::kGoStart, Ticks(),
                {self->goid.load(std::memory_order_relaxed), 1});
    if (gc_open) AppendEvent(&cp->prologue, &n.last, EventType::kGCStart, Ticks(), {0}, 0);
    const uint64_t next_gc = gct.seq_gen == gen ? gct.seq : 0;
    cp->gc_base = next_gc - (gc_open && next_gc > 0 ? 1 : 0);
  }
  cp->id = checkpoint_ids.fetch_add(1, std::memory_order_relaxed) + 1;
  const uint64_t id = cp->id;
  const int64_t cp_ns = cp->ns;  // The writer thread frees cp once it has the marker.
  TraceBuf* marker = AllocBuf();
  marker->cp = cp;
  {
    Session* s = session;
    std::lock_guard<std::mutex> l(s->mu);
    s->queue.push_back(marker);
  }
  session->cv.notify_one();
  global_lock.Release();
  StartTheWorld();
  flight_checkpoints.fetch_add(1, std::memory_order_relaxed);
  last_checkpoint_ns.store(cp_ns, std::memory_order_relaxed);
  return id;
}

// Rewrites the sequence arguments of the events in batches (as the ring holds them) for a dump
// whose prologue is base's, appending the result to out.
bool RewriteSequences(std::string_view batches, const Segment& base, std::string* out,
                      std::string* error) {
  const auto* p = reinterpret_cast<const uint8_t*>(batches.data());
  const uint8_t* const end = p + batches.size();
  auto uvarint = [&](uint64_t* v) {
    *v = 0;
    for (int shift = 0; p < end && shift < 64; shift += 7) {
      const uint8_t c = *p++;
      *v |= static_cast<uint64_t>(c & 0x7f) << shift;
      if (c < 0x80) return true;
    }
    return false;
  };
  auto bad = [&](const char* what) {
    *error = std::string("flight recorder: corrupt ring data (") + what + ")";
    return false;
  };
  constexpr int kMaxVals = 2 + format::kMaxArgs;
  while (p < end) {
    const uint8_t* ev = p;
    const uint8_t b = *p++;
    const auto t = static_cast<EventType>(b & 0x3f);
    const int narg = b >> 6;
    uint64_t vals[kMaxVals];
    int k = 0;
    if (narg < 3) {
      for (; k < narg + 1; k++) {
        if (!uvarint(&vals[k])) return bad("short event");
      }
    } else {
      uint64_t len = 0;
      if (!uvarint(&len) || len > static_cast<uint64_t>(end - p)) return bad("event length");
      const uint8_t* stop = p + len;
      while (p < stop) {
        if (k == kMaxVals || !uvarint(&vals[k++])) return bad("event arguments");
      }
    }
    if (t == EventType::kUserLog) {
      uint64_t len = 0;
      if (!uvarint(&len) || len > static_cast<uint64_t>(end - p)) return bad("log message");
      p += len;
    }
    uint64_t* seq = nullptr;
    uint64_t off = 0;
    if ((t == EventType::kGoStart || t == EventType::kGoUnblock || t == EventType::kGoSysExit) &&
        k >= 3) {
      const auto it = base.seq_off.find(vals[1]);
      if (it != base.seq_off.end()) {
        seq = &vals[2];
        off = it->second;
      }
    } else if (t == EventType::kGCStart && k >= 2 && base.gc_base != 0) {
      seq = &vals[1];
      off = base.gc_base;
    }
    if (seq == nullptr || off == 0) {
      out->append(reinterpret_cast<const char*>(ev), static_cast<size_t>(p - ev));
      continue;
    }
    if (*seq < off) return bad("sequence before its checkpoint");
    *seq -= off;
    uint8_t tmp[2 + 10 * kMaxVals];
    uint8_t* e = EncodeEvent(tmp, t, vals, k);
    out->append(reinterpret_cast<char*>(tmp), static_cast<size_t>(e - tmp));
  }
  return true;
}

// Checkpoints, then writes the kept window. Runs on a fiber, dump_mu held (not flight_mu:
// checkpoints go on while this symbolizes and writes).
int DumpOnFiber(const Writer& w, std::string* message) {
  flight_mu.Lock();
  Session* s = session;
  if (!flight_on.load() || s == nullptr || s->ring == nullptr) {
    flight_mu.Unlock();
    *message = "flight recorder is not running";
    return ENOENT;
  }
  const uint64_t id = CheckpointOnFiber();
  std::vector<std::shared_ptr<Segment>> chain;
  Syscall([&] {
    std::unique_lock<std::mutex> l(s->mu);
    s->ring_cv.wait(l, [&] { return s->ring->taken_cp >= id; });
    // Closed segments are never written again: the chain is read without the lock below.
    for (const auto& seg : s->ring->segs) {
      if (!seg->closed) break;
      if (seg->poisoned) {
        chain.clear();
      } else {
        chain.push_back(seg);
      }
    }
  });
  flight_mu.Unlock();
  if (chain.empty()) {
    *message = "flight recorder: the newest segment outgrew max_bytes, nothing valid is kept";
    return ENODATA;
  }
  int rc = 0;
  // libdw wants more stack than a fiber may have: symbolize and write on a thread.
  Syscall([&] {
    std::thread t([&] {
      std::string out(reinterpret_cast<const char*>(format::kHeader1019.data()),
                      format::kHeader1019.size());
      const Segment& base = *chain.front();
      out += base.prologue;
      for (const auto& seg : chain) {
        if (!RewriteSequences(seg->data, base, &out, message)) {
          rc = EIO;
          return;
        }
      }
      out += chain.back()->epilogue;
      out += MetaRecords(flight_ticks_start, flight_ns_start, Ticks(), Nanotime());
      sigset_t set, old;
      sigemptyset(&set);
      sigaddset(&set, SIGPIPE);
      pthread_sigmask(SIG_BLOCK, &set, &old);
      rc = w(out.data(), out.size());
      struct timespec zero {0, 0};
      while (sigtimedwait(&set, nullptr, &zero) > 0) {
      }
      if (rc != 0) *message = std::string("flight recorder: writing the dump: ") + strerror(rc);
    });
    t.join();
  });
  flight_dumps.fetch_add(1, std::memory_order_relaxed);
  return rc;
}

// WriteAll() writes every byte to fd (retrying short writes and EINTR): 0 or the errno.
int WriteAll(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return 0;
}

int FileWriter(const std::string& path, const void* data, size_t size) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno;
  int rc = WriteAll(fd, data, size);
  if (close(fd) != 0 && rc == 0) rc = errno;
  return rc;
}

// The recorder's fiber and how to stop it: StopFlightRecorder closes quit and waits for done.
struct Recorder {
  Chan<int> quit;
  Chan<int> done;
};
Recorder* recorder = nullptr;  // Set by start, cleared by stop (under flight_stop_mu).
Mutex flight_stop_mu;          // Serialises StopFlightRecorder.

// The recorder's fiber: checkpoints every max_age/2 (sooner when the open segment grows past
// max_bytes/2) and serves signal dumps. Wakes every 100 ms at most, so the recorder costs a
// fiber wakeup per 100 ms besides the tracer itself.
void RecorderLoop(Recorder* rec, Ring* ring, uint32_t my_gen, int64_t period_ns) {
  const auto poll = std::chrono::nanoseconds(std::min<int64_t>(period_ns, 100 * 1000 * 1000));
  for (;;) {
    {
      Timer tick(poll);
      std::optional<Clock::time_point> fired;
      std::optional<int> quit, woken;
      if (Select({RecvCase(&tick.C(), &fired), RecvCase(&rec->quit, &quit),
                  RecvCase(&ring->wake, &woken)}) == 1) {
        break;
      }
    }
    if (flight_gen.load() != my_gen || !flight_on.load()) break;
    if (flight_signal_pending.exchange(false)) {
      std::string path;
      {
        std::lock_guard<std::mutex> l(signal_path_mu);
        path = signal_path;
      }
      std::string msg;
      dump_mu.Lock();
      const int rc = DumpOnFiber(
          [&path](const void* d, size_t n) { return FileWriter(path, d, n); }, &msg);
      dump_mu.Unlock();
      if (rc == 0) {
        fprintf(stderr, "lib/fiber: flight recorder written to %s\n", path.c_str());
      } else {
        fprintf(stderr, "lib/fiber: flight recorder dump to %s failed: %s\n", path.c_str(),
                msg.c_str());
      }
    } else if (ring->want_checkpoint.exchange(false) ||
               Nanotime() - last_checkpoint_ns.load() >= period_ns) {
      flight_mu.Lock();
      if (flight_gen.load() == my_gen && flight_on.load()) CheckpointOnFiber();
      flight_mu.Unlock();
    }
  }
  rec->done.Close();
}

void FlightSignalHandler(int) { flight_signal_pending.store(true); }

}  // namespace

}  // namespace internal

namespace trace {

using internal::CasState;
using internal::State;
using format::EventType;

namespace {
std::atomic<uint64_t> task_ids{0};
std::atomic<bool> annotation_stacks{true};

uint64_t AnnotStack(void* fp) {
  return annotation_stacks.load(std::memory_order_relaxed) ? internal::StackFrom(fp) : 0;
}

// Writes annotation t: into the calling thread's P batch when it holds a P (a fiber, or the
// scheduler's own stack), else into the global batch (P -1, G 0 for the reader) under
// global_lock, as Go writes the events of an M without a P. False if nothing was written
// (tracing stopped meanwhile, or the fiber was not announced in this trace).
bool EmitAnnotation(EventType t, std::initializer_list<uint64_t> args, uint64_t stk,
                    std::string_view msg = {}) {
  internal::M* m = internal::GetM();
  if (m != nullptr && m->p != nullptr) {
    if (m->curg != nullptr &&
        m->curg->trace.gen != internal::trace_gen.load(std::memory_order_relaxed)) {
      return false;
    }
    internal::Emit(&m->p->trace, m->p->id, t, internal::Ticks(), args, stk, msg);
    return true;
  }
  internal::LockGuard g(&internal::global_lock);
  if (!IsEnabled()) return false;
  internal::Emit(&internal::global_pt, -1, t, internal::Ticks(), args, stk, msg);
  return true;
}

// Regions only on a fiber holding its P (see "Annotations outside fibers" in trace.h).
internal::P* RegionP() {
  internal::M* m = internal::GetM();
  if (m == nullptr || m->p == nullptr || m->curg == nullptr) return nullptr;
  if (m->curg->trace.gen != internal::trace_gen.load(std::memory_order_relaxed)) return nullptr;
  return m->p;
}
}  // namespace

std::pair<Context, Task> NewTask(const Context& ctx, std::string_view type) {
  void* fp = __builtin_frame_address(0);
  const uint64_t id = task_ids.fetch_add(1, std::memory_order_relaxed) + 1;
  if (IsEnabled()) {
    EmitAnnotation(EventType::kUserTaskCreate, {id, ctx.task_id(), internal::StringId(type)},
                   AnnotStack(fp));
  }
  return {Context(id), Task(id)};
}

void Task::End() {
  void* fp = __builtin_frame_address(0);
  const uint64_t id = std::exchange(id_, 0);
  if (id == 0 || !IsEnabled()) return;
  EmitAnnotation(EventType::kUserTaskEnd, {id}, AnnotStack(fp));
}

Region StartRegion(const Context& ctx, std::string_view type) {
  void* fp = __builtin_frame_address(0);
  if (!IsEnabled()) return Region();
  internal::P* pp = RegionP();
  if (pp == nullptr) {
    internal::regions_dropped.fetch_add(1, std::memory_order_relaxed);
    return Region();
  }
  internal::Emit(&pp->trace, pp->id, EventType::kUserRegion, internal::Ticks(),
                 {ctx.task_id(), 0, internal::StringId(type)}, AnnotStack(fp));
  return Region(ctx.task_id(), type);
}

void Region::EndSlow() {
  void* fp = __builtin_frame_address(0);
  live_ = false;
  if (!IsEnabled()) return;
  // Started on this fiber, which may have lost its P since (a system call): then the end is
  // missing, which readers accept (the region runs to the end of the trace).
  if (internal::P* pp = RegionP()) {
    internal::Emit(&pp->trace, pp->id, EventType::kUserRegion, internal::Ticks(),
                   {task_, 1, internal::StringId(type_)}, AnnotStack(fp));
  }
}

namespace {
void LogAt(void* fp, const Context& ctx, std::string_view category, std::string_view message) {
  EmitAnnotation(EventType::kUserLog, {ctx.task_id(), internal::StringId(category)},
                 AnnotStack(fp), message);
}
}  // namespace

void SetAnnotationStacks(bool on) { annotation_stacks.store(on, std::memory_order_relaxed); }

void Log(const Context& ctx, std::string_view category, std::string_view message) {
  if (!IsEnabled()) return;
  LogAt(__builtin_frame_address(0), ctx, category, message);
}

void Logf(const Context& ctx, std::string_view category, const char* fmt, ...) {
  if (!IsEnabled()) return;
  char small[256];
  va_list ap;
  va_start(ap, fmt);
  const int n = vsnprintf(small, sizeof(small), fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (static_cast<size_t>(n) < sizeof(small)) {
    LogAt(__builtin_frame_address(0), ctx, category, std::string_view(small, static_cast<size_t>(n)));
    return;
  }
  std::string big(static_cast<size_t>(n) + 1, '\0');
  va_start(ap, fmt);
  vsnprintf(big.data(), big.size(), fmt, ap);
  va_end(ap);
  big.resize(static_cast<size_t>(n));
  LogAt(__builtin_frame_address(0), ctx, category, big);
}

int Start(Writer w, const StartOptions& options) {
  if (options.cpu_profile_hz < 0 || options.cpu_profile_hz > 1000) return EINVAL;
  if (!internal::RuntimeRunning()) return ESRCH;
  if (!CasState(State::kOff, State::kStarting)) return EBUSY;
  if (options.cpu_profile_hz > 0) {
    struct itimerval cur {};
    if (getitimer(ITIMER_PROF, &cur) == 0 && (cur.it_value.tv_sec != 0 || cur.it_value.tv_usec != 0)) {
      internal::state.store(static_cast<uint32_t>(State::kOff));
      return EBUSY;  // Another CPU profile runs.
    }
  }
  const int rc = internal::OnFiber<int>([&] {
    return internal::StartOnFiber(std::move(w), nullptr, options.cpu_profile_hz);
  });
  internal::state.store(static_cast<uint32_t>(rc == 0 ? State::kOn : State::kOff));
  return rc;
}

int StartFd(int fd, const StartOptions& options) {
  return Start([fd](const void* data, size_t size) { return internal::WriteAll(fd, data, size); },
               options);
}

int StartFile(const std::string& path, const StartOptions& options) {
  if (options.cpu_profile_hz < 0 || options.cpu_profile_hz > 1000) return EINVAL;
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno;
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  };
  std::shared_ptr<Closer> closer(new Closer{fd});
  const int rc = Start([closer](const void* data, size_t size) {
    return internal::WriteAll(closer->fd, data, size);
  }, options);
  return rc;  // On failure the writer, and with it the fd, is already gone.
}

StopResult Stop() {
  for (;;) {
    if (internal::flight_on.load()) return internal::LastResult();  // Not ours to stop.
    if (CasState(State::kOn, State::kStopping)) break;
    const auto s = static_cast<State>(internal::state.load());
    if (s == State::kOff) return internal::LastResult();
    // Starting or stopping elsewhere: wait for it to settle.
    if (fiber::InFiber()) {
      fiber::Yield();
    } else {
      std::this_thread::yield();
    }
  }
  StopResult r;
  if (!internal::RuntimeRunning()) {
    r = internal::LastResult();
  } else {
    r = internal::OnFiber<StopResult>([] { return internal::StopOnFiber(); });
  }
  internal::SetLastResult(r);
  internal::state.store(static_cast<uint32_t>(State::kOff));
  return r;
}

int StartFlightRecorder(const FlightOptions& options) {
  if (options.max_age < std::chrono::milliseconds(10) || options.max_bytes < 256 * 1024) {
    return EINVAL;
  }
  if (!internal::RuntimeRunning()) return ESRCH;
  if (!CasState(State::kOff, State::kStarting)) return EBUSY;
  const int rc = internal::OnFiber<int>([&] {
    auto* ring = new internal::Ring();
    ring->max_age_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(options.max_age).count();
    ring->max_bytes = options.max_bytes;
    internal::flight_mu.Lock();
    const int err = internal::StartOnFiber(
        [](const void*, size_t) { return 0; },  // Never called: batches go to the ring.
        ring);
    if (err != 0) {
      delete ring;
    } else {
      internal::flight_ticks_start = internal::session->ticks_start;
      internal::flight_ns_start = internal::session->ns_start;
      internal::last_checkpoint_ns.store(internal::session->ns_start);
      internal::flight_checkpoints.store(0);
      internal::flight_dumps.store(0);
      internal::flight_on.store(true);
      const uint32_t gen = internal::flight_gen.fetch_add(1) + 1;
      const int64_t period = std::max<int64_t>(ring->max_age_ns / 2, 5 * 1000 * 1000);
      internal::Recorder* rec = new internal::Recorder();
      internal::recorder = rec;
      Go([rec, ring, gen, period] { internal::RecorderLoop(rec, ring, gen, period); });
    }
    internal::flight_mu.Unlock();
    return err;
  });
  internal::state.store(static_cast<uint32_t>(rc == 0 ? State::kOn : State::kOff));
  return rc;
}

int WriteFlightRecord(const Writer& w, std::string* message) {
  std::string msg;
  int rc = 0;
  if (!internal::RuntimeRunning() || !internal::flight_on.load()) {
    rc = ENOENT;
    msg = "flight recorder is not running";
  } else {
    rc = internal::OnFiber<int>([&] {
      internal::dump_mu.Lock();
      const int r = internal::DumpOnFiber(w, &msg);
      internal::dump_mu.Unlock();
      return r;
    });
  }
  if (message != nullptr) *message = msg;
  return rc;
}

int WriteFlightRecordFile(const std::string& path, std::string* message) {
  return WriteFlightRecord(
      [&path](const void* d, size_t n) { return internal::FileWriter(path, d, n); }, message);
}

void StopFlightRecorder() {
  if (!internal::RuntimeRunning() || !internal::flight_on.load()) return;
  internal::OnFiber<int>([] {
    internal::flight_stop_mu.Lock();
    if (internal::recorder != nullptr) {
      internal::recorder->quit.Close();
      internal::recorder->done.Recv();
      delete internal::recorder;
      internal::recorder = nullptr;
    }
    internal::dump_mu.Lock();
    internal::flight_mu.Lock();
    if (internal::flight_on.load() && CasState(State::kOn, State::kStopping)) {
      internal::flight_gen.fetch_add(1);
      internal::StopOnFiber();  // Frees the ring with the session; the result is not a trace's.
      internal::flight_on.store(false);
      internal::state.store(static_cast<uint32_t>(State::kOff));
    }
    internal::flight_mu.Unlock();
    internal::dump_mu.Unlock();
    internal::flight_stop_mu.Unlock();
    return 0;
  });
}

bool FlightRecorderEnabled() { return internal::flight_on.load(); }

int SetFlightRecorderSignal(int signo, const std::string& path) {
  if (signo <= 0 || signo >= NSIG || signo == SIGKILL || signo == SIGSTOP || path.empty()) {
    return EINVAL;
  }
  {
    std::lock_guard<std::mutex> l(internal::signal_path_mu);
    internal::signal_path = path;
  }
  struct sigaction sa {};
  sa.sa_handler = internal::FlightSignalHandler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  return sigaction(signo, &sa, nullptr) == 0 ? 0 : errno;
}

FlightStats GetFlightStats() {
  FlightStats st;
  std::lock_guard<std::mutex> g(internal::stats_mu);
  internal::Session* s = internal::session;
  if (!internal::flight_on.load() || s == nullptr || s->ring == nullptr) return st;
  st.enabled = true;
  st.checkpoints = internal::flight_checkpoints.load();
  st.dumps = internal::flight_dumps.load();
  std::lock_guard<std::mutex> l(s->mu);
  st.segments = s->ring->segs.size();
  st.bytes = s->ring->bytes;
  st.dropped_segments = s->ring->dropped;
  if (!s->ring->segs.empty()) st.window_ns = internal::Nanotime() - s->ring->segs.front()->start_ns;
  return st;
}

}  // namespace trace
}  // namespace tracetool::fiber
