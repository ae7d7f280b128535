// CPU profiling by SIGPROF (setitimer ITIMER_PROF), as Go's runtime/pprof does: the kernel
// delivers the signal to a thread that is using CPU, whose handler records its stack (fiber or
// scheduler stack alike) into a fixed buffer allocated at start. One profile at a time.
#ifndef TRACETOOL_LIB_FIBER_DEBUG_CPU_PROFILE_H_
#define TRACETOOL_LIB_FIBER_DEBUG_CPU_PROFILE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "lib/fiber/profiling.h"

namespace tracetool::fiber::debug {

// Starts sampling at hz (1..1000). False with *error set if a profile is already running or the
// timer cannot be armed.
bool StartCpuProfile(int hz, std::string* error);
// Stops sampling and returns the stacks (count = samples). *lost counts samples dropped
// because the buffer was full.
std::vector<prof::StackRecord> StopCpuProfile(uint64_t* lost);

}  // namespace tracetool::fiber::debug

#endif  // TRACETOOL_LIB_FIBER_DEBUG_CPU_PROFILE_H_
