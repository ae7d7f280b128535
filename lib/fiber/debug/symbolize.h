// Symbolize: return addresses -> function, file, line, through libdw (elfutils), which reads
// the full symbol table and DWARF line info of every mapped module (dladdr sees only exported
// symbols). The one place lib/fiber/debug turns addresses into names.
#ifndef TRACETOOL_LIB_FIBER_DEBUG_SYMBOLIZE_H_
#define TRACETOOL_LIB_FIBER_DEBUG_SYMBOLIZE_H_

#include <cstdint>
#include <string>
#include <unordered_map>

struct Dwfl;

namespace tracetool::fiber::debug {

struct Symbol {
  std::string function;  // Demangled; "0x..." when unknown.
  std::string file;      // Source file, or the module path when there is no line info.
  int64_t line = 0;
  uint64_t offset = 0;   // pc - function start.
};

// Not thread-safe: make one per request (construction reads /proc/self/maps).
class Symbolizer {
 public:
  Symbolizer();
  ~Symbolizer();
  Symbolizer(const Symbolizer&) = delete;
  Symbolizer& operator=(const Symbolizer&) = delete;

  // `pc` is a return address: the call instruction before it is what gets named.
  const Symbol& Lookup(uintptr_t pc);

 private:
  Dwfl* dwfl_ = nullptr;
  std::unordered_map<uintptr_t, Symbol> cache_;
};

}  // namespace tracetool::fiber::debug

#endif  // TRACETOOL_LIB_FIBER_DEBUG_SYMBOLIZE_H_
