// Profiling records kept by the runtime itself, for lib/fiber/debug (the /debug/pprof server)
// and for programs that want them without HTTP. Stacks are raw return addresses, leaf first;
// lib/fiber/debug/symbolize.h turns them into names.
//
// Rates follow Go's runtime: SetBlockProfileRate(ns) records a blocking event of d ns with
// probability min(1, d/ns) (1 records every event, <= 0 turns recording off);
// SetMutexProfileFraction(n) records 1/n of contended Mutex/RWMutex unlocks (0 off);
// SetMemProfileRate(bytes) samples on average one allocation per `bytes` noted by NoteAlloc.
// All default to off, except the memory rate (512 KiB, Go's MemProfileRate).
#ifndef TRACETOOL_LIB_FIBER_PROFILING_H_
#define TRACETOOL_LIB_FIBER_PROFILING_H_

#include <cstdint>
#include <string>
#include <vector>

#include "lib/fiber/fiber.h"

namespace tracetool::fiber::prof {

void SetBlockProfileRate(int64_t rate_ns);
int64_t BlockProfileRate();
int SetMutexProfileFraction(int n);  // Returns the previous fraction; n < 0 only reads it.
void SetMemProfileRate(int64_t bytes);  // <= 0: off.
int64_t MemProfileRate();

struct StackRecord {
  std::vector<uintptr_t> pcs;  // Leaf first, return addresses.
  int64_t count = 0;           // Events (block, mutex, threads) or sampled allocations.
  int64_t value = 0;           // Delay ns (block, mutex) or bytes (memory); 0 for threads.
  // Memory only: of those, the estimated allocations and bytes freed since (NoteFree with the
  // address); in use = count - free_count, value - free_value.
  int64_t free_count = 0;
  int64_t free_value = 0;
};
// Cumulative since the process started; profiles of the same stack are merged.
std::vector<StackRecord> BlockProfile();
std::vector<StackRecord> MutexProfile();
std::vector<StackRecord> MemProfile();       // Sampled allocations, scaled to estimates.
std::vector<StackRecord> ThreadCreateProfile();  // Where each M's thread was started.

struct FiberRecord {
  uint64_t goid = 0;
  GStatus status = GStatus::kIdle;
  WaitReason wait_reason = WaitReason::kZero;
  int64_t m = -1;                      // M running it (running or in a syscall), else -1.
  std::vector<uintptr_t> pcs;          // Best-effort frame-pointer walk, leaf first.
  uintptr_t created_by = 0;            // Return address of the Go() call that made it.
  std::vector<std::pair<uint64_t, std::vector<uintptr_t>>> ancestors;  // tracebackancestors.
};
// Fibers() snapshots every fiber that is not dead (without stopping the world: a fiber that
// changes state meanwhile may show its old stack). Outside Run() it returns nothing.
std::vector<FiberRecord> Fibers();

// CaptureStack() fills pcs with the caller's return addresses (leaf first), skipping `skip`
// frames of its callers; returns how many.
int CaptureStack(uintptr_t* pcs, int max, int skip);

}  // namespace tracetool::fiber::prof

#endif  // TRACETOOL_LIB_FIBER_PROFILING_H_
