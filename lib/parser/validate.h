// Validator: Go's postProcessTrace (spec §4): checks every event against the goroutine and P
// state machines, relocates GCStart to the GC pseudo-P and network unblocks to the netpoll
// pseudo-P, sets each event's creation stack and its link back to the event it completes (§5.1).
#ifndef TRACETOOL_LIB_PARSER_VALIDATE_H_
#define TRACETOOL_LIB_PARSER_VALIDATE_H_

#include <cstdint>
#include <vector>

#include "lib/parser/event.h"
#include "lib/parser/flat_map.h"
#include "lib/parser/internal/index.h"
#include "lib/parser/status.h"

namespace tracetool::parser::internal {

class Validator {
 public:
  // `index` (borrowed) resolves region names: Go matches region ends by name, not by id.
  Validator(int version, const TraceIndex* index);

  // Process() checks *ev (normalized time, relocated P) and updates it in place: P (GCP,
  // NetpollP), stack_id (GoStart: the creation stack), from (the link it completes).
  Status Process(Event* ev);

 private:
  struct GDesc {
    uint8_t state = 0;  // kDead, kRunnable, kRunning, kWaiting
    bool has_create = false;
    bool in_mark_assist = false;
    uint32_t create_stack = 0;  // GoCreate's new-goroutine stack id (slot 1)
    LinkFrom ev;                // the last event that a later one links from (Go's g.ev)
    LinkFrom start;             // the current GoStart (Go's g.evStart)
  };
  struct PDesc {
    bool running = false;
    bool stw = false;    // per-P STW, versions < 1010
    LinkFrom stw_start;  // its start (versions < 1010)
    bool sweep = false;
    uint64_t g = 0;
    // The goroutine looked up last for an event on this P (usually the one it runs) and where
    // its GDesc was, valid while gs_.epoch() == cache_epoch. Saves a hash lookup per event.
    uint64_t cache_g = 0;
    uint64_t cache_epoch = ~0ull;
    GDesc* cache = nullptr;
  };
  struct Region {
    uint64_t task;
    uint64_t name;
    LinkFrom start;
  };

  PDesc& P(int64_t p) {
    if (static_cast<uint64_t>(p) < dense_ps_.size()) return dense_ps_[static_cast<size_t>(p)];
    return PSlow(p);
  }
  PDesc& PSlow(int64_t p);
  GDesc& G(PDesc& p, uint64_t g);
  Status CheckRunning(const PDesc& p, const GDesc& g, const Event& ev, bool allow_g0) const;
  Status NotRunning(const PDesc& p, const GDesc& g, const Event& ev, bool allow_g0) const;

  const int version_;
  const TraceIndex* const index_;
  FlatMap<GDesc> gs_;       // goroutines not (yet) ended
  IdSet ended_;             // ended goroutines: dead, and their ids can never be created again
  std::vector<PDesc> dense_ps_;  // Ps 0 .. kDenseP-1 (the real ones)
  FlatMap<PDesc> ps_;            // the others (pseudo-Ps, -1, hostile ids)
  static constexpr int64_t kDenseP = 1024;
  FlatMap<LinkFrom> tasks_;                  // open tasks
  FlatMap<std::vector<Region>> regions_;     // per goroutine, innermost last
  bool gc_open_ = false;
  bool stw_open_ = false;
  LinkFrom gc_start_, stw_start_;
};

}  // namespace tracetool::parser::internal

#endif  // TRACETOOL_LIB_PARSER_VALIDATE_H_
