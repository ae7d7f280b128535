// v2_throughput: the reader alone over whole trace files (Input::Open + Reader::Open + Next() to
// the end), one line per file: MB/s of trace, model events/s, peak RSS. Works on any version, so
// the same binary measures a v1 and a v2 trace side by side (run it pinned: taskset -c 0).
//
//   v2_throughput TRACE...
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <memory>

#include "lib/parser/input.h"
#include "lib/parser/reader.h"

int main(int argc, char** argv) {
  using tracetool::parser::Event;
  using tracetool::parser::Input;
  using tracetool::parser::Reader;
  if (argc < 2) {
    fprintf(stderr, "usage: v2_throughput TRACE...\n");
    return 2;
  }
  int rc = 0;
  for (int i = 1; i < argc; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    std::unique_ptr<Input> in;
    tracetool::Status st = Input::Open(argv[i], &in);
    const double mb = st.ok() ? static_cast<double>(in->size()) / 1e6 : 0;
    std::unique_ptr<Reader> r;
    if (st.ok()) st = Reader::Open(std::move(in), &r);
    Event ev;
    bool done = false;
    uint64_t n = 0;
    while (st.ok()) {
      st = r->Next(&ev, &done);
      if (!st.ok() || done) break;
      ++n;
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    if (!st.ok()) {
      fprintf(stderr, "v2_throughput: %s: %s\n", argv[i], st.message().c_str());
      rc = 1;
      continue;
    }
    printf("%s: version %d, %.1f MB, %.2f s, %.1f MB/s, %.2f M model events/s, peak RSS %ld MiB\n",
           argv[i], r->version(), mb, s, mb / s, static_cast<double>(n) / 1e6 / s,
           ru.ru_maxrss / 1024);
  }
  return rc;
}
