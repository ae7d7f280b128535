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

// args as a JSON object, keys in the given order ("" for none).
std::string_view ArgsJson(std::span<const ViewerArg> args, std::string* buf) {
  buf->clear();
  if (args.empty()) return {};
  for (const ViewerArg& a : args) {
    buf->append(buf->empty() ? "{" : ",");
    AppendString(buf, a.key);
    buf->push_back(':');
    AppendU(buf, a.value);
  }
  buf->push_back('}');
  return *buf;
}

}  // namespace

void ChromeTraceWriter::Begin(std::string* out) { out->append("{\"displayTimeUnit\":\"ns\"\n,"); }

void ChromeTraceWriter::BeginEvent() {
  out_->append(written_ == 0 ? "\"traceEvents\": [" : ",");
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

// One event object of section 0 (procs), fields in Go's order (name, ph, s, ts, dur, pid, tid,
// id, sf, esf, args, cname, cat), empty ones omitted as Go's `omitempty` does.
void ChromeTraceWriter::EmitObject(const Object& o) {
  std::string* const out = out_;
  BeginEvent();
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

void ChromeTraceWriter::EmitSlice(std::string_view name, const ViewerMark& m, int64_t end_ts,
                                  uint32_t end_stack, std::span<const ViewerArg> args) {
  Object o{.name = name, .ph = "X", .ts = m.ts, .tid = m.p, .stack = m.stack,
           .end_stack = end_stack, .args = ArgsJson(args, &args_)};
  // Go: a slice that does not last gets 0.1 ns, or the viewer would treat it as unterminated.
  o.dur = end_ts - m.ts <= 0 ? 0.0001 : Usec(end_ts) - Usec(m.ts);
  EmitObject(o);
}

void ChromeTraceWriter::SliceBegin(ViewerRow row, uint64_t, const ViewerMark& start,
                                   std::string_view, const ViewerFlow* flow) {
  if (row != ViewerRow::kProc || flow == nullptr) return;
  // The flow from the event that made the goroutine runnable, drawn from that event's side; an
  // unblock by a pseudo-P (network, timers, syscalls) gets an instant there as its tail.
  const ViewerMark& src = flow->source;
  if (IsSpecialUnblockP(src.p)) {
    EmitObject(Object{.name = "unblock", .ph = "I", .ts = src.ts, .tid = src.p});
  }
  ++flow_seq_;
  EmitObject(Object{.name = flow->name, .ph = "s", .ts = src.ts, .tid = src.p, .id = flow_seq_,
                    .stack = src.stack});
  EmitObject(Object{.name = flow->name, .ph = "t", .ts = start.ts, .tid = start.p,
                    .id = flow_seq_});
}

void ChromeTraceWriter::SliceEnd(ViewerRow row, uint64_t, const ViewerMark& start,
                                 std::string_view name, int64_t end_ts, uint32_t end_stack,
                                 std::span<const ViewerArg> args, ViewerEnd why) {
  switch (row) {
    case ViewerRow::kProc:  // an execution: also when the trace ends inside it
      EmitSlice(name, start, end_ts, end_stack, args);
      break;
    case ViewerRow::kGC:
    case ViewerRow::kStw:
    case ViewerRow::kSweep:  // Go draws these at their end event only
      if (why == ViewerEnd::kEnded) EmitSlice(name, start, end_ts, end_stack, args);
      break;
    default:
      break;
  }
}

void ChromeTraceWriter::CompleteSlice(ViewerRow row, const ViewerMark& start,
                                      std::string_view name, int64_t end_ts,
                                      uint32_t end_stack) {
  if (row == ViewerRow::kGoAssist) EmitSlice(name, start, end_ts, end_stack, {});
}

void ChromeTraceWriter::Instant(ViewerRow row, uint64_t, const ViewerMark& at,
                                std::string_view name, std::string_view category,
                                std::span<const ViewerArg> args) {
  if (row != ViewerRow::kProc) return;
  EmitObject(Object{.name = name, .ph = "I", .ts = at.ts, .tid = at.p, .stack = at.stack,
                    .args = ArgsJson(args, &args_), .cat = category});
}

void ChromeTraceWriter::Counters(int64_t ts, const ViewerCounters& now, uint32_t changed) {
  using C = ViewerCounters;
  std::string* const out = out_;
  const int64_t* v = now.v;
  auto any = [changed](std::initializer_list<C::Index> idx) {
    for (C::Index i : idx) {
      if (changed & (1u << i)) return true;
    }
    return false;
  };
  if (any({C::kThreadsRunning, C::kInSyscall, C::kInSyscallRuntime})) {
    BeginEvent();
    out->append("{\"name\":\"Threads\",\"ph\":\"C\",\"ts\":");
    AppendFloat(out, Usec(ts));
    out->append(",\"pid\":1,\"tid\":0,\"args\":{\"Running\":");
    AppendI(out, v[C::kThreadsRunning]);
    out->append(",\"InSyscall\":");
    AppendI(out, v[C::kInSyscall]);
    out->append("}}\n");
  }
  if (any({C::kHeapAlloc, C::kNextGC})) {
    const auto alloc = static_cast<uint64_t>(v[C::kHeapAlloc]);
    const auto next = static_cast<uint64_t>(v[C::kNextGC]);
    BeginEvent();
    out->append("{\"name\":\"Heap\",\"ph\":\"C\",\"ts\":");
    AppendFloat(out, Usec(ts));
    out->append(",\"pid\":1,\"tid\":0,\"args\":{\"Allocated\":");
    AppendU(out, alloc);
    out->append(",\"NextGC\":");
    AppendU(out, next > alloc ? next - alloc : 0);
    out->append("}}\n");
  }
  if (any({C::kDead, C::kRunnable, C::kRunning, C::kWaiting, C::kWaitingGC})) {
    BeginEvent();
    out->append("{\"name\":\"Goroutines\",\"ph\":\"C\",\"ts\":");
    AppendFloat(out, Usec(ts));
    out->append(",\"pid\":1,\"tid\":0,\"args\":{\"Running\":");
    AppendU(out, static_cast<uint64_t>(v[C::kRunning]));
    out->append(",\"Runnable\":");
    AppendU(out, static_cast<uint64_t>(v[C::kRunnable]));
    out->append(",\"GCWaiting\":");
    AppendU(out, static_cast<uint64_t>(v[C::kWaitingGC]));
    out->append("}}\n");
  }
}

void ChromeTraceWriter::End(int64_t max_proc) {
  std::string* const out = out_;
  // Footer (spec §8.4 step 4), in Go's order.
  auto meta = [&](const char* name, uint64_t pid, uint64_t tid, std::string_view arg_key,
                  const std::string& arg_json) {
    BeginEvent();
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
  for (int64_t i = 0; i <= max_proc; ++i) {
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
