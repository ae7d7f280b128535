// sync primitives. Each one is a small lock (internal::Lock) guarding a FIFO of parked Gs; a
// waiter enqueues itself under the lock and parks with ParkUnlock, so the lock is released only
// after it is fully parked (no lost wake-ups; see chan.cc). Ownership is handed to the woken
// fiber directly, so a woken fiber never has to retry.
#include "lib/fiber/sync.h"

#include "lib/fiber/fiber.h"
#include "lib/fiber/internal/obs.h"
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
// Go's starvationThresholdNs: a waiter older than this gets the lock handed to it.
constexpr int64_t kStarvationNs = 1000 * 1000;
}  // namespace

// A parked Lock() caller; lives on its stack.
struct Mutex::Waiter {
  G* g = nullptr;
  Waiter* next = nullptr;
  int64_t since = 0;     // When it first started waiting.
  bool handoff = false;  // Set by UnlockSlow: the lock is already ours.
};

bool Mutex::TryLock() {
  uint32_t s = state_.load(std::memory_order_relaxed);
  while ((s & kLocked) == 0) {
    if (state_.compare_exchange_weak(s, s | kLocked, std::memory_order_acquire)) return true;
  }
  return false;
}

void Mutex::Lock() {
  PreemptionPoint();
  uint32_t expect = 0;
  if (state_.compare_exchange_strong(expect, kLocked, std::memory_order_acquire)) return;
  LockSlow();
}

void Mutex::LockSlow() {
  G* gp = internal::MustGetG();
  Waiter w;
  w.g = gp;
  bool requeue = false;
  for (;;) {
    // A short optimistic spin: critical sections under fiber mutexes are usually short.
    for (int i = 0; i < 4; i++) {
      if (TryLock()) {
        if (w.since != 0) internal::ObsMutexWaited(internal::Nanotime() - w.since);
        return;
      }
    }
    lock_.Acquire();
    bool acquired = false;
    for (;;) {
      uint32_t s = state_.load(std::memory_order_relaxed);
      if ((s & kLocked) == 0) {
        if (state_.compare_exchange_weak(s, s | kLocked, std::memory_order_acquire)) {
          acquired = true;
          break;
        }
        continue;
      }
      if (state_.compare_exchange_weak(s, s | kWaiters, std::memory_order_relaxed)) break;
    }
    if (acquired) {
      lock_.Release();
      if (w.since != 0) internal::ObsMutexWaited(internal::Nanotime() - w.since);
      return;
    }
    if (w.since == 0) w.since = internal::Nanotime();
    w.handoff = false;
    if (requeue) {  // Lost the race after a wake-up: go to the front, as Go does.
      w.next = head_;
      head_ = &w;
      if (!tail_) tail_ = &w;
    } else {
      w.next = nullptr;
      if (tail_) {
        tail_->next = &w;
      } else {
        head_ = &w;
      }
      tail_ = &w;
    }
    internal::Gopark(internal::ParkUnlock, &lock_, WaitReason::kSyncMutexLock);
    if (w.handoff) {  // Starvation mode: UnlockSlow kept the lock locked for us.
      internal::ObsMutexWaited(internal::Nanotime() - w.since);
      return;
    }
    requeue = true;
  }
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
  Waiter* w = head_;
  if (w == nullptr) {
    state_.store(0, std::memory_order_release);
    lock_.Release();
    return;
  }
  head_ = w->next;
  if (!head_) tail_ = nullptr;
  w->next = nullptr;
  const uint32_t waiters = head_ ? kWaiters : 0;
  G* g = w->g;
  const int64_t waited = internal::Nanotime() - w->since;
  if (waited > kStarvationNs) {
    w->handoff = true;  // Hand off: stays locked, now owned by w.
    state_.store(kLocked | waiters, std::memory_order_release);
  } else {
    state_.store(waiters, std::memory_order_release);  // Unlocked: w competes for it.
  }
  lock_.Release();
  internal::ObsMutexUnlockContended(waited);
  internal::Ready(g);
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
  const int64_t t0 = internal::Nanotime();
  internal::Gopark(internal::ParkUnlock, &lock_, WaitReason::kSyncRWMutexLock);
  internal::ObsMutexWaited(internal::Nanotime() - t0);
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
  const int64_t t0 = internal::Nanotime();
  internal::Gopark(internal::ParkUnlock, &lock_, WaitReason::kSyncRWMutexRLock);
  internal::ObsMutexWaited(internal::Nanotime() - t0);
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
