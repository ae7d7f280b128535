#include "lib/fiber/internal/lock.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

namespace tracetool::fiber::internal {

void FutexWait(std::atomic<uint32_t>* addr, uint32_t val, int64_t timeout_ns) {
  struct timespec ts;
  struct timespec* tsp = nullptr;
  if (timeout_ns >= 0) {
    ts.tv_sec = static_cast<time_t>(timeout_ns / 1000000000);
    ts.tv_nsec = static_cast<long>(timeout_ns % 1000000000);
    tsp = &ts;
  }
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(addr), FUTEX_WAIT_PRIVATE, val, tsp, nullptr, 0);
}

void FutexWake(std::atomic<uint32_t>* addr, int count) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(addr), FUTEX_WAKE_PRIVATE, count, nullptr,
          nullptr, 0);
}

void Lock::AcquireSlow() {
  // Spin briefly: critical sections are a few dozen instructions, and a futex round trip costs
  // microseconds. 100 was picked by eye on a 2-core VM; it is not load-bearing.
  for (int i = 0; i < 100; i++) {
    uint32_t expected = 0;
    if (state_.load(std::memory_order_relaxed) == 0 &&
        state_.compare_exchange_weak(expected, 1, std::memory_order_acquire)) {
      return;
    }
#if defined(__x86_64__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }
  while (state_.exchange(2, std::memory_order_acquire) != 0) FutexWait(&state_, 2, -1);
}

bool Note::SleepFor(int64_t ns) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  const int64_t deadline = now.tv_sec * 1000000000LL + now.tv_nsec + ns;
  while (key_.load(std::memory_order_acquire) == 0) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    const int64_t left = deadline - (now.tv_sec * 1000000000LL + now.tv_nsec);
    if (left <= 0) return false;
    FutexWait(&key_, 0, left);
  }
  return true;
}

}  // namespace tracetool::fiber::internal
