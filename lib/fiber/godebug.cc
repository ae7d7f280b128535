// GODEBUG parsing (Go's parsedebugvars): comma-separated key=value pairs, integers only.
#include "lib/fiber/godebug.h"

#include <charconv>
#include <cstdint>
#include <string>

namespace tracetool::fiber {
namespace {

struct Key {
  std::string_view name;
  int64_t GoDebug::*field;
  int64_t max;
};

constexpr Key kKeys[] = {
    {"schedtrace", &GoDebug::schedtrace, int64_t{1} << 40},
    {"scheddetail", &GoDebug::scheddetail, 1},
    {"gctrace", &GoDebug::gctrace, 2},
    {"gcpacertrace", &GoDebug::gcpacertrace, 1},
    {"gccheckmark", &GoDebug::gccheckmark, 1},
    {"allocfreetrace", &GoDebug::allocfreetrace, 1},
    {"inittrace", &GoDebug::inittrace, 1},
    {"tracebackancestors", &GoDebug::tracebackancestors, 1000},
    {"madvdontneed", &GoDebug::madvdontneed, 1},
};

}  // namespace

GoDebug ParseGoDebug(std::string_view s, std::vector<std::string>* warnings) {
  GoDebug d;
  while (!s.empty()) {
    const size_t comma = s.find(',');
    const std::string_view item = s.substr(0, comma);
    s = comma == std::string_view::npos ? std::string_view() : s.substr(comma + 1);
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) continue;  // Go ignores items without '='.
    const std::string_view key = item.substr(0, eq);
    const std::string_view value = item.substr(eq + 1);
    for (const Key& k : kKeys) {
      if (k.name != key) continue;
      int64_t v = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (ec != std::errc() || end != value.data() + value.size() || v < 0 || v > k.max) {
        if (warnings) {
          warnings->push_back("GODEBUG: bad value \"" + std::string(value) + "\" for " +
                              std::string(key) + " (want an integer 0.." + std::to_string(k.max) +
                              "); ignored");
        }
      } else {
        d.*k.field = v;
      }
    }
  }
  return d;
}

}  // namespace tracetool::fiber
