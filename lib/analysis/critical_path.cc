#include "lib/analysis/critical_path.h"

#include <algorithm>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "lib/analysis/report.h"

namespace tracetool::analysis {

using parser::EventType;

namespace {

std::string_view EventName(EventType t) { return format::Spec(t).name; }

bool IsWake(const CriticalPath::Span& s, uint64_t g) {
  return s.state == GoState::kRunnable &&
         (s.reason == EventType::kGoUnblock || s.reason == EventType::kGoCreate) &&
         s.actor != 0 && s.actor != g;
}

}  // namespace

const char* GoStateName(GoState s) {
  switch (s) {
    case GoState::kRunning: return "running";
    case GoState::kRunnable: return "runnable";
    case GoState::kWaiting: return "waiting";
    case GoState::kSyscall: return "syscall";
  }
  return "?";
}

void CriticalPath::OnEvent(const parser::Event& ev) {
  if (ev.type == EventType::kGoCreate) {
    std::span<const parser::Frame> stk =
        reader_->Stack(static_cast<uint32_t>(std::min<uint64_t>(ev.args[1], UINT32_MAX)));
    if (!stk.empty()) fn_.Get(ev.args[0]) = stk[0].fn;
    if (ev.args[0] == target_ && !created_) {
      created_ = true;
      created_ts_ = ev.ts;
      creator_ = ev.g;
    }
  }
  GoStateMachine::OnEvent(ev, this);
}

void CriticalPath::OnInterval(const Interval& iv) {
  if (!created_ || iv.end_ts < created_ts_) return;
  if (ended_ && iv.begin_ts >= end_ts_) return;
  Span s{iv.state, iv.begin_type, iv.end_type, iv.begin_ts, iv.end_ts, iv.actor, iv.stack_id};
  std::vector<Span>& v = spans_[iv.g];
  // A blocking syscall's interval starts at GoSysCall, inside the run that GoSysBlock ends: the
  // time after the run is the syscall's. A syscall that did not block (Go 1.22+ traces report
  // those too) lies inside a run: the goroutine counts as running.
  if (s.state == GoState::kSyscall) {
    if (v.empty() || v.back().state != GoState::kRunning ||
        v.back().end_type != EventType::kGoSysBlock) {
      return;
    }
    s.begin_ts = std::max(s.begin_ts, v.back().end_ts);
  }
  v.push_back(s);
  if (iv.g == target_ && iv.state == GoState::kRunning && iv.end_type == EventType::kGoEnd) {
    ended_ = true;
    end_ts_ = iv.end_ts;
  }
}

int64_t CriticalPath::Locate(uint64_t g, int64_t t) const {
  auto it = spans_.find(g);
  if (it == spans_.end()) return -1;
  const std::vector<Span>& v = it->second;
  auto ub = std::upper_bound(v.begin(), v.end(), t,
                             [](int64_t ts, const Span& s) { return ts < s.begin_ts; });
  int64_t cand = -1;
  for (int64_t j = (ub - v.begin()) - 1, n = 0; j >= 0 && n < 8; --j, ++n) {
    if (v[j].end_ts < t) break;
    if (v[j].state == GoState::kRunning) return j;
    if (cand < 0) cand = j;
  }
  return cand;
}

void CriticalPath::Finish(int64_t last_ts) {
  size_t total = 0;
  for (auto& [g, v] : spans_) {
    std::stable_sort(v.begin(), v.end(),
                     [](const Span& a, const Span& b) { return a.begin_ts < b.begin_ts; });
    total += v.size();
  }
  auto it = spans_.find(target_);
  if (!created_) return;
  if (it == spans_.end()) {
    end_ts_ = last_ts;
    stopped_ = "the goroutine has no complete interval in the trace";
    return;
  }
  timeline_ = it->second;
  if (!ended_) end_ts_ = timeline_.back().end_ts;

  uint64_t g = target_;
  int64_t i = static_cast<int64_t>(timeline_.size()) - 1;
  int64_t t = timeline_.back().end_ts;
  for (size_t budget = total + 16; budget > 0; --budget) {
    const std::vector<Span>& v = spans_.at(g);
    const Span& s = v[static_cast<size_t>(i)];
    Segment seg{g, s, false};
    seg.span.end_ts = t;
    seg.span.begin_ts = std::max(s.begin_ts, created_ts_);
    if (s.begin_ts <= created_ts_) {  // back at the target's creation
      path_.push_back(seg);
      break;
    }
    if (IsWake(s, g)) {
      const int64_t j = Locate(s.actor, s.begin_ts);
      seg.jumped = j >= 0;
      path_.push_back(seg);
      if (j < 0) {
        stopped_ = "no record of " + Name(s.actor) + " at " + GoDuration(s.begin_ts);
        break;
      }
      g = s.actor;
      i = j;
      t = s.begin_ts;
      continue;
    }
    path_.push_back(seg);
    if (i == 0 || v[static_cast<size_t>(i) - 1].end_ts < s.begin_ts) {
      stopped_ = "no record of " + Name(g) + " before " + GoDuration(s.begin_ts);
      break;
    }
    t = s.begin_ts;
    --i;
  }
  std::reverse(path_.begin(), path_.end());
}

std::string CriticalPath::Name(uint64_t g) const {
  if (g == 0) return "G0 (no goroutine: the runtime, or before the trace)";
  std::string name = "G" + std::to_string(g);
  if (const uint32_t* fn = fn_.Find(g)) {
    name.push_back(' ');
    name.append(reader_->String(*fn));
  }
  return name;
}

std::string CriticalPath::StackTop(uint32_t stack_id) const {
  std::span<const parser::Frame> stk = reader_->Stack(stack_id);
  if (stk.empty()) return "";
  std::string s(reader_->String(stk[0].fn));
  std::string_view file = reader_->String(stk[0].file);
  if (!file.empty()) {
    s.push_back(' ');
    s.append(file.substr(file.rfind('/') == std::string_view::npos ? 0 : file.rfind('/') + 1));
    s.push_back(':');
    s.append(std::to_string(stk[0].line));
  }
  return s;
}

namespace {

// How a span began or ended, for a human.
std::string Detail(const CriticalPath& cp, uint64_t g, const CriticalPath::Span& s) {
  std::string d;
  switch (s.state) {
    case GoState::kRunning:
      return "until " + std::string(EventName(s.end_type));  // (the stack would be GoStart's)
    case GoState::kRunnable:
      if (s.reason == EventType::kGoCreate) {
        d = "created by " + cp.Name(s.actor);
      } else if (IsWake(s, g)) {
        d = "woken by " + cp.Name(s.actor);
      } else if (s.reason == EventType::kGoUnblock) {
        d = "woken by the runtime";
      } else {
        d = "after " + std::string(EventName(s.reason));
      }
      break;
    case GoState::kWaiting:
    case GoState::kSyscall:
      d = std::string(EventName(s.reason));
      break;
  }
  const std::string at = cp.StackTop(s.stack_id);
  if (!at.empty()) d += " at " + at;
  return d;
}

struct Totals {
  int64_t by_state[4] = {};
  int64_t total = 0;
};

std::map<uint64_t, Totals> ByGoroutine(const CriticalPath& cp) {
  std::map<uint64_t, Totals> m;
  for (const CriticalPath::Segment& s : cp.path()) {
    const int64_t d = s.span.end_ts - s.span.begin_ts;
    Totals& t = m[s.g];
    t.by_state[static_cast<int>(s.span.state)] += d;
    t.total += d;
  }
  return m;
}

void Row(std::string* out, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void Row(std::string* out, const char* fmt, ...) {
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  out->append(buf);
}

}  // namespace

std::string CriticalPathText(const CriticalPath& cp) {
  std::string out;
  const uint64_t g = cp.target();
  Row(&out, "%s: created at %s by %s; %s at %s (lifetime %s)\n", cp.Name(g).c_str(),
      GoDuration(cp.created_ts()).c_str(), cp.Name(cp.creator()).c_str(),
      cp.ended() ? "ended" : "still alive, last seen", GoDuration(cp.end_ts()).c_str(),
      GoDuration(cp.end_ts() - cp.created_ts()).c_str());
  Row(&out, "\nTimeline (%zu intervals; times since the trace's start):\n", cp.timeline().size());
  Row(&out, "  %14s %12s  %-9s %s\n", "START", "DURATION", "STATE", "HOW");
  for (const CriticalPath::Span& s : cp.timeline()) {
    Row(&out, "  %14s %12s  %-9s %s\n", GoDuration(s.begin_ts).c_str(),
        GoDuration(s.end_ts - s.begin_ts).c_str(), GoStateName(s.state),
        Detail(cp, g, s).c_str());
  }
  const int64_t len = cp.path().empty()
                          ? 0
                          : cp.path().back().span.end_ts - cp.path().front().span.begin_ts;
  Row(&out, "\nCritical path (%zu segments, %s; the chain that determined the end time):\n",
      cp.path().size(), GoDuration(len).c_str());
  Row(&out, "  %14s %12s  %-24s %-9s %s\n", "START", "DURATION", "GOROUTINE", "STATE", "HOW");
  for (const CriticalPath::Segment& s : cp.path()) {
    std::string how = Detail(cp, s.g, s.span);
    if (s.jumped) how += " (the path comes from G" + std::to_string(s.span.actor) + ")";
    Row(&out, "  %14s %12s  %-24s %-9s %s\n", GoDuration(s.span.begin_ts).c_str(),
        GoDuration(s.span.end_ts - s.span.begin_ts).c_str(), cp.Name(s.g).substr(0, 24).c_str(),
        GoStateName(s.span.state), how.c_str());
  }
  if (!cp.stopped().empty()) Row(&out, "  (the walk stopped: %s)\n", cp.stopped().c_str());
  Row(&out, "\nOn the critical path, by goroutine:\n");
  Row(&out, "  %-32s %12s %12s %12s %12s %12s\n", "GOROUTINE", "TOTAL", "RUNNING", "RUNNABLE",
      "WAITING", "SYSCALL");
  auto totals = ByGoroutine(cp);
  std::vector<std::pair<uint64_t, Totals>> rows(totals.begin(), totals.end());
  std::stable_sort(rows.begin(), rows.end(),
                   [](const auto& a, const auto& b) { return a.second.total > b.second.total; });
  for (const auto& [rg, t] : rows) {
    Row(&out, "  %-32s %12s %12s %12s %12s %12s\n", cp.Name(rg).substr(0, 32).c_str(),
        GoDuration(t.total).c_str(), GoDuration(t.by_state[0]).c_str(),
        GoDuration(t.by_state[1]).c_str(), GoDuration(t.by_state[2]).c_str(),
        GoDuration(t.by_state[3]).c_str());
  }
  return out;
}

std::string CriticalPathJson(const CriticalPath& cp) {
  using nlohmann::ordered_json;
  auto span_json = [&](ordered_json& j, uint64_t g, const CriticalPath::Span& s) {
    j["state"] = GoStateName(s.state);
    j["start_ns"] = s.begin_ts;
    j["end_ns"] = s.end_ts;
    j["begin_event"] = EventName(s.reason);
    j["end_event"] = EventName(s.end_type);
    j["woken_by"] = IsWake(s, g) ? ordered_json(s.actor) : ordered_json(nullptr);
    j["stack"] = cp.StackTop(s.stack_id);
  };
  ordered_json doc;
  doc["schema"] = "tracetool.critical_path.v1";
  doc["goroutine"] = cp.target();
  doc["name"] = cp.Name(cp.target());
  doc["created_ns"] = cp.created_ts();
  doc["creator"] = cp.creator();
  doc["ended"] = cp.ended();
  doc["end_ns"] = cp.end_ts();
  doc["timeline"] = ordered_json::array();
  for (const CriticalPath::Span& s : cp.timeline()) {
    ordered_json j;
    span_json(j, cp.target(), s);
    doc["timeline"].push_back(j);
  }
  doc["critical_path"] = ordered_json::array();
  for (const CriticalPath::Segment& s : cp.path()) {
    ordered_json j;
    j["goroutine"] = s.g;
    span_json(j, s.g, s.span);
    j["jumped"] = s.jumped;
    doc["critical_path"].push_back(j);
  }
  doc["stopped"] = cp.stopped();
  doc["by_goroutine"] = ordered_json::array();
  for (const auto& [g, t] : ByGoroutine(cp)) {
    ordered_json j;
    j["goroutine"] = g;
    j["name"] = cp.Name(g);
    j["total_ns"] = t.total;
    j["running_ns"] = t.by_state[0];
    j["runnable_ns"] = t.by_state[1];
    j["waiting_ns"] = t.by_state[2];
    j["syscall_ns"] = t.by_state[3];
    doc["by_goroutine"].push_back(j);
  }
  return doc.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace tracetool::analysis
