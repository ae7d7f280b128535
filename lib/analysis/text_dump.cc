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
  AppendI(out, ev.ts);
  out->push_back(' ');
  out->append(spec.name);
  out->append(" p=");
  AppendI(out, ev.p);
  out->append(" g=");
  AppendU(out, ev.g);
  out->append(" off=");
  AppendU(out, ev.offset);
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
