#include "lib/parser/internal/index.h"

#include <cinttypes>
#include <algorithm>
#include <cstring>

#include "lib/parser/internal/raw_reader.h"

namespace tracetool::parser::internal {

using format::EventType;

std::string_view TraceIndex::String(uint64_t id) const {
  const auto* e = string_index.Find(id);
  if (e == nullptr) return {};
  return std::string_view(string_data).substr(e->first, e->second);
}

std::span<const Frame> TraceIndex::Stack(uint64_t id) const {
  if (id == 0) return {};
  const auto* e = stack_index.Find(id);
  if (e == nullptr) return {};
  return std::span<const Frame>(frames.data() + e->first, e->second);
}

Status ParseHeader(const uint8_t* buf, size_t n, int* version) {
  if (n < 16) {
    if (n == 0) return ErrStatus(ErrorTag::kNotTrace, "empty input: not a Go execution trace");
    return ErrStatus(ErrorTag::kTruncated,
                     "offset 0x0: the trace header is truncated: want 16 bytes, found %zu", n);
  }
  auto not_trace = [&]() {
    char shown[17];
    for (int i = 0; i < 16; ++i) shown[i] = (buf[i] >= 0x20 && buf[i] < 0x7f) ? static_cast<char>(buf[i]) : '.';
    shown[16] = 0;
    return ErrStatus(ErrorTag::kNotTrace,
                     "offset 0x0: not a Go execution trace: want a header \"go 1.N trace\", found "
                     "\"%s\"",
                     shown);
  };
  if (buf[0] != 'g' || buf[1] != 'o' || buf[2] != ' ' || buf[3] < '1' || buf[3] > '9' ||
      buf[4] != '.' || buf[5] < '1' || buf[5] > '9') {
    return not_trace();
  }
  int minor = buf[5] - '0';
  int i = 0;
  for (; i < 2 && buf[6 + i] >= '0' && buf[6 + i] <= '9'; ++i) minor = minor * 10 + (buf[6 + i] - '0');
  static const char kTail[] = " trace\0\0\0\0";
  if (memcmp(buf + 6 + i, kTail, static_cast<size_t>(10 - i)) != 0) return not_trace();
  const int major = buf[3] - '0';
  const int ver = major * 1000 + minor;
  if (!format::IsSupportedVersion(ver)) {
    if (ver >= 1022) {
      return ErrStatus(ErrorTag::kUnsupportedVersion,
                       "trace written by Go %d.%d uses the Go 1.22+ trace format, which this "
                       "tracetool does not read yet (supported: Go 1.5 – 1.21)",
                       major, minor);
    }
    return ErrStatus(ErrorTag::kUnsupportedVersion,
                     "unsupported trace version %d.%d (header \"go %d.%d trace\"; supported: "
                     "1.5, 1.7–1.11 and later writers of those formats, 1.19, 1.21)",
                     major, minor, major, minor);
  }
  *version = ver;
  return OkStatus();
}

namespace {
// Records how far a syscall exit moves back (see TraceIndex::far_sysexits).
void NoteSysExit(TraceIndex* idx, uint64_t g, uint64_t seq, int64_t ts, int64_t lag,
                 uint64_t offset) {
  if (lag <= idx->small_sysexit_lag) return;
  idx->far_sysexits[{g, seq}] = {ts, lag, offset};
  if (idx->far_sysexits.size() <= TraceIndex::kMaxFarSysExits) return;
  // Too many: raise the threshold to the median lag and forget the nearer exits.
  std::vector<int64_t> lags;
  lags.reserve(idx->far_sysexits.size());
  for (const auto& [k, e] : idx->far_sysexits) lags.push_back(e.lag);
  std::nth_element(lags.begin(), lags.begin() + static_cast<ptrdiff_t>(lags.size() / 2), lags.end());
  idx->small_sysexit_lag = lags[lags.size() / 2];
  for (auto it = idx->far_sysexits.begin(); it != idx->far_sysexits.end();) {
    it = it->second.lag <= idx->small_sysexit_lag ? idx->far_sysexits.erase(it) : std::next(it);
  }
}
}  // namespace

Status BuildIndex(const Input* in, TraceIndex* idx) {
  uint8_t header[16];
  size_t got = 0;
  TT_RETURN_IF_ERROR(in->ReadAt(0, header, sizeof(header), &got));
  TT_RETURN_IF_ERROR(ParseHeader(header, got, &idx->version));
  const int ver = idx->version;
  idx->stats.bytes = in->size();

  RawReader r(in, ver, 16, in->size(), 1 << 20);
  RawRecord rec;
    // The batch being read: its P and where it began. Events before any batch header belong to
  // P 0 (the reader's initial context), as in Go.
  int64_t cur_p = 0;
  uint64_t cur_start = 16;
  int64_t cur_ticks = 0, cur_seq = 0;
  int64_t run_ticks = 0;  // running time within the batch (ver >= 1007)
  bool have_events = false;   // events seen in the current range
  bool implicit_open = true;  // the range before the first batch header
  auto close_batch = [&](uint64_t end) {
    if (implicit_open && !have_events) return;
    idx->batches[cur_p].push_back(BatchRef{cur_start, end, cur_ticks, cur_seq});
  };
  while (!r.AtEnd()) {
    TT_RETURN_IF_ERROR(r.Skim(&rec));
    const auto v = rec.values();
    switch (rec.type) {
      case EventType::kBatch:
        close_batch(rec.offset);
        implicit_open = false;
        have_events = false;
        cur_p = static_cast<int64_t>(v[0]);
        if (ver < 1007) {
          cur_seq = static_cast<int64_t>(v[1]);
          cur_ticks = static_cast<int64_t>(v[2]);
        } else {
          cur_ticks = static_cast<int64_t>(v[1]);
        }
        cur_start = r.offset();
        run_ticks = cur_ticks;
        ++idx->stats.batches;
        break;
      case EventType::kFrequency:
        idx->ticks_per_sec = static_cast<int64_t>(v[0]);
        if (idx->ticks_per_sec <= 0) {
          return ErrStatus(ErrorTag::kCorrupt,
                           "offset 0x%" PRIx64 ": Frequency record has invalid value %" PRId64
                           " ticks per second (want > 0)",
                           rec.offset, idx->ticks_per_sec);
        }
        break;
      case EventType::kTimerGoroutine:
        idx->timer_goroutines.Get(v[0]) = true;
        break;
      case EventType::kString: {
        bool inserted = false;
        auto& slot = idx->string_index.Get(v[0], &inserted);
        if (!inserted) {
          return ErrStatus(ErrorTag::kCorrupt,
                           "offset 0x%" PRIx64 ": String record has duplicate id %" PRIu64,
                           rec.offset, v[0]);
        }
        if (idx->string_data.size() + rec.str.size() > UINT32_MAX) {
          return ErrStatus(ErrorTag::kCorrupt,
                           "offset 0x%" PRIx64 ": more than 4 GiB of strings", rec.offset);
        }
        slot = {static_cast<uint32_t>(idx->string_data.size()),
                static_cast<uint32_t>(rec.str.size())};
        idx->string_data += rec.str;
        ++idx->stats.strings;
        break;
      }
      case EventType::kStack: {
        if (v.size() < 2) {
          return ErrStatus(ErrorTag::kCorrupt,
                           "offset 0x%" PRIx64 ": Stack has wrong number of arguments: want at "
                           "least 2, got %zu",
                           rec.offset, v.size());
        }
        const uint64_t id = v[0], n = v[1];
        if (n > 1000) {
          return ErrStatus(ErrorTag::kCorrupt,
                           "offset 0x%" PRIx64 ": Stack %" PRIu64
                           " has bad number of frames: want <= 1000, got %" PRIu64,
                           rec.offset, id, n);
        }
        const uint64_t want = ver < 1007 ? 2 + n : 2 + 4 * n;
        if (v.size() != want) {
          return ErrStatus(ErrorTag::kCorrupt,
                           "offset 0x%" PRIx64 ": Stack %" PRIu64
                           " has wrong number of arguments: want %" PRIu64 " for %" PRIu64
                           " frames, got %zu",
                           rec.offset, id, want, n, v.size());
        }
        if (id == 0 || n == 0) break;  // ignored, as in Go
        if (id > UINT32_MAX) {
          return ErrStatus(ErrorTag::kCorrupt,
                           "offset 0x%" PRIx64 ": Stack id %" PRIu64 " is out of range (max %u)",
                           rec.offset, id, UINT32_MAX);
        }
        bool inserted = false;
        auto& slot = idx->stack_index.Get(id, &inserted);
        if (!inserted) ++idx->stats.stack_redefined;  // a later record replaces it, as in Go
        slot = {static_cast<uint32_t>(idx->frames.size()), static_cast<uint32_t>(n)};
        for (uint64_t i = 0; i < n; ++i) {
          Frame f;
          if (ver < 1007) {
            f.pc = v[2 + i];
          } else {
            f.pc = v[2 + 4 * i];
            f.fn = static_cast<uint32_t>(std::min<uint64_t>(v[3 + 4 * i], UINT32_MAX));
            f.file = static_cast<uint32_t>(std::min<uint64_t>(v[4 + 4 * i], UINT32_MAX));
            f.line = v[5 + 4 * i];
          }
          idx->frames.push_back(f);
        }
        ++idx->stats.stacks;
        break;
      }
      default: {
        have_events = true;
        if (ver >= 1007) {
          run_ticks = WrapAdd(run_ticks, static_cast<int64_t>(v[0]));
          if (rec.type == EventType::kGoSysExit && v[3] != 0) {
            NoteSysExit(idx, /*g=*/v[1], /*seq=*/v[2], /*ts=*/static_cast<int64_t>(v[3]),
                        /*lag=*/WrapSub(run_ticks, static_cast<int64_t>(v[3])), rec.offset);
          }
        }
        ++idx->stats.events;
        if (rec.type == EventType::kFutileWakeup) idx->has_futile_wakeups = true;
        if (rec.type == EventType::kGCSTWStart && ver >= 1010 && ver < 1021 && v[1] > 1) {
          // Before 1.21 only two kinds exist (spec §1.10).
          return ErrStatus(ErrorTag::kCorrupt,
                           "offset 0x%" PRIx64 ": GCSTWStart has unknown STW kind %" PRIu64
                           " (want 0 = mark termination or 1 = sweep termination)",
                           rec.offset, v[1]);
        }
        if (rec.type == EventType::kCPUSample) {
          // dt, realTs, p, g, stk (spec §1.9). Time = real time; P and G from the arguments.
          MEvent e;
          e.type = rec.type;
          e.offset = rec.offset;
          e.ticks = static_cast<int64_t>(v[1]);
          e.p = static_cast<int64_t>(v[2]);
          e.g = v[3];
          e.args[0] = 0;
          e.args[1] = v[2];
          e.args[2] = v[3];
          e.stack_id = static_cast<uint32_t>(std::min<uint64_t>(v[4], UINT32_MAX));
          idx->cpu_samples.push_back(std::move(e));
          ++idx->stats.cpu_samples;
        }
        break;
      }
    }
  }
  close_batch(in->size());
  if (idx->small_sysexit_lag == 0) {
    std::vector<int64_t> times;
    times.reserve(idx->far_sysexits.size());
    for (const auto& [k, e] : idx->far_sysexits) times.push_back(e.ts);
    std::sort(times.begin(), times.end());
    idx->sysexits_exact = std::adjacent_find(times.begin(), times.end()) == times.end();
  }
  if (idx->stats.events == 0) {
    return ErrStatus(ErrorTag::kCorrupt, "trace is empty: no events after the header");
  }
  if (idx->ticks_per_sec == 0) {
    return ErrStatus(ErrorTag::kCorrupt,
                     "no Frequency record in %" PRIu64 " bytes (a trace needs one to convert "
                     "ticks to time; was the trace cut short?)",
                     in->size());
  }
  return OkStatus();
}

}  // namespace tracetool::parser::internal
