// genv2: builds a large Go 1.22+ trace from a real one, for the v2 reader's throughput benchmark.
//
//   genv2 IN.trace OUT.trace MB
//
// OUT is IN followed by copies of IN's generations, renumbered (generation numbers continue) and
// shifted in time, until OUT holds at least MB × 10^6 bytes. Every copy stays a valid trace for
// the reader's state machines (../shared/spec/go-trace-v2-format.md §3):
//   * goroutine, P, thread and task ids get a per-copy offset, so each copy's resources are new;
//   * a goroutine that the original's first generation only knew from a status event (it existed
//     when tracing started) is created at the copy's start by a synthetic batch: GoCreate
//     (runnable), GoCreateBlocked (waiting), GoCreate + GoStart (running, on a helper thread and
//     P of its own) or GoCreateSyscall on its own thread (in a syscall);
//   * the GC's global and ranged events (GCActive/Begin/End, sweep and mark-assist ranges) are
//     dropped from the copies: their state spans generations in ways a copy cannot repeat.
// Event batches are decoded and re-encoded (dropped events' time deltas move to the next event;
// batches that outgrow 64 KiB are split). Strings, stacks and experimental batches are copied.
//
// Not a general trace rewriter: it trusts IN to be a valid trace (run tracetool on it first).
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "lib/parser/v2/wire.h"

namespace {

using namespace tracetool::parser::v2;

constexpr uint64_t kNone = kNoId;

bool Uvarint(const uint8_t** p, const uint8_t* end, uint64_t* v) {
  uint64_t x = 0;
  for (unsigned shift = 0; shift < 70 && *p < end; shift += 7) {
    const uint8_t b = *(*p)++;
    x |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (b < 0x80) {
      *v = x;
      return true;
    }
  }
  return false;
}

void Put(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

struct Batch {
  bool experimental = false;
  uint8_t exp = 0;
  uint64_t gen = 0, m = 0, time = 0;
  std::string payload;
};

struct Ev {
  uint8_t type;
  uint64_t a[kMaxOperands];
};

[[noreturn]] void Die(const std::string& what) {
  fprintf(stderr, "genv2: %s\n", what.c_str());
  exit(1);
}

bool IsGcEvent(uint8_t t) {
  switch (t) {
    case kEvGCActive: case kEvGCBegin: case kEvGCEnd: case kEvGCSweepActive:
    case kEvGCSweepBegin: case kEvGCSweepEnd: case kEvGCMarkAssistActive:
    case kEvGCMarkAssistBegin: case kEvGCMarkAssistEnd:
      return true;
    default:
      return false;
  }
}

class Gen {
 public:
  Gen(std::string in, int minor) : in_(std::move(in)), minor_(minor) {}

  void Parse() {
    const uint8_t* p = reinterpret_cast<const uint8_t*>(in_.data()) + 16;
    const uint8_t* end = reinterpret_cast<const uint8_t*>(in_.data()) + in_.size();
    std::vector<Batch>* cur = nullptr;
    while (p < end) {
      if (*p == kEvEndOfGeneration) {
        ++p;
        cur = nullptr;
        continue;
      }
      Batch b;
      b.experimental = *p == kEvExperimentalBatch;
      if (*p != kEvEventBatch && !b.experimental) Die("not a batch at top level");
      ++p;
      if (b.experimental) b.exp = *p++;
      uint64_t size = 0;
      if (!Uvarint(&p, end, &b.gen) || !Uvarint(&p, end, &b.m) || !Uvarint(&p, end, &b.time) ||
          !Uvarint(&p, end, &size) || static_cast<uint64_t>(end - p) < size) {
        Die("truncated batch");
      }
      b.payload.assign(reinterpret_cast<const char*>(p), size);
      p += size;
      if (cur == nullptr || (minor_ < 26 && b.gen != gens_.back().front().gen)) {
        gens_.emplace_back();
        cur = &gens_.back();
      }
      cur->push_back(std::move(b));
    }
    // Spans and maxima over every id and time, for the per-copy offsets.
    min_tick_ = UINT64_MAX;
    for (const auto& g : gens_) {
      for (const Batch& b : g) {
        min_tick_ = std::min(min_tick_, b.time);
        max_tick_ = std::max(max_tick_, b.time);
        if (b.experimental || b.payload.empty() || !IsEventPayload(b.payload[0])) continue;
        uint64_t t = b.time;
        for (const Ev& e : Decode(b.payload)) {
          t += e.a[0];
          max_tick_ = std::max(max_tick_, t);
          NoteIds(e);
        }
      }
    }
    // The pre-existing goroutines: first seen through a status in the first generation.
    std::set<uint64_t> seen;
    for (const Batch& b : gens_.front()) {
      if (b.experimental || b.payload.empty() || !IsEventPayload(b.payload[0])) continue;
      for (const Ev& e : Decode(b.payload)) {
        uint64_t g = kNone;
        switch (e.type) {
          case kEvGoStatus: case kEvGoStatusStack:
            if (!seen.count(e.a[1])) status_.push_back({e.a[1], e.a[3], e.a[2]});
            g = e.a[1];
            break;
          case kEvGoCreate: case kEvGoCreateBlocked: case kEvGoCreateSyscall:
            g = e.a[1];
            break;
          default:
            break;
        }
        if (g != kNone) seen.insert(g);
      }
    }
  }

  size_t generations() const { return gens_.size(); }

  // Writes IN's generations as copy k (k = 0: IN itself, byte for byte apart from headers).
  void WriteCopy(uint64_t k, std::string* out) {
    const uint64_t gen_base = gens_.front().front().gen;
    const uint64_t shift = k * (max_tick_ - min_tick_ + 1000);
    for (size_t gi = 0; gi < gens_.size(); ++gi) {
      const uint64_t gen = gen_base + k * gens_.size() + gi;
      if (k > 0 && gi == 0) WriteCreations(k, gen, min_tick_ + shift, out);
      for (const Batch& b : gens_[gi]) {
        if (b.experimental) {
          out->push_back(static_cast<char>(kEvExperimentalBatch));
          out->push_back(static_cast<char>(b.exp));
          Put(out, gen);
          Put(out, b.m == kNone ? kNone : M(b.m, k));
          Put(out, b.time + shift);
          Put(out, b.payload.size());
          out->append(b.payload);
          continue;
        }
        const char first = b.payload.empty() ? 0 : b.payload[0];
        if (b.payload.empty() || !IsEventPayload(first)) {
          std::string payload = b.payload;
          if (first == kEvCPUSamples) payload = ShiftSamples(b.payload, shift);
          WriteBatch(gen, b.m == kNone ? kNone : M(b.m, k), b.time + shift, payload, out);
          continue;
        }
        Reencode(b, k, gen, shift, out);
      }
      if (minor_ >= 26) out->push_back(static_cast<char>(kEvEndOfGeneration));
    }
  }

 private:
  struct Status {
    uint64_t g, status, m;
  };

  static bool IsEventPayload(char c) {
    return c != kEvStrings && c != kEvStacks && c != kEvCPUSamples && c != kEvFrequency &&
           c != kEvSync;
  }

  std::vector<Ev> Decode(const std::string& payload) const {
    std::vector<Ev> out;
    const uint8_t* p = reinterpret_cast<const uint8_t*>(payload.data());
    const uint8_t* end = p + payload.size();
    while (p < end) {
      Ev e{};
      e.type = *p++;
      const EvSpec& s = kEvSpecs[e.type];
      if (!s.timed) Die("untimed event in an event batch");
      for (int i = 0; i < s.nops; ++i) {
        if (!Uvarint(&p, end, &e.a[i])) Die("truncated event");
      }
      out.push_back(e);
    }
    return out;
  }

  void NoteIds(const Ev& e) {
    auto g = [&](uint64_t v) { if (v != kNone) max_g_ = std::max(max_g_, v); };
    auto p = [&](uint64_t v) { if (v != kNone) max_p_ = std::max(max_p_, v); };
    auto t = [&](uint64_t v) { if (v != kNone) max_task_ = std::max(max_task_, v); };
    switch (e.type) {
      case kEvGoCreate: case kEvGoCreateBlocked: case kEvGoCreateSyscall: case kEvGoStart:
      case kEvGoUnblock: case kEvGoStatus: case kEvGoStatusStack: case kEvGoSwitch:
      case kEvGoSwitchDestroy: case kEvGCMarkAssistActive:
        g(e.a[1]);
        break;
      case kEvProcStart: case kEvProcSteal: case kEvProcStatus: case kEvGCSweepActive:
        p(e.a[1]);
        break;
      case kEvUserTaskBegin:
        t(e.a[1]);
        t(e.a[2]);
        break;
      case kEvUserTaskEnd: case kEvUserRegionBegin: case kEvUserRegionEnd: case kEvUserLog:
        t(e.a[1]);
        break;
      default:
        break;
    }
  }

  uint64_t G(uint64_t g, uint64_t k) const { return g == kNone ? g : g + k * (max_g_ + 1); }
  uint64_t P(uint64_t p, uint64_t k) const {
    return p == kNone ? p : p + k * (max_p_ + 2 + status_.size());
  }
  uint64_t HelperP(uint64_t i, uint64_t k) const { return P(max_p_ + 1 + i, k); }
  static uint64_t M(uint64_t m, uint64_t k) { return m == kNone ? m : m + (k << 40); }
  static uint64_t HelperM(uint64_t i, uint64_t k) { return (uint64_t{1} << 62) + (k << 20) + i; }
  uint64_t Task(uint64_t t, uint64_t k) const { return t == 0 ? 0 : t + k * (max_task_ + 1); }

  static void WriteBatch(uint64_t gen, uint64_t m, uint64_t time, const std::string& payload,
                         std::string* out) {
    out->push_back(static_cast<char>(kEvEventBatch));
    Put(out, gen);
    Put(out, m);
    Put(out, time);
    Put(out, payload.size());
    out->append(payload);
  }

  std::string ShiftSamples(const std::string& in, uint64_t shift) const {
    std::string out(1, static_cast<char>(kEvCPUSamples));
    const uint8_t* p = reinterpret_cast<const uint8_t*>(in.data()) + 1;
    const uint8_t* end = reinterpret_cast<const uint8_t*>(in.data()) + in.size();
    while (p < end) {
      ++p;  // CPUSample
      uint64_t v[5];
      for (uint64_t& x : v) {
        if (!Uvarint(&p, end, &x)) Die("truncated CPU sample");
      }
      out.push_back(static_cast<char>(kEvCPUSample));
      Put(&out, v[0] + shift);
      for (int i = 1; i < 5; ++i) Put(&out, v[i]);
    }
    return out;
  }

  // The synthetic batches that create copy k's pre-existing goroutines (see the file comment).
  void WriteCreations(uint64_t k, uint64_t gen, uint64_t time, std::string* out) {
    std::string base;
    auto ev = [](std::string* s, uint8_t type, std::initializer_list<uint64_t> ops) {
      s->push_back(static_cast<char>(type));
      for (uint64_t v : ops) Put(s, v);
    };
    ev(&base, kEvProcStatus, {0, HelperP(0, k), kProcRunning});
    uint64_t helper = 1;
    for (const Status& st : status_) {
      const uint64_t g = G(st.g, k);
      switch (st.status) {
        case kGoRunnable:
          ev(&base, kEvGoCreate, {0, g, 0, 0});
          break;
        case kGoWaiting:
          ev(&base, kEvGoCreateBlocked, {0, g, 0, 0});
          break;
        case kGoRunning: {
          std::string b;
          ev(&b, kEvProcStatus, {0, HelperP(helper, k), kProcRunning});
          ev(&b, kEvGoCreate, {0, g, 0, 0});
          ev(&b, kEvGoStart, {0, g, 1});
          WriteBatch(gen, HelperM(helper, k), time, b, out);
          ++helper;
          break;
        }
        case kGoSyscall: {
          std::string b;
          ev(&b, kEvGoCreateSyscall, {0, g});
          WriteBatch(gen, M(st.m, k), time, b, out);
          break;
        }
        default:
          break;
      }
    }
    WriteBatch(gen, HelperM(0, k), time, base, out);
  }

  void Reencode(const Batch& b, uint64_t k, uint64_t gen, uint64_t shift, std::string* out) {
    const uint64_t m = b.m == kNone ? kNone : M(b.m, k);
    std::string payload;
    uint64_t batch_time = b.time + shift;
    uint64_t abs = batch_time;    // absolute tick of the last event read
    uint64_t last_out = batch_time;  // absolute tick of the last event written
    for (Ev e : Decode(b.payload)) {
      abs += e.a[0];
      if (k > 0 && IsGcEvent(e.type)) continue;
      if (payload.size() > kMaxBatchSize - 64) {
        WriteBatch(gen, m, batch_time, payload, out);
        payload.clear();
        batch_time = last_out;
      }
      e.a[0] = abs - last_out;
      last_out = abs;
      if (k > 0) Remap(&e, k);
      payload.push_back(static_cast<char>(e.type));
      for (int i = 0; i < kEvSpecs[e.type].nops; ++i) Put(&payload, e.a[i]);
    }
    WriteBatch(gen, m, batch_time, payload, out);
  }

  void Remap(Ev* e, uint64_t k) const {
    uint64_t* a = e->a;
    switch (e->type) {
      case kEvGoCreate: case kEvGoCreateBlocked: case kEvGoCreateSyscall: case kEvGoStart:
      case kEvGoUnblock: case kEvGoSwitch: case kEvGoSwitchDestroy:
        a[1] = G(a[1], k);
        break;
      case kEvGoStatus: case kEvGoStatusStack:
        a[1] = G(a[1], k);
        a[2] = M(a[2], k);
        break;
      case kEvProcStart: case kEvProcStatus:
        a[1] = P(a[1], k);
        break;
      case kEvProcSteal:
        a[1] = P(a[1], k);
        a[3] = M(a[3], k);
        break;
      case kEvUserTaskBegin:
        a[1] = Task(a[1], k);
        a[2] = Task(a[2], k);
        break;
      case kEvUserTaskEnd: case kEvUserRegionBegin: case kEvUserRegionEnd: case kEvUserLog:
        a[1] = Task(a[1], k);
        break;
      default:
        break;
    }
  }

  std::string in_;
  int minor_;
  std::vector<std::vector<Batch>> gens_;
  std::vector<Status> status_;
  uint64_t min_tick_ = 0, max_tick_ = 0;
  uint64_t max_g_ = 0, max_p_ = 0, max_task_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: genv2 IN.trace OUT.trace MB\n");
    return 2;
  }
  std::ifstream f(argv[1], std::ios::binary);
  if (!f) Die(std::string("cannot open ") + argv[1]);
  std::stringstream ss;
  ss << f.rdbuf();
  std::string in = ss.str();
  if (in.size() < 16 || in.compare(0, 5, "go 1.") != 0) Die("not a Go 1.22+ trace");
  const int minor = std::atoi(in.substr(5, 2).c_str());
  if (minor < 22) Die("not a Go 1.22+ trace");
  const uint64_t want = static_cast<uint64_t>(std::atof(argv[3]) * 1e6);
  Gen gen(in, minor);
  gen.Parse();
  FILE* out = fopen(argv[2], "wb");
  if (out == nullptr) Die(std::string("cannot create ") + argv[2]);
  fwrite(in.data(), 1, 16, out);
  uint64_t written = 16, copies = 0;
  std::string buf;
  while (written < want || copies == 0) {
    buf.clear();
    gen.WriteCopy(copies++, &buf);
    if (fwrite(buf.data(), 1, buf.size(), out) != buf.size()) Die("write failed");
    written += buf.size();
  }
  if (fclose(out) != 0) Die("write failed");
  fprintf(stderr, "genv2: %s: %" PRIu64 " bytes, %" PRIu64 " copies of %zu generation(s)\n",
          argv[2], written, copies, gen.generations());
  return 0;
}
