// v2asm: assembles a Go 1.22+ text trace (spec v2 §5.2) or an upstream .test archive into the
// binary format on stdout, or decodes a Go fuzz corpus file (`go test fuzz v1`) into its bytes.
//   v2asm FILE > trace.out
//   v2asm --go-fuzz SEED > trace.out
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/v2/text_trace.h"

int main(int argc, char** argv) {
  const bool fuzz = argc == 3 && std::string(argv[1]) == "--go-fuzz";
  if (argc != 2 && !fuzz) {
    fprintf(stderr, "usage: v2asm FILE.test|FILE.txt > trace.out\n       v2asm --go-fuzz SEED > trace.out\n");
    return 2;
  }
  const char* path = argv[argc - 1];
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    fprintf(stderr, "v2asm: cannot open %s\n", path);
    return 2;
  }
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string text = ss.str();
  std::string bytes, err;
  tracetool::testing::TextTest t;
  const bool ok = fuzz ? tracetool::testing::ParseGoFuzzSeed(text, &t.bytes, &err)
                  : text.rfind("-- ", 0) == 0 ? tracetool::testing::ParseTextTest(text, &t, &err)
                                            : tracetool::testing::AssembleTrace(text, &t.bytes, &err);
  if (!ok) {
    fprintf(stderr, "v2asm: %s: %s\n", path, err.c_str());
    return 1;
  }
  fwrite(t.bytes.data(), 1, t.bytes.size(), stdout);
  return 0;
}
