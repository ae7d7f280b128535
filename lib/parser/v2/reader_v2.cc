// The v2 reader: generations (spec §1.5), structural batches (§1.6–§1.7), the frontier ordering
// and validation engine (§3.1–§3.8), and the mapping of its public events onto the format-neutral
// model (reader_v2.h). Error texts keep Go's wording (the upstream tests match on it), prefixed by
// the byte offset of the record at fault.
#include "lib/parser/v2/reader_v2.h"

#include <algorithm>
#include <cinttypes>
#include <cstring>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "lib/parser/flat_map.h"
#include "lib/parser/v2/wire.h"

namespace tracetool::parser::v2 {
namespace {

using format::EventType;

constexpr uint64_t kNone = kNoId;
constexpr uint64_t kHeaderSize = 16;

// Unsigned LEB128 with Go's binary.Uvarint rules (spec §1.2): at most 10 bytes, the 10th ≤ 1.
inline bool Uvarint(const uint8_t** pp, const uint8_t* end, uint64_t* v) {
  const uint8_t* p = *pp;
  if (p != end && *p < 0x80) {  // most values fit in one byte
    *v = *p;
    *pp = p + 1;
    return true;
  }
  uint64_t x = 0;
  unsigned shift = 0;
  for (int i = 0; i < 10; ++i) {
    if (p == end) return false;
    const uint8_t b = *p++;
    if (b < 0x80) {
      if (i == 9 && b > 1) return false;
      *v = x | static_cast<uint64_t>(b) << shift;
      *pp = p;
      return true;
    }
    x |= static_cast<uint64_t>(b & 0x7f) << shift;
    shift += 7;
  }
  return false;
}

inline int64_t Trunc(double d) { return GoFloatToInt64(d); }

std::string EvName(uint8_t t) {
  const EvSpec& s = kEvSpecs[t];
  if (!s.name.empty()) return std::string(s.name);
  return "event " + std::to_string(t);
}

const char* GoStatusName(uint64_t s) {
  switch (s) {
    case kGoRunnable: return "Runnable";
    case kGoRunning: return "Running";
    case kGoSyscall: return "Syscall";
    case kGoWaiting: return "Waiting";
    default: return "Bad";
  }
}
const char* ProcStatusName(uint64_t s) {
  switch (s) {
    case kProcRunning: return "Running";
    case kProcIdle: return "Idle";
    case kProcSyscall: return "Syscall";
    case kProcSyscallAbandoned: return "SyscallAbandoned";
    default: return "Bad";
  }
}

// The stop-the-world reasons in the order Go 1.21's -d numbers them (lib/analysis/text_dump.cc):
// a v2 STWBegin names its kind by string; the model carries the number.
constexpr std::string_view kStwKinds[] = {
    "unknown", "GC mark termination", "GC sweep termination", "write heap dump",
    "goroutine profile", "goroutine profile cleanup", "all goroutines stack trace",
    "read mem stats", "AllThreadsSyscall", "GOMAXPROCS", "start trace", "stop trace",
    "CountPagesInUse (test)", "ReadMetricsSlow (test)", "ReadMemStatsSlow (test)",
    "PageCachePagesLeaked (test)", "ResetDebugLog (test)"};

// Which model type a GoBlock reason becomes (spec §2.5; the -pprof filters of §4.1 in mind: the
// net and sync profiles select by type, so every reason Go's sync filter accepts — it contains
// "chan", "sync" or "select" — maps onto a sync type, and the GC-assist wait, which Go 1.22+ no
// longer counts as sync, onto plain GoBlock).
EventType BlockType(std::string_view r) {
  if (r == "network") return EventType::kGoBlockNet;
  if (r == "chan send") return EventType::kGoBlockSend;
  if (r == "chan receive") return EventType::kGoBlockRecv;
  if (r == "select") return EventType::kGoBlockSelect;
  if (r == "sync.(*Cond).Wait") return EventType::kGoBlockCond;
  if (r == "sync") return EventType::kGoBlockSync;
  if (r == "sleep") return EventType::kGoSleep;
  if (r == "forever") return EventType::kGoStop;  // Go 1.19's event for a goroutine parked forever
  if (r.find("chan") != std::string_view::npos || r.find("sync") != std::string_view::npos ||
      r.find("select") != std::string_view::npos) {
    return EventType::kGoBlockSync;
  }
  return EventType::kGoBlock;
}

// Reads the input sequentially through a window (payloads are ≤ 64 KiB).
class Window {
 public:
  explicit Window(const Input* in) : in_(in), size_(in->size()) {}
  uint64_t size() const { return size_; }
  // Get() makes [off, off+n) available (clipped at the end of input): *p points to it, *avail is
  // its length. The pointer is valid until the next call.
  Status Get(uint64_t off, size_t n, const uint8_t** p, size_t* avail) {
    if (off >= size_) {
      *avail = 0;
      *p = buf_.data();
      return OkStatus();
    }
    const uint64_t want_end = std::min<uint64_t>(size_, off + n);
    if (off < start_ || want_end > start_ + len_) {
      const size_t cap = std::max<size_t>(kWindow, n);
      if (buf_.size() < cap) buf_.resize(cap);
      size_t got = 0;
      TT_RETURN_IF_ERROR(in_->ReadAt(off, buf_.data(), cap, &got));
      start_ = off;
      len_ = got;
    }
    *p = buf_.data() + (off - start_);
    *avail = static_cast<size_t>(std::min<uint64_t>(want_end, start_ + len_) - off);
    return OkStatus();
  }

 private:
  static constexpr size_t kWindow = 1 << 20;
  const Input* in_;
  uint64_t size_;
  std::vector<uint8_t> buf_;
  uint64_t start_ = 0;
  size_t len_ = 0;
};

struct BatchHeader {
  bool experimental = false;
  uint64_t gen = 0, m = 0, time = 0, size = 0;
  uint64_t offset = 0;          // of the type byte
  uint64_t payload_offset = 0;  // of the first payload byte
};

struct GenBatch {
  uint64_t time;
  uint64_t file_offset;  // of the payload's first byte
  uint32_t arena_offset;
  uint32_t size;
};

struct Region {
  uint64_t task;
  uint64_t name;  // global string id
  LinkFrom begin;
};

struct GState {
  uint8_t status = 0;
  uint64_t seq_gen = 0, seq = 0;
  bool has_create = false;  // the next GoStart carries create_stack (Go 1.19's model)
  bool v1_blocked = false;  // in a syscall that the model already shows as blocked
  bool assist = false;
  bool ran = false;  // has been Running in the trace (Go's summary StartTime, spec §4.3)
  bool named = false;  // a GoStart has carried (or will carry) its start-function stack
  uint32_t create_stack = 0;
  LinkFrom start;  // its GoStart (running interval)
  LinkFrom ev;     // the event that made it runnable or waiting
  LinkFrom sys;    // its open GoSysCall
  LinkFrom assist_begin;
  std::vector<Region> regions;
  std::vector<std::pair<uint64_t, LinkFrom>> stw;  // in-flight STWs: kind string id, begin
};

struct PState {
  uint8_t status = 0;
  bool sweep = false;
  uint64_t seq_gen = 0, seq = 0;
};

struct MState {
  uint64_t p = kNone;
  uint64_t g = kNone;
};

struct Ctx {
  uint64_t m = kNone, p = kNone, g = kNone;
};

struct Task {
  uint64_t name = 0;  // global string id
  uint64_t parent = kNone;
  LinkFrom begin;
};

struct Cursor {
  uint64_t m = kNone;
  uint32_t mi = 0;          // index into the generation's M list
  uint32_t next_batch = 0;  // index into that M's batch list
  const uint8_t* p = nullptr;
  const uint8_t* end = nullptr;
  int64_t last = 0;
  uint64_t file_delta = 0;  // file offset − arena address, for the current batch
  // The current event.
  uint8_t type = 0;
  uint64_t a[kMaxOperands] = {};
  int64_t time = 0;
  uint64_t offset = 0;
};

enum class Req : uint8_t { kMust, kMay, kMustNot };
enum class GcState : uint8_t { kUndetermined, kNotRunning, kRunning };

class V2ReaderImpl final : public V2Reader {
 public:
  V2ReaderImpl(std::unique_ptr<Input> in, int minor)
      : in_(std::move(in)), win_(in_.get()), minor_(minor) {
    strings_.emplace_back();  // id 0: ""
    stacks_.emplace_back();   // id 0: no stack
    stats_.bytes = in_->size();
    pos_ = kHeaderSize;
  }

  Status Next(Event* ev, bool* done) override {
    *done = false;
    while (true) {
      if (out_head_ < out_.size()) {
        *ev = out_[out_head_++];
        return OkStatus();
      }
      out_.clear();
      out_head_ = 0;
      if (!error_.ok()) return error_;
      if (finished_) {
        *done = true;
        return OkStatus();
      }
      // The step's first event goes straight into *ev; further ones queue in out_.
      direct_ = ev;
      direct_used_ = false;
      Status st = Step();
      direct_ = nullptr;
      if (!st.ok()) {
        // Every error names the format version, as the v1 reader's header errors do.
        out_.clear();
        error_ = Status(st.tag(), st.message() + " (" + VersionName() + " trace)");
      } else if (direct_used_) {
        return OkStatus();
      }
    }
  }

  int version() const override { return 1000 + minor_; }
  std::string VersionName() const {
    return minor_ == 23 ? "Go 1.23/1.24" : "Go 1." + std::to_string(minor_);
  }
  std::string_view String(uint64_t id) const override {
    return id < strings_.size() ? std::string_view(strings_[id]) : std::string_view();
  }
  std::span<const Frame> Stack(uint32_t id) const override {
    if (id >= stacks_.size()) return {};
    return std::span<const Frame>(stacks_[id]);
  }
  const ParseStats& stats() const override { return stats_; }
  const std::vector<int64_t>& sync_times() const override { return sync_times_; }
  const V2Stats& v2_stats() const override { return v2_stats_; }

 private:
  // ---- Errors --------------------------------------------------------------------------------
  static Status Err(ErrorTag tag, uint64_t offset, const std::string& what) {
    return ErrStatus(tag, "offset 0x%" PRIx64 ": %s", offset, what.c_str());
  }
  Status Bad(const Cursor& c, const std::string& what) const {
    return Err(ErrorTag::kInconsistent, c.offset, what);
  }

  // ---- One step of the top-level loop ------------------------------------------------------
  Status Step() {
    if (!in_gen_) {
      bool got = false;
      TT_RETURN_IF_ERROR(LoadGeneration(&got));
      if (!got) {
        // The final Sync (spec §3.9): after the last event.
        sync_times_.push_back(Pub(have_last_ ? last_ns_ : 0));
        finished_ = true;
        return OkStatus();
      }
      TT_RETURN_IF_ERROR(StartGeneration());
      in_gen_ = true;
    }
    if (heap_.empty() && cpu_next_ >= cpu_.size()) {
      in_gen_ = false;
      return OkStatus();
    }
    // CPU samples are public events in Go's stream, placed before the first event that is not
    // earlier (spec §3.1 step 5b); the model has them as CPUSample, as v1 Go 1.19 traces do.
    if (cpu_next_ < cpu_.size() && (heap_.empty() || cpu_[cpu_next_].ns < cursors_[heap_[0]].time)) {
      const CpuSample& cs = cpu_[cpu_next_++];
      Event& e = Emit(EventType::kCPUSample, Pub(cs.ns), cs.offset, cs.g, cs.p);
      e.p = cs.p == kNone ? -1 : static_cast<int64_t>(cs.p);  // v1's convention for "no P"
      e.args[0] = cs.ticks;
      e.args[1] = cs.p;
      e.args[2] = cs.g;
      e.stack_id = Stk(cs.stack);
      return OkStatus();
    }
    if (heap_.empty()) return OkStatus();
    bool adv = false;
    TT_RETURN_IF_ERROR(Advance(cursors_[heap_[0]], &adv));
    if (adv) return Refresh(0);
    // Sort the frontier by time and try the others in order (spec §3.1 step 5d).
    std::stable_sort(heap_.begin(), heap_.end(), [&](uint32_t a, uint32_t b) {
      return cursors_[a].time < cursors_[b].time;
    });
    for (size_t i = 1; i < heap_.size(); ++i) {
      TT_RETURN_IF_ERROR(Advance(cursors_[heap_[i]], &adv));
      if (adv) return Refresh(i);
    }
    const Cursor& c = cursors_[heap_[0]];
    return Err(ErrorTag::kInconsistent, c.offset,
               "broken trace: failed to advance: no thread can make progress in generation " +
                   std::to_string(gen_) + " (" + std::to_string(heap_.size()) +
                   " threads blocked; earliest: " + EvName(c.type) + " on thread " +
                   (c.m == kNone ? std::string("none") : std::to_string(c.m)) + ")");
  }

  // ---- Generations ---------------------------------------------------------------------------
  void ResetGeneration() {
    arena_.clear();
    batches_.clear();
    mlists_.clear();
    m_index_ = FlatMap<uint32_t>();
    str_map_ = FlatMap<uint64_t>();
    stk_map_ = FlatMap<uint32_t>();
    pc_frames_ = FlatMap<Frame>();
    stack_batches_.clear();
    cpu_.clear();
    cpu_next_ = 0;
    has_freq_ = false;
    has_clock_ = false;
    freq_ = 0;
    min_time_ = UINT64_MAX;
    have_batches_ = false;
    have_event_batch_ = false;
    cursors_.clear();
    heap_.clear();
    reason_cache_ = FlatMap<uint8_t>();
  }

  // Reads one batch header at pos_ (whose type byte is already known to be 1 or 49).
  Status ReadBatch(BatchHeader* h) {
    const uint8_t* p = nullptr;
    size_t avail = 0;
    TT_RETURN_IF_ERROR(win_.Get(pos_, 64, &p, &avail));
    const uint8_t* const start = p;
    const uint8_t* const end = p + avail;
    h->offset = pos_;
    h->experimental = *p++ == kEvExperimentalBatch;
    if (h->experimental) {
      if (p == end) return Err(ErrorTag::kTruncated, pos_, "unexpected EOF reading experiment");
      ++p;  // the experiment id: one raw byte
    }
    uint64_t* fields[] = {&h->gen, &h->m, &h->time, &h->size};
    static const char* const kNames[] = {"generation", "thread ID", "timestamp", "batch size"};
    for (int i = 0; i < 4; ++i) {
      const uint8_t* q = p;
      if (!Uvarint(&q, end, fields[i])) {
        const bool truncated = static_cast<size_t>(end - p) < 10 && pos_ + avail >= win_.size();
        return Err(truncated ? ErrorTag::kTruncated : ErrorTag::kCorrupt,
                   pos_ + static_cast<uint64_t>(p - start),
                   std::string("error reading batch ") + kNames[i] + ": " +
                       (truncated ? "unexpected EOF" : "varint overflow"));
      }
      p = q;
    }
    if (h->gen == 0) {
      return Err(ErrorTag::kCorrupt, pos_, "invalid generation number 0");
    }
    if (h->size > kMaxBatchSize) {
      return Err(ErrorTag::kCorrupt, pos_,
                 "invalid batch size " + std::to_string(h->size) + ", maximum is " +
                     std::to_string(kMaxBatchSize));
    }
    h->payload_offset = pos_ + static_cast<uint64_t>(p - start);
    const uint64_t left = win_.size() - h->payload_offset;
    if (left < h->size) {
      return Err(ErrorTag::kTruncated, h->payload_offset,
                 "failed to read full batch: read " + std::to_string(left) + " but wanted " +
                     std::to_string(h->size));
    }
    pos_ = h->payload_offset + h->size;
    return OkStatus();
  }

  // Loads the next generation's batches (spec §1.5); *got = false at the end of the trace.
  Status LoadGeneration(bool* got) {
    *got = false;
    ResetGeneration();
    if (!deferred_.ok()) return deferred_;
    if (have_spill_) {
      have_spill_ = false;
      gen_ = spill_.gen;
      TT_RETURN_IF_ERROR(AddBatch(spill_));
    }
    while (true) {
      if (pos_ >= win_.size()) {
        if (minor_ >= 26) {
          if (have_event_batch_) {
            return Err(ErrorTag::kTruncated, pos_,
                       "incomplete generation found; trace likely truncated");
          }
          return OkStatus();  // Go's quirk: structural batches alone end the trace silently
        }
        if (!have_batches_) {
          // Go's quirk (spec §3.9): before 1.26 a trace without any batch fails this way.
          if (v2_stats_.generations == 0) {
            return Err(ErrorTag::kCorrupt, pos_, "no frequency event found");
          }
          return OkStatus();
        }
        break;
      }
      const uint8_t* p = nullptr;
      size_t avail = 0;
      TT_RETURN_IF_ERROR(win_.Get(pos_, 1, &p, &avail));
      const uint8_t type = *p;
      if (type == kEvEndOfGeneration) {
        if (minor_ < 26) {
          return Err(ErrorTag::kCorrupt, pos_,
                     "unexpectedly processing EndOfGeneration in a go 1." +
                         std::to_string(minor_) + " trace");
        }
        ++pos_;
        if (!have_batches_) continue;
        break;
      }
      BatchHeader h;
      Status st = OkStatus();
      if (type != kEvEventBatch && type != kEvExperimentalBatch) {
        st = Err(ErrorTag::kCorrupt, pos_,
                 "expected batch event, got event " + std::to_string(type));
      } else {
        st = ReadBatch(&h);
      }
      if (!st.ok()) {
        if (have_batches_ && minor_ < 26) {
          deferred_ = st;  // this generation first, then the error (spec §1.5)
          break;
        }
        return st;
      }
      if (!have_batches_) {
        gen_ = h.gen;
      } else if (h.gen != gen_) {
        if (minor_ >= 26) {
          return Err(ErrorTag::kCorrupt, h.offset,
                     "broken trace: missing end-of-generation event, or generations are "
                     "interleaved");
        }
        if (h.gen == gen_ + 1) {
          spill_ = h;
          have_spill_ = true;
          break;
        }
        return Err(ErrorTag::kCorrupt, h.offset,
                   "generations out of order (generation " + std::to_string(h.gen) + " after " +
                       std::to_string(gen_) + ")");
      }
      TT_RETURN_IF_ERROR(AddBatch(h));
    }
    *got = true;
    return OkStatus();
  }

  Status AddBatch(const BatchHeader& h) {
    have_batches_ = true;
    ++stats_.batches;
    min_time_ = std::min(min_time_, h.time);
    if (h.experimental) {
      ++v2_stats_.experimental_batches;
      return OkStatus();
    }
    if (h.size == 0) {
      have_event_batch_ = true;
      return OkStatus();
    }
    const uint8_t* p = nullptr;
    size_t avail = 0;
    TT_RETURN_IF_ERROR(win_.Get(h.payload_offset, h.size, &p, &avail));
    const uint8_t* end = p + h.size;
    switch (p[0]) {
      case kEvStrings:
        return ParseStrings(h.payload_offset, p, end);
      case kEvCPUSamples:
        return ParseCPUSamples(h.payload_offset, p, end);
      case kEvStacks:
        stack_batches_.push_back(static_cast<uint32_t>(batches_.size()));
        break;
      case kEvFrequency:
        if (minor_ < 25) return ParseFrequency(h.payload_offset, p, end);
        break;  // ≥ 1.25: an event batch (which will fail to decode)
      case kEvSync:
        if (minor_ >= 25) return ParseSync(h, p, end);
        break;
      case kEvEndOfGeneration:
        return Err(ErrorTag::kCorrupt, h.payload_offset,
                   "unexpectedly processing EndOfGeneration inside a batch");
      default:
        break;
    }
    if (arena_.size() + h.size > UINT32_MAX) {
      return Err(ErrorTag::kCorrupt, h.offset,
                 "generation " + std::to_string(h.gen) +
                     " holds more than 4 GiB of event and stack batches; tracetool buffers one "
                     "generation at a time and does not read generations this large");
    }
    if (p[0] != kEvStacks) {
      have_event_batch_ = true;
      bool inserted = false;
      uint32_t& mi = m_index_.Get(h.m, &inserted);
      if (inserted) {
        mi = static_cast<uint32_t>(mlists_.size());
        mlists_.push_back({h.m, {}});
      }
      mlists_[mi].second.push_back(static_cast<uint32_t>(batches_.size()));
    }
    batches_.push_back({h.time, h.payload_offset, static_cast<uint32_t>(arena_.size()),
                        static_cast<uint32_t>(h.size)});
    arena_.insert(arena_.end(), p, end);
    v2_stats_.max_generation_bytes = std::max<uint64_t>(v2_stats_.max_generation_bytes, arena_.size());
    return OkStatus();
  }

  Status Truncated(uint64_t off, const char* what) {
    return Err(ErrorTag::kCorrupt, off, std::string("found invalid uvarint reading ") + what);
  }

  Status ParseStrings(uint64_t file_off, const uint8_t* p, const uint8_t* end) {
    const uint8_t* const base = p;
    ++p;
    while (p < end) {
      const uint64_t off = file_off + static_cast<uint64_t>(p - base);
      if (*p != kEvString) {
        return Err(ErrorTag::kCorrupt, off, "expected string event, got " + std::to_string(*p));
      }
      ++p;
      uint64_t id = 0, len = 0;
      if (!Uvarint(&p, end, &id) || !Uvarint(&p, end, &len)) return Truncated(off, "string");
      if (len > kMaxStringSize) {
        return Err(ErrorTag::kCorrupt, off,
                   "invalid string size " + std::to_string(len) + ", maximum is " +
                       std::to_string(kMaxStringSize));
      }
      if (static_cast<uint64_t>(end - p) < len) {
        return Err(ErrorTag::kCorrupt, off,
                   "failed to read string: read " + std::to_string(end - p) + " but wanted " +
                       std::to_string(len));
      }
      bool inserted = false;
      uint64_t& gid = str_map_.Get(id, &inserted);
      if (!inserted || id == 0) {
        return Err(ErrorTag::kCorrupt, off,
                   "multiple strings with the same ID: id=" + std::to_string(id));
      }
      gid = Intern(std::string_view(reinterpret_cast<const char*>(p), len));
      p += len;
      ++stats_.strings;
    }
    return OkStatus();
  }

  uint64_t Intern(std::string_view s) {
    if (s.empty()) return 0;
    auto it = string_index_.find(s);
    if (it != string_index_.end()) return it->second;
    strings_.emplace_back(s);
    const uint64_t id = strings_.size() - 1;
    string_index_.emplace(std::string_view(strings_.back()), id);
    return id;
  }

  Status ParseCPUSamples(uint64_t file_off, const uint8_t* p, const uint8_t* end) {
    const uint8_t* const base = p;
    ++p;
    while (p < end) {
      const uint64_t off = file_off + static_cast<uint64_t>(p - base);
      if (*p != kEvCPUSample) {
        return Err(ErrorTag::kCorrupt, off,
                   "expected CPU sample event, got " + std::to_string(*p));
      }
      ++p;
      uint64_t v[5];
      for (uint64_t& x : v) {
        if (!Uvarint(&p, end, &x)) return Truncated(off, "CPU sample");
      }
      cpu_.push_back(CpuSample{0, v[0], v[1], v[2], v[3], v[4], off});
      ++stats_.cpu_samples;
    }
    return OkStatus();
  }

  Status ParseFrequency(uint64_t file_off, const uint8_t* p, const uint8_t* end) {
    const uint8_t* const base = p;
    while (p < end) {
      const uint64_t off = file_off + static_cast<uint64_t>(p - base);
      if (*p != kEvFrequency) {
        return Err(ErrorTag::kCorrupt, off,
                   "expected frequency or clock snapshot event, got " + std::to_string(*p));
      }
      ++p;
      if (has_freq_) return Err(ErrorTag::kCorrupt, off, "found multiple frequency events");
      if (!Uvarint(&p, end, &freq_)) return Truncated(off, "frequency");
      has_freq_ = true;
    }
    return OkStatus();
  }

  Status ParseSync(const BatchHeader& h, const uint8_t* p, const uint8_t* end) {
    const uint8_t* const base = p;
    ++p;
    while (p < end) {
      const uint64_t off = h.payload_offset + static_cast<uint64_t>(p - base);
      const uint8_t t = *p++;
      if (t == kEvFrequency) {
        if (has_freq_) return Err(ErrorTag::kCorrupt, off, "found multiple frequency events");
        if (!Uvarint(&p, end, &freq_)) return Truncated(off, "frequency");
        has_freq_ = true;
      } else if (t == kEvClockSnapshot) {
        if (has_clock_) {
          return Err(ErrorTag::kCorrupt, off, "found multiple clock snapshot events");
        }
        uint64_t v[4];
        for (uint64_t& x : v) {
          if (!Uvarint(&p, end, &x)) return Truncated(off, "clock snapshot");
        }
        has_clock_ = true;
      } else {
        return Err(ErrorTag::kCorrupt, off,
                   "expected frequency or clock snapshot event, got " + std::to_string(t));
      }
    }
    return OkStatus();
  }

  // After all batches: check the frequency, decode stacks, order CPU samples, build the frontier.
  Status StartGeneration() {
    ++v2_stats_.generations;
    const uint64_t gen_off = batches_.empty() ? pos_ : batches_[0].file_offset;
    if (!has_freq_) return Err(ErrorTag::kCorrupt, gen_off, "no frequency event found");
    if (minor_ >= 25 && !has_clock_) {
      return Err(ErrorTag::kCorrupt, gen_off, "no clock snapshot event found");
    }
    ns_per_tick_ = 1.0 / (static_cast<double>(freq_) / 1e9);
    for (uint32_t bi : stack_batches_) TT_RETURN_IF_ERROR(ParseStacks(batches_[bi]));
    for (CpuSample& cs : cpu_) cs.ns = Trunc(static_cast<double>(cs.ticks) * ns_per_tick_);
    std::stable_sort(cpu_.begin(), cpu_.end(),
                     [](const CpuSample& a, const CpuSample& b) { return a.ns < b.ns; });
    // The Sync at the generation's start (Go's current reader, every version).
    sync_times_.push_back(Pub(Trunc(static_cast<double>(min_time_) * ns_per_tick_)));
    cursors_.resize(mlists_.size());
    for (uint32_t i = 0; i < mlists_.size(); ++i) {
      Cursor& c = cursors_[i];
      c.m = mlists_[i].first;
      c.mi = i;
      bool ok = false;
      TT_RETURN_IF_ERROR(NextEvent(c, &ok));
      if (ok) HeapInsert(i);
    }
    return OkStatus();
  }

  Status ParseStacks(const GenBatch& b) {
    const uint8_t* const base = arena_.data() + b.arena_offset;
    const uint8_t* p = base + 1;
    const uint8_t* const end = base + b.size;
    std::vector<Frame> frames;
    while (p < end) {
      const uint64_t off = b.file_offset + static_cast<uint64_t>(p - base);
      if (*p != kEvStack) {
        return Err(ErrorTag::kCorrupt, off, "expected stack event, got " + std::to_string(*p));
      }
      ++p;
      uint64_t id = 0, n = 0;
      if (!Uvarint(&p, end, &id) || !Uvarint(&p, end, &n)) return Truncated(off, "stack");
      if (n > kMaxFramesPerStack) {
        return Err(ErrorTag::kCorrupt, off,
                   "invalid stack size " + std::to_string(n) + ", maximum is " +
                       std::to_string(kMaxFramesPerStack));
      }
      frames.clear();
      for (uint64_t i = 0; i < n; ++i) {
        uint64_t pc = 0, fn = 0, file = 0, line = 0;
        if (!Uvarint(&p, end, &pc) || !Uvarint(&p, end, &fn) || !Uvarint(&p, end, &file) ||
            !Uvarint(&p, end, &line)) {
          return Truncated(off, "stack frame");
        }
        // The first record of a PC in the generation wins (spec §1.7.2); it is kept with its
        // strings already resolved to global ids.
        bool inserted = false;
        Frame& f = pc_frames_.Get(pc, &inserted);
        if (inserted) {
          const uint64_t* gfn = fn == 0 ? &kZero : str_map_.Find(fn);
          if (gfn == nullptr) {
            return Err(ErrorTag::kCorrupt, off,
                       "found invalid func string ID " + std::to_string(fn) + " for stack " +
                           std::to_string(id));
          }
          const uint64_t* gfile = file == 0 ? &kZero : str_map_.Find(file);
          if (gfile == nullptr) {
            return Err(ErrorTag::kCorrupt, off,
                       "found invalid file string ID " + std::to_string(file) + " for stack " +
                           std::to_string(id));
          }
          f = Frame{pc, static_cast<uint32_t>(*gfn), static_cast<uint32_t>(*gfile), line};
        }
        frames.push_back(f);
      }
      bool inserted = false;
      uint32_t& gid = stk_map_.Get(id, &inserted);
      if (!inserted || id == 0) {
        return Err(ErrorTag::kCorrupt, off,
                   "multiple stacks with the same ID: id=" + std::to_string(id));
      }
      gid = InternStack(frames);
      if (!frames.empty()) ++stats_.stacks;
    }
    return OkStatus();
  }

  // InternStack(): the global id of a stack with these frames (equal stacks of different
  // generations share one id). Keyed by a 64-bit hash of the frames; collisions chain.
  uint32_t InternStack(const std::vector<Frame>& frames) {
    if (frames.empty()) return 0;
    uint64_t h = frames.size();
    auto mix = [&h](uint64_t v) {
      h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
      h *= 0xff51afd7ed558ccdull;
    };
    for (const Frame& f : frames) {
      mix(f.pc);
      mix(static_cast<uint64_t>(f.fn) << 32 | f.file);
      mix(f.line);
    }
    auto same = [&frames](const std::vector<Frame>& o) {
      if (o.size() != frames.size()) return false;
      for (size_t i = 0; i < o.size(); ++i) {
        if (o[i].pc != frames[i].pc || o[i].fn != frames[i].fn || o[i].file != frames[i].file ||
            o[i].line != frames[i].line) {
          return false;
        }
      }
      return true;
    };
    std::vector<uint32_t>& bucket = stack_index_.Get(h);
    for (uint32_t id : bucket) {
      if (same(stacks_[id])) return id;
    }
    if (stacks_.size() >= UINT32_MAX) return 0;
    stacks_.emplace_back(frames);
    const uint32_t id = static_cast<uint32_t>(stacks_.size() - 1);
    bucket.push_back(id);
    return id;
  }

  // ---- Cursors and the frontier heap (Go's exact tie rules, spec §3.1) ----------------------
  Status NextEvent(Cursor& c, bool* ok) {
    *ok = false;
    while (c.p == c.end) {
      const auto& list = mlists_[c.mi].second;
      if (c.next_batch >= list.size()) return OkStatus();
      const GenBatch& b = batches_[list[c.next_batch++]];
      c.p = arena_.data() + b.arena_offset;
      c.end = c.p + b.size;
      c.file_delta = b.file_offset - b.arena_offset;
      c.last = Trunc(static_cast<double>(b.time) * ns_per_tick_);
    }
    const uint8_t* p = c.p;
    c.offset = static_cast<uint64_t>(p - arena_.data()) + c.file_delta;
    const uint8_t t = *p++;
    const EvSpec& s = kEvSpecs[t];
    if (!s.timed) {
      if (t > kEvLastExperimental) {
        return Err(ErrorTag::kCorrupt, c.offset, "found invalid event type: " + std::to_string(t));
      }
      return Err(ErrorTag::kCorrupt, c.offset,
                 "found event without a timestamp: type=" + std::to_string(t));
    }
    if (!Uvarint(&p, c.end, &c.a[0])) {
      return Err(ErrorTag::kCorrupt, c.offset, "found invalid uvarint for timestamp");
    }
    for (int i = 1; i < s.nops; ++i) {
      if (!Uvarint(&p, c.end, &c.a[i])) {
        return Err(ErrorTag::kCorrupt, c.offset, "found invalid uvarint");
      }
    }
    c.type = t;
    c.p = p;
    c.time = WrapAdd(Trunc(static_cast<double>(c.a[0]) * ns_per_tick_), c.last);
    c.last = c.time;
    ++stats_.events;
    *ok = true;
    return OkStatus();
  }

  bool Earlier(uint32_t a, uint32_t b) const { return cursors_[a].time < cursors_[b].time; }
  size_t SiftUp(size_t i) {
    while (i > 0 && Earlier(heap_[i], heap_[(i - 1) / 2])) {
      std::swap(heap_[i], heap_[(i - 1) / 2]);
      i = (i - 1) / 2;
    }
    return i;
  }
  void SiftDown(size_t i) {
    while (true) {
      size_t m = i;
      const size_t l = 2 * i + 1, r = 2 * i + 2;
      if (l < heap_.size() && Earlier(heap_[l], heap_[m])) m = l;
      if (r < heap_.size() && Earlier(heap_[r], heap_[m])) m = r;
      if (m == i) return;
      std::swap(heap_[i], heap_[m]);
      i = m;
    }
  }
  void HeapInsert(uint32_t ci) {
    heap_.push_back(ci);
    SiftUp(heap_.size() - 1);
  }
  void HeapRemove(size_t i) {
    while (i > 0) {
      std::swap(heap_[i], heap_[(i - 1) / 2]);
      i = (i - 1) / 2;
    }
    std::swap(heap_[0], heap_.back());
    heap_.pop_back();
    if (!heap_.empty()) SiftDown(0);
  }
  Status Refresh(size_t i) {
    bool ok = false;
    TT_RETURN_IF_ERROR(NextEvent(cursors_[heap_[i]], &ok));
    if (!ok) {
      HeapRemove(i);
    } else if (SiftUp(i) == i) {
      SiftDown(i);
    }
    return OkStatus();
  }

  // ---- Output --------------------------------------------------------------------------------
  // Pub(t): Go's strictly-increasing rule for every public event (spec §3.1 post-checks).
  int64_t Pub(int64_t t) {
    if (have_last_ && t <= last_ns_) t = WrapAdd(last_ns_, 1);
    last_ns_ = t;
    have_last_ = true;
    return t;
  }
  Event& Emit(EventType type, int64_t ts, uint64_t offset, uint64_t g, uint64_t p) {
    Event* ep;
    if (direct_ != nullptr && !direct_used_) {
      ep = direct_;
      *ep = Event();
      direct_used_ = true;
    } else {
      out_.emplace_back();
      ep = &out_.back();
    }
    Event& e = *ep;
    e.type = type;
    // Model times count from the first event (as the v1 reader's); links copy them, so the
    // rebasing happens here, not on the way out.
    if (!have_base_) {
      base_ = ts;
      have_base_ = true;
    }
    e.ts = WrapSub(ts, base_);
    e.offset = offset;
    e.g = g == kNone ? 0 : g;
    e.p = p == kNone ? format::kFakeP : static_cast<int64_t>(p);
    return e;
  }
  static LinkFrom LinkOf(const Event& e) { return LinkFrom{e.type, e.ts, e.stack_id, e.g, e.offset}; }

  // Global ids of a generation's stack and string ids (0 when absent; existence is checked before
  // an event is handled).
  uint32_t Stk(uint64_t id) const {
    if (id == 0) return 0;
    const uint32_t* g = stk_map_.Find(id);
    return g ? *g : 0;
  }
  uint64_t Str(uint64_t id) const {
    if (id == 0) return 0;
    const uint64_t* g = str_map_.Find(id);
    return g ? *g : 0;
  }

  // ---- The ordering engine (spec §3.2–§3.5) --------------------------------------------------
  static Status CtxErr(const Cursor& c, const char* what) {
    return Err(ErrorTag::kInconsistent, c.offset, std::string(what) + " (" + EvName(c.type) + ")");
  }
  static Status Check(const Cursor& c, const Ctx& x, Req m, Req p, Req g) {
    if (m == Req::kMust && x.m == kNone) return CtxErr(c, "expected a thread but didn't have one");
    if (m == Req::kMustNot && x.m != kNone) return CtxErr(c, "expected no thread but had one");
    if (p == Req::kMust && x.p == kNone) return CtxErr(c, "expected a proc but didn't have one");
    if (p == Req::kMustNot && x.p != kNone) return CtxErr(c, "expected no proc but had one");
    if (g == Req::kMust && x.g == kNone) {
      return CtxErr(c, "expected a goroutine but didn't have one");
    }
    if (g == Req::kMustNot && x.g != kNone) return CtxErr(c, "expected no goroutine but had one");
    return OkStatus();
  }
  static Status UserCtx(const Cursor& c, const Ctx& x) {
    return Check(c, x, Req::kMust, Req::kMust, Req::kMust);
  }
  bool Succeeds(uint64_t sgen, uint64_t sseq, uint64_t k) const {
    return sgen == gen_ && sseq + 1 == k;
  }
  uint64_t Initial() {
    if (initial_gen_ == 0) initial_gen_ = gen_;
    return initial_gen_;
  }

  Status CheckRefs(const Cursor& c) const {
    const EvSpec& s = kEvSpecs[c.type];
    if (s.stacks[0] < 0 && s.strings[0] < 0) return OkStatus();
    for (int8_t i : s.stacks) {
      if (i < 0) continue;
      const uint64_t id = c.a[i];
      if (id != 0 && stk_map_.Find(id) == nullptr) {
        return Err(ErrorTag::kCorrupt, c.offset,
                   "found invalid stack ID " + std::to_string(id) + " for event " + EvName(c.type));
      }
    }
    for (int8_t i : s.strings) {
      if (i < 0) continue;
      const uint64_t id = c.a[i];
      if (id != 0 && str_map_.Find(id) == nullptr) {
        return Err(ErrorTag::kCorrupt, c.offset,
                   "found invalid string ID " + std::to_string(id) + " for event " +
                       EvName(c.type));
      }
    }
    return OkStatus();
  }

  EventType ReasonType(uint64_t gid) {
    bool inserted = false;
    uint8_t& t = reason_cache_.Get(gid, &inserted);
    if (inserted) t = static_cast<uint8_t>(BlockType(String(gid)));
    return static_cast<EventType>(t);
  }

  void StoreCtx(const Cursor& c, const Ctx& x) {
    if (c.m == kNone) return;
    MState& ms = mstate_.Get(c.m);
    ms.p = x.p;
    ms.g = x.g;
  }

  Status GoRunning(const Cursor& c, const Ctx& x, uint8_t want, GState** out) {
    GState* g = gs_.Find(x.g);
    if (g == nullptr) {
      return Bad(c, "event " + EvName(c.type) + " for goroutine (" + std::to_string(x.g) +
                        ") that doesn't exist");
    }
    if (g->status != want) {
      return Bad(c, EvName(c.type) + " event for goroutine that's not " +
                        (want == kGoSyscall ? std::string("Syscall") : std::string("Running")));
    }
    *out = g;
    return OkStatus();
  }

  Status Advance(Cursor& c, bool* advanced) {
    *advanced = false;
    Ctx x;
    bool known = false;  // the thread has state already
    if (c.m != kNone) {
      x.m = c.m;
      if (const MState* ms = mstate_.Find(c.m)) {
        x.p = ms->p;
        x.g = ms->g;
        known = true;
      }
    }
    const Ctx before = x;
    TT_RETURN_IF_ERROR(CheckRefs(c));
    const uint64_t* a = c.a;
    switch (c.type) {
      case kEvProcStatus:
        TT_RETURN_IF_ERROR(ProcStatus(c, x));
        break;
      case kEvProcStart: {
        PState* ps = ps_.Find(a[1]);
        if (ps == nullptr || ps->status != kProcIdle || !Succeeds(ps->seq_gen, ps->seq, a[2]) ||
            x.p != kNone) {
          return OkStatus();  // not yet
        }
        TT_RETURN_IF_ERROR(Check(c, x, Req::kMust, Req::kMustNot, Req::kMay));
        Initial();
        ps->status = kProcRunning;
        ps->seq = a[2];
        x.p = a[1];
        Emit(EventType::kProcStart, Pub(c.time), c.offset, x.g, a[1]).args[0] = c.m;
        break;
      }
      case kEvProcStop: {
        TT_RETURN_IF_ERROR(Check(c, x, Req::kMust, Req::kMust, Req::kMay));
        PState* ps = ps_.Find(x.p);
        if (ps == nullptr) {
          return Bad(c, "event ProcStop for proc (" + std::to_string(x.p) + ") that doesn't exist");
        }
        if (ps->status != kProcRunning && ps->status != kProcSyscall) {
          return Bad(c, "ProcStop event for proc that's not Running or Syscall");
        }
        Initial();
        ps->status = kProcIdle;
        Emit(EventType::kProcStop, Pub(c.time), c.offset, x.g, x.p);
        x.p = kNone;
        break;
      }
      case kEvProcSteal: {
        bool adv = false;
        TT_RETURN_IF_ERROR(ProcSteal(c, x, &adv));
        if (!adv) return OkStatus();
        break;
      }
      case kEvGoStatus:
      case kEvGoStatusStack:
        TT_RETURN_IF_ERROR(GoStatus(c, x));
        break;
      case kEvGoCreate:
      case kEvGoCreateBlocked: {
        TT_RETURN_IF_ERROR(Check(c, x, Req::kMust, Req::kMust, Req::kMay));
        if (x.g != kNone) {
          const GState* cg = gs_.Find(x.g);
          if (cg != nullptr && cg->status != kGoRunning) {
            return Bad(c, EvName(c.type) + " event for goroutine that's not Running");
          }
        }
        bool inserted = false;
        GState& ng = gs_.Get(a[1], &inserted);
        if (!inserted) {
          return Bad(c, "tried to create goroutine (" + std::to_string(a[1]) +
                            ") that already exists");
        }
        Initial();
        const bool blocked = c.type == kEvGoCreateBlocked;
        ng.status = blocked ? kGoWaiting : kGoRunnable;
        ng.seq_gen = gen_;
        ng.seq = 0;
        ng.has_create = true;
        ng.create_stack = Stk(a[2]);
        ng.named = ng.create_stack != 0;
        const int64_t t = Pub(c.time);
        Event& e = Emit(EventType::kGoCreate, t, c.offset, x.g, x.p);
        e.args[0] = a[1];
        e.args[1] = ng.create_stack;
        e.stack_id = Stk(a[3]);
        ng.ev = LinkOf(e);
        if (blocked) {
          Event& w = Emit(EventType::kGoWaiting, t, c.offset, a[1], x.p);
          w.args[0] = a[1];
          gs_.Find(a[1])->ev = LinkOf(w);
        }
        break;
      }
      case kEvGoCreateSyscall: {
        TT_RETURN_IF_ERROR(Check(c, x, Req::kMust, Req::kMay, Req::kMustNot));
        bool inserted = false;
        GState& ng = gs_.Get(a[1], &inserted);
        if (!inserted) {
          return Bad(c, "tried to create goroutine (" + std::to_string(a[1]) +
                            ") that already exists");
        }
        Initial();
        ng.status = kGoSyscall;
        ng.seq_gen = gen_;
        ng.seq = 0;
        ng.v1_blocked = true;
        const int64_t t = Pub(c.time);
        Emit(EventType::kGoCreate, t, c.offset, kNone, x.p).args[0] = a[1];
        Emit(EventType::kGoInSyscall, t, c.offset, a[1], x.p).args[0] = a[1];
        x.g = a[1];
        break;
      }
      case kEvGoStart: {
        GState* g = gs_.Find(a[1]);
        if (g == nullptr || g->status != kGoRunnable || !Succeeds(g->seq_gen, g->seq, a[2])) {
          return OkStatus();
        }
        TT_RETURN_IF_ERROR(Check(c, x, Req::kMust, Req::kMust, Req::kMustNot));
        Initial();
        g->status = kGoRunning;
        g->seq = a[2];
        x.g = a[1];
        EmitStart(c, Pub(c.time), x, a[1], a[2], g);
        break;
      }
      case kEvGoDestroy:
      case kEvGoStop:
      case kEvGoBlock: {
        TT_RETURN_IF_ERROR(UserCtx(c, x));
        GState* g = nullptr;
        TT_RETURN_IF_ERROR(GoRunning(c, x, kGoRunning, &g));
        Initial();
        const int64_t t = Pub(c.time);
        if (c.type == kEvGoDestroy) {
          Emit(EventType::kGoEnd, t, c.offset, x.g, x.p).from = g->start;
          gs_.Erase(x.g);
        } else {
          const uint64_t reason = Str(a[1]);
          EventType et;
          if (c.type == kEvGoStop) {
            et = String(reason) == "preempted" ? EventType::kGoPreempt : EventType::kGoSched;
            g->status = kGoRunnable;
          } else {
            et = ReasonType(reason);
            g->status = kGoWaiting;
          }
          Event& e = Emit(et, t, c.offset, x.g, x.p);
          e.args[0] = reason;
          e.stack_id = Stk(a[2]);
          NameFrom(g, e.stack_id);
          e.from = g->start;
          g->start = LinkFrom();
          g->ev = LinkOf(e);
        }
        x.g = kNone;
        break;
      }
      case kEvGoUnblock: {
        GState* g = gs_.Find(a[1]);
        if (g == nullptr || g->status != kGoWaiting || !Succeeds(g->seq_gen, g->seq, a[2])) {
          return OkStatus();
        }
        Initial();
        g->status = kGoRunnable;
        g->seq = a[2];
        uint64_t p = x.p;
        if (p == kNone) p = g->ev.type == EventType::kGoBlockNet ? format::kNetpollP : kNone;
        Event& e = Emit(EventType::kGoUnblock, Pub(c.time), c.offset, x.g, p);
        e.args[0] = a[1];
        e.args[1] = a[2];
        e.stack_id = Stk(a[3]);
        if (g->ev.type != EventType::kNone) e.from = g->ev;
        g->ev = LinkOf(e);
        break;
      }
      case kEvGoSwitch:
      case kEvGoSwitchDestroy: {
        TT_RETURN_IF_ERROR(UserCtx(c, x));
        GState* cur = nullptr;
        TT_RETURN_IF_ERROR(GoRunning(c, x, kGoRunning, &cur));
        GState* g = gs_.Find(a[1]);
        if (g == nullptr || g->status != kGoWaiting || !Succeeds(g->seq_gen, g->seq, a[2])) {
          return OkStatus();
        }
        Initial();
        // Go's three public events (spec §3.5): unblock the target, block or end the current
        // goroutine, start the target.
        Event& u = Emit(EventType::kGoUnblock, Pub(c.time), c.offset, x.g, x.p);
        u.args[0] = a[1];
        u.args[1] = a[2];
        if (g->ev.type != EventType::kNone) u.from = g->ev;
        g->ev = LinkOf(u);
        g->status = kGoRunnable;
        g->seq = a[2];
        if (c.type == kEvGoSwitch) {
          Event& b = Emit(EventType::kGoBlock, Pub(c.time), c.offset, x.g, x.p);
          b.from = cur->start;
          cur->start = LinkFrom();
          cur->ev = LinkOf(b);
          cur->status = kGoWaiting;
        } else {
          Emit(EventType::kGoEnd, Pub(c.time), c.offset, x.g, x.p).from = cur->start;
          gs_.Erase(x.g);
        }
        g = gs_.Find(a[1]);
        g->status = kGoRunning;
        x.g = a[1];
        EmitStart(c, Pub(c.time), x, a[1], a[2], g);
        break;
      }
      case kEvGoSyscallBegin: {
        TT_RETURN_IF_ERROR(UserCtx(c, x));
        GState* g = nullptr;
        TT_RETURN_IF_ERROR(GoRunning(c, x, kGoRunning, &g));
        PState* ps = ps_.Find(x.p);
        if (ps == nullptr) {
          return Bad(c, "uninitialized proc " + std::to_string(x.p) + " found during " +
                            EvName(c.type));
        }
        if (!Succeeds(ps->seq_gen, ps->seq, a[1])) {
          return Bad(c, "failed to advance GoSyscallBegin: can't make sequence: {gen " +
                            std::to_string(ps->seq_gen) + " seq " + std::to_string(ps->seq) +
                            "} -> {gen " + std::to_string(gen_) + " seq " + std::to_string(a[1]) +
                            "}");
        }
        Initial();
        g->status = kGoSyscall;
        ps->status = kProcSyscall;
        ps->seq = a[1];
        Event& e = Emit(EventType::kGoSysCall, Pub(c.time), c.offset, x.g, x.p);
        e.stack_id = Stk(a[2]);
        NameFrom(g, e.stack_id);
        g->sys = LinkOf(e);
        g->v1_blocked = false;
        break;
      }
      case kEvGoSyscallEnd: {
        TT_RETURN_IF_ERROR(UserCtx(c, x));
        GState* g = nullptr;
        TT_RETURN_IF_ERROR(GoRunning(c, x, kGoSyscall, &g));
        PState* ps = ps_.Find(x.p);
        if (ps == nullptr || ps->status != kProcSyscall) {
          return Bad(c, "expected proc " + std::to_string(x.p) + " in state Syscall, but got " +
                            (ps ? ProcStatusName(ps->status) : "NotExist") + " instead");
        }
        Initial();
        g->status = kGoRunning;
        ps->status = kProcRunning;
        const int64_t t = Pub(c.time);
        if (g->v1_blocked) {
          // The model shows this syscall as blocked (the goroutine was found in it): it exits,
          // then runs again.
          Event& e = Emit(EventType::kGoSysExit, t, c.offset, x.g, format::kSyscallP);
          e.args[0] = x.g;
          if (g->sys.type != EventType::kNone) e.from = g->sys;
          const LinkFrom exit = LinkOf(e);
          Event& s = Emit(EventType::kGoStart, t, c.offset, x.g, x.p);
          s.args[0] = x.g;
          s.from = exit;
          s.sched_rule = g->ran ? SchedRule::kCount : SchedRule::kSkip;
          g->ran = true;
          g->start = LinkOf(s);
          g->v1_blocked = false;
        } else {
          Event& e = Emit(EventType::kGoSysReturn, t, c.offset, x.g, x.p);
          e.from = g->sys;
        }
        g->sys = LinkFrom();
        break;
      }
      case kEvGoSyscallEndBlocked: {
        if (x.p != kNone) {
          const PState* ps = ps_.Find(x.p);
          if (ps == nullptr) {
            return Bad(c, "uninitialized proc " + std::to_string(x.p) + " found during " +
                              EvName(c.type));
          }
          if (ps->status == kProcSyscall) return OkStatus();  // wait for the steal
        }
        TT_RETURN_IF_ERROR(Check(c, x, Req::kMust, Req::kMay, Req::kMust));
        GState* g = nullptr;
        TT_RETURN_IF_ERROR(GoRunning(c, x, kGoSyscall, &g));
        Initial();
        g->status = kGoRunnable;
        const int64_t t = Pub(c.time);
        if (!g->v1_blocked) {
          Emit(EventType::kGoSysBlock, t, c.offset, x.g, x.p).from = g->start;
          g->start = LinkFrom();
        }
        Event& e = Emit(EventType::kGoSysExit, t, c.offset, x.g, format::kSyscallP);
        e.args[0] = x.g;
        if (g->sys.type != EventType::kNone) e.from = g->sys;
        g->ev = LinkOf(e);
        g->sys = LinkFrom();
        g->v1_blocked = false;
        x.g = kNone;
        break;
      }
      case kEvGoDestroySyscall: {
        TT_RETURN_IF_ERROR(Check(c, x, Req::kMust, Req::kMay, Req::kMust));
        GState* g = gs_.Find(x.g);
        if (g == nullptr || g->status != kGoSyscall) {
          return Bad(c, "GoDestroySyscall event for goroutine that's not Syscall");
        }
        PState* ps = nullptr;
        if (x.p != kNone) {
          ps = ps_.Find(x.p);
          if (ps == nullptr || ps->status != kProcSyscall) {
            return Bad(c, "proc " + std::to_string(x.p) + " in unexpected state " +
                              (ps ? ProcStatusName(ps->status) : "NotExist") +
                              " during GoDestroySyscall");
          }
        }
        Initial();
        if (ps != nullptr) {
          // Go's synthesised ProcSteal: the P stays with the M, abandoned (spec §3.5).
          ps->status = kProcSyscallAbandoned;
          Emit(EventType::kProcStop, Pub(c.time), c.offset, x.g, x.p);
          x.p = kNone;
        }
        const int64_t t = Pub(c.time);
        if (g->sys.type != EventType::kNone) {
          Emit(EventType::kGoSysReturn, t, c.offset, x.g, x.p).from = g->sys;
        }
        Emit(EventType::kGoEnd, t, c.offset, x.g, x.p).from = g->start;
        gs_.Erase(x.g);
        x.g = kNone;
        break;
      }
      case kEvSTWBegin:
      case kEvGCMarkAssistBegin: {
        TT_RETURN_IF_ERROR(UserCtx(c, x));
        GState* g = gs_.Find(x.g);
        if (g == nullptr) {
          return Bad(c, "encountered event of type " + std::to_string(c.type) +
                            " without known state for current goroutine " + std::to_string(x.g));
        }
        const int64_t t = Pub(c.time);
        if (c.type == kEvSTWBegin) {
          const uint64_t kind = Str(a[1]);
          for (const auto& s : g->stw) {
            if (s.first == kind) {
              return Bad(c, "discovered event already in-flight for when starting event STWBegin");
            }
          }
          Initial();
          Event& e = Emit(EventType::kGCSTWStart, t, c.offset, x.g, x.p);
          e.args[0] = 0;
          const std::string_view name = String(kind);
          for (size_t i = 0; i < std::size(kStwKinds); ++i) {
            if (kStwKinds[i] == name) e.args[0] = i;
          }
          e.stack_id = Stk(a[2]);
          g->stw.emplace_back(kind, LinkOf(e));
        } else {
          if (g->assist) {
            return Bad(c,
                       "discovered event already in-flight for when starting event "
                       "GCMarkAssistBegin");
          }
          Initial();
          Event& e = Emit(EventType::kGCMarkAssistStart, t, c.offset, x.g, x.p);
          e.stack_id = Stk(a[1]);
          g->assist = true;
          g->assist_begin = LinkOf(e);
        }
        break;
      }
      case kEvSTWEnd:
      case kEvGCMarkAssistEnd: {
        TT_RETURN_IF_ERROR(UserCtx(c, x));
        GState* g = gs_.Find(x.g);
        if (g == nullptr) {
          return Bad(c, "encountered event of type " + std::to_string(c.type) +
                            " without known state for current goroutine " + std::to_string(x.g));
        }
        const bool stw = c.type == kEvSTWEnd;
        if (stw ? g->stw.empty() : !g->assist) {
          return Bad(c, "tried to end event " + EvName(c.type) + ", but not in-flight");
        }
        Initial();
        const int64_t t = Pub(c.time);
        if (stw) {
          Emit(EventType::kGCSTWDone, t, c.offset, x.g, x.p).from = g->stw.front().second;
          g->stw.erase(g->stw.begin());
        } else {
          Emit(EventType::kGCMarkAssistDone, t, c.offset, x.g, x.p).from = g->assist_begin;
          g->assist = false;
        }
        break;
      }
      case kEvGCMarkAssistActive: {
        GState* g = gs_.Find(a[1]);
        if (g == nullptr) {
          return Bad(c, "uninitialized goroutine " + std::to_string(a[1]) +
                            " found during GCMarkAssistActive");
        }
        if (gen_ == Initial()) {
          if (g->assist) return Bad(c, "found named active range already in first gen: GC mark assist");
          g->assist = true;
          Event& e = Emit(EventType::kGCMarkAssistStart, Pub(c.time), c.offset, a[1], x.p);
          g->assist_begin = LinkOf(e);
        } else {
          if (!g->assist) return Bad(c, "resource is missing active range: GC mark assist");
          Pub(c.time);
        }
        break;
      }
      case kEvGCSweepActive: {
        PState* ps = ps_.Find(a[1]);
        if (ps == nullptr) {
          return Bad(c, "encountered GCSweepActive for unknown proc " + std::to_string(a[1]));
        }
        if (gen_ == Initial()) {
          if (ps->sweep) return Bad(c, "found named active range already in first gen: GC incremental sweep");
          ps->sweep = true;
          Emit(EventType::kGCSweepStart, Pub(c.time), c.offset, x.g, a[1]);
        } else {
          if (!ps->sweep) return Bad(c, "resource is missing active range: GC incremental sweep");
          Pub(c.time);
        }
        break;
      }
      case kEvGCSweepBegin:
      case kEvGCSweepEnd: {
        TT_RETURN_IF_ERROR(Check(c, x, Req::kMust, Req::kMust, Req::kMay));
        PState* ps = ps_.Find(x.p);
        if (ps == nullptr) {
          return Bad(c, "uninitialized proc " + std::to_string(x.p) + " found during " +
                            EvName(c.type));
        }
        const int64_t t = Pub(c.time);
        if (c.type == kEvGCSweepBegin) {
          if (ps->sweep) {
            return Bad(c, "discovered event already in-flight for when starting event GCSweepBegin");
          }
          Initial();
          ps->sweep = true;
          Emit(EventType::kGCSweepStart, t, c.offset, x.g, x.p).stack_id = Stk(a[1]);
        } else {
          if (!ps->sweep) return Bad(c, "tried to end event GCSweepEnd, but not in-flight");
          Initial();
          ps->sweep = false;
          Event& e = Emit(EventType::kGCSweepDone, t, c.offset, x.g, x.p);
          e.args[0] = a[1];
          e.args[1] = a[2];
        }
        break;
      }
      case kEvGCActive:
      case kEvGCBegin:
      case kEvGCEnd: {
        bool adv = false;
        TT_RETURN_IF_ERROR(Gc(c, x, &adv));
        if (!adv) return OkStatus();
        break;
      }
      case kEvHeapAlloc:
      case kEvHeapGoal: {
        TT_RETURN_IF_ERROR(Check(c, x, Req::kMust, Req::kMust, Req::kMay));
        Initial();
        Emit(c.type == kEvHeapAlloc ? EventType::kHeapAlloc : EventType::kHeapGoal, Pub(c.time),
             c.offset, x.g, x.p)
            .args[0] = a[1];
        break;
      }
      case kEvGoLabel:
        TT_RETURN_IF_ERROR(UserCtx(c, x));
        Initial();
        Pub(c.time);
        ++v2_stats_.labels;
        break;
      case kEvProcsChange: {
        TT_RETURN_IF_ERROR(UserCtx(c, x));
        Initial();
        Event& e = Emit(EventType::kGomaxprocs, Pub(c.time), c.offset, x.g, x.p);
        e.args[0] = a[1];
        e.stack_id = Stk(a[2]);
        break;
      }
      case kEvUserTaskBegin: {
        auto it = tasks_.find(a[1]);
        if (it != tasks_.end()) return Bad(c, "task ID conflict: " + std::to_string(a[1]));
        TT_RETURN_IF_ERROR(UserCtx(c, x));
        Initial();
        const uint64_t parent = a[2] == 0 ? kNone : a[2];
        Event& e = Emit(EventType::kUserTaskCreate, Pub(c.time), c.offset, x.g, x.p);
        e.args[0] = a[1];
        e.args[1] = parent == kNone ? 0 : parent;
        e.args[2] = Str(a[3]);
        e.stack_id = Stk(a[4]);
        tasks_[a[1]] = Task{e.args[2], parent, LinkOf(e)};
        break;
      }
      case kEvUserTaskEnd: {
        TT_RETURN_IF_ERROR(UserCtx(c, x));
        Initial();
        Event& e = Emit(EventType::kUserTaskEnd, Pub(c.time), c.offset, x.g, x.p);
        e.args[0] = a[1];
        e.stack_id = Stk(a[2]);
        auto it = tasks_.find(a[1]);
        if (it != tasks_.end()) {
          e.from = it->second.begin;
          tasks_.erase(it);
        }
        break;
      }
      case kEvUserRegionBegin:
      case kEvUserRegionEnd: {
        TT_RETURN_IF_ERROR(UserCtx(c, x));
        GState* g = gs_.Find(x.g);
        const bool begin = c.type == kEvUserRegionBegin;
        if (g == nullptr) {
          return Bad(c, std::string("encountered EvUserRegion") + (begin ? "Begin" : "End") +
                            " without known state for current goroutine " + std::to_string(x.g));
        }
        const uint64_t name = Str(a[2]);
        LinkFrom from;
        if (!begin && !g->regions.empty()) {
          const Region& top = g->regions.back();
          if (top.task != a[1] || top.name != name) {
            return Bad(c, "misuse of region in goroutine " + std::to_string(x.g) +
                              ": region end {task " + std::to_string(a[1]) + " " +
                              std::string(String(name)) +
                              "} when the inner-most active region start is {task " +
                              std::to_string(top.task) + " " + std::string(String(top.name)) +
                              "}");
          }
          from = top.begin;
          g->regions.pop_back();
        }
        Initial();
        Event& e = Emit(EventType::kUserRegion, Pub(c.time), c.offset, x.g, x.p);
        e.args[0] = a[1];
        e.args[1] = begin ? 0 : 1;
        e.args[2] = name;
        e.stack_id = Stk(a[3]);
        e.from = from;
        if (begin) g->regions.push_back({a[1], name, LinkOf(e)});
        break;
      }
      case kEvUserLog: {
        TT_RETURN_IF_ERROR(UserCtx(c, x));
        Initial();
        Event& e = Emit(EventType::kUserLog, Pub(c.time), c.offset, x.g, x.p);
        e.args[0] = a[1];
        e.args[1] = Str(a[2]);
        e.message = String(Str(a[3]));
        e.stack_id = Stk(a[4]);
        break;
      }
      default:
        if (c.type >= kEvFirstExperimental && c.type <= kEvLastExperimental) {
          TT_RETURN_IF_ERROR(Check(c, x, Req::kMust, Req::kMay, Req::kMay));
          Initial();
          Pub(c.time);
          ++v2_stats_.experimental_events;
          break;
        }
        return Bad(c, "bad event type found while ordering: " + std::to_string(c.type));
    }
    // Handlers change other threads' state directly and this thread's only through x.
    if (!known || x.p != before.p || x.g != before.g) StoreCtx(c, x);
    *advanced = true;
    return OkStatus();
  }

  // OuterFrame(stack): a one-frame stack of the stack's outermost frame (a goroutine's start
  // function, as Go's goroutine summary names it), 0 for none.
  uint32_t OuterFrame(uint32_t stack) {
    if (stack == 0 || stack >= stacks_.size() || stacks_[stack].empty()) return 0;
    // One per function name (the analyses group goroutines by the frame's PC, Go's summary by
    // the function's name: the first frame seen for a name stands for all of them).
    const Frame outer = stacks_[stack].back();
    bool inserted = false;
    uint32_t& id = outer_by_fn_.Get(outer.fn, &inserted);
    if (inserted) id = InternStack(std::vector<Frame>{outer});
    return id;
  }
  // NameFrom(): a goroutine whose start function is unknown (it existed when tracing started and
  // its status had no stack) gets it from its first stack, as Go 1.22+'s summary does; the model
  // carries it on the goroutine's next GoStart, where the analyses read the start function.
  void NameFrom(GState* g, uint32_t stack) {
    if (g->named || stack == 0) return;
    g->named = true;
    g->has_create = true;
    g->create_stack = OuterFrame(stack);
  }

  // GoStart for goroutine g (state already Running): links to what made it runnable; the first
  // start carries the creation stack (Go 1.19's model).
  void EmitStart(const Cursor& c, int64_t t, const Ctx& x, uint64_t gid, uint64_t seq, GState* g) {
    // The runtime labels a GC worker with a GoLabel right after its GoStart, on the same thread:
    // the model's GoStartLabel (Go 1.19's event for it; MMU's background-GC view reads it).
    uint64_t label = 0;
    if (c.p < c.end && *c.p == kEvGoLabel) {
      const uint8_t* q = c.p + 1;
      uint64_t dt = 0, id = 0;
      if (Uvarint(&q, c.end, &dt) && Uvarint(&q, c.end, &id)) label = Str(id);
    }
    Event& e = Emit(label != 0 ? EventType::kGoStartLabel : EventType::kGoStart, t, c.offset, gid,
                    x.p);
    e.args[0] = gid;
    e.args[1] = seq;
    e.args[2] = label;
    e.sched_rule = g->ran ? SchedRule::kCount : SchedRule::kSkip;
    g->ran = true;
    if (g->has_create) {
      e.stack_id = g->create_stack;
      g->has_create = false;
    }
    if (g->ev.type != EventType::kNone) e.from = g->ev;
    g->ev = LinkFrom();
    g->start = LinkOf(e);
  }

  Status ProcStatus(const Cursor& c, Ctx& x) {
    const uint64_t pid = c.a[1], s = c.a[2];
    if (s > kProcSyscallAbandoned) {
      return Err(ErrorTag::kCorrupt, c.offset,
                 "invalid status for proc " + std::to_string(pid) + ": " + std::to_string(s));
    }
    Initial();
    bool inserted = false;
    PState& ps = ps_.Get(pid, &inserted);
    Ctx report = x;
    bool promoted = false;
    if (!inserted) {
      if (s == kProcSyscallAbandoned && ps.status == kProcSyscall) {
        promoted = true;
        bool found = false;
        mstate_.ForEach([&](uint64_t m, const MState& ms) {
          if (!found && ms.p == pid) {
            report = Ctx{m, ms.p, ms.g};
            found = true;
          }
        });
        if (!found) {
          return Bad(c, "failed to find sched context for proc " + std::to_string(pid) +
                            " that's about to be stolen");
        }
      } else if (!(s == kProcSyscallAbandoned && ps.status == kProcSyscallAbandoned) &&
                 s != ps.status) {
        return Bad(c, "inconsistent status for proc " + std::to_string(pid) + ": old " +
                          ProcStatusName(ps.status) + " vs. new " + ProcStatusName(s));
      }
    } else {
      ps.status = static_cast<uint8_t>(s);
    }
    ps.seq_gen = gen_;
    ps.seq = 0;
    const int64_t t = Pub(c.time);
    if (inserted && (s == kProcRunning || s == kProcSyscall)) {
      Emit(EventType::kProcStart, t, c.offset, report.g, pid).args[0] =
          report.m == kNone ? 0 : report.m;
    }
    if (!promoted && (s == kProcRunning || s == kProcSyscall)) x.p = pid;
    return OkStatus();
  }

  Status ProcSteal(const Cursor& c, Ctx& x, bool* adv) {
    const uint64_t pid = c.a[1], seq = c.a[2], victim = c.a[3];
    PState* ps = ps_.Find(pid);
    if (ps == nullptr || (ps->status != kProcSyscall && ps->status != kProcSyscallAbandoned) ||
        !Succeeds(ps->seq_gen, ps->seq, seq)) {
      return OkStatus();
    }
    TT_RETURN_IF_ERROR(Check(c, x, Req::kMust, Req::kMay, Req::kMay));
    const uint8_t old = ps->status;
    uint64_t sg = kNone;  // the goroutine in the syscall
    if (old == kProcSyscall) {
      if (victim == x.m) {
        if (x.p != pid) {
          return Bad(c, "tried to self-steal proc " + std::to_string(pid) + " (thread " +
                            std::to_string(victim) + "), but got proc " +
                            (x.p == kNone ? std::string("none") : std::to_string(x.p)) +
                            " instead");
        }
        sg = x.g;
        x.p = kNone;
      } else {
        MState* vm = mstate_.Find(victim);
        if (vm == nullptr) {
          return Bad(c, "stole proc from non-existent thread " + std::to_string(victim));
        }
        if (vm->p != pid) {
          return Bad(c, "tried to steal proc " + std::to_string(pid) + " from thread " +
                            std::to_string(victim) + ", but got proc " +
                            (vm->p == kNone ? std::string("none") : std::to_string(vm->p)) +
                            " instead");
        }
        sg = vm->g;
        vm->p = kNone;
      }
    }
    Initial();
    ps->status = kProcIdle;
    ps->seq = seq;
    const int64_t t = Pub(c.time);
    if (old == kProcSyscall) {
      GState* g = sg == kNone ? nullptr : gs_.Find(sg);
      if (g != nullptr && g->status == kGoSyscall && !g->v1_blocked) {
        Emit(EventType::kGoSysBlock, t, c.offset, sg, pid).from = g->start;
        g->start = LinkFrom();
        g->v1_blocked = true;
      }
      Emit(EventType::kProcStop, t, c.offset, kNone, pid);
    }
    *adv = true;
    return OkStatus();
  }

  Status GoStatus(const Cursor& c, Ctx& x) {
    const uint64_t gid = c.a[1], m = c.a[2], s = c.a[3];
    if (s > kGoWaiting) {
      return Err(ErrorTag::kCorrupt, c.offset,
                 "invalid status for goroutine " + std::to_string(gid) + ": " + std::to_string(s));
    }
    const uint64_t initial = Initial();
    GState* g = gs_.Find(gid);
    bool created = false;
    if (g != nullptr) {
      if (g->status != s) {
        return Bad(c, "inconsistent status for goroutine " + std::to_string(gid) + ": old " +
                          GoStatusName(g->status) + " vs. new " + GoStatusName(s));
      }
    } else {
      if (gen_ != initial) {
        return Bad(c, "found goroutine status for new goroutine after the first generation: id=" +
                          std::to_string(gid) + " status=" + GoStatusName(s));
      }
      created = true;
    }
    Ctx report = x;
    if (s == kGoSyscall) {
      if (m == kNone) {
        return Bad(c, "found goroutine " + std::to_string(gid) + " in syscall without a thread");
      }
      if (m == x.m) {
        if (gen_ != initial && x.g != gid) {
          return Bad(c, "inconsistent thread for syscalling goroutine " + std::to_string(gid) +
                            ": thread has goroutine " +
                            (x.g == kNone ? std::string("none") : std::to_string(x.g)));
        }
      } else {
        MState* ms = mstate_.Find(m);
        if (ms != nullptr) {
          if (ms->g != gid) {
            return Bad(c, "inconsistent thread for syscalling goroutine " + std::to_string(gid) +
                              ": thread has goroutine " +
                              (ms->g == kNone ? std::string("none") : std::to_string(ms->g)));
          }
          report.g = gid;
        } else {
          mstate_.Get(m).g = gid;  // a thread sitting in a syscall all generation
        }
        report.m = m;
      }
    }
    if (created) {
      GState& ng = gs_.Get(gid);
      g = &ng;
      g->status = static_cast<uint8_t>(s);
    }
    g->seq_gen = gen_;
    g->seq = 0;
    const int64_t t = Pub(c.time);
    if (created) {
      // Go 1.19 starts a trace with a GoCreate per existing goroutine, then GoWaiting or
      // GoInSyscall for those not runnable, and a GoStart for the running ones.
      // Its start function: the outermost frame of its stack, when the status carries one.
      const uint32_t stk = c.type == kEvGoStatusStack ? OuterFrame(Stk(c.a[4])) : 0;
      g->named = stk != 0;
      Event& e = Emit(EventType::kGoCreate, t, c.offset, kNone, report.p);
      e.args[0] = gid;
      e.args[1] = stk;
      const LinkFrom create = LinkOf(e);
      switch (s) {
        case kGoRunnable:
          g->ev = create;
          g->has_create = true;
          g->create_stack = stk;
          break;
        case kGoRunning: {
          Event& st = Emit(EventType::kGoStart, t, c.offset, gid, report.p);
          st.args[0] = gid;
          st.stack_id = stk;
          st.from = create;
          st.sched_rule = SchedRule::kSkip;
          g->ran = true;
          g->start = LinkOf(st);
          break;
        }
        case kGoWaiting: {
          Event& w = Emit(EventType::kGoWaiting, t, c.offset, gid, report.p);
          w.args[0] = gid;
          g->ev = LinkOf(w);
          g->has_create = true;  // its next start names it
          g->create_stack = stk;
          break;
        }
        case kGoSyscall:
          Emit(EventType::kGoInSyscall, t, c.offset, gid, report.p).args[0] = gid;
          g->v1_blocked = true;
          g->has_create = true;
          g->create_stack = stk;
          break;
        default:
          break;
      }
    }
    if (s == kGoRunning || (s == kGoSyscall && m == x.m)) x.g = gid;
    return OkStatus();
  }

  Status Gc(const Cursor& c, Ctx& x, bool* adv) {
    const uint64_t seq = c.a[1];
    const uint64_t initial = Initial();
    switch (c.type) {
      case kEvGCActive:
        if (gen_ == initial) {
          if (gc_ != GcState::kUndetermined) {
            return Bad(c, "GCActive in the first generation isn't first GC event");
          }
          gc_seq_ = seq;
          gc_ = GcState::kRunning;
          Event& e = Emit(EventType::kGCStart, Pub(c.time), c.offset, x.g, format::kGCP);
          e.args[0] = seq;
          gc_begin_ = LinkOf(e);
          break;
        }
        if (seq != gc_seq_ + 1) return OkStatus();
        if (gc_ != GcState::kRunning) {
          return Bad(c, "encountered GCActive while GC was not in progress");
        }
        TT_RETURN_IF_ERROR(UserCtx(c, x));
        gc_seq_ = seq;
        Pub(c.time);
        break;
      case kEvGCBegin:
        if (gc_ != GcState::kUndetermined) {
          if (seq != gc_seq_ + 1) return OkStatus();
          if (gc_ == GcState::kRunning) {
            return Bad(c, "encountered GCBegin while GC was already in progress");
          }
          TT_RETURN_IF_ERROR(UserCtx(c, x));
        }
        gc_seq_ = seq;
        gc_ = GcState::kRunning;
        {
          Event& e = Emit(EventType::kGCStart, Pub(c.time), c.offset, x.g, format::kGCP);
          e.args[0] = seq;
          e.stack_id = Stk(c.a[2]);
          gc_begin_ = LinkOf(e);
        }
        break;
      default:  // GCEnd
        if (seq != gc_seq_ + 1) return OkStatus();
        if (gc_ == GcState::kNotRunning) {
          return Bad(c, "encountered GCEnd when GC was not in progress");
        }
        if (gc_ == GcState::kUndetermined) {
          return Bad(c, "encountered GCEnd when GC was in an undetermined state");
        }
        TT_RETURN_IF_ERROR(UserCtx(c, x));
        gc_seq_ = seq;
        gc_ = GcState::kNotRunning;
        Emit(EventType::kGCDone, Pub(c.time), c.offset, x.g, x.p).from = gc_begin_;
        break;
    }
    *adv = true;
    return OkStatus();
  }

  static constexpr uint64_t kZero = 0;

  std::unique_ptr<Input> in_;
  Window win_;
  const int minor_;
  uint64_t pos_ = 0;
  ParseStats stats_;
  V2Stats v2_stats_;
  std::vector<int64_t> sync_times_;
  Status error_;
  bool finished_ = false;
  bool in_gen_ = false;

  // Global string and stack tables (reader lifetime; deques keep elements in place).
  std::deque<std::string> strings_;
  std::unordered_map<std::string_view, uint64_t> string_index_;
  std::deque<std::vector<Frame>> stacks_;
  FlatMap<std::vector<uint32_t>> stack_index_;  // frames hash → stack ids
  FlatMap<uint32_t> outer_by_fn_;  // function name id → its one-frame start stack (OuterFrame)

  // The generation being read.
  uint64_t gen_ = 0;
  std::vector<uint8_t> arena_;  // payloads of its event and stack batches
  std::vector<GenBatch> batches_;
  std::vector<std::pair<uint64_t, std::vector<uint32_t>>> mlists_;  // M → its batches, in order
  FlatMap<uint32_t> m_index_;
  FlatMap<uint64_t> str_map_;  // generation string id → global id
  FlatMap<uint32_t> stk_map_;  // generation stack id → global id
  FlatMap<Frame> pc_frames_;   // PC → its frame, strings resolved (the generation's first record)
  std::vector<uint32_t> stack_batches_;
  // One generation's CPU samples (spec §1.7.3), ordered by time once the generation is loaded.
  struct CpuSample {
    int64_t ns;
    uint64_t ticks, m, p, g, stack;
    uint64_t offset;
  };
  std::vector<CpuSample> cpu_;
  size_t cpu_next_ = 0;
  bool has_freq_ = false, has_clock_ = false;
  uint64_t freq_ = 0;
  uint64_t min_time_ = UINT64_MAX;
  double ns_per_tick_ = 1;
  bool have_batches_ = false, have_event_batch_ = false;
  BatchHeader spill_;
  bool have_spill_ = false;
  Status deferred_;
  std::vector<Cursor> cursors_;
  std::vector<uint32_t> heap_;
  FlatMap<uint8_t> reason_cache_;  // global string id → model block type

  // Engine state across generations.
  FlatMap<GState> gs_;
  FlatMap<PState> ps_;
  FlatMap<MState> mstate_;
  std::unordered_map<uint64_t, Task> tasks_;
  GcState gc_ = GcState::kUndetermined;
  uint64_t gc_seq_ = 0;
  LinkFrom gc_begin_;
  uint64_t initial_gen_ = 0;

  // Output.
  std::vector<Event> out_;
  size_t out_head_ = 0;
  Event* direct_ = nullptr;  // Next()'s *ev while a step runs: the step's first event
  bool direct_used_ = false;
  int64_t last_ns_ = 0;
  bool have_last_ = false;
  int64_t base_ = 0;
  bool have_base_ = false;
};

}  // namespace

Status Open(std::unique_ptr<Input> input, int minor, std::unique_ptr<Reader>* out) {
  *out = std::make_unique<V2ReaderImpl>(std::move(input), minor);
  return OkStatus();
}

}  // namespace tracetool::parser::v2
