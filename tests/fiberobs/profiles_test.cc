// The runtime's own profile records (profiling.h): block and mutex events come from the fiber
// primitives with Go's rate semantics, memory samples from NoteAlloc, threadcreate from Ms, and
// Fibers() sees every live fiber with its state and stack.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "lib/fiber/chan.h"
#include "lib/fiber/debug/symbolize.h"
#include "lib/fiber/fiber.h"
#include "lib/fiber/gc.h"
#include "lib/fiber/profiling.h"
#include "lib/fiber/sync.h"
#include "tests/fiber/fiber_test_util.h"

namespace tracetool::fiber {
namespace {

using testing::RunFibers;

int64_t Sum(const std::vector<prof::StackRecord>& rows, bool value) {
  int64_t n = 0;
  for (const auto& r : rows) n += value ? r.value : r.count;
  return n;
}

// True if some record's stack names a function containing `fn`.
bool AnyStackHas(const std::vector<prof::StackRecord>& rows, const std::string& fn) {
  debug::Symbolizer sym;
  std::string all;
  for (const auto& r : rows) {
    all += "stack (count " + std::to_string(r.count) + "):\n";
    for (uintptr_t pc : r.pcs) {
      if (sym.Lookup(pc).function.find(fn) != std::string::npos) return true;
      all += "  " + sym.Lookup(pc).function + "\n";
    }
  }
  ADD_FAILURE() << "no stack has " << fn << "; stacks:\n" << all;
  return false;
}

__attribute__((noipa)) void BlockOnChannel(Chan<int>* c) {
  c->Recv();
  asm volatile("");
}

TEST(BlockProfile, RecordsChannelWaitsWithTheirStacksWhenOn) {
  prof::SetBlockProfileRate(0);
  const int64_t off_before = Sum(prof::BlockProfile(), false);
  RunFibers(2, [] {
    Chan<int> c;
    Go([&] { c.Send(1); });
    c.Recv();
  });
  EXPECT_EQ(Sum(prof::BlockProfile(), false), off_before) << "recorded while off";

  prof::SetBlockProfileRate(1);
  const int64_t before = Sum(prof::BlockProfile(), false);
  RunFibers(2, [] {
    Chan<int> c;
    Go([&] {
      SleepFor(std::chrono::milliseconds(5));
      c.Send(1);
    });
    BlockOnChannel(&c);
  });
  prof::SetBlockProfileRate(0);
  const auto rows = prof::BlockProfile();
  EXPECT_GE(Sum(rows, false), before + 1);
  EXPECT_GE(Sum(rows, true), 4'000'000) << "the receive waited ~5 ms";
  EXPECT_TRUE(AnyStackHas(rows, "BlockOnChannel"));
}

__attribute__((noipa)) void UnlockContended(Mutex* mu) {
  mu->Unlock();
  asm volatile("");
}

TEST(MutexProfile, ChargesContendedUnlocksToTheUnlocker) {
  EXPECT_EQ(prof::SetMutexProfileFraction(1), 0);
  RunFibers(2, [] {
    Mutex mu;
    mu.Lock();
    WaitGroup wg;
    wg.Add(1);
    Go([&] {
      mu.Lock();
      mu.Unlock();
      wg.Done();
    });
    SleepFor(std::chrono::milliseconds(5));  // Let the other fiber park on mu.
    UnlockContended(&mu);
    wg.Wait();
  });
  EXPECT_EQ(prof::SetMutexProfileFraction(0), 1);
  const auto rows = prof::MutexProfile();
  EXPECT_GE(Sum(rows, false), 1);
  EXPECT_GE(Sum(rows, true), 3'000'000);
  EXPECT_TRUE(AnyStackHas(rows, "UnlockContended"));
}

__attribute__((noipa)) void AllocateLots() {
  for (int i = 0; i < 1000; i++) NoteAlloc(1024);
  asm volatile("");
}

TEST(MemProfile, SamplesNoteAllocAndScalesToTheTotal) {
  const int64_t old = prof::MemProfileRate();
  prof::SetMemProfileRate(16 * 1024);
  const int64_t before = Sum(prof::MemProfile(), true);
  RunFibers(1, [] { AllocateLots(); });
  prof::SetMemProfileRate(old);
  const auto rows = prof::MemProfile();
  const int64_t bytes = Sum(rows, true) - before;
  // 1 MB allocated; sampling at 16 KiB estimates it within a generous margin.
  EXPECT_GT(bytes, 1'024'000 / 3);
  EXPECT_LT(bytes, 1'024'000 * 3);
  EXPECT_TRUE(AnyStackHas(rows, "AllocateLots"));
}

// Allocations noted with their address and freed the same way leave the in-use numbers; the
// alloc_* numbers keep them. Half of 1 MB freed: in use is about half of what was allocated.
__attribute__((noipa)) void AllocateAndFreeHalf(std::vector<std::unique_ptr<char[]>>* blocks) {
  for (int i = 0; i < 1000; i++) {
    blocks->emplace_back(new char[1024]);
    NoteAlloc(blocks->back().get(), 1024);
  }
  for (int i = 0; i < 1000; i += 2) NoteFree((*blocks)[i].get(), 1024);
  asm volatile("");
}

TEST(MemProfile, InUseDropsWhenFreedWithTheAddress) {
  const int64_t old = prof::MemProfileRate();
  prof::SetMemProfileRate(4 * 1024);
  std::vector<std::unique_ptr<char[]>> blocks;
  RunFibers(1, [&] { AllocateAndFreeHalf(&blocks); });
  prof::SetMemProfileRate(old);
  debug::Symbolizer sym;
  int64_t alloc = 0, freed = 0, rows_here = 0;
  for (const auto& r : prof::MemProfile()) {
    bool here = false;
    for (uintptr_t pc : r.pcs) {
      here |= sym.Lookup(pc).function.find("AllocateAndFreeHalf") != std::string::npos;
    }
    if (!here) continue;
    ++rows_here;
    alloc += r.value;
    freed += r.free_value;
    EXPECT_LE(r.free_count, r.count);
    EXPECT_LE(r.free_value, r.value);
  }
  ASSERT_GT(rows_here, 0);
  EXPECT_GT(alloc, 1'024'000 / 3);
  EXPECT_LT(alloc, 1'024'000 * 3);
  // Sampling picks which blocks count; every other block was freed, so about half of the sampled
  // bytes are (generous bounds: 4 KiB sampling of 1,000 blocks is a few hundred samples).
  EXPECT_GT(freed, alloc / 4);
  EXPECT_LT(freed, alloc * 3 / 4);
}

TEST(ThreadCreateProfile, CountsEveryM) {
  const int64_t before = Sum(prof::ThreadCreateProfile(), false);
  uint64_t ms_before = Stats().ms;
  RunFibers(4, [] {
    WaitGroup wg;
    for (int i = 0; i < 4; i++) {
      wg.Add(1);
      Go([&] {
        Syscall([] { usleep(20000); });  // Forces hand-offs to new Ms.
        wg.Done();
      });
    }
    wg.Wait();
  });
  const int64_t created = Sum(prof::ThreadCreateProfile(), false) - before;
  // m0 is the thread that called Run(), not created by the runtime.
  EXPECT_EQ(created, static_cast<int64_t>(Stats().ms - ms_before) - 1);
  EXPECT_GT(created, 0);
}

__attribute__((noipa)) void ParkForever(Chan<int>* c) {
  c->Recv();
  asm volatile("");
}

TEST(Fibers, SnapshotHasStatesWaitReasonsAndStacks) {
  std::vector<prof::FiberRecord> fibers;
  uint64_t main_id = 0;
  RunFibers(2, [&] {
    Chan<int> c;
    WaitGroup exited;
    for (int i = 0; i < 3; i++) {
      exited.Add(1);
      Go([&] {
        ParkForever(&c);
        exited.Done();
      });
    }
    for (;;) {
      int waiting = 0;
      for (const auto& f : prof::Fibers()) waiting += f.wait_reason == WaitReason::kChanReceive;
      if (waiting == 3) break;
      Yield();
    }
    fibers = prof::Fibers();
    main_id = CurrentFiberId();
    c.Close();
    exited.Wait();
  });
  // Symbolize outside Run(): libdw wants more stack than a 64 KiB fiber has.
  EXPECT_EQ(fibers.size(), 4u);
  debug::Symbolizer sym;
  int with_stack = 0;
  for (const auto& f : fibers) {
    if (f.goid == main_id) {
      EXPECT_EQ(f.status, GStatus::kRunning);
      EXPECT_FALSE(f.pcs.empty());
      continue;
    }
    EXPECT_EQ(f.status, GStatus::kWaiting);
    EXPECT_NE(f.created_by, 0u);
    std::string names;
    bool found = false;
    for (uintptr_t pc : f.pcs) {
      names += "  " + sym.Lookup(pc).function + "\n";
      found |= sym.Lookup(pc).function.find("ParkForever") != std::string::npos;
    }
    with_stack += found;
    EXPECT_TRUE(found) << "fiber " << f.goid << " stack:\n" << names;
  }
#if defined(__x86_64__)
  EXPECT_EQ(with_stack, 3) << "frame-pointer walk should reach ParkForever";
#endif
}

}  // namespace
}  // namespace tracetool::fiber
