#include "lib/fiber/debug/cpu_profile.h"

#include <execinfo.h>
#include <signal.h>
#include <sys/time.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>

namespace tracetool::fiber::debug {
namespace {

constexpr int kMaxDepth = 48;
constexpr uint32_t kMaxSamples = 1 << 15;  // ~5.5 min at 100 Hz on one CPU; then counted lost.

struct Slot {
  std::atomic<uint32_t> ready{0};
  uint32_t depth = 0;
  void* pcs[kMaxDepth];
};

std::atomic<bool> active{false};
Slot* slots = nullptr;                       // Owned by the active profile.
std::atomic<uint32_t> next_slot{0};
std::atomic<uint64_t> lost_samples{0};
std::atomic<int> in_handler{0};
std::atomic<bool> busy{false};  // A profile is running (Start..Stop).
struct sigaction old_action;

void OnSigprof(int, siginfo_t*, void*) {
  const int saved_errno = errno;
  in_handler.fetch_add(1);
  if (active.load()) {  // seq_cst with in_handler: Stop's Dekker-style handshake.
    const uint32_t i = next_slot.fetch_add(1, std::memory_order_relaxed);
    if (i < kMaxSamples) {
      // backtrace() is safe here once warmed up (StartCpuProfile calls it first: its lazy
      // libgcc load is the only part that allocates), and glibc >= 2.35's unwinder finds FDEs
      // without taking the loader lock.
      slots[i].depth = static_cast<uint32_t>(backtrace(slots[i].pcs, kMaxDepth));
      slots[i].ready.store(1, std::memory_order_release);
    } else {
      lost_samples.fetch_add(1, std::memory_order_relaxed);
    }
  }
  in_handler.fetch_sub(1);
  errno = saved_errno;
}

}  // namespace

bool StartCpuProfile(int hz, std::string* error) {
  if (hz < 1 || hz > 1000) {
    *error = "cpu profile rate must be 1..1000 Hz";
    return false;
  }
  bool expect = false;
  if (!busy.compare_exchange_strong(expect, true)) {
    *error = "cpu profiling already in use";
    return false;
  }
  void* warm[4];
  backtrace(warm, 4);
  slots = new Slot[kMaxSamples];
  next_slot.store(0);
  lost_samples.store(0);
  struct sigaction sa {};
  sa.sa_sigaction = OnSigprof;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGPROF, &sa, &old_action);
  active.store(true, std::memory_order_release);
  struct itimerval it {};
  it.it_interval.tv_usec = 1000000 / hz;
  it.it_value = it.it_interval;
  if (setitimer(ITIMER_PROF, &it, nullptr) != 0) {
    active.store(false);
    sigaction(SIGPROF, &old_action, nullptr);
    delete[] slots;
    slots = nullptr;
    busy.store(false);
    *error = std::string("setitimer: ") + strerror(errno);
    return false;
  }
  return true;
}

std::vector<prof::StackRecord> StopCpuProfile(uint64_t* lost) {
  std::vector<prof::StackRecord> out;
  if (!active.load()) return out;
  struct itimerval zero {};
  setitimer(ITIMER_PROF, &zero, nullptr);
  active.store(false);
  // A signal already being handled finishes its slot; new ones see !active. SIGPROF stays
  // handled (ignored by our handler) so a late signal never kills the process.
  while (in_handler.load() != 0) {
  }
  const uint32_t n = std::min(next_slot.load(), kMaxSamples);
  std::map<std::vector<uintptr_t>, int64_t> merged;
  for (uint32_t i = 0; i < n; i++) {
    if (!slots[i].ready.load(std::memory_order_acquire)) continue;
    // Drop the handler's own frames (OnSigprof and the kernel's signal trampoline).
    std::vector<uintptr_t> pcs;
    for (uint32_t k = 2; k < slots[i].depth; k++) {
      pcs.push_back(reinterpret_cast<uintptr_t>(slots[i].pcs[k]));
    }
    merged[pcs]++;
  }
  for (auto& [pcs, count] : merged) {
    prof::StackRecord r;
    r.pcs = pcs;
    r.count = count;
    out.push_back(std::move(r));
  }
  if (lost) *lost = lost_samples.load();
  delete[] slots;
  slots = nullptr;
  busy.store(false);
  return out;
}

}  // namespace tracetool::fiber::debug
