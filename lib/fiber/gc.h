// GC hooks: lets a program's own collector (or any whole-heap pass) run as Go-style GC cycles,
// so that the trace's GC and heap events describe something real. C++ has no collector of its
// own; this module only schedules one.
//
//   class MyCollector : public tracetool::fiber::Collector { ... };
//   MyCollector c;
//   tracetool::fiber::SetCollector(&c);         // inside Run()
//   void* p = my_alloc(n); tracetool::fiber::NoteAlloc(n);   // allocation hook
//
// A cycle, as in Go: stop the world ("sweep termination": Collector::StartCycle), restart it
// and mark concurrently in a background fiber (Collector::MarkSome, in slices), with allocating
// fibers assisting (NoteAlloc during marking does marking work proportional to what it
// allocated), stop the world again ("mark termination": Collector::FinishMark), restart it and
// sweep (Collector::Sweep). The next cycle triggers when the heap reaches
// goal = max(min_heap, marked * (1 + gogc/100)), Go's GOGC rule.
// Not provided: write barriers or any knowledge of the objects; making marking correct while
// mutators run is the collector's job (or do all marking in FinishMark).
#ifndef TRACETOOL_LIB_FIBER_GC_H_
#define TRACETOOL_LIB_FIBER_GC_H_

#include <cstddef>
#include <cstdint>

namespace tracetool::fiber {

class Collector {
 public:
  virtual ~Collector() = default;
  // World stopped. Prepare a cycle (snapshot roots, reset mark bits).
  virtual void StartCycle() = 0;
  // World running. Do about budget_bytes of marking; return true once marking is complete.
  // Calls are serialised by the runtime; they come from the background mark fiber and from
  // assisting fibers.
  virtual bool MarkSome(size_t budget_bytes) = 0;
  // World stopped. Finish marking; return the bytes found live (Go's heap_marked).
  virtual size_t FinishMark() = 0;
  // World running. Free what is unmarked; return the bytes freed.
  virtual size_t Sweep() = 0;
};

struct GcOptions {
  int gogc = 100;                       // Heap growth percentage before the next cycle.
  size_t min_heap = 4 * 1024 * 1024;    // Goal floor (Go's 4 MiB heapminimum).
};

// SetCollector() installs c and resets heap accounting, or with null uninstalls the collector
// (ReadHeapStats() keeps reporting its last numbers). Must be called from a fiber while no
// cycle is running; c must outlive its installation.
void SetCollector(Collector* c, GcOptions options = GcOptions());

// NoteAlloc()/NoteFree() are the allocation hooks: they account heap bytes. NoteAlloc may start
// a cycle and, during marking and from a fiber, makes the caller assist. Any thread.
void NoteAlloc(size_t bytes);
void NoteFree(size_t bytes);
// The same with the block's address: a sampled allocation (prof::SetMemProfileRate) that is
// later freed with its address leaves the heap profile's in-use numbers (inuse_objects,
// inuse_space), as Go's heap profile does; without addresses only alloc_* are known.
void NoteAlloc(const void* p, size_t bytes);
void NoteFree(const void* p, size_t bytes);

// GC() runs a complete cycle that starts after the call, and waits for it (runtime.GC).
// Fiber only. Without a collector it returns at once.
void GC();

struct HeapStats {
  uint64_t heap_alloc = 0;   // Bytes allocated and not yet freed/swept.
  uint64_t heap_goal = 0;    // Heap size that triggers the next cycle.
  uint64_t heap_marked = 0;  // Live bytes found by the last cycle.
  uint64_t cycles = 0;       // Completed cycles.
  uint64_t assists = 0;      // MarkSome calls made by allocating fibers.
  uint64_t stw_pauses = 0;   // Stop-the-world phases run (two per cycle).
};
HeapStats ReadHeapStats();

}  // namespace tracetool::fiber

#endif  // TRACETOOL_LIB_FIBER_GC_H_
