// The index pass: one sequential read of the whole trace that collects what the merge needs
// before it can emit the first event (spec §9.1): the version, the frequency, every string and
// stack, the timer goroutines, and per P the byte ranges of its batches. Event bodies are decoded
// (to find their length and check their value counts) but not kept, except CPU samples, which
// the merge must sort by their real time (spec §3.1).
#ifndef TRACETOOL_LIB_PARSER_INTERNAL_INDEX_H_
#define TRACETOOL_LIB_PARSER_INTERNAL_INDEX_H_

#include <cstdint>
#include <type_traits>
#include <map>
#include <unordered_map>
#include <string>
#include <string_view>
#include <vector>

#include "lib/format/event_table.h"
#include "lib/parser/event.h"
#include "lib/parser/flat_map.h"
#include "lib/parser/input.h"
#include "lib/parser/reader.h"
#include "lib/parser/status.h"

namespace tracetool::parser::internal {

// An event between the merge and the consumer, with raw times (ticks).
struct MEvent {
  int64_t ticks = 0;
  uint64_t offset = 0;
  uint64_t g = 0;
  int64_t p = 0;
  uint64_t args[format::kMaxArgs] = {};
  uint32_t stack_id = 0;
  format::EventType type = format::EventType::kNone;
  int64_t seq = 0;  // global sequence number (version 1005); see Merger::NextMerged (≥ 1007)
  // UserLog only: where its message lies in the input. By reference so that MEvent stays a
  // trivially copyable value (it is copied between threads and through the reorder buffer);
  // the rare UserLog re-reads its bytes at conversion.
  uint64_t message_offset = 0;
  uint32_t message_len = 0;
};
static_assert(std::is_trivially_copyable_v<MEvent>);

struct BatchRef {
  uint64_t start;  // offset of the first record after the batch header
  uint64_t end;    // offset of the next batch header, or the end of the file
  int64_t ticks;   // the header's timestamp
  int64_t seq;     // the header's sequence base (version 1005 only)
};

struct TraceIndex {
  int version = 0;
  int64_t ticks_per_sec = 0;
  // Batches per P, in file order. Key: the batch header's P (as signed; -1 for "no P").
  std::map<int64_t, std::vector<BatchRef>> batches;
  std::vector<MEvent> cpu_samples;  // in file order; the merge sorts them
  FlatMap<bool> timer_goroutines;
  bool has_futile_wakeups = false;
  // Syscall exits move back from where they are written to their real exit time (spec §3.3). The
  // merge must know how far, to bound its reorder buffer (see order.cc): exits that move back more
  // than `small_sysexit_lag` ticks are listed here with their real time, keyed by (goroutine,
  // sequence number); the others move back at most small_sysexit_lag. The list is capped
  // (kMaxFarSysExits): past that, the threshold rises and the nearer ones are dropped.
  struct SysExitKey {
    uint64_t g, seq;
    bool operator==(const SysExitKey& o) const { return g == o.g && seq == o.seq; }
  };
  struct SysExitKeyHash {
    size_t operator()(const SysExitKey& k) const {
      return std::hash<uint64_t>()(k.g * 0x9E3779B97F4A7C15ull ^ k.seq);
    }
  };
  struct FarSysExit {
    int64_t ts;       // real exit time (ticks)
    int64_t lag;      // emission − real time
    uint64_t offset;  // the GoSysExit record's offset
  };
  static constexpr size_t kMaxFarSysExits = 1 << 20;
  std::unordered_map<SysExitKey, FarSysExit, SysExitKeyHash> far_sysexits;
  int64_t small_sysexit_lag = 0;
  // Every exit that moves back is in far_sysexits (small_sysexit_lag is 0) and no two of them have
  // the same real time: then SyscallReorder can emit each of them at its final place as soon as
  // the merge passes that time, from the index, instead of holding events back (order.h).
  bool sysexits_exact = false;
  ParseStats stats;

  // Strings and stacks, in arenas.
  FlatMap<std::pair<uint32_t, uint32_t>> string_index;  // id → (offset, length) in string_data
  std::string string_data;
  FlatMap<std::pair<uint32_t, uint32_t>> stack_index;  // id → (offset, count) in frames
  std::vector<Frame> frames;

  std::string_view String(uint64_t id) const;
  std::span<const Frame> Stack(uint64_t id) const;
};

// ParseHeader() checks the 16-byte header (spec §1.1) and sets *version.
Status ParseHeader(const uint8_t* buf, size_t n, int* version);

// BuildIndex() reads the whole input. Errors carry offsets.
Status BuildIndex(const Input* in, TraceIndex* index);

}  // namespace tracetool::parser::internal

#endif  // TRACETOOL_LIB_PARSER_INTERNAL_INDEX_H_
