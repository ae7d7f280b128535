// The format-neutral event model that every trace reader hands to the analyses.
//
// A reader (lib/parser/reader.h for Go 1.5–1.21, a v2 reader later) produces Events in their
// final, validated order. Events are plain values: no pointers into reader buffers, so a consumer
// may copy and keep them. Strings and stacks are referenced by id and resolved through the
// reader's StringTable and StackTable, which stay valid for the reader's lifetime.
#ifndef TRACETOOL_LIB_PARSER_EVENT_H_
#define TRACETOOL_LIB_PARSER_EVENT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lib/format/event_table.h"

namespace tracetool::parser {

using format::EventType;

// The earlier event that this event completes (Go's Event.Link, seen from its target, so that a
// streaming consumer learns the pair when the second half arrives). For example a GoUnblock carries
// the GoBlock* that it ends, a GoStart the GoCreate/GoUnblock/GoSched/GoSysExit that made the
// goroutine runnable, a GoSysExit the GoSysCall of a syscall that blocked. Spec §5.1.
struct LinkFrom {
  EventType type = EventType::kNone;  // kNone: no link ends here
  int64_t ts = 0;                     // ns
  uint32_t stack_id = 0;
  uint64_t g = 0;       // the goroutine that emitted the earlier event
  uint64_t offset = 0;  // its byte offset
};

// How the runnable interval that a GoStart ends counts in `-pprof=sched` (set on GoStart only).
// kModel: by the model's own rule, Go 1.19's (the interval began with GoUnblock or GoCreate).
// kCount / kSkip: the reader decided, for traces whose Go defines the profile differently: from
// Go 1.22 on (../shared/spec/go-trace-v2-format.md §4.2) every runnable interval counts (also after
// a preemption or a yield) except the one before a goroutine's first run in the trace.
enum class SchedRule : uint8_t { kModel, kCount, kSkip };

struct Event {
  int64_t ts = 0;        // nanoseconds since the first event of the trace
  uint64_t offset = 0;   // absolute byte offset of the record's first byte in the trace
  uint64_t g = 0;        // goroutine the event happened on (0: none / scheduler)
  int64_t p = 0;         // P, after relocation to the special Ps of format/event_table.h
  uint64_t args[format::kMaxArgs] = {};  // argument slots as printed by -d (spec §1.9)
  uint32_t stack_id = 0;                 // 0: no stack
  EventType type = EventType::kNone;     // Local variants already renamed
  LinkFrom from;                         // the event this one completes, if any
  SchedRule sched_rule = SchedRule::kModel;  // GoStart: see SchedRule
  // UserLog's inline message (the only string carried by value, spec §1.9). Empty otherwise.
  std::string_view message;
};

struct Frame {
  uint64_t pc = 0;
  uint32_t fn = 0;    // string id of the function name
  uint32_t file = 0;  // string id of the file name
  uint64_t line = 0;
};

}  // namespace tracetool::parser

#endif  // TRACETOOL_LIB_PARSER_EVENT_H_
