// The /debug/pprof profiles of a running lib/fiber program, as bytes: gzipped profile.proto
// through lib/pprof_export (what `go tool pprof` reads) or Go's debug=1 / debug=2 text.
// Names and sample types are Go's (runtime/pprof), so `go tool pprof` treats them the same.
#ifndef TRACETOOL_LIB_FIBER_DEBUG_PROFILES_H_
#define TRACETOOL_LIB_FIBER_DEBUG_PROFILES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "lib/fiber/profiling.h"

namespace tracetool::fiber::debug {

// goroutine: one sample per distinct stack, value = fibers with it.
// debug=1: Go's "goroutine profile: total N" grouping; debug=2: every fiber with state, wait
// reason, stack, creator and (GODEBUG=tracebackancestors) ancestors.
std::string GoroutineProfile();
std::string GoroutineText(int debug);

// heap / allocs: sampled NoteAlloc calls as Go's heap profile: alloc_objects, alloc_space,
// inuse_objects, inuse_space (in use = sampled allocations not yet freed through NoteFree with
// their address); `allocs` shows alloc_space by default, `heap` inuse_space (pprof's default, the
// last type). block / mutex: contentions and delay. threadcreate: Ms.
std::string HeapProfile(bool allocs = false);
std::string BlockProfilePprof();
std::string MutexProfilePprof();
std::string ThreadCreateProfile();
// Text form of a count/value profile for ?debug=1 (Go's legacy format, roughly).
std::string StackRecordsText(const std::string& header, const std::vector<prof::StackRecord>& rows);

// cpu: samples/count and cpu/nanoseconds, period 1e9/hz.
std::string CpuProfilePprof(const std::vector<prof::StackRecord>& rows, int hz);

}  // namespace tracetool::fiber::debug

#endif  // TRACETOOL_LIB_FIBER_DEBUG_PROFILES_H_
