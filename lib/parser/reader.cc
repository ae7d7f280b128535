#include "lib/parser/reader.h"

#include <cinttypes>
#include <cstring>
#include <unordered_set>

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

  Status Init() {
    TT_RETURN_IF_ERROR(internal::BuildIndex(in_.get(), &idx_));
    factor_ = 1e9 / static_cast<double>(idx_.ticks_per_sec);
    if (idx_.has_futile_wakeups) TT_RETURN_IF_ERROR(FindFutileWakeups());
    merger_ = std::make_unique<internal::Merger>(in_.get(), &idx_);
    validator_ = std::make_unique<internal::Validator>(idx_.version, &idx_);
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
      Status st = merger_->Next(&mp, &mdone);
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
      st = validator_->Process(ev);
      if (!st.ok()) return error_ = st;
      return OkStatus();
    }
  }

  int version() const override { return idx_.version; }
  std::string_view String(uint64_t id) const override { return idx_.String(id); }
  std::span<const Frame> Stack(uint32_t id) const override { return idx_.Stack(id); }
  const ParseStats& stats() const override { return idx_.stats; }

 private:
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
    ev->message = m.message;  // valid until the next call, as documented
  }

  // Futile wake-ups (spec §3.6) are known only when the goroutine blocks again, after the
  // events to remove. Only runtimes older than Go 1.19 emit FutileWakeup, so instead of holding
  // events back in every trace, traces that contain one get a first merge that finds the events
  // to drop (by offset), then the real one.
  Status FindFutileWakeups() {
    internal::Merger m(in_.get(), &idx_);
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
  std::unique_ptr<internal::Merger> merger_;
  std::unique_ptr<internal::Validator> validator_;
  double factor_ = 1;
  int64_t min_ticks_ = 0;
  bool have_min_ = false;
  bool finished_ = false;
  Status error_;
  std::unordered_set<uint64_t> futile_;  // offsets of events removed as futile wake-ups
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

Status Reader::Open(std::unique_ptr<Input> input, std::unique_ptr<Reader>* out) {
  int minor = 0;
  TT_RETURN_IF_ERROR(V2Minor(*input, &minor));
  if (minor != 0) return v2::Open(std::move(input), minor, out);
  auto r = std::make_unique<V1Reader>(std::move(input));
  TT_RETURN_IF_ERROR(r->Init());
  *out = std::move(r);
  return OkStatus();
}

}  // namespace tracetool::parser
