// v2asm: assembles a Go 1.22+ text trace (spec v2 §5.2) or an upstream .test archive into the
// binary format on stdout.   v2asm FILE > trace.out
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/v2/text_trace.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: v2asm FILE.test|FILE.txt > trace.out\n");
    return 2;
  }
  std::ifstream f(argv[1], std::ios::binary);
  if (!f) {
    fprintf(stderr, "v2asm: cannot open %s\n", argv[1]);
    return 2;
  }
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string text = ss.str();
  std::string bytes, err;
  tracetool::testing::TextTest t;
  const bool ok = text.rfind("-- ", 0) == 0 ? tracetool::testing::ParseTextTest(text, &t, &err)
                                            : tracetool::testing::AssembleTrace(text, &t.bytes, &err);
  if (!ok) {
    fprintf(stderr, "v2asm: %s: %s\n", argv[1], err.c_str());
    return 1;
  }
  fwrite(t.bytes.data(), 1, t.bytes.size(), stdout);
  return 0;
}
