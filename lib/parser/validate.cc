#include "lib/parser/validate.h"

#include <cinttypes>
#include <string>

namespace tracetool::parser::internal {

using format::EventType;

namespace {
constexpr uint8_t kDead = 0, kRunnable = 1, kRunning = 2, kWaiting = 3;

LinkFrom LinkOf(const Event& ev) {
  return LinkFrom{ev.type, ev.ts, ev.stack_id, ev.g, ev.offset};
}

std::string Name(EventType t) { return std::string(format::Spec(t).name); }

Status Fail(const Event& ev, const std::string& what) {
  return ErrStatus(ErrorTag::kInconsistent, "offset 0x%" PRIx64 ": %s (%s at time %" PRId64 " ns)",
                   ev.offset, what.c_str(), Name(ev.type).c_str(), ev.ts);
}
}  // namespace

Validator::Validator(int version, const TraceIndex* index) : version_(version), index_(index) { gs_.Get(0).state = kRunning; }

Validator::PDesc& Validator::PSlow(int64_t p) {
  if (p >= 0 && p < kDenseP) {
    dense_ps_.resize(static_cast<size_t>(p) + 1);
    return dense_ps_[static_cast<size_t>(p)];
  }
  return ps_.Get(static_cast<uint64_t>(p));
}

inline Validator::GDesc& Validator::G(PDesc& p, uint64_t g) {
  if (p.cache_g == g && p.cache_epoch == gs_.epoch()) return *p.cache;
  GDesc& d = gs_.Get(g);
  p.cache_g = g;
  p.cache = &d;
  p.cache_epoch = gs_.epoch();  // after Get(): an insertion may have rehashed
  return d;
}

// CheckRunning(): the event's goroutine runs on its P (inline: most events check it).
[[gnu::always_inline]] inline Status Validator::CheckRunning(const PDesc& p, const GDesc& g,
                                                             const Event& ev, bool allow_g0) const {
  if (g.state == kRunning && p.g == ev.g && (allow_g0 || ev.g != 0)) [[likely]] return OkStatus();
  return NotRunning(p, g, ev, allow_g0);
}

[[gnu::noinline, gnu::cold]] Status Validator::NotRunning(const PDesc& p, const GDesc& g,
                                                          const Event& ev, bool allow_g0) const {
  if (g.state != kRunning) {
    return Fail(ev, "g " + std::to_string(ev.g) + " is not running while " + Name(ev.type));
  }
  if (p.g != ev.g) {
    return Fail(ev, "p " + std::to_string(ev.p) + " is not running g " + std::to_string(ev.g) +
                        " while " + Name(ev.type) + " (it runs g " + std::to_string(p.g) + ")");
  }
  if (!allow_g0 && ev.g == 0) return Fail(ev, "g 0 did " + Name(ev.type));
  return OkStatus();
}

Status Validator::Process(Event* evp) {
  Event& ev = *evp;
  // Go works on copies of the G and P state and stores both back at the end (spec §4.1); that
  // differs from updating in place only when an event names its own goroutine as the other
  // party (a GoCreate or GoUnblock of itself), which fails the checks either way. In place, `g`
  // must not be used after another gs_ insertion (GoCreate, GoUnblock), which may move it.
  // The P entry is the P the event was read on; GCStart and network unblocks move to their
  // pseudo-P only after their checks. (Go also stores a copy under the pseudo-P; nothing reads it.)
  PDesc& p = P(ev.p);
  GDesc& g = G(p, ev.g);
  ev.from = LinkFrom();
  switch (ev.type) {
    case EventType::kProcStart:
      if (p.running) return Fail(ev, "p " + std::to_string(ev.p) + " is running before start");
      p.running = true;
      break;
    case EventType::kProcStop:
      if (!p.running) return Fail(ev, "p " + std::to_string(ev.p) + " is not running before stop");
      if (p.g != 0) {
        return Fail(ev, "p " + std::to_string(ev.p) + " is running a goroutine " +
                            std::to_string(p.g) + " during stop");
      }
      p.running = false;
      break;
    case EventType::kGCStart:
      if (gc_open_) return Fail(ev, "previous GC is not ended before a new one");
      gc_open_ = true;
      ev.p = format::kGCP;
      gc_start_ = LinkOf(ev);
      break;
    case EventType::kGCDone:
      if (!gc_open_) return Fail(ev, "bogus GC end: no GC is in progress");
      ev.from = gc_start_;
      gc_open_ = false;
      break;
    case EventType::kGCSTWStart: {
      bool& open = version_ < 1010 ? p.stw : stw_open_;
      if (open) return Fail(ev, "previous STW is not ended before a new one");
      open = true;
      (version_ < 1010 ? p.stw_start : stw_start_) = LinkOf(ev);
      break;
    }
    case EventType::kGCSTWDone: {
      bool& open = version_ < 1010 ? p.stw : stw_open_;
      if (!open) return Fail(ev, "bogus STW end: no stop-the-world is in progress");
      open = false;
      ev.from = version_ < 1010 ? p.stw_start : stw_start_;  // Go links per P before 1.10
      break;
    }
    case EventType::kGCSweepStart:
      if (p.sweep) return Fail(ev, "previous sweeping is not ended before a new one");
      p.sweep = true;
      break;
    case EventType::kGCSweepDone:
      if (!p.sweep) return Fail(ev, "bogus sweeping end: no sweep is in progress on this P");
      p.sweep = false;
      break;
    case EventType::kGCMarkAssistStart:
      if (g.in_mark_assist) return Fail(ev, "previous mark assist is not ended before a new one");
      g.in_mark_assist = true;
      break;
    case EventType::kGCMarkAssistDone:
      g.in_mark_assist = false;
      break;
    case EventType::kGoWaiting:
    case EventType::kGoInSyscall:
      if (g.state != kRunnable) {
        return Fail(ev, "g " + std::to_string(ev.g) + " is not runnable before Ev" + Name(ev.type));
      }
      g.state = kWaiting;
      g.ev = LinkOf(ev);
      break;
    case EventType::kGoCreate: {
      TT_RETURN_IF_ERROR(CheckRunning(p, g, ev, /*allow_g0=*/true));
      bool inserted = false;
      GDesc& ng = gs_.Get(ev.args[0], &inserted);
      if (!inserted || ended_.Contains(ev.args[0])) {
        return Fail(ev, "g " + std::to_string(ev.args[0]) + " already exists");
      }
      ng.state = kRunnable;
      ng.ev = LinkOf(ev);
      ng.has_create = true;
      ng.create_stack = static_cast<uint32_t>(std::min<uint64_t>(ev.args[1], UINT32_MAX));
      break;
    }
    case EventType::kGoStart:
    case EventType::kGoStartLabel:
      if (g.state != kRunnable) {
        return Fail(ev, "g " + std::to_string(ev.g) + " is not runnable before start");
      }
      if (p.g != 0) {
        return Fail(ev, "p " + std::to_string(ev.p) + " is already running g " +
                            std::to_string(p.g) + " while start g " + std::to_string(ev.g));
      }
      g.state = kRunning;
      p.g = ev.g;
      if (g.has_create) {
        // The first start shows the goroutine's creation stack (its start function).
        // Version 1005 has a PC here, not a stack id; it has no symbols anyway.
        ev.stack_id = version_ < 1007 ? 0 : g.create_stack;
        g.has_create = false;
      }
      g.start = LinkOf(ev);
      if (g.ev.type != EventType::kNone) {
        ev.from = g.ev;
        g.ev = LinkFrom();
      }
      break;
    case EventType::kGoEnd:
    case EventType::kGoStop:
      TT_RETURN_IF_ERROR(CheckRunning(p, g, ev, false));
      ev.from = g.start;
      g.start = LinkFrom();
      g.state = kDead;
      p.g = 0;
      if (ev.type == EventType::kGoEnd) {
        if (auto* r = regions_.Find(ev.g)) r->clear();
      }
      break;
    case EventType::kGoSched:
    case EventType::kGoPreempt:
      TT_RETURN_IF_ERROR(CheckRunning(p, g, ev, false));
      g.state = kRunnable;
      ev.from = g.start;
      g.start = LinkFrom();
      p.g = 0;
      g.ev = LinkOf(ev);
      break;
    case EventType::kGoUnblock: {
      if (g.state != kRunning) {
        return Fail(ev, "g " + std::to_string(ev.g) + " is not running while unpark");
      }
      if (ev.p != format::kTimerP && p.g != ev.g) {
        return Fail(ev, "p " + std::to_string(ev.p) + " is not running g " + std::to_string(ev.g) +
                            " while unpark");
      }
      GDesc& g1 = gs_.Get(ev.args[0]);
      if (g1.state != kWaiting) {
        return Fail(ev, "g " + std::to_string(ev.args[0]) + " is not waiting before unpark");
      }
      if (g1.ev.type == EventType::kGoBlockNet && ev.p != format::kTimerP) {
        ev.p = format::kNetpollP;
      }
      if (g1.ev.type != EventType::kNone) ev.from = g1.ev;
      g1.state = kRunnable;
      g1.ev = LinkOf(ev);
      break;
    }
    case EventType::kGoSysCall:
      TT_RETURN_IF_ERROR(CheckRunning(p, g, ev, false));
      g.ev = LinkOf(ev);
      break;
    case EventType::kGoSysBlock:
      TT_RETURN_IF_ERROR(CheckRunning(p, g, ev, false));
      g.state = kWaiting;
      ev.from = g.start;
      g.start = LinkFrom();
      p.g = 0;
      break;
    case EventType::kGoSysExit:
      if (g.state != kWaiting) {
        return Fail(ev, "g " + std::to_string(ev.g) + " is not waiting during syscall exit");
      }
      if (g.ev.type == EventType::kGoSysCall) ev.from = g.ev;
      g.state = kRunnable;
      g.ev = LinkOf(ev);
      break;

    case EventType::kUserTaskCreate: {
      bool inserted = false;
      LinkFrom& t = tasks_.Get(ev.args[0], &inserted);
      if (!inserted && t.type != EventType::kNone) {
        char buf[160];
        snprintf(buf, sizeof(buf), "task id conflicts (id:%" PRIu64 "): already created at offset %" PRIu64,
                 ev.args[0], t.offset);
        return Fail(ev, buf);
      }
      t = LinkOf(ev);
      break;
    }
    case EventType::kUserTaskEnd: {
      LinkFrom* t = tasks_.Find(ev.args[0]);
      if (t != nullptr && t->type != EventType::kNone) {
        ev.from = *t;
        *t = LinkFrom();  // closed (FlatMap has no erase; kNone marks a free id)
      }
      break;
    }
    case EventType::kUserRegion: {
      const uint64_t mode = ev.args[1];
      if (mode == 0) {
        regions_.Get(ev.g).push_back(Region{ev.args[0], ev.args[2], LinkOf(ev)});
      } else if (mode == 1) {
        std::vector<Region>* rs = regions_.Find(ev.g);
        if (rs != nullptr && !rs->empty()) {
          const Region& s = rs->back();
          if (s.task != ev.args[0] || index_->String(s.name) != index_->String(ev.args[2])) {
            char buf[200];
            snprintf(buf, sizeof(buf),
                     "misuse of region in goroutine %" PRIu64 ": region end (task %" PRIu64
                     ", name id %" PRIu64 ") when the innermost active region start is (task %" PRIu64
                     ", name id %" PRIu64 ") at offset %" PRIu64,
                     ev.g, ev.args[0], ev.args[2], s.task, s.name, s.start.offset);
            return Fail(ev, buf);
          }
          ev.from = s.start;
          rs->pop_back();
        }
      } else {
        return Fail(ev, "invalid user region mode " + std::to_string(mode) + " (want 0 or 1)");
      }
      break;
    }
    default:
      if (format::IsGoBlock(ev.type)) {
        TT_RETURN_IF_ERROR(CheckRunning(p, g, ev, false));
        g.state = kWaiting;
        g.ev = LinkOf(ev);
        ev.from = g.start;
        g.start = LinkFrom();
        p.g = 0;
      }
      break;
  }
  if ((ev.type == EventType::kGoEnd || ev.type == EventType::kGoStop) && ev.g != 0) {
    // The goroutine is dead for good: keep only its id (`g` is not used after this).
    ended_.Insert(ev.g);
    gs_.Erase(ev.g);
    regions_.Erase(ev.g);
  }
  return OkStatus();
}

}  // namespace tracetool::parser::internal
