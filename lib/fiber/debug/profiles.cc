#include "lib/fiber/debug/profiles.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <deque>
#include <map>
#include <string_view>

#include "lib/fiber/debug/symbolize.h"
#include "lib/fiber/fiber.h"
#include "lib/pprof_export/profile_builder.h"

namespace tracetool::fiber::debug {
namespace {

using pprof_export::Frame;
using pprof_export::ProfileBuilder;

// Adds rows to b, symbolizing each pc once. values_of maps a row to its sample values.
template <typename F>
std::string Build(ProfileBuilder* b, const std::vector<prof::StackRecord>& rows, F values_of) {
  Symbolizer sym;
  std::vector<Frame> frames;
  for (const prof::StackRecord& r : rows) {
    frames.clear();
    for (uintptr_t pc : r.pcs) {
      const Symbol& s = sym.Lookup(pc);
      frames.push_back({pc, s.function, s.file, s.line});
    }
    if (frames.empty()) frames.push_back({1, "(no stack)", "", 0});
    const std::vector<int64_t> v = values_of(r);
    b->AddSample(frames, v);
  }
  return b->Build();
}

void AppendFrameText(std::string* out, Symbolizer* sym, uintptr_t pc) {
  const Symbol& s = sym->Lookup(pc);
  char line[64];
  out->append(s.function);
  out->append("\n\t");
  out->append(s.file.empty() ? "?" : s.file);
  snprintf(line, sizeof(line), ":%" PRId64 " +0x%" PRIx64 "\n", s.line, s.offset);
  out->append(line);
}

std::string StateOf(const prof::FiberRecord& f) {
  if (f.status == GStatus::kWaiting) return std::string(WaitReasonString(f.wait_reason));
  return std::string(GStatusName(f.status));
}

}  // namespace

std::string GoroutineProfile() {
  std::vector<prof::FiberRecord> fibers = prof::Fibers();
  std::map<std::vector<uintptr_t>, int64_t> by_stack;
  for (const auto& f : fibers) by_stack[f.pcs]++;
  std::vector<prof::StackRecord> rows;
  for (auto& [pcs, n] : by_stack) rows.push_back({pcs, n, 0});
  ProfileBuilder b({{"goroutine", "count"}}, {"goroutine", "count"}, 1);
  return Build(&b, rows, [](const prof::StackRecord& r) { return std::vector<int64_t>{r.count}; });
}

std::string GoroutineText(int debug) {
  std::vector<prof::FiberRecord> fibers = prof::Fibers();
  Symbolizer sym;
  std::string out;
  char line[160];
  if (debug == 1) {
    std::map<std::vector<uintptr_t>, int64_t> by_stack;
    for (const auto& f : fibers) by_stack[f.pcs]++;
    std::vector<std::pair<int64_t, std::vector<uintptr_t>>> rows;
    for (auto& [pcs, n] : by_stack) rows.push_back({n, pcs});
    std::stable_sort(rows.begin(), rows.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    snprintf(line, sizeof(line), "goroutine profile: total %zu\n", fibers.size());
    out += line;
    for (const auto& [n, pcs] : rows) {
      snprintf(line, sizeof(line), "%" PRId64 " @", n);
      out += line;
      for (uintptr_t pc : pcs) {
        snprintf(line, sizeof(line), " %#" PRIxPTR, pc);
        out += line;
      }
      out += "\n";
      for (uintptr_t pc : pcs) {
        const Symbol& s = sym.Lookup(pc);
        snprintf(line, sizeof(line), "#\t%#" PRIxPTR "\t", pc);
        out += line;
        out += s.function;
        snprintf(line, sizeof(line), "+%#" PRIx64 "\t", s.offset);
        out += line;
        out += s.file;
        snprintf(line, sizeof(line), ":%" PRId64 "\n", s.line);
        out += line;
      }
      out += "\n";
    }
    return out;
  }
  // debug=2: Go's traceback format, one block per fiber.
  for (const auto& f : fibers) {
    snprintf(line, sizeof(line), "goroutine %" PRIu64 " [", f.goid);
    out += line;
    out += StateOf(f);
    out += "]:\n";
    if (f.pcs.empty()) out += "\t(stack not available while it runs on another thread)\n";
    for (uintptr_t pc : f.pcs) AppendFrameText(&out, &sym, pc);
    if (f.created_by != 0) {
      out += "created by ";
      AppendFrameText(&out, &sym, f.created_by);
    }
    for (const auto& [goid, pcs] : f.ancestors) {
      snprintf(line, sizeof(line), "[originating from goroutine %" PRIu64 "]:\n", goid);
      out += line;
      for (uintptr_t pc : pcs) AppendFrameText(&out, &sym, pc);
    }
    out += "\n";
  }
  return out;
}

std::string HeapProfile(bool allocs) {
  ProfileBuilder b({{"alloc_objects", "count"},
                    {"alloc_space", "bytes"},
                    {"inuse_objects", "count"},
                    {"inuse_space", "bytes"}},
                   {"space", "bytes"}, std::max<int64_t>(1, prof::MemProfileRate()));
  if (allocs) b.SetDefaultSampleType("alloc_space");
  return Build(&b, prof::MemProfile(), [](const prof::StackRecord& r) {
    return std::vector<int64_t>{r.count, r.value, r.count - r.free_count, r.value - r.free_value};
  });
}

std::string BlockProfilePprof() {
  ProfileBuilder b({{"contentions", "count"}, {"delay", "nanoseconds"}}, {"contentions", "count"},
                   1);
  return Build(&b, prof::BlockProfile(), [](const prof::StackRecord& r) {
    return std::vector<int64_t>{r.count, r.value};
  });
}

std::string MutexProfilePprof() {
  ProfileBuilder b({{"contentions", "count"}, {"delay", "nanoseconds"}}, {"contentions", "count"},
                   std::max(1, prof::SetMutexProfileFraction(-1)));
  return Build(&b, prof::MutexProfile(), [](const prof::StackRecord& r) {
    return std::vector<int64_t>{r.count, r.value};
  });
}

std::string ThreadCreateProfile() {
  ProfileBuilder b({{"threadcreate", "count"}}, {"threadcreate", "count"}, 1);
  return Build(&b, prof::ThreadCreateProfile(),
               [](const prof::StackRecord& r) { return std::vector<int64_t>{r.count}; });
}

std::string StackRecordsText(const std::string& header,
                             const std::vector<prof::StackRecord>& rows) {
  Symbolizer sym;
  std::string out = header + "\n";
  char line[160];
  for (const auto& r : rows) {
    snprintf(line, sizeof(line), "%" PRId64 " %" PRId64 " @", r.count, r.value);
    out += line;
    for (uintptr_t pc : r.pcs) {
      snprintf(line, sizeof(line), " %#" PRIxPTR, pc);
      out += line;
    }
    out += "\n";
    for (uintptr_t pc : r.pcs) {
      const Symbol& s = sym.Lookup(pc);
      snprintf(line, sizeof(line), "#\t%#" PRIxPTR "\t", pc);
      out += line;
      out += s.function + "\t" + s.file;
      snprintf(line, sizeof(line), ":%" PRId64 "\n", s.line);
      out += line;
    }
    out += "\n";
  }
  return out;
}

std::string CpuProfilePprof(const std::vector<prof::StackRecord>& rows, int hz) {
  const int64_t period = 1'000'000'000 / std::max(1, hz);
  ProfileBuilder b({{"samples", "count"}, {"cpu", "nanoseconds"}}, {"cpu", "nanoseconds"}, period);
  return Build(&b, rows, [period](const prof::StackRecord& r) {
    return std::vector<int64_t>{r.count, r.count * period};
  });
}

}  // namespace tracetool::fiber::debug
