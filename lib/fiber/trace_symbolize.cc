// PC -> (function, file, line) for trace stacks, with libdw (elfutils), at trace stop.
//
// The function is the innermost one at the PC: when the PC lies in code inlined into its
// symbol, the name comes from the DW_TAG_inlined_subroutine's abstract origin, so that a frame
// names the function whose line it reports (what Go's own traces do for inlined frames, minus
// the extra frames for the inlining callers). Names are demangled with __cxa_demangle.
// Rejected: dladdr + addr2line (a process per trace, and no inline information); backtrace_symbols
// (no file/line).
#include "lib/fiber/internal/trace_symbolize.h"

#include <cxxabi.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace tracetool::fiber::internal {
namespace {

std::string Demangle(const char* name) {
  if (name == nullptr) return "?";
  int status = 0;
  char* d = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  if (status == 0 && d != nullptr) {
    std::string out(d);
    free(d);
    return out;
  }
  return name;
}

// The name of a subprogram or inlined-subroutine DIE (following abstract origins).
std::string DieName(Dwarf_Die* die) {
  Dwarf_Attribute attr;
  for (int at : {DW_AT_linkage_name, DW_AT_MIPS_linkage_name}) {
    if (dwarf_attr_integrate(die, at, &attr) != nullptr) {
      if (const char* s = dwarf_formstring(&attr)) return Demangle(s);
    }
  }
  if (dwarf_attr_integrate(die, DW_AT_name, &attr) != nullptr) {
    if (const char* s = dwarf_formstring(&attr)) return s;
  }
  return "";
}

// Innermost function (inlined or not) containing pc; "" if unknown.
std::string InnermostFunction(Dwfl_Module* mod, Dwarf_Addr pc) {
  Dwarf_Addr bias = 0;
  Dwarf_Die* cu = dwfl_module_addrdie(mod, pc, &bias);
  if (cu == nullptr) return "";
  Dwarf_Die* scopes = nullptr;
  const int n = dwarf_getscopes(cu, pc - bias, &scopes);
  std::string name;
  for (int i = 0; i < n; i++) {
    const int tag = dwarf_tag(&scopes[i]);
    if (tag == DW_TAG_inlined_subroutine || tag == DW_TAG_subprogram) {
      name = DieName(&scopes[i]);
      if (!name.empty()) break;
    }
  }
  free(scopes);
  return name;
}

}  // namespace

std::unordered_map<uintptr_t, SymFrame> Symbolize(const std::vector<uintptr_t>& pcs) {
  std::unordered_map<uintptr_t, SymFrame> out;
  char* debuginfo_path = nullptr;
  const Dwfl_Callbacks callbacks = {
      dwfl_linux_proc_find_elf,
      dwfl_standard_find_debuginfo,
      nullptr,
      &debuginfo_path,
  };
  Dwfl* dwfl = dwfl_begin(&callbacks);
  if (dwfl != nullptr) {
    if (dwfl_linux_proc_report(dwfl, getpid()) != 0 || dwfl_report_end(dwfl, nullptr, nullptr) != 0) {
      dwfl_end(dwfl);
      dwfl = nullptr;
    }
  }
  for (uintptr_t pc : pcs) {
    SymFrame f;
    Dwfl_Module* mod = dwfl ? dwfl_addrmodule(dwfl, pc) : nullptr;
    if (mod != nullptr) {
      f.function = InnermostFunction(mod, pc);
      if (f.function.empty()) f.function = Demangle(dwfl_module_addrname(mod, pc));
      if (Dwfl_Line* line = dwfl_module_getsrc(mod, pc)) {
        int lineno = 0;
        const char* file = dwfl_lineinfo(line, nullptr, &lineno, nullptr, nullptr, nullptr);
        if (file != nullptr) f.file = file;
        f.line = lineno > 0 ? static_cast<uint64_t>(lineno) : 0;
      }
    }
    if (f.function.empty()) f.function = "?";
    out.emplace(pc, std::move(f));
  }
  if (dwfl != nullptr) dwfl_end(dwfl);
  return out;
}

}  // namespace tracetool::fiber::internal
