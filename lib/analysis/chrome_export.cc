#include "lib/analysis/chrome_export.h"

#include <algorithm>
#include <charconv>
#include <cinttypes>
#include <cmath>
#include <cstdio>

#include "lib/analysis/goroutine_stats.h"
#include "lib/analysis/text_dump.h"

namespace tracetool::analysis {
namespace {

using format::EventType;

// A float as Go's encoding/json writes it: the shortest decimal that reads back the same, plain
// notation, except exponent notation (with at least one exponent digit: 1e-7) below 1e-6 and
// from 1e21 up.
void AppendFloat(std::string* out, double v) {
  char buf[64];
  const double a = std::fabs(v);
  if (a != 0 && (a < 1e-6 || a >= 1e21)) {
    auto r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
    std::string s(buf, r.ptr);
    // to_chars writes e-07; Go writes e-7.
    size_t e = s.find('e');
    if (e != std::string::npos && e + 2 < s.size() && s[e + 2] == '0') s.erase(e + 2, 1);
    out->append(s);
    return;
  }
  auto r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed);
  out->append(buf, r.ptr);
}

// A JSON string as Go's encoder escapes it (HTML-safe; invalid UTF-8 becomes U+FFFD).
void AppendString(std::string* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': out->append("\\\""); break;
        case '\\': out->append("\\\\"); break;
        case '\n': out->append("\\n"); break;
        case '\r': out->append("\\r"); break;
        case '\t': out->append("\\t"); break;
        default:
          if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            out->append("\\u00");
            out->push_back(kHex[c >> 4]);
            out->push_back(kHex[c & 15]);
          } else {
            out->push_back(static_cast<char>(c));
          }
      }
      ++i;
      continue;
    }
    // Multi-byte: copy a valid sequence, replace anything else byte by byte.
    size_t n = c >= 0xF0 && c < 0xF5 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
    bool ok = n != 0 && i + n <= s.size();
    uint32_t cp = 0;
    if (ok) {
      cp = c & (n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07);
      for (size_t k = 1; k < n; ++k) {
        const auto cc = static_cast<unsigned char>(s[i + k]);
        if ((cc & 0xC0) != 0x80) {
          ok = false;
          break;
        }
        cp = (cp << 6) | (cc & 0x3F);
      }
      if (ok && ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp < 0xE000))) ||
                 (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))) {
        ok = false;
      }
    }
    if (!ok) {
      out->append("\\ufffd");
      ++i;
      continue;
    }
    if (cp == 0x2028 || cp == 0x2029) {
      out->append(cp == 0x2028 ? "\\u2028" : "\\u2029");
    } else {
      out->append(s.substr(i, n));
    }
    i += n;
  }
  out->push_back('"');
}

double Usec(int64_t ns) { return static_cast<double>(ns) / 1000; }

bool IsSpecialUnblockP(int64_t p) {
  return p == format::kNetpollP || p == format::kTimerP || p == format::kSyscallP;
}

}  // namespace

void ChromeTraceWriter::Begin(std::string* out) { out->append("{\"displayTimeUnit\":\"ns\"\n,"); }

void ChromeTraceWriter::BeginEvent(std::string* out) {
  out->append(written_ == 0 ? "\"traceEvents\": [" : ",");
  ++written_;
}

uint32_t ChromeTraceWriter::FrameId(uint32_t stack_id) {
  if (stack_id == 0) return 0;
  if (auto it = stack_leaf_.find(stack_id); it != stack_leaf_.end()) return it->second;
  // Insert from the outermost frame (spec §8.4 step 5); ids in order of first use, from 1.
  std::span<const parser::Frame> frames = reader_->Stack(stack_id);
  uint32_t node = 0;
  for (size_t i = frames.size(); i-- > 0;) {
    auto [it, inserted] = children_.try_emplace(ChildKey{node, frames[i].pc}, 0);
    if (inserted) {
      frames_.push_back(Frame{node, frames[i].fn, frames[i].line});
      it->second = static_cast<uint32_t>(frames_.size());
    }
    node = it->second;
  }
  stack_leaf_.emplace(stack_id, node);
  return node;
}

std::string ChromeTraceWriter::GoroutineName(uint64_t g, const GInfo& info) const {
  if (!info.named) return "";
  std::string name = "G";
  AppendU(&name, g);
  if (info.create_fn != 0) {
    name.push_back(' ');
    name.append(reader_->String(info.create_fn));
  }
  return name;
}

// One event object of section 0 (procs), fields in Go's order (name, ph, s, ts, dur, pid, tid,
// id, sf, esf, args, cname, cat), empty ones omitted as Go's `omitempty` does.
void ChromeTraceWriter::EmitObject(const Object& o, std::string* out) {
  BeginEvent(out);
  out->push_back('{');
  if (!o.name.empty()) {
    out->append("\"name\":");
    AppendString(out, o.name);
    out->push_back(',');
  }
  out->append("\"ph\":\"");
  out->append(o.ph);
  out->push_back('"');
  if (o.ph == std::string_view("I")) out->append(",\"s\":\"t\"");
  out->append(",\"ts\":");
  AppendFloat(out, Usec(o.ts));
  if (o.dur != 0) {
    out->append(",\"dur\":");
    AppendFloat(out, o.dur);
  }
  out->append(",\"pid\":0,\"tid\":");
  AppendU(out, static_cast<uint64_t>(o.tid));
  const std::pair<const char*, uint64_t> ids[] = {{",\"id\":", o.id},
                                                  {",\"sf\":", FrameId(o.stack)},
                                                  {",\"esf\":", FrameId(o.end_stack)}};
  for (const auto& [key, v] : ids) {
    if (v != 0) {
      out->append(key);
      AppendU(out, v);
    }
  }
  if (!o.args.empty()) {
    out->append(",\"args\":");
    out->append(o.args);
  }
  if (!o.cat.empty()) {
    out->append(",\"cat\":");
    AppendString(out, o.cat);
  }
  out->append("}\n");
}

void ChromeTraceWriter::EmitSlice(std::string_view name, const Mark& m, int64_t end_ts,
                                  uint32_t end_stack, std::string_view args_json,
                                  std::string* out) {
  Object o{.name = name, .ph = "X", .ts = m.ts, .tid = m.p, .stack = m.stack,
           .end_stack = end_stack, .args = args_json};
  // Go: a slice that does not last gets 0.1 ns, or the viewer would treat it as unterminated.
  o.dur = end_ts - m.ts <= 0 ? 0.0001 : Usec(end_ts) - Usec(m.ts);
  EmitObject(o, out);
}

void ChromeTraceWriter::EmitInstant(std::string_view name, std::string_view cat, int64_t ts,
                                    int64_t p, uint32_t stack, std::string_view args_json,
                                    std::string* out) {
  EmitObject(Object{.name = name, .ph = "I", .ts = ts, .tid = p, .stack = stack,
                    .args = args_json, .cat = cat},
             out);
}

void ChromeTraceWriter::EmitCounters(int64_t ts, std::string* out) {
  const int64_t threads[3] = {prunning_, insyscall_, insyscall_runtime_};
  if (!std::equal(threads, threads + 3, prev_threads_)) {
    BeginEvent(out);
    out->append("{\"name\":\"Threads\",\"ph\":\"C\",\"ts\":");
    AppendFloat(out, Usec(ts));
    out->append(",\"pid\":1,\"tid\":0,\"args\":{\"Running\":");
    AppendI(out, prunning_);
    out->append(",\"InSyscall\":");
    AppendI(out, insyscall_);
    out->append("}}\n");
    std::copy(threads, threads + 3, prev_threads_);
  }
  if (heap_alloc_ != prev_heap_[0] || next_gc_ != prev_heap_[1]) {
    BeginEvent(out);
    out->append("{\"name\":\"Heap\",\"ph\":\"C\",\"ts\":");
    AppendFloat(out, Usec(ts));
    out->append(",\"pid\":1,\"tid\":0,\"args\":{\"Allocated\":");
    AppendU(out, heap_alloc_);
    out->append(",\"NextGC\":");
    AppendU(out, next_gc_ > heap_alloc_ ? next_gc_ - heap_alloc_ : 0);
    out->append("}}\n");
    prev_heap_[0] = heap_alloc_;
    prev_heap_[1] = next_gc_;
  }
  if (!std::equal(gstates_, gstates_ + kNumStates, prev_gstates_)) {
    BeginEvent(out);
    out->append("{\"name\":\"Goroutines\",\"ph\":\"C\",\"ts\":");
    AppendFloat(out, Usec(ts));
    out->append(",\"pid\":1,\"tid\":0,\"args\":{\"Running\":");
    AppendU(out, static_cast<uint64_t>(gstates_[kRunning]));
    out->append(",\"Runnable\":");
    AppendU(out, static_cast<uint64_t>(gstates_[kRunnable]));
    out->append(",\"GCWaiting\":");
    AppendU(out, static_cast<uint64_t>(gstates_[kWaitingGC]));
    out->append("}}\n");
    std::copy(gstates_, gstates_ + kNumStates, prev_gstates_);
  }
}

Status ChromeTraceWriter::SetState(uint64_t g, GInfo* info, GState from, GState to,
                                   const parser::Event& ev) {
  if (from == kWaiting && info->state == kWaitingGC) from = kWaitingGC;  // any waiting counts
  if (info->state != from) {
    // Go's wording, which prints the new state where it means the found one.
    return ErrStatus(ErrorTag::kInconsistent,
                     "offset 0x%" PRIx64 ": expected G %" PRIu64
                     " to be in state %d, but got state %d",
                     ev.offset, g, static_cast<int>(from), static_cast<int>(to));
  }
  --gstates_[info->state];
  ++gstates_[to];
  info->state = to;
  return OkStatus();
}

void ChromeTraceWriter::EmitAssist(const Mark& m, const char* name, int64_t end_ts,
                                   uint32_t end_stack, std::string* out) {
  EmitSlice(name, m, end_ts, end_stack, "", out);
}

// The execution slice of g ends (GoEnd, GoStop, GoSched, GoPreempt, GoSleep, GoBlock*,
// GoSysBlock): write it, and the mark-assist slices that end with it.
void ChromeTraceWriter::CloseRun(uint64_t g, GInfo* info, int64_t end_ts, uint32_t end_stack,
                                 std::string* out) {
  if (!info->running) return;
  info->running = false;
  info->last_end = end_ts;
  info->last_end_stack = end_stack;
  std::string name = info->label != 0 ? std::string(reader_->String(info->label))
                                      : GoroutineName(g, *info);
  EmitSlice(name, info->run, end_ts, end_stack, "", out);
  if (info->resumed) {
    info->resumed = false;
    if (info->resumed_done && info->resumed_done_ts < end_ts) {
      EmitAssist(info->run, "MARK ASSIST (resumed)", info->resumed_done_ts,
                 info->resumed_done_stack, out);
    } else {
      EmitAssist(info->run, "MARK ASSIST (resumed, unfinished)", end_ts, end_stack, out);
    }
  }
  if (info->assist_open && !info->assist_run_ended) {
    // Go ends it here unless its done event has the very same time: wait for that event.
    info->assist_run_ended = true;
    info->assist_go_finish = end_ts;
    info->assist_go_finish_stack = end_stack;
  }
}

// Before Go 1.10 each P had its own stop-the-world events (spec §1.10).
uint64_t ChromeTraceWriter::StwKey(const parser::Event& ev) const {
  return reader_->version() < 1010 ? static_cast<uint64_t>(ev.p) : 0;
}

Status ChromeTraceWriter::OnEvent(const parser::Event& ev, std::string* out) {
  // Go counts real Ps only (cmd/trace: ev.P < FakeP); a Go 1.22+ event without a P has kFakeP.
  if (ev.p < format::kFakeP && ev.p > max_proc_) max_proc_ = ev.p;
  // State tracking first (Go does it before filtering), then what the event writes.
  switch (ev.type) {
    case EventType::kGoStart:
    case EventType::kGoStartLabel: {
      GInfo& info = gs_.Get(ev.g);
      TT_RETURN_IF_ERROR(SetState(ev.g, &info, kRunnable, kRunning, ev));
      info.running = true;
      info.run = Mark{ev.ts, ev.p, ev.stack_id};
      info.label = ev.type == EventType::kGoStartLabel ? ev.args[2] : 0;
      info.resumed = info.in_assist;
      info.resumed_done = false;
      // The flow from the event that made it runnable (Go draws it from that event's side).
      const EventType src = ev.from.type;
      if (src == EventType::kGoCreate || src == EventType::kGoUnblock ||
          src == EventType::kGoSysExit) {
        const char* name = src == EventType::kGoCreate ? "go"
                           : src == EventType::kGoUnblock ? "unblock"
                                                          : "sysexit";
        if (IsSpecialUnblockP(info.flow_p)) {
          EmitInstant("unblock", "", ev.from.ts, info.flow_p, 0, "", out);
        }
        ++flow_seq_;
        EmitObject(Object{.name = name, .ph = "s", .ts = ev.from.ts, .tid = info.flow_p,
                          .id = flow_seq_, .stack = ev.from.stack_id},
                   out);
        EmitObject(Object{.name = name, .ph = "t", .ts = ev.ts, .tid = ev.p, .id = flow_seq_},
                   out);
      }
      break;
    }
    case EventType::kProcStart: {
      ++prunning_;
      std::string args = "{\"ThreadID\":";
      AppendU(&args, ev.args[0]);
      args.push_back('}');
      EmitInstant("proc start", "", ev.ts, ev.p, ev.stack_id, args, out);
      break;
    }
    case EventType::kProcStop:
      --prunning_;
      EmitInstant("proc stop", "", ev.ts, ev.p, ev.stack_id, "", out);
      break;
    case EventType::kGoCreate: {
      const uint64_t ng = ev.args[0];
      bool inserted = false;
      GInfo& info = gs_.Get(ng, &inserted);
      if (info.named) {
        return ErrStatus(ErrorTag::kInconsistent,
                         "offset 0x%" PRIx64 ": duplicate go create event for go id=%" PRIu64
                         " detected at offset %" PRIu64,
                         ev.offset, ng, ev.offset);
      }
      std::span<const parser::Frame> stk =
          reader_->Stack(static_cast<uint32_t>(std::min<uint64_t>(ev.args[1], UINT32_MAX)));
      // Go 1.19 stops here with "missing stack information" when the creation has no stack; a
      // goroutine that existed before a Go 1.22+ trace started has none, so it is just "G<id>".
      info.named = true;
      info.create_fn = stk.empty() ? 0 : stk[0].fn;
      info.system = !stk.empty() && IsSystemGoroutine(reader_->String(stk[0].fn));
      info.flow_p = ev.p;
      TT_RETURN_IF_ERROR(SetState(ng, &info, kDead, kRunnable, ev));
      break;
    }
    case EventType::kGoEnd: {
      GInfo& info = gs_.Get(ev.g);
      TT_RETURN_IF_ERROR(SetState(ev.g, &info, kRunning, kDead, ev));
      CloseRun(ev.g, &info, ev.ts, ev.stack_id, out);
      if (!info.assist_open) gs_.Erase(ev.g);  // its id never comes back (the parser checks)
      break;
    }
    case EventType::kGoUnblock: {
      GInfo& info = gs_.Get(ev.args[0]);
      TT_RETURN_IF_ERROR(SetState(ev.args[0], &info, kWaiting, kRunnable, ev));
      info.flow_p = ev.p;
      break;
    }
    case EventType::kGoSysExit: {
      GInfo& info = gs_.Get(ev.g);
      TT_RETURN_IF_ERROR(SetState(ev.g, &info, kWaiting, kRunnable, ev));
      --(info.system ? insyscall_runtime_ : insyscall_);
      info.flow_p = ev.p;
      break;
    }
    case EventType::kGoSysBlock: {
      GInfo& info = gs_.Get(ev.g);
      TT_RETURN_IF_ERROR(SetState(ev.g, &info, kRunning, kWaiting, ev));
      ++(info.system ? insyscall_runtime_ : insyscall_);
      CloseRun(ev.g, &info, ev.ts, ev.stack_id, out);
      break;
    }
    case EventType::kGoSched:
    case EventType::kGoPreempt: {
      GInfo& info = gs_.Get(ev.g);
      TT_RETURN_IF_ERROR(SetState(ev.g, &info, kRunning, kRunnable, ev));
      CloseRun(ev.g, &info, ev.ts, ev.stack_id, out);
      break;
    }
    case EventType::kGoStop: {
      GInfo& info = gs_.Get(ev.g);
      TT_RETURN_IF_ERROR(SetState(ev.g, &info, kRunning, kWaiting, ev));
      CloseRun(ev.g, &info, ev.ts, ev.stack_id, out);
      break;
    }
    case EventType::kGCMarkAssistStart: {
      GInfo& info = gs_.Get(ev.g);
      info.in_assist = true;
      info.assist_open = true;
      // Outside a run, Go ends it where the last run ended.
      info.assist_run_ended = !info.running;
      info.assist_go_finish = info.last_end;
      info.assist_go_finish_stack = info.last_end_stack;
      info.assist = Mark{ev.ts, ev.p, ev.stack_id};
      break;
    }
    case EventType::kGCMarkAssistDone: {
      GInfo& info = gs_.Get(ev.g);
      info.in_assist = false;
      if (info.assist_open) {
        info.assist_open = false;
        if (!info.assist_run_ended || ev.ts <= info.assist_go_finish) {
          EmitAssist(info.assist, "MARK ASSIST", ev.ts, ev.stack_id, out);
        } else {
          EmitAssist(info.assist, "MARK ASSIST (unfinished)", info.assist_go_finish,
                     info.assist_go_finish_stack, out);
        }
      }
      if (info.running && info.resumed && !info.resumed_done) {
        info.resumed_done = true;
        info.resumed_done_ts = ev.ts;
        info.resumed_done_stack = ev.stack_id;
      }
      break;
    }
    case EventType::kGoWaiting: {
      GInfo& info = gs_.Get(ev.g);
      TT_RETURN_IF_ERROR(SetState(ev.g, &info, kRunnable, kWaiting, ev));
      break;
    }
    case EventType::kGoInSyscall: {
      GInfo& info = gs_.Get(ev.g);
      TT_RETURN_IF_ERROR(SetState(ev.g, &info, kRunnable, kWaiting, ev));
      ++(info.system ? insyscall_runtime_ : insyscall_);
      break;
    }
    case EventType::kHeapAlloc:
      heap_alloc_ = ev.args[0];
      break;
    case EventType::kHeapGoal:
      next_gc_ = ev.args[0];
      break;
    case EventType::kGCStart:
      gc_open_ = true;
      break;
    case EventType::kGCDone:
      if (gc_open_ && ev.from.type == EventType::kGCStart) {
        EmitSlice("GC", Mark{ev.from.ts, format::kGCP, ev.from.stack_id}, ev.ts, ev.stack_id,
                  "", out);
      }
      gc_open_ = false;
      break;
    case EventType::kGCSTWStart:
      stws_.Get(StwKey(ev)) = Stw{Mark{ev.ts, ev.p, ev.stack_id}, ev.args[0]};
      break;
    case EventType::kGCSTWDone:
      if (const Stw* stw = stws_.Find(StwKey(ev))) {
        const Stw start = *stw;
        stws_.Erase(StwKey(ev));
        std::string name = "STW (";
        name.append(StwKind(reader_->version(), start.kind));
        name.push_back(')');
        EmitSlice(name, start.start, ev.ts, ev.stack_id, "", out);
      }
      break;
    case EventType::kGCSweepStart:
      sweeps_.Get(static_cast<uint64_t>(ev.p)) = Mark{ev.ts, ev.p, ev.stack_id};
      break;
    case EventType::kGCSweepDone:
      if (const Mark* m = sweeps_.Find(static_cast<uint64_t>(ev.p))) {
        std::string args;
        if (ev.args[0] != 0) {
          args = "{\"Swept bytes\":";
          AppendU(&args, ev.args[0]);
          args.append(",\"Reclaimed bytes\":");
          AppendU(&args, ev.args[1]);
          args.push_back('}');
        }
        const Mark start = *m;
        sweeps_.Erase(static_cast<uint64_t>(ev.p));
        EmitSlice("SWEEP", start, ev.ts, ev.stack_id, args, out);
      }
      break;
    case EventType::kGoSysCall:
      EmitInstant("syscall", "", ev.ts, ev.p, ev.stack_id, "", out);
      break;
    case EventType::kUserLog: {
      const std::string_view key = reader_->String(ev.args[1]);
      std::string name;
      if (key.empty()) {
        name = std::string(ev.message);
      } else if (ev.message.empty()) {
        name = std::string(key);
      } else {
        name = std::string(key) + "=" + std::string(ev.message);
      }
      EmitInstant(name, "user event", ev.ts, ev.p, ev.stack_id, "", out);
      break;
    }
    case EventType::kUserTaskCreate:
      EmitInstant("task start", "user event", ev.ts, ev.p, ev.stack_id, "", out);
      break;
    case EventType::kUserTaskEnd:
      EmitInstant("task end", "user event", ev.ts, ev.p, ev.stack_id, "", out);
      break;
    case EventType::kCPUSample:
      if (ev.p >= 0) EmitInstant("CPU profile sample", "", ev.ts, ev.p, ev.stack_id, "", out);
      break;
    default:
      if (format::IsGoBlock(ev.type)) {  // GoSleep, GoBlock*, GoBlockGC
        GInfo& info = gs_.Get(ev.g);
        TT_RETURN_IF_ERROR(SetState(
            ev.g, &info, kRunning, ev.type == EventType::kGoBlockGC ? kWaitingGC : kWaiting, ev));
        CloseRun(ev.g, &info, ev.ts, ev.stack_id, out);
      }
      break;
  }
  if (gstates_[kRunnable] < 0 || gstates_[kRunning] < 0 || insyscall_ < 0 ||
      insyscall_runtime_ < 0) {
    return ErrStatus(ErrorTag::kInconsistent,
                     "offset 0x%" PRIx64 ": invalid state after processing %s: runnable=%" PRId64
                     " running=%" PRId64 " insyscall=%" PRId64 " insyscallRuntime=%" PRId64,
                     ev.offset, std::string(format::Spec(ev.type).name).c_str(),
                     gstates_[kRunnable], gstates_[kRunning], insyscall_, insyscall_runtime_);
  }
  EmitCounters(ev.ts, out);
  return OkStatus();
}

void ChromeTraceWriter::Finish(int64_t last_ts, std::string* out) {
  // What the trace left open ends with it (Go's tool would stop with a nil link here).
  std::vector<uint64_t> open;
  gs_.ForEach([&](uint64_t g, const GInfo& info) {
    if (info.running || info.assist_open) open.push_back(g);
  });
  std::sort(open.begin(), open.end());
  for (uint64_t g : open) {
    GInfo& info = gs_.Get(g);
    CloseRun(g, &info, last_ts, 0, out);
    if (info.assist_open) {
      info.assist_open = false;
      EmitAssist(info.assist, "MARK ASSIST (unfinished)",
                 info.assist_run_ended ? info.assist_go_finish : last_ts,
                 info.assist_run_ended ? info.assist_go_finish_stack : 0, out);
    }
  }
  // Footer (spec §8.4 step 4), in Go's order.
  auto meta = [&](const char* name, uint64_t pid, uint64_t tid, std::string_view arg_key,
                  const std::string& arg_json) {
    BeginEvent(out);
    out->append("{\"name\":\"");
    out->append(name);
    out->append("\",\"ph\":\"M\",\"ts\":0,\"pid\":");
    AppendU(out, pid);
    out->append(",\"tid\":");
    AppendU(out, tid);
    out->append(",\"args\":{\"");
    out->append(arg_key);
    out->append("\":");
    out->append(arg_json);
    out->append("}}\n");
  };
  auto str = [](std::string_view s) {
    std::string j;
    AppendString(&j, s);
    return j;
  };
  auto num = [](int64_t v) {
    std::string j;
    AppendI(&j, v);
    return j;
  };
  meta("process_name", 1, 0, "name", str("STATS"));
  meta("process_sort_index", 1, 0, "sort_index", num(0));
  meta("process_name", 0, 0, "name", str("PROCS"));
  meta("process_sort_index", 0, 0, "sort_index", num(2));
  const struct {
    int64_t tid;
    const char* name;
    int sort;
  } kRows[] = {{format::kGCP, "GC", -6},
               {format::kNetpollP, "Network", -5},
               {format::kTimerP, "Timers", -4},
               {format::kSyscallP, "Syscalls", -3}};
  for (const auto& r : kRows) {
    meta("thread_name", 0, static_cast<uint64_t>(r.tid), "name", str(r.name));
    meta("thread_sort_index", 0, static_cast<uint64_t>(r.tid), "sort_index", num(r.sort));
  }
  for (int64_t i = 0; i <= max_proc_; ++i) {
    meta("thread_name", 0, static_cast<uint64_t>(i), "name", str("Proc " + std::to_string(i)));
    meta("thread_sort_index", 0, static_cast<uint64_t>(i), "sort_index", num(i));
  }
  // Stack frames: a JSON object whose keys Go sorts as strings ("1" < "10" < "2").
  out->append("], \"stackFrames\":{");
  std::vector<std::string> keys;
  keys.reserve(frames_.size());
  for (size_t i = 1; i <= frames_.size(); ++i) keys.push_back(std::to_string(i));
  std::sort(keys.begin(), keys.end());
  bool first = true;
  for (const std::string& k : keys) {
    const Frame& f = frames_[std::stoul(k) - 1];
    if (!first) out->push_back(',');
    first = false;
    out->push_back('"');
    out->append(k);
    out->append("\":{\"name\":");
    std::string name(reader_->String(f.fn));
    name.push_back(':');
    AppendU(&name, f.line);
    AppendString(out, name);
    if (f.parent != 0) {
      out->append(",\"parent\":");
      AppendU(out, f.parent);
    }
    out->push_back('}');
  }
  out->append("}\n}");
}

}  // namespace tracetool::analysis
