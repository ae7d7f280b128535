// Symbolization of trace stack PCs with elfutils' libdw (trace_symbolize.cc).
#ifndef TRACETOOL_LIB_FIBER_INTERNAL_TRACE_SYMBOLIZE_H_
#define TRACETOOL_LIB_FIBER_INTERNAL_TRACE_SYMBOLIZE_H_

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace tracetool::fiber::internal {

struct SymFrame {
  std::string function;  // Demangled; "?" when unknown.
  std::string file;      // Source file, "" when unknown.
  uint64_t line = 0;
};

// Symbolize() maps each PC (already adjusted to lie inside its call instruction) of this
// process to its frames, innermost first: more than one when the PC is in inlined code. Unknown
// PCs get one frame with function "?" (never an error).
std::unordered_map<uintptr_t, std::vector<SymFrame>> Symbolize(const std::vector<uintptr_t>& pcs);

}  // namespace tracetool::fiber::internal

#endif  // TRACETOOL_LIB_FIBER_INTERNAL_TRACE_SYMBOLIZE_H_
