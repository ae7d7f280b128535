// V2 reader: Go 1.22–1.26 execution traces ("go 1.22 trace", 1.23 (also Go 1.24), 1.25, 1.26),
// streamed generation by generation into the format-neutral model of lib/parser/event.h.
//
// Reader::Open (lib/parser/reader.cc) dispatches here on the header. Each generation is loaded
// whole (its strings and stacks come last), ordered and validated with Go's frontier algorithm
// and per-resource sequence numbers (../shared/spec/go-trace-v2-format.md §3), and its events are
// re-expressed as the v1 event types the analyses consume, with the same `from` links:
//
//   v2 event                          model events (Event::type)
//   GoCreate / GoCreateBlocked        GoCreate (+ GoWaiting)
//   GoStart                           GoStart, from = the event that made it runnable
//   GoBlock(reason)                   GoBlockSend/Recv/Select/Sync/Cond/Net, GoSleep, GoStop
//                                     ("forever"), else GoBlock; args[0] = reason string id
//   GoStop(reason)                    GoPreempt ("preempted"), else GoSched
//   GoSyscallBegin / End              GoSysCall / GoSysReturn (from = the GoSysCall)
//   ProcSteal of a syscalling P       GoSysBlock of its goroutine, ProcStop
//   GoSyscallEndBlocked               (GoSysBlock if not yet stolen), GoSysExit
//   GoStatus of a goroutine first     GoCreate, then GoStart (running) / GoWaiting (waiting) /
//     seen in the first generation    GoInSyscall (in a syscall), as Go 1.19 starts a trace
//   GoSwitch(Destroy)                 GoUnblock, GoBlock (GoEnd), GoStart
//   GC, STW, sweep, assist, heap,     GCStart/GCDone, GCSTWStart/Done, GCSweepStart/Done,
//   tasks, regions, logs, procs       GCMarkAssistStart/Done, HeapAlloc/Goal, UserTaskCreate/End,
//                                     UserRegion, UserLog, Gomaxprocs, ProcStart/ProcStop
//
// Not in the model (counted in V2Stats): GoLabel, experimental events and batches, CPU samples,
// re-statements of known resources at later generations' starts.
//
// String and stack ids are reader-global: each generation's ids are remapped to interned global
// ids, so ids handed out stay valid for the reader's lifetime while a generation's own tables are
// dropped when it ends. Memory: one generation's bytes plus the distinct strings and stacks.
#ifndef TRACETOOL_LIB_PARSER_V2_READER_V2_H_
#define TRACETOOL_LIB_PARSER_V2_READER_V2_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "lib/parser/reader.h"

namespace tracetool::parser::v2 {

// Informational counters beyond ParseStats.
struct V2Stats {
  uint64_t generations = 0;
  uint64_t experimental_batches = 0;  // skipped (opaque payloads)
  uint64_t experimental_events = 0;   // AllocFree events, validated for context then dropped
  uint64_t labels = 0;                // GoLabel events (no model type)
  uint64_t max_generation_bytes = 0;  // the largest generation held in memory
};

class V2Reader : public Reader {
 public:
  // Times (ns, after Go's strictly-increasing adjustment) of the Sync events Go's current reader
  // emits: one at each generation's start and one at the end (spec §3.9). Tests check them.
  virtual const std::vector<int64_t>& sync_times() const = 0;
  virtual const V2Stats& v2_stats() const = 0;
};

// Open() reads a trace whose 16-byte header named minor version `minor` (22, 23, 25 or 26).
Status Open(std::unique_ptr<Input> input, int minor, std::unique_ptr<Reader>* out);

}  // namespace tracetool::parser::v2

#endif  // TRACETOOL_LIB_PARSER_V2_READER_V2_H_
