#include "cmd/tracetool/commands.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <vector>

#include "cmd/tracetool/output.h"
#include "lib/analysis/annotations.h"
#include "lib/analysis/blocking_profile.h"
#include "lib/analysis/go_state_machine.h"
#include "lib/analysis/goroutine_stats.h"
#include "lib/analysis/mmu.h"
#include "lib/analysis/report.h"
#include "lib/analysis/chrome_export.h"
#include "lib/analysis/critical_path.h"
#include "lib/analysis/perfetto_export.h"
#include "lib/analysis/text_dump.h"
#include "lib/parser/input.h"
#include "lib/parser/reader.h"
#include "lib/pprof_export/profile_builder.h"

namespace tracetool::cli {
namespace {

int Fail(const std::string& name, const Status& st) {
  fprintf(stderr, "tracetool: %s: %s\n", name.c_str(), st.message().c_str());
  return st.tag() == ErrorTag::kIo ? kExitUsage : kExitBadTrace;
}

int OutputFailure(const Output& out) {
  if (out.broken_pipe()) return kExitOk;  // `tracetool -d trace | head`: quiet success
  fprintf(stderr, "tracetool: %s\n", out.error().c_str());
  return kExitUsage;
}

void PrintStats(const parser::Reader& r) {
  const parser::ParseStats& s = r.stats();
  fprintf(stderr,
          "tracetool: trace version %d: %" PRIu64 " bytes, %" PRIu64 " batches, %" PRIu64
          " events, %" PRIu64 " strings, %" PRIu64 " stacks (%" PRIu64 " redefined), %" PRIu64
          " CPU samples, %" PRIu64 " futile wake-up events removed\n",
          r.version(), s.bytes, s.batches, s.events, s.strings, s.stacks, s.stack_redefined,
          s.cpu_samples, s.futile_removed);
}

}  // namespace

// The adapter from analysis records to pprof samples (spec §6.3): one sample per stack id,
// values (contentions, delay ns), frames resolved to function/file/line.
std::string BuildPprof(const parser::Reader& r, const analysis::BlockingProfile& prof) {
  pprof_export::ProfileBuilder b({{"contentions", "count"}, {"delay", "nanoseconds"}},
                                 {"trace", "count"});
  std::vector<pprof_export::Frame> frames;
  std::vector<std::string> names;  // backing store for synthesized names (reserved: no moves)
  for (const auto& [stack_id, rec] : prof.records()) {
    std::span<const parser::Frame> stk = r.Stack(stack_id);
    if (stk.empty()) continue;  // Go skips events whose stack is unknown
    frames.clear();
    names.clear();
    names.reserve(stk.size());
    for (const parser::Frame& f : stk) {
      std::string_view fn = r.String(f.fn);
      if (fn.empty()) {
        // Go 1.5 traces hold bare PCs (Go symbolizes them with the binary): name the frame by
        // its address rather than leave it blank in pprof's output.
        char buf[24];
        snprintf(buf, sizeof(buf), "0x%" PRIx64, f.pc);
        names.emplace_back(buf);
        fn = names.back();
      }
      frames.push_back({f.pc, fn, r.String(f.file), static_cast<int64_t>(f.line)});
    }
    const int64_t values[2] = {static_cast<int64_t>(rec.count), rec.delay_ns};
    b.AddSample(frames, values);
  }
  return b.Build();
}

int Run(const Options& opts) {
  if (!opts.http.empty()) return ServeHttp(opts);
  const int verbs = (opts.pprof.empty() ? 0 : 1) + (opts.dump ? 1 : 0) + (opts.goroutines ? 1 : 0) +
                    (opts.tasks ? 1 : 0) + (opts.regions ? 1 : 0) + (opts.logs ? 1 : 0) +
                    (opts.mmu ? 1 : 0) + (opts.schedlat ? 1 : 0) +
                    (opts.export_format.empty() ? 0 : 1) + (opts.goroutine ? 1 : 0);
  if (verbs > 1) {
    fprintf(stderr,
            "tracetool: give one of -d, -pprof=MODE, -goroutines, -tasks, -regions, -logs, -mmu, "
            "-schedlat, -export, -goroutine=ID at a time\n");
    return kExitUsage;
  }
  if (!opts.export_format.empty() && opts.export_format != "chrome" &&
      opts.export_format != "perfetto") {
    fprintf(stderr, "tracetool: unknown -export format %s (want chrome or perfetto)\n",
            opts.export_format.c_str());
    return kExitUsage;
  }
  // -mmu: Go's UI default is the system view, stw|background|assist.
  uint32_t util_flags = analysis::UtilFlags::kSTW | analysis::UtilFlags::kBackground |
                        analysis::UtilFlags::kAssist;
  std::vector<int64_t> mmu_windows;
  if (opts.mmu) {
    if (!opts.mmu_flags.empty()) {
      std::string bad;
      auto f = analysis::ParseUtilFlags(opts.mmu_flags, &bad);
      if (!f) {
        fprintf(stderr,
                "tracetool: -mmu: unknown flag %s (want perProc, stw, background, assist, sweep, "
                "joined by | or ,)\n",
                bad.c_str());
        return kExitUsage;
      }
      util_flags = *f;
    }
    std::string_view ws = opts.mmu_windows;
    while (!ws.empty()) {
      size_t comma = ws.find(',');
      std::string_view w = ws.substr(0, comma);
      auto d = analysis::ParseGoDuration(w);
      if (!d) {
        fprintf(stderr, "tracetool: -mmu-window: bad duration %.*s (e.g. 10ms, 500us, 1s)\n",
                static_cast<int>(w.size()), w.data());
        return kExitUsage;
      }
      mmu_windows.push_back(*d);
      ws = comma == std::string_view::npos ? std::string_view() : ws.substr(comma + 1);
    }
  } else if (!opts.mmu_windows.empty()) {
    fprintf(stderr, "tracetool: -mmu-window needs -mmu\n");
    return kExitUsage;
  }
  const bool annotations = opts.tasks || opts.regions || opts.logs;
  analysis::Column sort_by = opts.group.empty() ? analysis::Column::kExec : analysis::Column::kTotal;
  if (!opts.sort.empty()) {
    auto c = analysis::ParseColumn(opts.sort);
    if (!c) {
      fprintf(stderr,
              "tracetool: unknown -sort column %s (want total, exec, sched, io, block, syscall, "
              "sweep, gc, count or id)\n",
              opts.sort.c_str());
      return kExitUsage;
    }
    sort_by = *c;
  }
  std::optional<analysis::ProfileMode> mode;
  if (!opts.pprof.empty()) {
    mode = analysis::ParseProfileMode(opts.pprof);
    if (!mode) {
      fprintf(stderr,
              "tracetool: unknown pprof type %s (want net, sync, syscall, sched or schedlat)\n",
              opts.pprof.c_str());
      return kExitUsage;
    }
  } else if (!opts.dump && !opts.goroutines && !annotations && !opts.mmu && !opts.schedlat &&
             opts.export_format.empty() && !opts.goroutine) {
    fprintf(stderr,
            "tracetool: nothing to do: give -d to dump events, -pprof=net|sync|syscall|sched or "
            "-goroutines (see tracetool -h)\n");
    return kExitUsage;
  }

  const std::string name = opts.trace == "-" ? "<stdin>" : opts.trace;
  std::unique_ptr<parser::Input> input;
  Status st = parser::Input::Open(opts.trace, &input);
  if (!st.ok()) return Fail(name, st);
  std::unique_ptr<parser::Reader> reader;
  st = parser::Reader::Open(std::move(input), &reader, parser::ReaderOptions{opts.threads});
  if (!st.ok()) return Fail(name, st);

  Output out;
  std::string err;
  if (!out.Open(opts.output, &err)) {
    fprintf(stderr, "tracetool: %s\n", err.c_str());
    return kExitUsage;
  }

  analysis::BlockingProfile profile(mode.value_or(analysis::ProfileMode::kSched));
  std::unique_ptr<analysis::GoroutineStats> gstats;
  std::unique_ptr<analysis::Annotations> ann;
  if (opts.goroutines || annotations) {
    // Keep what the page prints: the annotation pages need the regions only, the groups page
    // the sums per group, one group's goroutines their summaries (regions only in JSON).
    using Keep = analysis::GoroutineStats::Keep;
    const Keep keep = annotations          ? Keep::kRegions
                      : opts.group.empty() ? Keep::kGroups
                      : opts.json          ? Keep::kAll
                                           : Keep::kSummaries;
    gstats = std::make_unique<analysis::GoroutineStats>(reader.get(), keep);
  }
  if (annotations) ann = std::make_unique<analysis::Annotations>(reader.get());
  int64_t last_ts = 0;
  std::unique_ptr<analysis::MutatorUtilization> mu;
  if (opts.mmu) mu = std::make_unique<analysis::MutatorUtilization>(util_flags);
  std::unique_ptr<analysis::SchedLatency> schedlat;
  if (opts.schedlat) schedlat = std::make_unique<analysis::SchedLatency>(reader.get());
  std::unique_ptr<analysis::ChromeTraceWriter> chrome;
  std::unique_ptr<analysis::PerfettoTraceWriter> perfetto;
  if (opts.export_format == "chrome") {
    chrome = std::make_unique<analysis::ChromeTraceWriter>(reader.get());
    chrome->Begin(&out.buffer());
  } else if (opts.export_format == "perfetto") {
    perfetto = std::make_unique<analysis::PerfettoTraceWriter>(reader.get());
    perfetto->Begin(&out.buffer());
  }
  std::unique_ptr<analysis::CriticalPath> cpath;
  if (opts.goroutine) {
    cpath = std::make_unique<analysis::CriticalPath>(reader.get(), opts.goroutine_id);
  }
  parser::Event ev;
  while (true) {
    bool done = false;
    st = reader->Next(&ev, &done);
    if (!st.ok()) {
      // Whatever -d printed so far stays printed; the error says where the trace broke.
      if (opts.dump) out.Flush();
      return Fail(name, st);
    }
    if (done) break;
    if (mode) {
      analysis::GoStateMachine::OnEvent(ev, &profile);
    } else if (schedlat) {
      schedlat->OnEvent(ev);
    } else if (cpath) {
      cpath->OnEvent(ev);
      last_ts = ev.ts;
    } else if (chrome) {
      st = chrome->OnEvent(ev, &out.buffer());
      if (!st.ok()) return Fail(name, st);
      if (!out.FlushIfLarge()) return OutputFailure(out);
      last_ts = ev.ts;
    } else if (perfetto) {
      st = perfetto->OnEvent(ev, &out.buffer());
      if (!st.ok()) return Fail(name, st);
      if (!out.FlushIfLarge()) return OutputFailure(out);
      last_ts = ev.ts;
    } else if (mu) {
      st = mu->OnEvent(ev, *reader);
      if (!st.ok()) return Fail(name, st);
      last_ts = ev.ts;
    } else if (gstats) {
      gstats->OnEvent(ev);
      if (ann) ann->OnEvent(ev);
      last_ts = ev.ts;
    } else {
      analysis::AppendEventLine(*reader, ev, &out.buffer());
      if (!out.FlushIfLarge()) return OutputFailure(out);
    }
  }
  if (mode) out.Write(BuildPprof(*reader, profile));
  if (chrome) chrome->Finish(last_ts, &out.buffer());
  if (perfetto) perfetto->Finish(last_ts, &out.buffer());
  if (cpath) {
    cpath->Finish(last_ts);
    if (!cpath->found()) {
      fprintf(stderr, "tracetool: %s: no goroutine %" PRIu64 " is created in the trace\n",
              name.c_str(), opts.goroutine_id);
      return kExitUsage;
    }
    out.Write(opts.json ? analysis::CriticalPathJson(*cpath) : analysis::CriticalPathText(*cpath));
  }
  if (schedlat) {
    out.Write(opts.json ? analysis::SchedLatencyJson(*schedlat)
                        : analysis::SchedLatencyText(*schedlat));
  }
  if (mu) {
    mu->Finish(last_ts);
    analysis::MMUCurve curve(mu->series());
    out.Write(opts.json ? analysis::MMUJson(curve, util_flags, mmu_windows)
                        : analysis::MMUText(curve, util_flags, mmu_windows));
  }
  if (ann) {
    gstats->Finish();
    ann->Finish(*gstats, last_ts);
    using namespace analysis;
    if (opts.tasks) {
      out.Write(opts.task_type.empty()
                    ? (opts.json ? TaskTypesJson(*ann) : TaskTypesText(*ann))
                    : (opts.json ? TasksJson(*ann, opts.task_type) : TasksText(*ann, opts.task_type)));
    } else if (opts.regions) {
      out.Write(opts.region_type.empty()
                    ? (opts.json ? RegionTypesJson(*ann) : RegionTypesText(*ann))
                    : (opts.json ? RegionsJson(*ann, opts.region_type)
                                 : RegionsText(*ann, opts.region_type, sort_by)));
    } else {
      out.Write(opts.json ? LogsJson(*ann, opts.log_text) : LogsText(*ann, opts.log_text));
    }
  } else if (gstats) {
    gstats->Finish();
    if (opts.group.empty()) {
      // GroupGoroutines' result from the sums: by PC, then by execution time, largest first.
      std::vector<analysis::GoroutineGroup> groups;
      for (const analysis::GoroutineGroupSums& s : gstats->groups()) {
        groups.push_back({s.pc, std::string(s.name), s.count, s.stats});
      }
      std::stable_sort(groups.begin(), groups.end(), [](const auto& a, const auto& b) {
        return a.stats.exec_ns > b.stats.exec_ns;
      });
      out.Write(opts.json ? analysis::GroupsJson(groups) : analysis::GroupsText(groups, sort_by));
    } else {
      // "all": every goroutine, whatever its group.
      auto gs = analysis::SelectGroup(gstats->goroutines(), opts.group == "all" ? "" : opts.group);
      if (gs.empty()) {
        fprintf(stderr, "tracetool: %s: no goroutine group %s (see tracetool -goroutines %s)\n",
                name.c_str(), opts.group.c_str(), name.c_str());
        return kExitUsage;
      }
      out.Write(opts.json ? analysis::GoroutinesJson(gs) : analysis::GoroutinesText(gs, sort_by));
    }
  }
  if (!out.Commit()) return OutputFailure(out);
  if (opts.debug) PrintStats(*reader);
  return kExitOk;
}

}  // namespace tracetool::cli
