// GC hook tests with a toy mark-sweep collector over a simulated heap: cycles are triggered by
// allocation, run their phases in order with two stop-the-world pauses, follow the GOGC goal,
// never free live objects, and GC() forces a cycle.
#include <atomic>
#include <mutex>
#include <vector>

#include "lib/fiber/fiber.h"
#include "lib/fiber/gc.h"
#include "lib/fiber/sync.h"
#include "tests/fiber/fiber_test_util.h"

namespace tracetool::fiber {
namespace {

using testing::ProcsTest;
using testing::RunFibers;

// Objects are {size, live}. Mutators drop garbage by allocating it with live = false. Marking
// scans the object table; FinishMark completes the scan (so objects allocated during marking are
// kept if live), which makes the toy correct without write barriers.
class ToyHeap : public Collector {
 public:
  void Alloc(size_t size, bool live) {
    {
      std::lock_guard<std::mutex> l(mu_);
      objs_.push_back({size, live, false});
      if (live) live_allocated_ += size;
    }
    NoteAlloc(size);
  }

  void StartCycle() override {
    std::lock_guard<std::mutex> l(mu_);
    CheckOrder(0);
    for (Obj& o : objs_) o.marked = false;
    cursor_ = 0;
    marked_bytes_ = 0;
  }
  bool MarkSome(size_t budget) override {
    std::lock_guard<std::mutex> l(mu_);
    CheckOrder(1);
    size_t scanned = 0;
    while (cursor_ < objs_.size() && scanned < budget) {
      Obj& o = objs_[cursor_++];
      scanned += o.size;
      if (o.live) {
        o.marked = true;
        marked_bytes_ += o.size;
      }
    }
    return cursor_ == objs_.size();
  }
  size_t FinishMark() override {
    std::lock_guard<std::mutex> l(mu_);
    CheckOrder(1);
    while (cursor_ < objs_.size()) {
      Obj& o = objs_[cursor_++];
      if (o.live) {
        o.marked = true;
        marked_bytes_ += o.size;
      }
    }
    state_ = 2;
    return marked_bytes_;
  }
  size_t Sweep() override {
    std::lock_guard<std::mutex> l(mu_);
    CheckOrder(2);
    size_t freed = 0;
    std::vector<Obj> kept;
    for (const Obj& o : objs_) {
      // Live but unmarked objects were allocated after mark termination: Go allocates those
      // black, so they survive this sweep.
      if (o.marked || o.live) {
        kept.push_back(o);
      } else {
        freed += o.size;
      }
    }
    objs_.swap(kept);
    state_ = 0;
    sweeps_++;
    return freed;
  }

  size_t live_bytes() {
    std::lock_guard<std::mutex> l(mu_);
    size_t n = 0;
    for (const Obj& o : objs_) n += o.live ? o.size : 0;
    return n;
  }
  size_t live_allocated() {
    std::lock_guard<std::mutex> l(mu_);
    return live_allocated_;
  }
  int order_errors() const { return order_errors_.load(); }
  int sweeps() {
    std::lock_guard<std::mutex> l(mu_);
    return sweeps_;
  }

 private:
  struct Obj {
    size_t size;
    bool live;
    bool marked;
  };
  // state_: 0 between cycles, 1 marking, 2 marked. Guarded by mu_.
  void CheckOrder(int expect) {
    if (expect == 0 && state_ != 0) order_errors_++;
    if (expect == 1 && state_ != 1 && state_ != 0) order_errors_++;
    if (expect == 2 && state_ != 2) order_errors_++;
    if (expect == 0 || expect == 1) state_ = 1;
  }

  std::mutex mu_;
  std::vector<Obj> objs_;        // Guarded by mu_.
  size_t cursor_ = 0;            // Guarded by mu_.
  size_t marked_bytes_ = 0;      // Guarded by mu_.
  size_t live_allocated_ = 0;    // Guarded by mu_.
  int state_ = 0;                // Guarded by mu_.
  int sweeps_ = 0;               // Guarded by mu_.
  std::atomic<int> order_errors_{0};
};

class GcTest : public ProcsTest {};

TEST_P(GcTest, AllocationTriggersCyclesThatKeepLiveObjects) {
  ToyHeap heap;
  HeapStats end;
  RunFibers(procs(), [&] {
    GcOptions o;
    o.gogc = 100;
    o.min_heap = 256 * 1024;
    SetCollector(&heap, o);
    WaitGroup wg;
    constexpr int kMutators = 4;
    wg.Add(kMutators);
    for (int m = 0; m < kMutators; m++) {
      Go([&, m] {
        for (int i = 0; i < 3000; i++) {
          heap.Alloc(256 + static_cast<size_t>((i * 37 + m) % 512), i % 10 == 0);
          if (i % 100 == 0) Yield();
        }
        wg.Done();
      });
    }
    wg.Wait();
    GC();  // Also waits for any cycle still running.
    end = ReadHeapStats();
    SetCollector(nullptr);
  });
  EXPECT_GE(end.cycles, 2u) << "allocation of ~9 MB over a 256 KiB floor must trigger cycles";
  EXPECT_EQ(end.stw_pauses, 2 * end.cycles);
  EXPECT_EQ(heap.order_errors(), 0);
  EXPECT_EQ(heap.sweeps(), static_cast<int>(end.cycles));
  // After the final GC() everything garbage is gone and the goal follows GOGC=100.
  EXPECT_EQ(heap.live_bytes(), heap.live_allocated());
  EXPECT_EQ(end.heap_marked, heap.live_allocated());
  EXPECT_EQ(end.heap_goal, std::max<uint64_t>(2 * end.heap_marked, 256 * 1024));
  EXPECT_EQ(end.heap_alloc, heap.live_allocated());
}

TEST_P(GcTest, ForcedGcRunsOneFullCycle) {
  ToyHeap heap;
  RunFibers(procs(), [&] {
    SetCollector(&heap);
    heap.Alloc(1000, true);
    heap.Alloc(5000, false);
    EXPECT_EQ(ReadHeapStats().cycles, 0u);  // Far below the 4 MiB floor.
    GC();
    const HeapStats h = ReadHeapStats();
    EXPECT_EQ(h.cycles, 1u);
    EXPECT_EQ(h.heap_marked, 1000u);
    EXPECT_EQ(h.heap_alloc, 1000u);
    EXPECT_EQ(h.heap_goal, 4u * 1024 * 1024);
    GC();
    EXPECT_EQ(ReadHeapStats().cycles, 2u);
    SetCollector(nullptr);
    GC();  // No collector: returns at once.
  });
  EXPECT_EQ(heap.order_errors(), 0);
}

TT_FIBER_INSTANTIATE_PROCS(GcTest);

}  // namespace
}  // namespace tracetool::fiber
