// Shared test scaffolding for lib/fiber: a procs-parameterised fixture with a leak check and a
// watchdog, so that a scheduler bug fails loudly instead of hanging CI.
#ifndef TRACETOOL_TESTS_FIBER_FIBER_TEST_UTIL_H_
#define TRACETOOL_TESTS_FIBER_FIBER_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "lib/fiber/fiber.h"

namespace tracetool::fiber::testing {

// Watchdog aborts the process (with a scheduler dump) if a test body outlives its budget.
class Watchdog {
 public:
  explicit Watchdog(std::chrono::seconds budget) {
    thread_ = std::thread([this, budget] {
      std::unique_lock<std::mutex> l(mu_);
      if (!cv_.wait_for(l, budget, [this] { return done_; })) {
        std::fprintf(stderr, "watchdog: test exceeded %lds\n%s\n%s",
                     static_cast<long>(budget.count()), Schedtrace().c_str(),
                     DumpFibers().c_str());
        std::abort();
      }
    });
  }
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> l(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

// RunFibersWith() runs body as the main fiber and checks that no fiber leaked and every stack
// was unmapped.
inline void RunFibersWith(const Options& opts, const std::function<void()>& body,
                          bool expect_no_leaks = true) {
  Watchdog dog(std::chrono::seconds(90));
  Run(opts, [&] {
    body();
    // A fiber that has just signalled its joiner may still be on its way out; give stragglers
    // a generous grace period, so a leak means "blocked forever", never "not exited yet".
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (expect_no_leaks && Stats().fibers_live > 1 && Clock::now() < deadline) {
      SleepFor(std::chrono::microseconds(100));
    }
  });
  if (expect_no_leaks) {
    EXPECT_EQ(Stats().leaked_last_run, 0u) << "fibers still alive when main returned";
  }
  EXPECT_EQ(Stats().stacks_live, 0u) << "stacks not unmapped after Run()";
}

inline void RunFibers(int procs, const std::function<void()>& body, bool expect_no_leaks = true) {
  Options opts;
  opts.procs = procs;
  opts.stack_size = 64 * 1024;
  RunFibersWith(opts, body, expect_no_leaks);
}

// Sanitizers make fiber creation and switches 10-100x slower; stress sizes divide by this so
// the suites stay within their CI budgets while still exercising every path.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
inline constexpr int kSanitizerSlowdown = 8;
#else
inline constexpr int kSanitizerSlowdown = 1;
#endif

class ProcsTest : public ::testing::TestWithParam<int> {
 protected:
  int procs() const { return GetParam(); }
};

inline std::string ProcsName(const ::testing::TestParamInfo<int>& info) {
  return "procs" + std::to_string(info.param);
}

#define TT_FIBER_INSTANTIATE_PROCS(Suite)                                                \
  INSTANTIATE_TEST_SUITE_P(Procs, Suite, ::testing::Values(1, 2, 4, 8),                  \
                           ::tracetool::fiber::testing::ProcsName)

}  // namespace tracetool::fiber::testing

// Death tests re-execute the test binary ("threadsafe": the runtime's threads make fork-only
// death tests unsafe). The aarch64 build runs under qemu-user without binfmt_misc, where a
// re-exec of the aarch64 binary fails, so it builds with TT_FIBER_DEATH_STYLE="fast".
#ifndef TT_FIBER_DEATH_STYLE
#define TT_FIBER_DEATH_STYLE "threadsafe"
#endif

#endif  // TRACETOOL_TESTS_FIBER_FIBER_TEST_UTIL_H_
