// FormatEvent: one event as Go 1.19's `go tool trace -d` prints it (spec §7.2):
//   <ts> <Name> p=<P> g=<G> off=<offset>[ <arg>=<value>]...[ <sarg>=<string>]...\n
// The argument names come from the event table (lib/format/event_table.h).
#ifndef TRACETOOL_LIB_ANALYSIS_TEXT_DUMP_H_
#define TRACETOOL_LIB_ANALYSIS_TEXT_DUMP_H_

#include <string>

#include "lib/parser/event.h"
#include "lib/parser/reader.h"

namespace tracetool::analysis {

// AppendEventLine() appends ev's line, newline included, to *out. `reader` resolves strings.
void AppendEventLine(const parser::Reader& reader, const parser::Event& ev, std::string* out);

// Decimal integers appended to *out (the text and JSON writers' common need).
void AppendU(std::string* out, uint64_t v);
void AppendI(std::string* out, int64_t v);

// StwKind() is GCSTWStart's kind as Go names it for the trace's version (spec §1.10).
std::string_view StwKind(int version, uint64_t kind);

}  // namespace tracetool::analysis

#endif  // TRACETOOL_LIB_ANALYSIS_TEXT_DUMP_H_
