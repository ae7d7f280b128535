#include "tests/v2/text_trace.h"

#include <cstdint>
#include <string>
#include <vector>

#include "lib/parser/v2/wire.h"

namespace tracetool::testing {
namespace {

using parser::v2::EvSpec;
using parser::v2::kEvSpecs;

void PutUvarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void AppendUtf8(std::string* out, uint32_t r) {
  if (r < 0x80) {
    out->push_back(static_cast<char>(r));
  } else if (r < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (r >> 6)));
    out->push_back(static_cast<char>(0x80 | (r & 0x3f)));
  } else if (r < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (r >> 12)));
    out->push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (r & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (r >> 18)));
    out->push_back(static_cast<char>(0x80 | ((r >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (r & 0x3f)));
  }
}

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Strips a `#` comment (outside a quoted data literal: data lines are handled before this).
std::string_view StripComment(std::string_view s) {
  const size_t h = s.find('#');
  return h == std::string_view::npos ? s : s.substr(0, h);
}

std::vector<std::string_view> Fields(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t' && s[j] != '\r') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

bool ParseU64(std::string_view s, uint64_t* v) {
  if (s.empty()) return false;
  uint64_t x = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (x > (UINT64_MAX - d) / 10) return false;
    x = x * 10 + d;
  }
  *v = x;
  return true;
}

// `name=value` with the expected name.
bool Arg(std::string_view tok, std::string_view name, uint64_t* v) {
  if (tok.size() <= name.size() || tok.substr(0, name.size()) != name || tok[name.size()] != '=') {
    return false;
  }
  return ParseU64(tok.substr(name.size() + 1), v);
}

}  // namespace

bool UnquoteGo(std::string_view lit, std::string* out) {
  out->clear();
  if (lit.size() >= 2 && lit.front() == '`' && lit.back() == '`') {
    for (char c : lit.substr(1, lit.size() - 2)) {
      if (c != '\r') out->push_back(c);
    }
    return true;
  }
  if (lit.size() < 2 || lit.front() != '"' || lit.back() != '"') return false;
  lit = lit.substr(1, lit.size() - 2);
  for (size_t i = 0; i < lit.size(); ++i) {
    const char c = lit[i];
    if (c == '"' || c == '\n') return false;
    if (c != '\\') {
      out->push_back(c);
      continue;
    }
    if (++i >= lit.size()) return false;
    const char e = lit[i];
    switch (e) {
      case 'a': out->push_back('\a'); break;
      case 'b': out->push_back('\b'); break;
      case 'f': out->push_back('\f'); break;
      case 'n': out->push_back('\n'); break;
      case 'r': out->push_back('\r'); break;
      case 't': out->push_back('\t'); break;
      case 'v': out->push_back('\v'); break;
      case '\\': out->push_back('\\'); break;
      case '\'': out->push_back('\''); break;
      case '"': out->push_back('"'); break;
      case 'x': {
        if (i + 2 >= lit.size()) return false;
        const int h = HexVal(lit[i + 1]), l = HexVal(lit[i + 2]);
        if (h < 0 || l < 0) return false;
        out->push_back(static_cast<char>(h * 16 + l));
        i += 2;
        break;
      }
      case 'u':
      case 'U': {
        const size_t n = e == 'u' ? 4 : 8;
        if (i + n >= lit.size()) return false;
        uint32_t r = 0;
        for (size_t k = 1; k <= n; ++k) {
          const int h = HexVal(lit[i + k]);
          if (h < 0) return false;
          r = r * 16 + static_cast<uint32_t>(h);
        }
        if (r > 0x10ffff) return false;
        AppendUtf8(out, r);
        i += n;
        break;
      }
      default: {
        if (e < '0' || e > '7' || i + 2 >= lit.size()) return false;
        int v = 0;
        for (size_t k = 0; k < 3; ++k) {
          const char d = lit[i + k];
          if (d < '0' || d > '7') return false;
          v = v * 8 + (d - '0');
        }
        if (v > 255) return false;
        out->push_back(static_cast<char>(v));
        i += 2;
        break;
      }
    }
  }
  return true;
}

bool AssembleTrace(std::string_view text, std::string* bytes, std::string* err) {
  bytes->clear();
  std::vector<std::string_view> lines;
  for (size_t i = 0; i <= text.size();) {
    size_t j = text.find('\n', i);
    if (j == std::string_view::npos) j = text.size();
    lines.push_back(text.substr(i, j - i));
    i = j + 1;
  }
  size_t li = 0;
  // Next non-empty, non-comment line; its number in *n (1-based).
  auto next = [&](std::string_view* line, size_t* n) {
    while (li < lines.size()) {
      std::string_view l = lines[li++];
      if (Trim(StripComment(l)).empty()) continue;
      *line = l;
      *n = li;
      return true;
    }
    return false;
  };
  auto fail = [&](size_t n, const std::string& what) {
    *err = "trace line " + std::to_string(n) + ": " + what;
    return false;
  };
  std::string_view line;
  size_t n = 0;
  if (!next(&line, &n)) return fail(0, "no header line");
  const auto hdr = Fields(StripComment(line));
  uint64_t minor = 0;
  if (hdr.size() != 2 || hdr[0] != "Trace" || hdr[1].substr(0, 4) != "Go1." ||
      !ParseU64(hdr[1].substr(4), &minor) || (minor != 22 && minor != 23 && minor != 25 &&
                                              minor != 26)) {
    return fail(n, "bad header (want Trace Go1.22, Go1.23, Go1.25 or Go1.26)");
  }
  bytes->append("go 1.");
  bytes->append(std::to_string(minor));
  bytes->append(" trace");
  bytes->append(3, '\0');
  // Extension for hand-written tests (not upstream): `size=?` on an EventBatch is replaced by the
  // encoded length of the lines up to the next batch.
  size_t size_at = std::string::npos;
  auto patch_size = [&]() {
    if (size_at == std::string::npos) return;
    std::string v;
    PutUvarint(&v, bytes->size() - size_at);
    bytes->insert(size_at, v);
    size_at = std::string::npos;
  };
  while (next(&line, &n)) {
    const auto f = Fields(StripComment(line));
    int ev = -1;
    for (int i = 1; i < 256; ++i) {
      const EvSpec& s = kEvSpecs[static_cast<size_t>(i)];
      if (!s.name.empty() && s.name == f[0] && s.since <= minor) ev = i;
    }
    if (ev < 0) return fail(n, "unknown event " + std::string(f[0]) + " for Go1." + std::to_string(minor));
    const EvSpec& s = kEvSpecs[static_cast<size_t>(ev)];
    if (f.size() != 1 + static_cast<size_t>(s.nops)) {
      return fail(n, std::string(s.name) + " wants " + std::to_string(s.nops) + " arguments");
    }
    if (ev == parser::v2::kEvEventBatch || ev == parser::v2::kEvExperimentalBatch ||
        ev == parser::v2::kEvEndOfGeneration) {
      patch_size();
    }
    bytes->push_back(static_cast<char>(ev));
    std::vector<uint64_t> vals;
    for (int i = 0; i < s.nops; ++i) {
      uint64_t v = 0;
      if (ev == parser::v2::kEvEventBatch && i == 3 && f[4] == "size=?") {
        size_at = bytes->size();  // patched when the batch ends
        vals.push_back(0);
        continue;
      }
      if (!Arg(f[1 + static_cast<size_t>(i)], s.ops[static_cast<size_t>(i)], &v)) {
        return fail(n, "want " + std::string(s.ops[static_cast<size_t>(i)]) + "=<uint64>, got " +
                           std::string(f[1 + static_cast<size_t>(i)]));
      }
      vals.push_back(v);
      PutUvarint(bytes, v);
    }
    if (ev == parser::v2::kEvStack) {
      for (uint64_t k = 0; k < vals[1]; ++k) {
        if (!next(&line, &n)) return fail(n, "missing stack frame line");
        const auto ff = Fields(StripComment(line));
        static const char* const kFrame[] = {"pc", "func", "file", "line"};
        if (ff.size() != 4) return fail(n, "a frame line has pc= func= file= line=");
        for (int i = 0; i < 4; ++i) {
          uint64_t v = 0;
          if (!Arg(ff[static_cast<size_t>(i)], kFrame[i], &v)) return fail(n, "bad frame field");
          PutUvarint(bytes, v);
        }
      }
    } else if (ev == parser::v2::kEvString || ev == parser::v2::kEvExperimentalBatch) {
      if (li >= lines.size()) return fail(n, "missing data line");
      // The data line: `data=<Go string literal>` (a '#' inside the literal is data).
      std::string_view d;
      while (li < lines.size()) {
        d = lines[li++];
        n = li;
        if (!Trim(d).empty() && Trim(d)[0] != '#') break;
      }
      d = Trim(d);
      if (d.substr(0, 4) != "data") return fail(n, "want a data= line");
      d = Trim(d.substr(4));
      if (d.empty() || d[0] != '=') return fail(n, "want a data= line");
      d = Trim(d.substr(1));
      std::string data;
      if (!UnquoteGo(d, &data)) return fail(n, "bad quoted data");
      PutUvarint(bytes, data.size());
      bytes->append(data);
    }
  }
  patch_size();
  return true;
}

bool ParseTextTest(std::string_view archive, TextTest* out, std::string* err) {
  // txtar: sections start at lines `-- NAME --`.
  std::vector<std::pair<std::string, std::string>> sections;
  size_t i = 0;
  while (i < archive.size()) {
    size_t j = archive.find('\n', i);
    if (j == std::string_view::npos) j = archive.size();
    std::string_view line = archive.substr(i, j - i);
    if (line.size() >= 6 && line.substr(0, 3) == "-- " && line.substr(line.size() - 3) == " --") {
      sections.emplace_back(std::string(line.substr(3, line.size() - 6)), std::string());
    } else if (!sections.empty()) {
      sections.back().second.append(line);
      sections.back().second.push_back('\n');
    }
    i = j + 1;
  }
  if (sections.size() != 2 || sections[0].first != "expect" || sections[1].first != "trace") {
    *err = "malformed test: want sections expect and trace";
    return false;
  }
  std::string_view ex = sections[0].second;
  ex = Trim(ex.substr(0, ex.find('\n')));
  if (ex == "SUCCESS") {
    out->success = true;
  } else if (ex.substr(0, 8) == "FAILURE ") {
    out->success = false;
    if (!UnquoteGo(Trim(ex.substr(8)), &out->error_re)) {
      *err = "malformed expectation: " + std::string(ex);
      return false;
    }
  } else {
    *err = "malformed expectation: " + std::string(ex);
    return false;
  }
  return AssembleTrace(sections[1].second, &out->bytes, err);
}

bool ParseGoFuzzSeed(std::string_view file, std::string* bytes, std::string* err) {
  const size_t nl = file.find('\n');
  if (nl == std::string_view::npos || Trim(file.substr(0, nl)) != "go test fuzz v1") {
    *err = "not a Go fuzz corpus file";
    return false;
  }
  std::string_view v = Trim(file.substr(nl + 1));
  while (!v.empty() && v.back() == '\n') v.remove_suffix(1);
  v = Trim(v);
  if (v.substr(0, 7) != "[]byte(" || v.back() != ')') {
    *err = "want one []byte(\"...\") value";
    return false;
  }
  if (!UnquoteGo(v.substr(7, v.size() - 8), bytes)) {
    *err = "bad Go string literal";
    return false;
  }
  return true;
}

}  // namespace tracetool::testing
