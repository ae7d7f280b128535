// The Go 1.22–1.26 ("v2") trace wire format as one table: event numbers, operand names and which
// operands are stack or string ids. Read by the v2 reader (reader_v2.cc) and by the text-trace
// assembler of tests/v2, so that a new event type is one new row.
// Source: ../shared/spec/go-trace-v2-format.md §2.1 (wire operands) and §5.2 (text names).
//
// Not here: reading bytes (reader_v2.h) or the mapping onto the format-neutral model.
#ifndef TRACETOOL_LIB_PARSER_V2_WIRE_H_
#define TRACETOOL_LIB_PARSER_V2_WIRE_H_

#include <array>
#include <cstdint>
#include <string_view>

namespace tracetool::parser::v2 {

enum Ev : uint8_t {
  kEvNone = 0,
  kEvEventBatch = 1,
  kEvStacks = 2,
  kEvStack = 3,
  kEvStrings = 4,
  kEvString = 5,
  kEvCPUSamples = 6,
  kEvCPUSample = 7,
  kEvFrequency = 8,
  kEvProcsChange = 9,
  kEvProcStart = 10,
  kEvProcStop = 11,
  kEvProcSteal = 12,
  kEvProcStatus = 13,
  kEvGoCreate = 14,
  kEvGoCreateSyscall = 15,
  kEvGoStart = 16,
  kEvGoDestroy = 17,
  kEvGoDestroySyscall = 18,
  kEvGoStop = 19,
  kEvGoBlock = 20,
  kEvGoUnblock = 21,
  kEvGoSyscallBegin = 22,
  kEvGoSyscallEnd = 23,
  kEvGoSyscallEndBlocked = 24,
  kEvGoStatus = 25,
  kEvSTWBegin = 26,
  kEvSTWEnd = 27,
  kEvGCActive = 28,
  kEvGCBegin = 29,
  kEvGCEnd = 30,
  kEvGCSweepActive = 31,
  kEvGCSweepBegin = 32,
  kEvGCSweepEnd = 33,
  kEvGCMarkAssistActive = 34,
  kEvGCMarkAssistBegin = 35,
  kEvGCMarkAssistEnd = 36,
  kEvHeapAlloc = 37,
  kEvHeapGoal = 38,
  kEvGoLabel = 39,
  kEvUserTaskBegin = 40,
  kEvUserTaskEnd = 41,
  kEvUserRegionBegin = 42,
  kEvUserRegionEnd = 43,
  kEvUserLog = 44,
  kEvGoSwitch = 45,
  kEvGoSwitchDestroy = 46,
  kEvGoCreateBlocked = 47,
  kEvGoStatusStack = 48,
  kEvExperimentalBatch = 49,
  kEvSync = 50,
  kEvClockSnapshot = 51,
  kEvEndOfGeneration = 52,
  kEvFirstExperimental = 128,  // Span … GoroutineStackFree (AllocFree experiment)
  kEvLastExperimental = 136,
};

inline constexpr int kMaxOperands = 5;  // dt + 4 (GoStatusStack, UserTaskBegin, UserLog)

// Wire statuses (spec §2.2).
enum GoStatusWire : uint8_t { kGoBad = 0, kGoRunnable = 1, kGoRunning = 2, kGoSyscall = 3, kGoWaiting = 4 };
enum ProcStatusWire : uint8_t {
  kProcBad = 0,
  kProcRunning = 1,
  kProcIdle = 2,
  kProcSyscall = 3,
  kProcSyscallAbandoned = 4,
};

inline constexpr uint64_t kNoId = ~uint64_t{0};  // NoThread / NoProc / NoGoroutine / NoTask

struct EvSpec {
  std::string_view name;     // empty: undefined number
  uint8_t since;             // first header version (22, 23, 25, 26) whose text may name it
  bool timed;                // operand 0 is dt; lives in event batches
  uint8_t nops;              // operands on the wire (dt included); for Stack/String the fixed ones
  std::array<std::string_view, kMaxOperands> ops;  // text names of the operands
  std::array<int8_t, 2> stacks;                    // operand indexes holding stack ids (-1: none)
  std::array<int8_t, 2> strings;                   // operand indexes holding string ids
};

namespace wire_detail {
inline constexpr std::array<int8_t, 2> kNo = {-1, -1};
constexpr std::array<int8_t, 2> One(int8_t a) { return {a, -1}; }
constexpr std::array<int8_t, 2> Two(int8_t a, int8_t b) { return {a, b}; }
}  // namespace wire_detail

// Spec(n): the row of event number n; rows with an empty name are undefined.
constexpr EvSpec SpecOf(uint8_t n) {
  using namespace wire_detail;
  switch (n) {
    // clang-format off
    case 1: return {"EventBatch", 22, false, 4, {"gen", "m", "time", "size"}, kNo, kNo};
    case 2: return {"Stacks", 22, false, 0, {}, kNo, kNo};
    case 3: return {"Stack", 22, false, 2, {"id", "nframes"}, kNo, kNo};
    case 4: return {"Strings", 22, false, 0, {}, kNo, kNo};
    case 5: return {"String", 22, false, 1, {"id"}, kNo, kNo};
    case 6: return {"CPUSamples", 22, false, 0, {}, kNo, kNo};
    case 7: return {"CPUSample", 22, false, 5, {"time", "m", "p", "g", "stack"}, kNo, kNo};
    case 8: return {"Frequency", 22, false, 1, {"freq"}, kNo, kNo};
    case 9: return {"ProcsChange", 22, true, 3, {"dt", "procs_value", "stack"}, One(2), kNo};
    case 10: return {"ProcStart", 22, true, 3, {"dt", "p", "p_seq"}, kNo, kNo};
    case 11: return {"ProcStop", 22, true, 1, {"dt"}, kNo, kNo};
    case 12: return {"ProcSteal", 22, true, 4, {"dt", "p", "p_seq", "m"}, kNo, kNo};
    case 13: return {"ProcStatus", 22, true, 3, {"dt", "p", "pstatus"}, kNo, kNo};
    case 14: return {"GoCreate", 22, true, 4, {"dt", "new_g", "new_stack", "stack"}, Two(2, 3), kNo};
    case 15: return {"GoCreateSyscall", 22, true, 2, {"dt", "new_g"}, kNo, kNo};
    case 16: return {"GoStart", 22, true, 3, {"dt", "g", "g_seq"}, kNo, kNo};
    case 17: return {"GoDestroy", 22, true, 1, {"dt"}, kNo, kNo};
    case 18: return {"GoDestroySyscall", 22, true, 1, {"dt"}, kNo, kNo};
    case 19: return {"GoStop", 22, true, 3, {"dt", "reason_string", "stack"}, One(2), One(1)};
    case 20: return {"GoBlock", 22, true, 3, {"dt", "reason_string", "stack"}, One(2), One(1)};
    case 21: return {"GoUnblock", 22, true, 4, {"dt", "g", "g_seq", "stack"}, One(3), kNo};
    case 22: return {"GoSyscallBegin", 22, true, 3, {"dt", "p_seq", "stack"}, One(2), kNo};
    case 23: return {"GoSyscallEnd", 22, true, 1, {"dt"}, kNo, kNo};
    case 24: return {"GoSyscallEndBlocked", 22, true, 1, {"dt"}, kNo, kNo};
    case 25: return {"GoStatus", 22, true, 4, {"dt", "g", "m", "gstatus"}, kNo, kNo};
    case 26: return {"STWBegin", 22, true, 3, {"dt", "kind_string", "stack"}, One(2), One(1)};
    case 27: return {"STWEnd", 22, true, 1, {"dt"}, kNo, kNo};
    case 28: return {"GCActive", 22, true, 2, {"dt", "gc_seq"}, kNo, kNo};
    case 29: return {"GCBegin", 22, true, 3, {"dt", "gc_seq", "stack"}, One(2), kNo};
    case 30: return {"GCEnd", 22, true, 2, {"dt", "gc_seq"}, kNo, kNo};
    case 31: return {"GCSweepActive", 22, true, 2, {"dt", "p"}, kNo, kNo};
    case 32: return {"GCSweepBegin", 22, true, 2, {"dt", "stack"}, One(1), kNo};
    case 33: return {"GCSweepEnd", 22, true, 3, {"dt", "swept_value", "reclaimed_value"}, kNo, kNo};
    case 34: return {"GCMarkAssistActive", 22, true, 2, {"dt", "g"}, kNo, kNo};
    case 35: return {"GCMarkAssistBegin", 22, true, 2, {"dt", "stack"}, One(1), kNo};
    case 36: return {"GCMarkAssistEnd", 22, true, 1, {"dt"}, kNo, kNo};
    case 37: return {"HeapAlloc", 22, true, 2, {"dt", "heapalloc_value"}, kNo, kNo};
    case 38: return {"HeapGoal", 22, true, 2, {"dt", "heapgoal_value"}, kNo, kNo};
    case 39: return {"GoLabel", 22, true, 2, {"dt", "label_string"}, kNo, One(1)};
    case 40: return {"UserTaskBegin", 22, true, 5, {"dt", "task", "parent_task", "name_string", "stack"}, One(4), One(3)};
    case 41: return {"UserTaskEnd", 22, true, 3, {"dt", "task", "stack"}, One(2), kNo};
    case 42: return {"UserRegionBegin", 22, true, 4, {"dt", "task", "name_string", "stack"}, One(3), One(2)};
    case 43: return {"UserRegionEnd", 22, true, 4, {"dt", "task", "name_string", "stack"}, One(3), One(2)};
    case 44: return {"UserLog", 22, true, 5, {"dt", "task", "key_string", "value_string", "stack"}, One(4), Two(2, 3)};
    case 45: return {"GoSwitch", 23, true, 3, {"dt", "g", "g_seq"}, kNo, kNo};
    case 46: return {"GoSwitchDestroy", 23, true, 3, {"dt", "g", "g_seq"}, kNo, kNo};
    case 47: return {"GoCreateBlocked", 23, true, 4, {"dt", "new_g", "new_stack", "stack"}, Two(2, 3), kNo};
    case 48: return {"GoStatusStack", 23, true, 5, {"dt", "g", "m", "gstatus", "stack"}, One(4), kNo};
    case 49: return {"ExperimentalBatch", 23, false, 4, {"exp", "gen", "m", "time"}, kNo, kNo};
    case 50: return {"Sync", 25, false, 0, {}, kNo, kNo};
    case 51: return {"ClockSnapshot", 25, false, 4, {"dt", "mono", "sec", "nsec"}, kNo, kNo};
    case 52: return {"EndOfGeneration", 26, false, 0, {}, kNo, kNo};
    case 128: return {"Span", 26, true, 4, {"dt", "id", "npages_value", "kindclass"}, kNo, kNo};
    case 129: return {"SpanAlloc", 26, true, 4, {"dt", "id", "npages_value", "kindclass"}, kNo, kNo};
    case 130: return {"SpanFree", 26, true, 2, {"dt", "id"}, kNo, kNo};
    case 131: return {"HeapObject", 26, true, 3, {"dt", "id", "type"}, kNo, kNo};
    case 132: return {"HeapObjectAlloc", 26, true, 3, {"dt", "id", "type"}, kNo, kNo};
    case 133: return {"HeapObjectFree", 26, true, 2, {"dt", "id"}, kNo, kNo};
    case 134: return {"GoroutineStack", 26, true, 3, {"dt", "id", "order"}, kNo, kNo};
    case 135: return {"GoroutineStackAlloc", 26, true, 3, {"dt", "id", "order"}, kNo, kNo};
    case 136: return {"GoroutineStackFree", 26, true, 2, {"dt", "id"}, kNo, kNo};
    // clang-format on
    default:
      return {"", 0, false, 0, {}, kNo, kNo};
  }
}

// The rows, indexed by event number, built once at compile time (the reader's dispatch table).
inline constexpr std::array<EvSpec, 256> kEvSpecs = [] {
  std::array<EvSpec, 256> t{};
  for (int i = 0; i < 256; ++i) t[static_cast<size_t>(i)] = SpecOf(static_cast<uint8_t>(i));
  return t;
}();

static_assert(kEvSpecs[kEvGoStatusStack].nops == 5 && kEvSpecs[kEvUserLog].nops == 5,
              "the largest timed events carry dt + 4 operands (spec §1.9)");

// Limits (spec §1.9).
inline constexpr uint64_t kMaxBatchSize = 65536;
inline constexpr uint64_t kMaxFramesPerStack = 128;
inline constexpr uint64_t kMaxStringSize = 1024;

}  // namespace tracetool::parser::v2

#endif  // TRACETOOL_LIB_PARSER_V2_WIRE_H_
