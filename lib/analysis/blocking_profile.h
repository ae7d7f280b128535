// Blocking profiles: the `-pprof=net|sync|syscall|sched` modes of `go tool trace` (spec §6.2),
// each a filter over GoStateMachine intervals, aggregated per stack id into (count, delay).
//
//   BlockingProfile prof(ProfileMode::kSched);
//   ... for each event: GoStateMachine::OnEvent(ev, &prof);
//   for (const auto& [stack, rec] : prof.records()) ...
#ifndef TRACETOOL_LIB_ANALYSIS_BLOCKING_PROFILE_H_
#define TRACETOOL_LIB_ANALYSIS_BLOCKING_PROFILE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string_view>

#include "lib/analysis/go_state_machine.h"
#include "lib/parser/flat_map.h"

namespace tracetool::analysis {

enum class ProfileMode : uint8_t {
  kNet,      // GoBlockNet → the unblock
  kSync,     // channel, select, mutex, cond, GC-assist waits → the unblock
  kSyscall,  // blocking syscalls: GoSysCall → GoSysExit
  kSched,    // scheduler latency after unblock/create: → GoStart, charged to the waker's stack
  kSchedLat,  // beyond Go: every runnable → GoStart interval (also after a yield or preemption),
              // charged to the stack of the event that made the goroutine runnable (syscall
              // exits carry no stack and are left out)
};

// ParseProfileMode("sched") → kSched; nullopt for an unknown name.
std::optional<ProfileMode> ParseProfileMode(std::string_view name);

struct ProfileRecord {
  uint64_t count = 0;
  int64_t delay_ns = 0;
};

class BlockingProfile final : public IntervalSink {
 public:
  explicit BlockingProfile(ProfileMode mode) : mode_(mode) {}
  void OnInterval(const Interval& iv) override;
  // Records keyed by stack id, in stack-id order. Only intervals with a stack and a positive
  // duration are counted (Go's rule; the caller drops stacks that resolve to no frames).
  std::map<uint32_t, ProfileRecord> records() const;

 private:
  const ProfileMode mode_;
  parser::FlatMap<ProfileRecord> records_;  // one lookup per counted interval
};

}  // namespace tracetool::analysis

#endif  // TRACETOOL_LIB_ANALYSIS_BLOCKING_PROFILE_H_
