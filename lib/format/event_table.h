// The Go execution-trace "v1" wire format (trace versions 1005–1021) as one table.
//
// This header is the only code shared by the reader (lib/parser) and the fiber runtime's writer
// (lib/fiber). Each row describes one event type: its printed name, the first trace version in
// which it is legal, and its wire values. The `-d` dump, the reader's argument-count checks, the
// writer and the test assembler all read this table, so a new event type is one new row.
// Source: ../shared/spec/go-trace-v1-format.md §1.9 (wire layouts) and §7.2 (printed names).
//
// Not here: reading or writing bytes (see lib/parser/reader.h and lib/fiber).
#ifndef TRACETOOL_LIB_FORMAT_EVENT_TABLE_H_
#define TRACETOOL_LIB_FORMAT_EVENT_TABLE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tracetool::format {

// Event type numbers exactly as on the wire (the low 6 bits of the record's first byte).
enum class EventType : uint8_t {
  kNone = 0,
  kBatch = 1,
  kFrequency = 2,
  kStack = 3,
  kGomaxprocs = 4,
  kProcStart = 5,
  kProcStop = 6,
  kGCStart = 7,
  kGCDone = 8,
  kGCSTWStart = 9,
  kGCSTWDone = 10,
  kGCSweepStart = 11,
  kGCSweepDone = 12,
  kGoCreate = 13,
  kGoStart = 14,
  kGoEnd = 15,
  kGoStop = 16,
  kGoSched = 17,
  kGoPreempt = 18,
  kGoSleep = 19,
  kGoBlock = 20,
  kGoUnblock = 21,
  kGoBlockSend = 22,
  kGoBlockRecv = 23,
  kGoBlockSelect = 24,
  kGoBlockSync = 25,
  kGoBlockCond = 26,
  kGoBlockNet = 27,
  kGoSysCall = 28,
  kGoSysExit = 29,
  kGoSysBlock = 30,
  kGoWaiting = 31,
  kGoInSyscall = 32,
  kHeapAlloc = 33,
  kHeapGoal = 34,
  kTimerGoroutine = 35,
  kFutileWakeup = 36,
  kString = 37,
  kGoStartLocal = 38,
  kGoUnblockLocal = 39,
  kGoSysExitLocal = 40,
  kGoStartLabel = 41,
  kGoBlockGC = 42,
  kGCMarkAssistStart = 43,
  kGCMarkAssistDone = 44,
  kUserTaskCreate = 45,
  kUserTaskEnd = 46,
  kUserRegion = 47,
  kUserLog = 48,
  kCPUSample = 49,
  // Not on any v1 wire: a non-blocking syscall's return, which v1 traces do not record. The v2
  // reader (Go 1.22+ traces record every syscall's end) emits it, linked (Event::from) to its
  // GoSysCall, so that every syscall is a closed interval (spec v2 §4.2, -pprof=syscall).
  kGoSysReturn = 50,
  kCount = 51,
};

inline constexpr int kMaxArgs = 4;  // argument slots, excluding time delta and stack id

struct EventSpec {
  std::string_view name;  // as printed by `go tool trace -d`
  uint16_t min_version;   // first trace version where the type is legal
  bool timed;             // first wire value is a time delta
  bool has_stack;         // last wire value is a stack id (not an argument slot)
  bool meta;              // not a timeline event (batch, frequency, stack, string, timer g)
  uint8_t num_args;       // argument slots on the wire for version 1019
  std::array<std::string_view, kMaxArgs> args;  // printed names of the slots (empty: unprinted)
  std::array<std::string_view, 2> string_args;  // printed names of string arguments
};

// clang-format off
inline constexpr EventSpec kEventSpecs[] = {
    // name                  since  timed  stack  meta   n  printed slot names                  strings
    {"None",                 1005, false, false, true,  0, {},                                 {}},
    {"Batch",                1005, false, false, true,  2, {"p", "ticks"},                     {}},
    {"Frequency",            1005, false, false, true,  1, {"freq"},                           {}},
    {"Stack",                1005, false, false, true,  0, {},                                 {}},
    {"Gomaxprocs",           1005, true,  true,  false, 1, {"procs"},                          {}},
    {"ProcStart",            1005, true,  false, false, 1, {"thread"},                         {}},
    {"ProcStop",             1005, true,  false, false, 0, {},                                 {}},
    {"GCStart",              1005, true,  true,  false, 1, {"seq"},                            {}},
    {"GCDone",               1005, true,  false, false, 0, {},                                 {}},
    {"GCSTWStart",           1005, true,  false, false, 1, {"kindid"},                         {"kind"}},
    {"GCSTWDone",            1005, true,  false, false, 0, {},                                 {}},
    {"GCSweepStart",         1005, true,  true,  false, 0, {},                                 {}},
    {"GCSweepDone",          1005, true,  false, false, 2, {"swept", "reclaimed"},             {}},
    {"GoCreate",             1005, true,  true,  false, 2, {"g", "stack"},                     {}},
    {"GoStart",              1005, true,  false, false, 2, {"g", "seq"},                       {}},
    {"GoEnd",                1005, true,  false, false, 0, {},                                 {}},
    {"GoStop",               1005, true,  true,  false, 0, {},                                 {}},
    {"GoSched",              1005, true,  true,  false, 0, {},                                 {}},
    {"GoPreempt",            1005, true,  true,  false, 0, {},                                 {}},
    {"GoSleep",              1005, true,  true,  false, 0, {},                                 {}},
    {"GoBlock",              1005, true,  true,  false, 0, {},                                 {}},
    {"GoUnblock",            1005, true,  true,  false, 2, {"g", "seq"},                       {}},
    {"GoBlockSend",          1005, true,  true,  false, 0, {},                                 {}},
    {"GoBlockRecv",          1005, true,  true,  false, 0, {},                                 {}},
    {"GoBlockSelect",        1005, true,  true,  false, 0, {},                                 {}},
    {"GoBlockSync",          1005, true,  true,  false, 0, {},                                 {}},
    {"GoBlockCond",          1005, true,  true,  false, 0, {},                                 {}},
    {"GoBlockNet",           1005, true,  true,  false, 0, {},                                 {}},
    {"GoSysCall",            1005, true,  true,  false, 0, {},                                 {}},
    {"GoSysExit",            1005, true,  false, false, 3, {"g", "seq", "ts"},                 {}},
    {"GoSysBlock",           1005, true,  false, false, 0, {},                                 {}},
    {"GoWaiting",            1005, true,  false, false, 1, {"g"},                              {}},
    {"GoInSyscall",          1005, true,  false, false, 1, {"g"},                              {}},
    {"HeapAlloc",            1005, true,  false, false, 1, {"mem"},                            {}},
    {"HeapGoal",             1005, true,  false, false, 1, {"mem"},                            {}},
    {"TimerGoroutine",       1005, false, false, true,  1, {"g"},                              {}},
    {"FutileWakeup",         1005, true,  false, false, 0, {},                                 {}},
    {"String",               1007, false, false, true,  0, {},                                 {}},
    {"GoStartLocal",         1007, true,  false, false, 1, {"g"},                              {}},
    {"GoUnblockLocal",       1007, true,  true,  false, 1, {"g"},                              {}},
    {"GoSysExitLocal",       1007, true,  false, false, 2, {"g", "ts"},                        {}},
    {"GoStartLabel",         1008, true,  false, false, 3, {"g", "seq", "labelid"},            {"label"}},
    {"GoBlockGC",            1008, true,  true,  false, 0, {},                                 {}},
    {"GCMarkAssistStart",    1009, true,  true,  false, 0, {},                                 {}},
    {"GCMarkAssistDone",     1009, true,  false, false, 0, {},                                 {}},
    {"UserTaskCreate",       1011, true,  true,  false, 3, {"taskid", "pid", "typeid"},        {"name"}},
    {"UserTaskEnd",          1011, true,  true,  false, 1, {"taskid"},                         {}},
    {"UserRegion",           1011, true,  true,  false, 3, {"taskid", "mode", "typeid"},       {"name"}},
    {"UserLog",              1011, true,  true,  false, 2, {"id", "keyid"},                    {"category", "message"}},
    {"CPUSample",            1019, true,  true,  false, 3, {"ts", "p", "g"},                   {}},
    {"GoSysReturn",          1022, true,  false, false, 0, {},                                 {}},
};
// clang-format on

static_assert(std::size(kEventSpecs) == static_cast<size_t>(EventType::kCount),
              "kEventSpecs must have one row per EventType");

constexpr const EventSpec& Spec(EventType t) { return kEventSpecs[static_cast<size_t>(t)]; }

// Supported v1 trace versions (major*1000 + minor). Go 1.12–1.18 write 1011, Go 1.20 writes 1019.
inline constexpr uint16_t kSupportedVersions[] = {1005, 1007, 1008, 1009, 1010, 1011, 1019, 1021};

constexpr bool IsSupportedVersion(int version) {
  for (uint16_t v : kSupportedVersions) {
    if (v == version) return true;
  }
  return false;
}

// Number of uvarint values an event of type `t` carries on the wire in a trace of `version`
// (time delta, argument slots and stack id; for meta records their fixed values). Spec §1.9:
// "Expected value count for a given version". Returns -1 for variable-length records (Stack) and
// String, which has its own layout.
constexpr int WireValueCount(EventType t, int version) {
  const EventSpec& s = Spec(t);
  if (t == EventType::kStack || t == EventType::kString || t == EventType::kNone) return -1;
  int n = s.num_args + (s.timed ? 1 : 0) + (s.has_stack ? 1 : 0);
  if (t == EventType::kGCSweepDone && version < 1009) n -= 2;
  if (t == EventType::kGCSTWStart && version < 1010) n -= 1;
  if (version < 1007) {
    if (s.timed) n += 1;  // sequence delta
    if (t == EventType::kGCStart || t == EventType::kGoStart || t == EventType::kGoUnblock) n -= 1;
    if (t == EventType::kBatch || t == EventType::kFrequency || t == EventType::kTimerGoroutine) {
      n += 1;
    }
  }
  return n;
}

// IsGoBlock(t): the events with which a running goroutine starts waiting for an unblock (Go's
// "block" events; a GoUnblock links back to them).
constexpr bool IsGoBlock(EventType t) {
  switch (t) {
    case EventType::kGoSleep:
    case EventType::kGoBlock:
    case EventType::kGoBlockSend:
    case EventType::kGoBlockRecv:
    case EventType::kGoBlockSelect:
    case EventType::kGoBlockSync:
    case EventType::kGoBlockCond:
    case EventType::kGoBlockNet:
    case EventType::kGoBlockGC:
      return true;
    default:
      return false;
  }
}

// The 16-byte header a Go 1.19 runtime writes (spec §1.1). A writer targeting Go 1.19's tool
// emits exactly these bytes.
inline constexpr std::array<uint8_t, 16> kHeader1019 = {'g', 'o', ' ', '1', '.', '1', '9', ' ',
                                                        't', 'r', 'a', 'c', 'e', 0,   0,   0};

// Special P ids used after merging (spec §2).
inline constexpr int64_t kFakeP = 1000000;
inline constexpr int64_t kTimerP = 1000001;
inline constexpr int64_t kNetpollP = 1000002;
inline constexpr int64_t kSyscallP = 1000003;
inline constexpr int64_t kGCP = 1000004;
inline constexpr int64_t kProfileP = 1000005;

}  // namespace tracetool::format

#endif  // TRACETOOL_LIB_FORMAT_EVENT_TABLE_H_
