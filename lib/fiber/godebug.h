// GODEBUG for lib/fiber: Go's runtime debugging switches, read once from the GODEBUG environment
// variable when Run() starts, with Go's names and (where Go has one) Go's output format.
//
//   GODEBUG=schedtrace=1000,scheddetail=1 ./fiberload
//
// Keys (value: integer; booleans are 0/1):
//   schedtrace=N          a SCHED line to stderr every N ms (Go's format, see README.md)
//   scheddetail=1         with schedtrace: Go's detailed SCHED line plus per-P, per-M, per-G lines
//   gctrace=1             one "gc N @Ts P%: ..." line per cycle of the GC hooks (gc.h)
//   gcpacertrace=1        one "pacer: ..." line per cycle: heap goal, trigger, marked, GOGC
//   gccheckmark=1         run Collector::CheckMark() at mark termination; a failure is fatal
//   allocfreetrace=1      every NoteAlloc/NoteFree with its fiber and stack (very slow, as in Go)
//   inittrace=1           one "init NAME @..." line per RegisterInit() initializer
//   tracebackancestors=N  fiber dumps show up to N creation-ancestor stacks
//   madvdontneed=1|0      dead fibers' stacks are returned to the OS with MADV_DONTNEED (1) or
//                         MADV_FREE (0); unset: stacks keep their pages for reuse (the default)
// Unknown keys are ignored, as Go does; a malformed value prints one warning line per key and
// process and leaves the switch off.
#ifndef TRACETOOL_LIB_FIBER_GODEBUG_H_
#define TRACETOOL_LIB_FIBER_GODEBUG_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace tracetool::fiber {

struct GoDebug {
  int64_t schedtrace = 0;       // ms between SCHED lines; 0: off.
  int64_t scheddetail = 0;
  int64_t gctrace = 0;
  int64_t gcpacertrace = 0;
  int64_t gccheckmark = 0;
  int64_t allocfreetrace = 0;
  int64_t inittrace = 0;
  int64_t tracebackancestors = 0;
  int64_t madvdontneed = -1;    // -1: unset.
};

// ParseGoDebug() parses "key=value,key=value". Unknown keys and empty items are ignored; for a
// known key with a value that is not a (non-negative, in range) integer it appends a one-line
// message naming key and value to *warnings (if non-null) and keeps the default.
GoDebug ParseGoDebug(std::string_view s, std::vector<std::string>* warnings);

// The switches as read at the start of the current (or last) Run().
const GoDebug& CurrentGoDebug();

// RegisterInit() adds an initializer that Run() runs in the main fiber before main, in
// registration order (Go's package init). With GODEBUG=inittrace=1 each prints Go's line:
//   init NAME @0.011 ms, 0.005 ms clock, 1024 bytes, 2 allocs
// (bytes and allocs counted by NoteAlloc during the call). Call before Run(); initializers run
// in every later Run().
void RegisterInit(std::string name, std::function<void()> fn);

}  // namespace tracetool::fiber

#endif  // TRACETOOL_LIB_FIBER_GODEBUG_H_
