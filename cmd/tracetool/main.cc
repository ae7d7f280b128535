// tracetool: parse flags, run one verb, map the result to an exit code. Nothing else lives here.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "cmd/tracetool/commands.h"

namespace {

constexpr const char* kDescription =
    R"(tracetool: analyse Go execution traces (Go 1.5 – 1.26: every trace format Go has written), like `go tool trace`.

Examples:
  tracetool -pprof=sched trace.out > sched.prof    # scheduler latency profile; then: go tool pprof -top sched.prof
  tracetool -pprof=sync trace.out -o sync.prof     # also net, syscall
  tracetool -d trace.out | grep GoBlock            # dump every event, as go tool trace -d
  tracetool -goroutines trace.out                  # goroutine groups: execution, waits, GC (Go's goroutine pages)
  tracetool -goroutines=main.worker -json trace.out  # one group's goroutines, as JSON
  tracetool -tasks trace.out                       # user task types: count, latency percentiles
  tracetool -regions=fetch trace.out               # every "fetch" region with its time breakdown
  tracetool -mmu -mmu-window=10ms trace.out        # GC's minimum mutator utilization, worst 10ms windows
  tracetool -goroutine=17 trace.out                # one goroutine's timeline and critical path
  tracetool -export=perfetto trace.out -o t.pftrace  # open in ui.perfetto.dev
  tracetool -http=:8080 trace.out                  # web UI: timeline, goroutines, flame graphs, MMU
  zstd -c trace.out | tracetool -d -               # compressed input (zstd, gzip) and stdin work too

Flags take one or two dashes: -pprof=sched and --pprof=sched are the same.
Exit codes: 0 success, 1 bad trace (corrupt, truncated, unsupported), 2 usage or I/O error.)";

// Go's flag package spells long flags with one dash (-pprof=sched); CLI11 wants two. Rewrite
// "-name[=v]" to "--name[=v]" for every multi-letter flag, before a "--" separator.
std::vector<std::string> GoStyleArgs(int argc, char** argv) {
  std::vector<std::string> out;
  bool rest = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (rest) {
      out.push_back(a);
      continue;
    }
    if (a == "--") rest = true;
    // The analysis flags take a value only with '=' (a bare one means "all"), so that
    // "tracetool -goroutines trace.out" keeps trace.out as the trace.
    bool bare = false;
    for (const char* f : {"goroutines", "tasks", "regions", "logs", "mmu"}) {
      if (a == std::string("-") + f || a == std::string("--") + f) {
        out.push_back(std::string("--") + f + "=*");
        bare = true;
      }
    }
    if (bare) continue;
    if (a.size() > 2 && a[0] == '-' && a[1] != '-') {
      size_t name_end = a.find('=');
      if (name_end == std::string::npos) name_end = a.size();
      if (name_end > 2) a.insert(0, "-");
    }
    out.push_back(a);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);  // a closed pipe becomes EPIPE, which exits quietly
  tracetool::cli::Options opts;
  std::vector<std::string> files;
  CLI::App app(kDescription, "tracetool");
  app.set_help_flag("-h,--help", "Print this help and exit");
  app.get_formatter()->column_width(28);
  app.add_option("--pprof", opts.pprof,
                 "Write a pprof profile (gzipped profile.proto) of TYPE: net (network blocking), "
                 "sync (synchronization blocking), syscall (blocking syscalls), sched (scheduler "
                 "latency after wakeups, as Go), schedlat (every runnable interval, also after "
                 "yields and preemptions)")
      ->type_name("TYPE");
  app.add_flag("-d", opts.dump, "Print every event of the trace, one per line, as go tool trace -d");
  app.add_option("--threads", opts.threads,
                 "Threads for reading the trace: 1 (default), or 2 to merge the per-P batches on "
                 "a second core (same output; slower on SMT siblings, see README)")
      ->type_name("N")
      ->check(CLI::Range(0, 2));
  app.add_option("--http", opts.http,
                 "Serve the web UI at ADDR (:8080 = 127.0.0.1:8080; other hosts must be named)")
      ->type_name("ADDR");
  std::optional<std::string> goroutines;
  app.add_option("--goroutines", goroutines,
                 "Goroutine analysis: groups by start function (bare flag), or the goroutines of "
                 "one group (=FUNC or =0xPC)")
      ->type_name("[=GROUP]");
  std::optional<std::string> tasks, regions, logs;
  app.add_option("--tasks", tasks,
                 "User tasks: types with counts and duration percentiles (bare flag), or the tasks "
                 "of one type (=TYPE; =all for every task) with their logs and regions")
      ->type_name("[=TYPE]");
  app.add_option("--regions", regions,
                 "User regions: types by start location with duration percentiles (bare flag), or "
                 "the instances of one type (=TYPE; =all) with their execution statistics")
      ->type_name("[=TYPE]");
  app.add_option("--logs", logs, "User logs in time order; =TEXT keeps those containing TEXT")
      ->type_name("[=TEXT]");
  std::optional<std::string> mmu;
  app.add_option("--mmu", mmu,
                 "Minimum mutator utilization curve; =FLAGS picks what counts as GC: perProc, stw, "
                 "background, assist, sweep joined by | or , (default stw|background|assist)")
      ->type_name("[=FLAGS]");
  app.add_option("--mmu-window", opts.mmu_windows,
                 "With -mmu: also list the 10 worst windows of each DURATION (e.g. 10ms,100ms)")
      ->type_name("DUR[,DUR]");
  std::optional<uint64_t> goroutine_id;
  app.add_option("--goroutine", goroutine_id,
                 "One goroutine's timeline (running/runnable/waiting with reasons and wakers) and "
                 "its critical path: the chain of goroutines and events that set its end time")
      ->type_name("ID");
  app.add_flag("--schedlat", opts.schedlat,
               "Scheduler latency distribution (p50/p90/p99/max) overall and per goroutine group");
  app.add_option("--export", opts.export_format,
                 "Write the whole trace for another viewer: chrome (Chrome trace-event JSON, as go "
                 "tool trace's viewer reads it; opens in ui.perfetto.dev and chrome://tracing), "
                 "perfetto (native Perfetto protobuf trace: tracks per P, thread and goroutine)")
      ->type_name("FORMAT");
  app.add_flag("--json", opts.json, "Analyses print JSON (documented schema) instead of tables");
  app.add_option("--sort", opts.sort,
                 "Sort analysis tables by total, exec, sched, io, block, syscall, sweep, gc, "
                 "count or id")
      ->type_name("COLUMN");
  app.add_flag("--debug", opts.debug, "Print parser statistics to stderr");
  app.add_option("-o,--output", opts.output, "Write the result to FILE instead of standard output")
      ->type_name("FILE");
  app.add_option("files", files,
                 "[binary] trace.out: the trace (- or none: standard input). A leading binary "
                 "argument is accepted for go tool trace compatibility and ignored")
      ->expected(0, 2);
  std::vector<std::string> args = GoStyleArgs(argc, argv);
  std::reverse(args.begin(), args.end());  // CLI11 parses a reversed vector
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fprintf(stderr, "tracetool: %s\nRun 'tracetool -h' for usage.\n", e.what());
    return tracetool::cli::kExitUsage;
  }
  if (!files.empty()) opts.trace = files.back();
  auto take = [](const std::optional<std::string>& v, bool* on, std::string* value) {
    if (!v) return;
    *on = true;
    *value = *v == "*" ? "" : *v;
  };
  take(goroutines, &opts.goroutines, &opts.group);
  take(tasks, &opts.tasks, &opts.task_type);
  take(regions, &opts.regions, &opts.region_type);
  take(logs, &opts.logs, &opts.log_text);
  take(mmu, &opts.mmu, &opts.mmu_flags);
  if (goroutine_id) {
    opts.goroutine = true;
    opts.goroutine_id = *goroutine_id;
  }
  return tracetool::cli::Run(opts);
}
