#include "lib/parser/reader.h"

#include <cinttypes>
#include <cstring>
#include <thread>
#include <unordered_set>

#include "lib/parser/internal/chunk_pipe.h"
#include "lib/parser/internal/index.h"
#include "lib/parser/order.h"
#include "lib/parser/v2/reader_v2.h"
#include "lib/parser/validate.h"

namespace tracetool::parser {
namespace {

using format::EventType;
using internal::MEvent;

// Turns merged events (raw ticks) into final Events: time normalization and the pseudo-P moves
// (spec §1.8, §2), futile wake-up removal (§3.6) and validation (§4).
class V1Reader final : public Reader {
 public:
  explicit V1Reader(std::unique_ptr<Input> in) : in_(std::move(in)) {}
  ~V1Reader() override {
    if (merge_thread_.joinable()) {
      pipe_->Cancel();
      merge_thread_.join();
    }
  }

  Status Init(const ReaderOptions& opts) {
    TT_RETURN_IF_ERROR(internal::BuildIndex(in_.get(), &idx_));
    factor_ = 1e9 / static_cast<double>(idx_.ticks_per_sec);
    if (idx_.has_futile_wakeups) TT_RETURN_IF_ERROR(FindFutileWakeups());
    validator_ = std::make_unique<internal::Validator>(idx_.version, &idx_);
    if (UseMergeThread(opts)) {
      // The batch merge (decoding and Go's ordering: about half of the work per event) runs on
      // a second core and hands merged events over in chunks; the syscall-exit reorder,
      // validation and the caller's analysis stay on this thread. Each stage sees the same
      // sequence as on one thread, so the output is identical.
      merger_ = std::make_unique<internal::Merger>(in_.get(), &idx_);
      reorder_ = std::make_unique<internal::SyscallReorder>(&idx_);
      pipe_ = std::make_unique<internal::ChunkPipe<MEvent>>(kChunkEvents, kMaxChunks);
      merge_thread_ = std::thread([this] { ProduceMerged(); });
    } else {
      ordered_ = std::make_unique<internal::OrderedMerge>(in_.get(), &idx_);
    }
    return OkStatus();
  }

  Status Next(Event* ev, bool* done) override {
    *done = false;
    if (!error_.ok()) return error_;
    if (finished_) {
      *done = true;
      return OkStatus();
    }
    while (true) {
      const MEvent* mp = nullptr;
      bool mdone = false;
      Status st = pipe_ != nullptr ? NextFromPipe(&mp, &mdone) : ordered_->Next(&mp, &mdone);
      if (!st.ok()) return error_ = st;
      if (mdone) {
        finished_ = true;
        *done = true;
        return OkStatus();
      }
      const MEvent& m = *mp;
      if (!have_min_) {
        min_ticks_ = m.ticks;
        have_min_ = true;
      }
      if (!futile_.empty() && futile_.count(m.offset) != 0) {
        ++idx_.stats.futile_removed;
        continue;
      }
      Convert(m, ev);
      if (m.message_len != 0) [[unlikely]] {
        st = ReadMessage(m, ev);
        if (!st.ok()) return error_ = st;
      }
      Status vst = validator_->Process(ev);
      if (!vst.ok()) [[unlikely]] error_ = vst;
      return vst;
    }
  }

  int version() const override { return idx_.version; }
  std::string_view String(uint64_t id) const override { return idx_.String(id); }
  std::span<const Frame> Stack(uint32_t id) const override { return idx_.Stack(id); }
  const ParseStats& stats() const override { return idx_.stats; }

 private:
  static constexpr size_t kChunkEvents = 4096;
  static constexpr size_t kMaxChunks = 8;  // about 3 MiB of merged events in flight at most

  bool UseMergeThread(const ReaderOptions& opts) const {
    // Only on request: on the 2-vCPU machine we measure on, two threads took 5.4 s where one
    // takes 3.0 s (-pprof=sched, 120 MB trace; twice the CPU time: the vCPUs behave like SMT
    // siblings, and every merged event crosses cores), so one thread is the default.
    return opts.threads >= 2 && idx_.version >= 1007;  // 1005: merged in Init already
  }

  // The merge thread's loop. Only the Merger and the read-only index are touched here.
  void ProduceMerged() {
    Status st;
    while (true) {
      MEvent* mp = nullptr;
      bool done = false;
      st = merger_->NextMerged(&mp, &done);
      if (!st.ok() || done) break;
      *pipe_->Slot() = std::move(*mp);
      if (!pipe_->Commit()) return;  // the consumer went away
    }
    pipe_->Close(std::move(st));
  }

  // OrderedMerge::Next with the merged events coming from the merge thread.
  Status NextFromPipe(const MEvent** ev, bool* done) {
    *done = false;
    while (true) {
      bool got = false;
      Status st;
      if ((*ev = reorder_->Pop(&st)) != nullptr) return OkStatus();
      TT_RETURN_IF_ERROR(st);
      if (reorder_->done()) {
        *done = true;
        return OkStatus();
      }
      MEvent* m = pipe_->Next(&st);
      if (m == nullptr) {
        TT_RETURN_IF_ERROR(st);
        reorder_->Finish();
        continue;
      }
      TT_RETURN_IF_ERROR(reorder_->Push(m, ev, &got));
      if (got) return OkStatus();
    }
  }

  void Convert(const MEvent& m, Event* ev) {
    // IEEE double arithmetic, truncation toward zero, exactly as Go (spec §1.8).
    ev->ts = GoFloatToInt64(static_cast<double>(WrapSub(m.ticks, min_ticks_)) * factor_);
    ev->offset = m.offset;
    ev->g = m.g;
    ev->p = m.p;
    for (int i = 0; i < format::kMaxArgs; ++i) ev->args[i] = m.args[i];
    ev->stack_id = m.stack_id;
    ev->type = m.type;
    if (m.type == EventType::kGoUnblock && idx_.timer_goroutines.size() != 0 &&
        idx_.timer_goroutines.Find(m.g) != nullptr) {
      ev->p = format::kTimerP;
    }
    if (m.type == EventType::kGoSysExit) ev->p = format::kSyscallP;
    ev->message = {};
  }

  // ReadMessage(): a UserLog's message, which the merge passes by reference (MEvent).
  [[gnu::noinline]] Status ReadMessage(const MEvent& m, Event* ev) {
    message_.resize(m.message_len);
    size_t got = 0;
    TT_RETURN_IF_ERROR(in_->ReadAt(m.message_offset, message_.data(), message_.size(), &got));
    if (got != message_.size()) {
      return ErrStatus(ErrorTag::kIo, "offset 0x%" PRIx64 ": UserLog message: short read",
                       m.message_offset);
    }
    ev->message = message_;  // valid until the next call, as documented
    return OkStatus();
  }

  // Futile wake-ups (spec §3.6) are known only when the goroutine blocks again, after the
  // events to remove. Only runtimes older than Go 1.19 emit FutileWakeup, so instead of holding
  // events back in every trace, traces that contain one get a first merge that finds the events
  // to drop (by offset), then the real one.
  Status FindFutileWakeups() {
    internal::OrderedMerge m(in_.get(), &idx_);
    struct G {
      bool futile = false;
      std::vector<uint64_t> wakeup;
    };
    FlatMap<G> gs;
    while (true) {
      const MEvent* ep = nullptr;
      bool done = false;
      TT_RETURN_IF_ERROR(m.Next(&ep, &done));
      if (done) break;
      const MEvent& e = *ep;
      switch (e.type) {
        case EventType::kGoUnblock: {
          G& g = gs.Get(e.args[0]);
          g.wakeup.assign(1, e.offset);
          break;
        }
        case EventType::kGoStart:
        case EventType::kGoPreempt:
        case EventType::kFutileWakeup: {
          G& g = gs.Get(e.g);
          g.wakeup.push_back(e.offset);
          if (e.type == EventType::kFutileWakeup) g.futile = true;
          break;
        }
        case EventType::kGoBlock:
        case EventType::kGoBlockSend:
        case EventType::kGoBlockRecv:
        case EventType::kGoBlockSelect:
        case EventType::kGoBlockSync:
        case EventType::kGoBlockCond: {
          G& g = gs.Get(e.g);
          if (g.futile) {
            futile_.insert(e.offset);
            for (uint64_t off : g.wakeup) futile_.insert(off);
          }
          g = G();
          break;
        }
        default:
          break;
      }
    }
    return OkStatus();
  }

  std::unique_ptr<Input> in_;
  internal::TraceIndex idx_;
  std::unique_ptr<internal::OrderedMerge> ordered_;    // one thread
  std::unique_ptr<internal::Merger> merger_;           // two threads: on the merge thread,
  std::unique_ptr<internal::SyscallReorder> reorder_;  // then on the caller's
  std::unique_ptr<internal::Validator> validator_;
  double factor_ = 1;
  int64_t min_ticks_ = 0;
  bool have_min_ = false;
  bool finished_ = false;
  Status error_;
  std::unordered_set<uint64_t> futile_;  // offsets of events removed as futile wake-ups
  std::string message_;  // the current UserLog's message
  std::unique_ptr<internal::ChunkPipe<MEvent>> pipe_;  // set when the merge has its own thread
  std::thread merge_thread_;
};

// The newest Go release whose trace format this build reads (its header: "go 1.26 trace").
constexpr int kNewestMinor = 26;

// V2Minor() recognises a Go 1.22+ header ("go 1.NN trace\0\0\0", NN ≥ 22, spec v2 §1.1): *minor
// is NN, or 0 for anything else (v1 headers and non-traces go to the v1 reader, which names them).
Status V2Minor(const Input& in, int* minor) {
  *minor = 0;
  uint8_t h[16];
  size_t got = 0;
  TT_RETURN_IF_ERROR(in.ReadAt(0, h, sizeof(h), &got));
  static const uint8_t kTail[] = {' ', 't', 'r', 'a', 'c', 'e', 0, 0, 0};
  auto digit = [&](int i) { return h[i] >= '0' && h[i] <= '9'; };
  if (got < 16 || memcmp(h, "go 1.", 5) != 0 || !digit(5) || !digit(6)) return OkStatus();
  int nn = (h[5] - '0') * 10 + (h[6] - '0');
  if (digit(7) && memcmp(h + 8, kTail, 8) == 0) {
    nn = nn * 10 + (h[7] - '0');  // "go 1.100 trace": some future Go
  } else if (memcmp(h + 7, kTail, sizeof(kTail)) != 0) {
    return OkStatus();
  }
  if (nn < 22) return OkStatus();
  if (nn > kNewestMinor) {
    return ErrStatus(ErrorTag::kUnsupportedVersion,
                     "offset 0x0: unsupported trace version go 1.%d: written by a newer Go than "
                     "tracetool supports (it reads Go 1.5 – 1.%d traces)",
                     nn, kNewestMinor);
  }
  if (nn == 24) {
    return ErrStatus(ErrorTag::kUnsupportedVersion,
                     "offset 0x0: unknown or unsupported trace version go 1.24 (Go 1.24 writes "
                     "\"go 1.23 trace\"; no Go release writes this header)");
  }
  *minor = nn;
  return OkStatus();
}

}  // namespace

Status Reader::Open(std::unique_ptr<Input> input, std::unique_ptr<Reader>* out,
                    const ReaderOptions& opts) {
  int minor = 0;
  TT_RETURN_IF_ERROR(V2Minor(*input, &minor));
  if (minor != 0) return v2::Open(std::move(input), minor, out);
  auto r = std::make_unique<V1Reader>(std::move(input));
  TT_RETURN_IF_ERROR(r->Init(opts));
  *out = std::move(r);
  return OkStatus();
}

}  // namespace tracetool::parser
