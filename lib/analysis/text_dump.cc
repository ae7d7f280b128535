#include "lib/analysis/text_dump.h"

#include <charconv>

namespace tracetool::analysis {

using format::EventType;

void AppendU(std::string* out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, r.ptr);
}
void AppendI(std::string* out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, r.ptr);
}

namespace {

// Go 1.22+ traces (spec v2 §2.5): the wire format has one GoBlock and one GoStop event, each with
// a reason string, which the reader maps onto the model's block and yield types (so -pprof and
// the analyses select them as for v1). -d shows them as Go does: the wire name and its reason.
std::string_view V2ReasonedName(EventType t) {
  switch (t) {
    case EventType::kGoBlock:
    case EventType::kGoBlockNet:
    case EventType::kGoBlockSend:
    case EventType::kGoBlockRecv:
    case EventType::kGoBlockSelect:
    case EventType::kGoBlockSync:
    case EventType::kGoBlockCond:
    case EventType::kGoSleep:
    case EventType::kGoStop:  // reason "forever"
      return "GoBlock";
    case EventType::kGoSched:
    case EventType::kGoPreempt:
      return "GoStop";
    default:
      return {};
  }
}

void AppendQuoted(std::string* out, std::string_view s) {
  out->push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') out->push_back('\\');
    if (static_cast<unsigned char>(c) < 0x20) {
      out->append("\\x");
      out->push_back("0123456789abcdef"[(c >> 4) & 0xf]);
      out->push_back("0123456789abcdef"[c & 0xf]);
      continue;
    }
    out->push_back(c);
  }
  out->push_back('"');
}

}  // namespace

// The STW kind names (spec §1.10): two kinds before 1.21, the runtime's stop reasons in 1.21.
std::string_view StwKind(int version, uint64_t kind) {
  if (version < 1021) return kind == 0 ? "mark termination" : "sweep termination";
  static constexpr std::string_view kKinds[] = {
      "unknown", "GC mark termination", "GC sweep termination", "write heap dump",
      "goroutine profile", "goroutine profile cleanup", "all goroutines stack trace",
      "read mem stats", "AllThreadsSyscall", "GOMAXPROCS", "start trace", "stop trace",
      "CountPagesInUse (test)", "ReadMetricsSlow (test)", "ReadMemStatsSlow (test)",
      "PageCachePagesLeaked (test)", "ResetDebugLog (test)"};
  return kind < std::size(kKinds) ? kKinds[kind] : kKinds[0];
}

void AppendEventLine(const parser::Reader& reader, const parser::Event& ev, std::string* out) {
  const format::EventSpec& spec = format::Spec(ev.type);
  const std::string_view v2_name = reader.version() >= 1022 ? V2ReasonedName(ev.type) : "";
  AppendI(out, ev.ts);
  out->push_back(' ');
  out->append(v2_name.empty() ? spec.name : v2_name);
  out->append(" p=");
  AppendI(out, ev.p);
  out->append(" g=");
  AppendU(out, ev.g);
  out->append(" off=");
  AppendU(out, ev.offset);
  if (!v2_name.empty()) {
    out->append(" reason=");
    AppendQuoted(out, reader.String(ev.args[0]));
    out->push_back('\n');
    return;
  }
  for (int i = 0; i < format::kMaxArgs; ++i) {
    if (spec.args[i].empty()) break;
    out->push_back(' ');
    out->append(spec.args[i]);
    out->push_back('=');
    AppendU(out, ev.args[i]);
  }
  switch (ev.type) {
    case EventType::kGCSTWStart:
      out->append(" kind=");
      out->append(StwKind(reader.version(), ev.args[0]));
      break;
    case EventType::kGoStartLabel:
      out->append(" label=");
      out->append(reader.String(ev.args[2]));
      break;
    case EventType::kUserTaskCreate:
    case EventType::kUserRegion:
      out->append(" name=");
      out->append(reader.String(ev.args[2]));
      break;
    case EventType::kUserLog:
      out->append(" category=");
      out->append(reader.String(ev.args[1]));
      out->append(" message=");
      out->append(ev.message);
      break;
    default:
      break;
  }
  out->push_back('\n');
}

}  // namespace tracetool::analysis
