// Runtime-internal locks and notes, built on futex(2) and std::atomic only.
//
// Why not std::mutex: a runtime lock is often taken on a fiber's stack and released on the M's
// scheduler stack (g0) after the switch (Go's parkunlock), and ThreadSanitizer treats each fiber
// as a thread, so it would report a pthread mutex released by "another thread". These locks carry
// no owner, and their happens-before edges are the atomics' acquire/release, which TSan models.
#ifndef TRACETOOL_LIB_FIBER_INTERNAL_LOCK_H_
#define TRACETOOL_LIB_FIBER_INTERNAL_LOCK_H_

#include <atomic>
#include <cstdint>

namespace tracetool::fiber::internal {

// FutexWait() sleeps while *addr == val, for at most timeout_ns (< 0: forever). Spurious
// wake-ups are allowed.
void FutexWait(std::atomic<uint32_t>* addr, uint32_t val, int64_t timeout_ns);
void FutexWake(std::atomic<uint32_t>* addr, int count);

// Lock is a small mutex (Drepper's "futexes are tricky" mutex 2, with a short spin). It never
// parks a fiber; hold it only for short, non-blocking critical sections.
class Lock {
 public:
  Lock() = default;
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

  void Acquire() {
    uint32_t expected = 0;
    if (state_.compare_exchange_strong(expected, 1, std::memory_order_acquire)) return;
    AcquireSlow();
  }
  void Release() {
    if (state_.exchange(0, std::memory_order_release) == 2) FutexWake(&state_, 1);
  }

 private:
  void AcquireSlow();
  std::atomic<uint32_t> state_{0};  // 0 free, 1 held, 2 held with possible sleepers.
};

class LockGuard {
 public:
  explicit LockGuard(Lock* l) : l_(l) { l_->Acquire(); }
  ~LockGuard() { l_->Release(); }
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;

 private:
  Lock* const l_;
};

// Note is a one-shot wake-up between OS threads (Go's note): Sleep() blocks the thread until
// Wakeup(); Clear() re-arms it.
class Note {
 public:
  void Clear() { key_.store(0, std::memory_order_relaxed); }
  void Wakeup() {
    key_.store(1, std::memory_order_release);
    FutexWake(&key_, 1);
  }
  void Sleep() {
    while (key_.load(std::memory_order_acquire) == 0) FutexWait(&key_, 0, -1);
  }
  // Returns true if woken, false on timeout.
  bool SleepFor(int64_t ns);

 private:
  std::atomic<uint32_t> key_{0};
};

}  // namespace tracetool::fiber::internal

#endif  // TRACETOOL_LIB_FIBER_INTERNAL_LOCK_H_
