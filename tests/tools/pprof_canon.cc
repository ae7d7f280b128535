// pprof_canon: prints a profile.proto (gzipped or plain) in a canonical, order-free text form, so
// that two profiles that are equal as multisets of (stack → values) print identically.
//
//   pprof_canon [--frames=sym|addr] FILE|-
//
// Go's `go tool trace -pprof` writes samples, locations and functions in random (map) order and
// numbers them accordingly (spec §6.3), so profiles can only be compared after decoding. Output:
//
//   sample_type contentions/count delay/nanoseconds
//   period_type trace/count period=1 default_sample_type=""
//   <frame>;<frame>;... | <count> <delay>              one line per Sample, sorted (C locale)
//   total samples=<n> values=<sum0>,<sum1>
//
// Frames are leaf first. --frames=sym (default) prints each frame as `func file:line`;
// --frames=addr prints the location's address (`0x4888ec`) instead, for Go 1.5 traces whose
// stacks are bare PCs (Go symbolizes them with a binary; tracetool has none). A location with
// several lines (inlining) expands to several frames, innermost first, as pprof orders them.
// Samples are NOT merged: two samples with the same symbolic stack stay two lines, so the
// comparison is a strict multiset comparison.
//
// The decoder is independent of tracetool's exporter: it uses only the classes generated from
// lib/pprof_export/profile.proto and zlib. A malformed profile (bad gzip, bad protobuf, dangling
// ids, string index out of range, wrong value count) is an error: one line on stderr, exit 1.
// Usage or I/O errors exit 2.

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "lib/pprof_export/profile.pb.h"

namespace {

using tracetool::pprof::Profile;

[[noreturn]] void Fail(int code, const std::string& msg) {
  std::fprintf(stderr, "pprof_canon: %s\n", msg.c_str());
  std::exit(code);
}

bool ReadAll(const std::string& path, std::string* out) {
  if (path == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    *out = ss.str();
    return !std::cin.bad();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return false;
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

// Gunzip() inflates all concatenated gzip members of `in`. Returns false with *err set on failure.
bool Gunzip(const std::string& in, std::string* out, std::string* err) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
    *err = "inflateInit2 failed";
    return false;
  }
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  char buf[1 << 16];
  for (;;) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    int rc = inflate(&zs, Z_NO_FLUSH);
    out->append(buf, sizeof(buf) - zs.avail_out);
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0)
        break;
      inflateReset(&zs);  // another member follows
      continue;
    }
    if (rc != Z_OK) {
      *err = std::string("gzip data is corrupt: ") + (zs.msg ? zs.msg : "inflate error");
      inflateEnd(&zs);
      return false;
    }
    if (zs.avail_in == 0 && zs.avail_out != 0) {
      *err = "gzip data is truncated";
      inflateEnd(&zs);
      return false;
    }
  }
  inflateEnd(&zs);
  return true;
}

class Canonicalizer {
 public:
  Canonicalizer(const Profile& p, bool by_address) : p_(p), by_address_(by_address) {}

  int Run() {
    for (const auto& f : p_.function()) {
      if (f.id() == 0)
        Fail(1, "function with id 0");
      if (!functions_.emplace(f.id(), &f).second)
        Fail(1, "duplicate function id " + std::to_string(f.id()));
    }
    for (const auto& l : p_.location()) {
      if (l.id() == 0)
        Fail(1, "location with id 0");
      if (!locations_.emplace(l.id(), &l).second)
        Fail(1, "duplicate location id " + std::to_string(l.id()));
    }
    if (p_.string_table_size() == 0 || !p_.string_table(0).empty())
      Fail(1, "string_table[0] must be the empty string");

    std::string header = "sample_type";
    for (const auto& vt : p_.sample_type())
      header += " " + Str(vt.type()) + "/" + Str(vt.unit());
    std::printf("%s\n", header.c_str());
    std::printf("period_type %s/%s period=%" PRId64 " default_sample_type=\"%s\"\n",
                Str(p_.period_type().type()).c_str(), Str(p_.period_type().unit()).c_str(),
                p_.period(), Str(p_.default_sample_type()).c_str());

    const size_t nvalues = static_cast<size_t>(p_.sample_type_size());
    std::vector<int64_t> sums(nvalues, 0);
    std::vector<std::string> lines;
    lines.reserve(static_cast<size_t>(p_.sample_size()));
    for (const auto& s : p_.sample()) {
      if (static_cast<size_t>(s.value_size()) != nvalues)
        Fail(1, "sample has " + std::to_string(s.value_size()) + " values, want " +
                    std::to_string(nvalues));
      std::string line;
      for (uint64_t loc_id : s.location_id()) {
        for (const std::string& frame : Frames(loc_id)) {
          if (!line.empty())
            line += ";";
          line += frame;
        }
      }
      if (line.empty())
        line = "<empty stack>";
      line += " |";
      for (size_t i = 0; i < nvalues; i++) {
        line += ' ';  // Not " " + to_string(): gcc 12 -O3 reports a false -Wrestrict on it.
        line += std::to_string(s.value(static_cast<int>(i)));
        sums[i] += s.value(static_cast<int>(i));
      }
      if (s.label_size() > 0)
        line.append(" labels=").append(std::to_string(s.label_size()));
      lines.push_back(std::move(line));
    }
    std::sort(lines.begin(), lines.end());
    for (const auto& l : lines)
      std::printf("%s\n", l.c_str());
    std::string totals;
    for (size_t i = 0; i < nvalues; i++)
      totals += (i ? "," : "") + std::to_string(sums[i]);
    std::printf("total samples=%zu values=%s\n", lines.size(), totals.c_str());
    return 0;
  }

 private:
  std::string Str(int64_t index) const {
    if (index < 0 || index >= p_.string_table_size())
      Fail(1, "string index " + std::to_string(index) + " out of range (table has " +
                  std::to_string(p_.string_table_size()) + " entries)");
    return p_.string_table(static_cast<int>(index));
  }

  std::vector<std::string> Frames(uint64_t loc_id) const {
    auto it = locations_.find(loc_id);
    if (it == locations_.end())
      Fail(1, "sample refers to missing location " + std::to_string(loc_id));
    const auto& loc = *it->second;
    std::vector<std::string> out;
    if (by_address_) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "0x%" PRIx64, loc.address());
      out.emplace_back(buf);
      return out;
    }
    if (loc.line_size() == 0)
      Fail(1, "location " + std::to_string(loc_id) + " has no line");
    // pprof: "Multiple line indicates this location has inlined functions, where the last
    // entry represents the caller into which the preceding entries were inlined."
    for (const auto& ln : loc.line()) {
      auto f = functions_.find(ln.function_id());
      if (f == functions_.end())
        Fail(1, "location " + std::to_string(loc_id) + " refers to missing function " +
                    std::to_string(ln.function_id()));
      out.push_back(Str(f->second->name()) + " " + Str(f->second->filename()) + ":" +
                    std::to_string(ln.line()));
    }
    return out;
  }

  const Profile& p_;
  const bool by_address_;
  std::map<uint64_t, const tracetool::pprof::Function*> functions_;
  std::map<uint64_t, const tracetool::pprof::Location*> locations_;
};

}  // namespace

int main(int argc, char** argv) {
  bool by_address = false;
  std::string path;
  for (int i = 1; i < argc; i++) {
    std::string_view a = argv[i];
    if (a == "--frames=addr" || a == "-frames=addr") {
      by_address = true;
    } else if (a == "--frames=sym" || a == "-frames=sym") {
      by_address = false;
    } else if (a == "-h" || a == "--help") {
      std::printf("usage: pprof_canon [--frames=sym|addr] FILE|-\n");
      return 0;
    } else if (path.empty() && (a == "-" || a.substr(0, 1) != "-")) {
      path = std::string(a);
    } else {
      Fail(2, "usage: pprof_canon [--frames=sym|addr] FILE|-");
    }
  }
  if (path.empty())
    Fail(2, "usage: pprof_canon [--frames=sym|addr] FILE|-");

  std::string raw;
  if (!ReadAll(path, &raw))
    Fail(2, path + ": " + std::strerror(errno));
  if (raw.empty())
    Fail(1, path + ": empty file (not a profile)");
  std::string data;
  if (raw.size() >= 2 && static_cast<uint8_t>(raw[0]) == 0x1f &&
      static_cast<uint8_t>(raw[1]) == 0x8b) {
    std::string err;
    if (!Gunzip(raw, &data, &err))
      Fail(1, path + ": " + err);
  } else {
    data = std::move(raw);
  }
  Profile profile;
  if (!profile.ParseFromString(data))
    Fail(1, path + ": not a valid profile.proto message");
  int rc = Canonicalizer(profile, by_address).Run();
  if (std::fflush(stdout) != 0)
    Fail(2, std::string("write error: ") + std::strerror(errno));
  return rc;
}
