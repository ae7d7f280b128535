#include "lib/analysis/blocking_profile.h"

namespace tracetool::analysis {

using parser::EventType;

std::optional<ProfileMode> ParseProfileMode(std::string_view name) {
  if (name == "net") return ProfileMode::kNet;
  if (name == "sync") return ProfileMode::kSync;
  if (name == "syscall") return ProfileMode::kSyscall;
  if (name == "sched") return ProfileMode::kSched;
  if (name == "schedlat") return ProfileMode::kSchedLat;
  return std::nullopt;
}

namespace {
// Spec §6.2: which opening events each mode aggregates.
bool Selected(ProfileMode mode, const Interval& iv) {
  switch (mode) {
    case ProfileMode::kNet:
      return iv.state == GoState::kWaiting && iv.begin_type == EventType::kGoBlockNet;
    case ProfileMode::kSync:
      if (iv.state != GoState::kWaiting) return false;
      switch (iv.begin_type) {
        case EventType::kGoBlockSend:
        case EventType::kGoBlockRecv:
        case EventType::kGoBlockSelect:
        case EventType::kGoBlockSync:
        case EventType::kGoBlockCond:
        case EventType::kGoBlockGC:
          return true;
        default:
          return false;
      }
    case ProfileMode::kSyscall:
      return iv.state == GoState::kSyscall;
    case ProfileMode::kSched:
      if (iv.state != GoState::kRunnable) return false;
      if (iv.sched_rule != parser::SchedRule::kModel) return iv.sched_rule == parser::SchedRule::kCount;
      return iv.begin_type == EventType::kGoUnblock || iv.begin_type == EventType::kGoCreate;
    case ProfileMode::kSchedLat:
      return iv.state == GoState::kRunnable;
  }
  return false;
}
}  // namespace

void BlockingProfile::OnInterval(const Interval& iv) {
  if (!Selected(mode_, iv) || iv.stack_id == 0) return;
  const int64_t d = iv.end_ts - iv.begin_ts;
  if (d <= 0) return;
  ProfileRecord& r = records_.Get(iv.stack_id);
  r.count += 1;
  r.delay_ns += d;
}

std::map<uint32_t, ProfileRecord> BlockingProfile::records() const {
  std::map<uint32_t, ProfileRecord> out;
  records_.ForEach(
      [&](uint64_t k, const ProfileRecord& r) { out.emplace(static_cast<uint32_t>(k), r); });
  return out;
}

}  // namespace tracetool::analysis
