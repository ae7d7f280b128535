// The verbs of the tracetool command: each reads one trace and writes one result.
#ifndef TRACETOOL_CMD_TRACETOOL_COMMANDS_H_
#define TRACETOOL_CMD_TRACETOOL_COMMANDS_H_

#include <string>

#include "lib/analysis/blocking_profile.h"
#include "lib/parser/reader.h"

namespace tracetool::cli {

// Exit codes (STYLE.md P15).
inline constexpr int kExitOk = 0;
inline constexpr int kExitBadTrace = 1;  // corrupt, truncated, unsupported
inline constexpr int kExitUsage = 2;     // usage or I/O error

struct Options {
  std::string trace = "-";  // path, "-" = standard input
  std::string pprof;        // net | sync | syscall | sched
  bool dump = false;        // -d
  std::string http;         // -http=addr
  bool debug = false;
  std::string output;       // -o FILE
  bool goroutines = false;  // -goroutines[=GROUP]
  std::string group;        // the GROUP of -goroutines=GROUP ("" = all groups)
  bool tasks = false;       // -tasks[=TYPE]
  std::string task_type;
  bool regions = false;     // -regions[=TYPE]
  std::string region_type;
  bool logs = false;        // -logs[=TEXT]
  std::string log_text;
  bool mmu = false;         // -mmu[=FLAGS]
  std::string mmu_flags;
  std::string mmu_windows;  // -mmu-window=DUR[,DUR...]
  bool schedlat = false;    // -schedlat
  bool json = false;        // -json: analyses print JSON instead of text tables
  std::string sort;         // -sort=COLUMN for analysis tables
  std::string export_format;  // -export=chrome|perfetto
  bool goroutine = false;     // -goroutine=ID: one goroutine's timeline and critical path
  uint64_t goroutine_id = 0;
  int threads = 0;          // -threads=N for the reader (0: automatic; parser::ReaderOptions)
};

// Run() executes the verb the options select and returns the process exit code. Errors go to
// stderr as one line: "tracetool: <file>: <message>".
int Run(const Options& opts);

// ServeHttp() runs the web UI for opts.trace at opts.http until interrupted (http_server.cc).
int ServeHttp(const Options& opts);

// BuildPprof() is the adapter from analysis records to pprof samples (spec §6.3): one sample per
// stack id, values (contentions, delay ns), frames resolved to function/file/line; gzipped.
std::string BuildPprof(const parser::Reader& r, const analysis::BlockingProfile& prof);

}  // namespace tracetool::cli

#endif  // TRACETOOL_CMD_TRACETOOL_COMMANDS_H_
