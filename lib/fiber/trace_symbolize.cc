// PC -> (function, file, line) for trace stacks, with libdw (elfutils), at trace stop.
//
// A PC inside inlined code becomes several frames, innermost first (InlineFrames), as Go's
// tracebacks show inlined calls. Names are demangled with __cxa_demangle.
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
#include <mutex>

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

// The frames at pc, innermost first: the function whose code is at pc with the line from the line
// table, then, for each level of inlining, the function it was inlined into with the call site's
// file and line (DW_AT_call_file/DW_AT_call_line), as Go's tracebacks show inlined calls.
std::vector<SymFrame> InlineFrames(Dwfl_Module* mod, Dwarf_Addr pc, const SymFrame& leaf) {
  std::vector<SymFrame> out;
  Dwarf_Addr bias = 0;
  Dwarf_Die* cu = dwfl_module_addrdie(mod, pc, &bias);
  if (cu == nullptr) return out;
  Dwarf_Files* files = nullptr;
  size_t nfiles = 0;
  dwarf_getsrcfiles(cu, &files, &nfiles);
  // dwarf_getscopes() gives the innermost function and then its *abstract* definition's
  // scopes; the concrete chain of inlining callers comes from dwarf_getscopes_die() on it.
  Dwarf_Die* abstract = nullptr;
  const int na = dwarf_getscopes(cu, pc - bias, &abstract);
  int k = 0;
  while (k < na && dwarf_tag(&abstract[k]) != DW_TAG_inlined_subroutine &&
         dwarf_tag(&abstract[k]) != DW_TAG_subprogram) {
    k++;
  }
  Dwarf_Die* scopes = nullptr;
  const int n = k < na ? dwarf_getscopes_die(&abstract[k], &scopes) : 0;
  free(abstract);
  SymFrame cur = leaf;  // File and line for the next function found.
  for (int i = 0; i < n; i++) {
    const int tag = dwarf_tag(&scopes[i]);
    if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram) continue;
    cur.function = DieName(&scopes[i]);
    if (cur.function.empty()) cur.function.assign(1, '?');  // Not = "?": GCC 12 -O3 -Wrestrict false positive.
    out.push_back(cur);
    if (tag == DW_TAG_subprogram) break;
    // The caller's location is this inlined call's site.
    Dwarf_Attribute attr;
    Dwarf_Word file = 0, line = 0;
    cur = SymFrame();
    if (dwarf_attr(&scopes[i], DW_AT_call_file, &attr) && dwarf_formudata(&attr, &file) == 0 &&
        files != nullptr && file < nfiles) {
      if (const char* f = dwarf_filesrc(files, file, nullptr, nullptr)) cur.file = f;
    }
    if (dwarf_attr(&scopes[i], DW_AT_call_line, &attr) && dwarf_formudata(&attr, &line) == 0) {
      cur.line = line;
    }
  }
  free(scopes);
  return out;
}

// The process's modules, reported once and kept (reading the DWARF index again for every trace
// costs ~0.3 s); reported again when a PC falls outside every known module (a dlopen since).
std::mutex dwfl_mu;
Dwfl* dwfl_cached = nullptr;  // Guarded by dwfl_mu.
char* debuginfo_path = nullptr;
const Dwfl_Callbacks callbacks = {
    dwfl_linux_proc_find_elf,
    dwfl_standard_find_debuginfo,
    nullptr,
    &debuginfo_path,
};

Dwfl* ReportProcess() {
  Dwfl* dwfl = dwfl_begin(&callbacks);
  if (dwfl == nullptr) return nullptr;
  if (dwfl_linux_proc_report(dwfl, getpid()) != 0 || dwfl_report_end(dwfl, nullptr, nullptr) != 0) {
    dwfl_end(dwfl);
    return nullptr;
  }
  return dwfl;
}

}  // namespace

std::unordered_map<uintptr_t, std::vector<SymFrame>> Symbolize(const std::vector<uintptr_t>& pcs) {
  std::unordered_map<uintptr_t, std::vector<SymFrame>> out;
  std::lock_guard<std::mutex> l(dwfl_mu);
  if (dwfl_cached == nullptr) dwfl_cached = ReportProcess();
  for (uintptr_t pc : pcs) {
    if (dwfl_cached != nullptr && dwfl_addrmodule(dwfl_cached, pc) == nullptr) {
      dwfl_end(dwfl_cached);
      dwfl_cached = ReportProcess();
      break;
    }
  }
  Dwfl* dwfl = dwfl_cached;
  for (uintptr_t pc : pcs) {
    SymFrame f;
    std::vector<SymFrame> frames;
    Dwfl_Module* mod = dwfl ? dwfl_addrmodule(dwfl, pc) : nullptr;
    if (mod != nullptr) {
      if (Dwfl_Line* line = dwfl_module_getsrc(mod, pc)) {
        int lineno = 0;
        const char* file = dwfl_lineinfo(line, nullptr, &lineno, nullptr, nullptr, nullptr);
        if (file != nullptr) f.file = file;
        f.line = lineno > 0 ? static_cast<uint64_t>(lineno) : 0;
      }
      frames = InlineFrames(mod, pc, f);
      if (frames.empty()) {
        f.function = Demangle(dwfl_module_addrname(mod, pc));
        frames.push_back(f);
      }
    } else {
      f.function.assign(1, '?');
      frames.push_back(f);
    }
    out.emplace(pc, std::move(frames));
  }
  return out;
}

}  // namespace tracetool::fiber::internal
