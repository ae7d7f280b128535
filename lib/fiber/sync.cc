// sync primitives. Each one is a small lock (internal::Lock) guarding a FIFO of parked Gs; a
// waiter enqueues itself under the lock and parks with ParkUnlock, so the lock is released only
// after it is fully parked (no lost wake-ups; see chan.cc). Ownership is handed to the woken
// fiber directly, so a woken fiber never has to retry.
#include "lib/fiber/sync.h"

#include "lib/fiber/fiber.h"
#include "lib/fiber/internal/runtime2.h"

namespace tracetool::fiber {
namespace internal {

void GQueue::Push(G* g) {
  g->schedlink = nullptr;
  if (tail) {
    tail->schedlink = g;
  } else {
    head = g;
  }
  tail = g;
}

G* GQueue::Pop() {
  G* g = head;
  if (g) {
    head = g->schedlink;
    if (!head) tail = nullptr;
    g->schedlink = nullptr;
  }
  return g;
}

}  // namespace internal

using internal::G;

namespace {
constexpr uint32_t kLocked = 1;
constexpr uint32_t kWaiters = 2;
}  // namespace

bool Mutex::TryLock() {
  uint32_t expect = 0;
  return state_.compare_exchange_strong(expect, kLocked, std::memory_order_acquire);
}

void Mutex::Lock() {
  PreemptionPoint();
  if (TryLock()) return;
  LockSlow();
}

void Mutex::LockSlow() {
  // A short optimistic spin: critical sections under fiber mutexes are usually short.
  for (int i = 0; i < 4; i++) {
    if (state_.load(std::memory_order_relaxed) == 0 && TryLock()) return;
  }
  G* gp = internal::MustGetG();
  lock_.Acquire();
  for (;;) {
    uint32_t s = state_.load(std::memory_order_relaxed);
    if ((s & kLocked) == 0) {
      if (state_.compare_exchange_weak(s, s | kLocked, std::memory_order_acquire)) {
        lock_.Release();
        return;
      }
      continue;
    }
    if (state_.compare_exchange_weak(s, s | kWaiters, std::memory_order_relaxed)) break;
  }
  waiters_.Push(gp);
  internal::Gopark(internal::ParkUnlock, &lock_, WaitReason::kSyncMutexLock);
  // Ownership was handed to us by UnlockSlow; state_ stayed locked.
}

void Mutex::Unlock() {
  uint32_t expect = kLocked;
  if (state_.compare_exchange_strong(expect, 0, std::memory_order_release)) return;
  UnlockSlow();
}

void Mutex::UnlockSlow() {
  lock_.Acquire();
  const uint32_t s = state_.load(std::memory_order_relaxed);
  if ((s & kLocked) == 0) {
    lock_.Release();
    internal::Throw("sync: unlock of unlocked mutex");
  }
  G* next = waiters_.Pop();
  if (next == nullptr) {
    state_.store(0, std::memory_order_release);
    lock_.Release();
    return;
  }
  // Hand off: stays locked; keep the waiter bit only if more are queued.
  state_.store(waiters_.empty() ? kLocked : (kLocked | kWaiters), std::memory_order_release);
  lock_.Release();
  internal::Ready(next);
}

void RWMutex::Lock() {
  PreemptionPoint();
  G* gp = internal::MustGetG();
  lock_.Acquire();
  if (!writer_ && readers_ == 0) {
    writer_ = true;
    lock_.Release();
    return;
  }
  writers_waiting_++;
  wq_.Push(gp);
  internal::Gopark(internal::ParkUnlock, &lock_, WaitReason::kSyncRWMutexLock);
  // Woken with writer_ already set for us.
}

void RWMutex::Unlock() {
  lock_.Acquire();
  if (!writer_) {
    lock_.Release();
    internal::Throw("sync: Unlock of unlocked RWMutex");
  }
  writer_ = false;
  internal::GQueue wake;
  if (!rq_.empty()) {
    // Readers that queued behind this writer go first (Go does the same), then the next writer.
    while (G* g = rq_.Pop()) {
      readers_++;
      wake.Push(g);
    }
  } else if (G* w = wq_.Pop()) {
    writers_waiting_--;
    writer_ = true;
    wake.Push(w);
  }
  lock_.Release();
  while (G* g = wake.Pop()) internal::Ready(g);
}

void RWMutex::RLock() {
  PreemptionPoint();
  G* gp = internal::MustGetG();
  lock_.Acquire();
  if (!writer_ && writers_waiting_ == 0) {
    readers_++;
    lock_.Release();
    return;
  }
  rq_.Push(gp);
  internal::Gopark(internal::ParkUnlock, &lock_, WaitReason::kSyncRWMutexRLock);
  // Woken with readers_ already counting us.
}

void RWMutex::RUnlock() {
  lock_.Acquire();
  if (readers_ <= 0) {
    lock_.Release();
    internal::Throw("sync: RUnlock of unlocked RWMutex");
  }
  G* w = nullptr;
  if (--readers_ == 0 && !writer_) {
    w = wq_.Pop();
    if (w) {
      writers_waiting_--;
      writer_ = true;
    }
  }
  lock_.Release();
  if (w) internal::Ready(w);
}

void Cond::Wait() {
  G* gp = internal::MustGetG();
  lock_.Acquire();
  waiters_.Push(gp);
  // Unlocking *l_ may ready another fiber but never parks, so it is safe under lock_.
  l_->Unlock();
  internal::Gopark(internal::ParkUnlock, &lock_, WaitReason::kSyncCondWait);
  l_->Lock();
}

void Cond::Signal() {
  lock_.Acquire();
  G* g = waiters_.Pop();
  lock_.Release();
  if (g) internal::Ready(g);
}

void Cond::Broadcast() {
  lock_.Acquire();
  internal::GQueue all = waiters_;
  waiters_ = internal::GQueue();
  lock_.Release();
  while (G* g = all.Pop()) internal::Ready(g);
}

void WaitGroup::Add(int64_t delta) {
  lock_.Acquire();
  count_ += delta;
  if (count_ < 0) {
    lock_.Release();
    internal::Throw("sync: negative WaitGroup counter");
  }
  internal::GQueue wake;
  if (count_ == 0) {
    wake = waiters_;
    waiters_ = internal::GQueue();
  }
  lock_.Release();
  while (G* g = wake.Pop()) internal::Ready(g);
}

void WaitGroup::Wait() {
  PreemptionPoint();
  lock_.Acquire();
  if (count_ == 0) {
    lock_.Release();
    return;
  }
  waiters_.Push(internal::MustGetG());
  internal::Gopark(internal::ParkUnlock, &lock_, WaitReason::kSyncWaitGroupWait);
}

void Once::Do(const std::function<void()>& f) {
  if (done_.load(std::memory_order_acquire)) return;
  m_.Lock();
  if (!done_.load(std::memory_order_relaxed)) {
    f();
    done_.store(true, std::memory_order_release);
  }
  m_.Unlock();
}

}  // namespace tracetool::fiber
