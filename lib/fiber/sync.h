// Fiber synchronisation primitives with Go's sync semantics.
//
//   tracetool::fiber::Mutex mu;
//   tracetool::fiber::WaitGroup wg;
//   for (int i = 0; i < 8; i++) {
//     wg.Add(1);
//     tracetool::fiber::Go([&] { mu.Lock(); ++counter; mu.Unlock(); wg.Done(); });
//   }
//   wg.Wait();
//
// Blocking parks the fiber, never the thread; all blocking calls are fiber-only.
// Mutex has Go's two modes: normally Unlock wakes the first waiter, which then competes with
// running fibers for the lock (barging keeps throughput up); a waiter that has waited > 1 ms
// gets the lock handed to it directly (starvation mode), so nobody waits forever.
// Not provided: TryLock on RWMutex, timed waits, recursive locking (a fatal deadlock, as in Go).
#ifndef TRACETOOL_LIB_FIBER_SYNC_H_
#define TRACETOOL_LIB_FIBER_SYNC_H_

#include <atomic>
#include <cstdint>
#include <functional>

#include "lib/fiber/internal/lock.h"

namespace tracetool::fiber {

namespace internal {
struct G;
// A FIFO of parked fibers, linked through G::schedlink. Guarded by its owner's lock.
struct GQueue {
  G* head = nullptr;
  G* tail = nullptr;
  void Push(G* g);
  G* Pop();
  bool empty() const { return head == nullptr; }
};
}  // namespace internal

class Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock();
  bool TryLock();
  // Unlock() of an unlocked Mutex is a fatal error. Any fiber may unlock (as in Go).
  void Unlock();

 private:
  struct Waiter;
  void LockSlow();
  void UnlockSlow();
  std::atomic<uint32_t> state_{0};  // Bit 0 locked, bit 1 waiters queued.
  internal::Lock lock_;
  Waiter* head_ = nullptr;          // FIFO of parked waiters. Guarded by lock_.
  Waiter* tail_ = nullptr;          // Guarded by lock_.
};

// Writer-preferring reader/writer lock: once a writer waits, new readers wait too (Go's rule).
class RWMutex {
 public:
  RWMutex() = default;
  RWMutex(const RWMutex&) = delete;
  RWMutex& operator=(const RWMutex&) = delete;

  void Lock();
  void Unlock();
  void RLock();
  void RUnlock();

 private:
  internal::Lock lock_;
  int32_t readers_ = 0;             // Guarded by lock_.
  bool writer_ = false;             // Guarded by lock_.
  int32_t writers_waiting_ = 0;     // Guarded by lock_.
  internal::GQueue rq_;             // Guarded by lock_.
  internal::GQueue wq_;             // Guarded by lock_.
};

// Cond: Wait() atomically unlocks *l and parks; it re-locks *l before returning.
class Cond {
 public:
  explicit Cond(Mutex* l) : l_(l) {}
  Cond(const Cond&) = delete;
  Cond& operator=(const Cond&) = delete;

  void Wait();       // Caller must hold *l.
  void Signal();     // Wakes one waiter, if any.
  void Broadcast();  // Wakes all waiters.

 private:
  Mutex* const l_;
  internal::Lock lock_;
  internal::GQueue waiters_;        // Guarded by lock_.
};

class WaitGroup {
 public:
  WaitGroup() = default;
  WaitGroup(const WaitGroup&) = delete;
  WaitGroup& operator=(const WaitGroup&) = delete;

  // Add() may be called from any thread; a negative counter is a fatal error.
  void Add(int64_t delta);
  void Done() { Add(-1); }
  void Wait();

 private:
  internal::Lock lock_;
  int64_t count_ = 0;               // Guarded by lock_.
  internal::GQueue waiters_;        // Guarded by lock_.
};

class Once {
 public:
  // Do() runs f exactly once; concurrent callers park until it has returned.
  void Do(const std::function<void()>& f);

 private:
  std::atomic<bool> done_{false};
  Mutex m_;
};

}  // namespace tracetool::fiber

#endif  // TRACETOOL_LIB_FIBER_SYNC_H_
