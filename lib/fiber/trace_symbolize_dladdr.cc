// PC -> function name with dladdr, for builds without elfutils' libdw (the cross-compiled,
// statically linked aarch64 test build: Debian has no arm64 libdw here). Names come from the
// dynamic symbol table when there is one, else "?"; no file, no line, no inline frames. The
// normal build uses trace_symbolize.cc (libdw) instead; CMake picks one of the two.
#include <cxxabi.h>
#include <dlfcn.h>

#include <cstdlib>

#include "lib/fiber/internal/trace_symbolize.h"

namespace tracetool::fiber::internal {

std::unordered_map<uintptr_t, std::vector<SymFrame>> Symbolize(const std::vector<uintptr_t>& pcs) {
  std::unordered_map<uintptr_t, std::vector<SymFrame>> out;
  for (uintptr_t pc : pcs) {
    if (out.count(pc) != 0) continue;
    SymFrame f;
    f.function = "?";
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(pc), &info) != 0 && info.dli_sname != nullptr) {
      int status = 0;
      char* d = abi::__cxa_demangle(info.dli_sname, nullptr, nullptr, &status);
      f.function = status == 0 && d != nullptr ? d : info.dli_sname;
      free(d);
    }
    out[pc].push_back(std::move(f));
  }
  return out;
}

}  // namespace tracetool::fiber::internal
