#include "lib/fiber/debug/symbolize.h"

#include <cxxabi.h>
#include <elfutils/libdwfl.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>

namespace tracetool::fiber::debug {
namespace {

std::string Demangle(const char* name) {
  int status = 0;
  char* d = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  if (status != 0 || d == nullptr) return name;
  std::string out(d);
  free(d);
  return out;
}

char* debuginfo_path = nullptr;
const Dwfl_Callbacks kCallbacks = {
    dwfl_linux_proc_find_elf,
    dwfl_standard_find_debuginfo,
    nullptr,
    &debuginfo_path,
};

}  // namespace

Symbolizer::Symbolizer() {
  dwfl_ = dwfl_begin(&kCallbacks);
  if (dwfl_ == nullptr) return;
  dwfl_report_begin(dwfl_);
  if (dwfl_linux_proc_report(dwfl_, getpid()) != 0) {
    dwfl_end(dwfl_);
    dwfl_ = nullptr;
    return;
  }
  dwfl_report_end(dwfl_, nullptr, nullptr);
}

Symbolizer::~Symbolizer() {
  if (dwfl_) dwfl_end(dwfl_);
}

const Symbol& Symbolizer::Lookup(uintptr_t pc) {
  auto it = cache_.find(pc);
  if (it != cache_.end()) return it->second;
  Symbol s;
  const Dwarf_Addr addr = pc > 0 ? pc - 1 : 0;
  Dwfl_Module* mod = dwfl_ ? dwfl_addrmodule(dwfl_, addr) : nullptr;
  if (mod != nullptr) {
    GElf_Off off = 0;
    GElf_Sym sym;
    const char* name = dwfl_module_addrinfo(mod, addr, &off, &sym, nullptr, nullptr, nullptr);
    if (name != nullptr) {
      s.function = Demangle(name);
      s.offset = off + 1;  // Offset of the return address, as Go prints it.
    }
    if (Dwfl_Line* line = dwfl_module_getsrc(mod, addr)) {
      int lineno = 0;
      const char* file = dwfl_lineinfo(line, nullptr, &lineno, nullptr, nullptr, nullptr);
      if (file) s.file = file;
      s.line = lineno;
    }
    if (s.file.empty()) {
      const char* mname = dwfl_module_info(mod, nullptr, nullptr, nullptr, nullptr, nullptr,
                                           nullptr, nullptr);
      if (mname) s.file = mname;
    }
  }
  if (s.function.empty()) {
    char buf[32];
    snprintf(buf, sizeof(buf), "0x%" PRIxPTR, pc);
    s.function = buf;
  }
  return cache_.emplace(pc, std::move(s)).first->second;
}

}  // namespace tracetool::fiber::debug
