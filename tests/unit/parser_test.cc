// Unit tests of lib/parser: the spec's examples, every class of bad input, compressed input, and
// the state-machine errors, on synthetic traces built with TraceBuilder.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "lib/analysis/text_dump.h"
#include "lib/parser/flat_map.h"
#include "lib/parser/input.h"
#include "lib/parser/reader.h"
#include "tests/unit/trace_builder.h"

namespace tracetool {
namespace {

using format::EventType;
using testing::TraceBuilder;

struct Result {
  Status status;
  std::string dump;  // -d text of the events read before the end or the error
  size_t events = 0;
};

Result ParseInput(std::unique_ptr<parser::Input> in, parser::ReaderOptions opts = {}) {
  Result res;
  std::unique_ptr<parser::Reader> r;
  res.status = parser::Reader::Open(std::move(in), &r, opts);
  if (!res.status.ok()) return res;
  parser::Event ev;
  while (true) {
    bool done = false;
    res.status = r->Next(&ev, &done);
    if (!res.status.ok() || done) break;
    analysis::AppendEventLine(*r, ev, &res.dump);
    ++res.events;
  }
  return res;
}

Result Parse(const std::string& bytes, parser::ReaderOptions opts = {}) {
  std::unique_ptr<parser::Input> in;
  Status st = parser::Input::FromMemory(bytes, &in);
  if (!st.ok()) return Result{st, "", 0};
  return ParseInput(std::move(in), opts);
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

const std::string kCanned = "/usr/lib/go-1.19/src/internal/trace/testdata/";

// The 80-byte trace of spec §4.4: G1 exists at start, runs 190 ns and ends.
std::string MinimalTrace() {
  TraceBuilder b;
  b.Batch(0, 100)
      .Ev(EventType::kGoCreate, 1, {/*g=*/1, /*newstk=*/1, /*stk=*/0})
      .Ev(EventType::kGomaxprocs, 1, {/*procs=*/1, /*stk=*/0})
      .Ev(EventType::kProcStart, 1, {/*thread=*/7})
      .Ev(EventType::kGoStart, 7, {/*g=*/1, /*seq=*/1})
      .Ev(EventType::kGoEnd, 190, {})
      .Ev(EventType::kProcStop, 1, {})
      .String(1, "main.main")
      .String(2, "main.cc")
      .Stack(1, {{0x401000, 1, 2, 10}})
      .Frequency(1000000000);
  return b.bytes();
}

TEST(ParserTest, MinimalTraceFromSpec) {
  std::string t = MinimalTrace();
  EXPECT_EQ(t.size(), 80u);
  Result r = Parse(t);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.dump,
            "0 GoCreate p=0 g=0 off=19 g=1 stack=1\n"
            "1 Gomaxprocs p=0 g=0 off=25 procs=1\n"
            "2 ProcStart p=0 g=0 off=29 thread=7\n"
            "9 GoStart p=0 g=1 off=32 g=1 seq=1\n"
            "199 GoEnd p=0 g=1 off=36\n"
            "200 ProcStop p=0 g=0 off=39\n");
}

TEST(ParserTest, HeaderErrors) {
  Result r = Parse("");
  EXPECT_EQ(r.status.tag(), ErrorTag::kNotTrace) << r.status.ToString();
  r = Parse("go 1.19 tr");
  EXPECT_EQ(r.status.tag(), ErrorTag::kTruncated) << r.status.ToString();
  r = Parse(std::string("PK\x03\x04 not a trace at all", 24));
  EXPECT_EQ(r.status.tag(), ErrorTag::kNotTrace) << r.status.ToString();
  EXPECT_NE(r.status.message().find("not a Go execution trace"), std::string::npos);

  // Go 1.22+ traces are read (tests/v2); their errors still name the version.
  r = Parse(TraceBuilder("go 1.22 trace").bytes() + "xxxx");
  EXPECT_EQ(r.status.tag(), ErrorTag::kCorrupt);
  EXPECT_NE(r.status.message().find("Go 1.22"), std::string::npos) << r.status.message();
  r = Parse(TraceBuilder("go 1.25 trace").bytes());
  EXPECT_NE(r.status.message().find("Go 1.25"), std::string::npos) << r.status.message();
  r = Parse(TraceBuilder("go 1.27 trace").bytes());
  EXPECT_EQ(r.status.tag(), ErrorTag::kUnsupportedVersion);
  EXPECT_NE(r.status.message().find("go 1.27"), std::string::npos) << r.status.message();
  r = Parse(TraceBuilder("go 1.20 trace").bytes());
  EXPECT_EQ(r.status.tag(), ErrorTag::kUnsupportedVersion);
  EXPECT_NE(r.status.message().find("1.20"), std::string::npos) << r.status.message();
}

TEST(ParserTest, EmptyBodyAndMissingFrequency) {
  Result r = Parse(TraceBuilder().bytes());
  EXPECT_EQ(r.status.tag(), ErrorTag::kCorrupt);
  EXPECT_NE(r.status.message().find("empty"), std::string::npos) << r.status.message();

  TraceBuilder b;
  b.Batch(0, 1).Ev(EventType::kProcStart, 1, {1});
  r = Parse(b.bytes());
  EXPECT_NE(r.status.message().find("no Frequency"), std::string::npos) << r.status.message();
}

TEST(ParserTest, BadVarintNamesOffset) {
  TraceBuilder b;
  b.Batch(0, 1).Raw(std::string("\x45") + std::string(10, '\xff'));
  Result r = Parse(b.bytes());
  EXPECT_EQ(r.status.tag(), ErrorTag::kCorrupt) << r.status.ToString();
  EXPECT_NE(r.status.message().find("bad varint"), std::string::npos) << r.status.message();
  EXPECT_NE(r.status.message().find("offset 0x14"), std::string::npos) << r.status.message();
}

TEST(ParserTest, UnknownEventTypeAndWrongArgumentCount) {
  TraceBuilder b;
  b.Batch(0, 1).Raw("\x3f\x01");  // type 63
  Result r = Parse(b.bytes());
  EXPECT_EQ(r.status.tag(), ErrorTag::kCorrupt);
  EXPECT_NE(r.status.message().find("unknown event type 63"), std::string::npos);

  TraceBuilder c("go 1.7 trace");
  c.Batch(0, 1).Ev(EventType::kCPUSample, 1, {1, 2, 3, 4});  // legal only from 1.19
  r = Parse(c.bytes());
  EXPECT_NE(r.status.message().find("unknown event type 49"), std::string::npos)
      << r.status.message();

  TraceBuilder d;
  d.Batch(0, 1).Ev(EventType::kGoCreate, 1, {1, 2});  // one value short
  r = Parse(d.bytes());
  EXPECT_NE(r.status.message().find("GoCreate has wrong number of arguments: want 4, got 3"),
            std::string::npos)
      << r.status.message();
}

TEST(ParserTest, StringAndStackRecordErrors) {
  TraceBuilder a;
  a.Batch(0, 1).String(1, "x").String(1, "y");
  Result r = Parse(a.bytes());
  EXPECT_NE(r.status.message().find("duplicate id 1"), std::string::npos) << r.status.message();

  TraceBuilder b;
  b.Batch(0, 1).Raw(std::string("\x25\x00\x01x", 4));
  r = Parse(b.bytes());
  EXPECT_NE(r.status.message().find("invalid id 0"), std::string::npos) << r.status.message();

  TraceBuilder c;
  c.Batch(0, 1).Raw(std::string("\xc3\x04\x01\x03\x00\x00", 6));  // 3 frames announced, 2 values after
  r = Parse(c.bytes());
  EXPECT_NE(r.status.message().find("Stack 1 has wrong number of arguments"), std::string::npos)
      << r.status.message();

  TraceBuilder d;
  d.Batch(0, 1).Raw("\xc3\x03\x01\xe9\x07");  // 1001 frames
  r = Parse(d.bytes());
  EXPECT_NE(r.status.message().find("bad number of frames"), std::string::npos)
      << r.status.message();
}

TEST(ParserTest, HostileLengthIsRejectedEarly) {
  TraceBuilder b;
  // A stack record claiming 2 GB of values.
  b.Batch(0, 1).Raw("\xc3\x80\x80\x80\x80\x08\x01");
  Result r = Parse(b.bytes());
  EXPECT_FALSE(r.status.ok());
  EXPECT_EQ(r.status.tag(), ErrorTag::kTruncated) << r.status.ToString();
}

TEST(ParserTest, StateMachineErrors) {
  {
    // GoStart of a goroutine that was never created.
    TraceBuilder b;
    b.Batch(0, 1).Ev(EventType::kGoStartLocal, 1, {5}).Frequency(1000);
    Result r = Parse(b.bytes());
    EXPECT_EQ(r.status.tag(), ErrorTag::kInconsistent) << r.status.ToString();
  }
  {
    // Wrong sequence number: no consistent ordering.
    TraceBuilder b;
    b.Batch(0, 1)
        .Ev(EventType::kGoCreate, 1, {1, 0, 0})
        .Ev(EventType::kGoStart, 1, {1, 7})
        .Frequency(1000);
    Result r = Parse(b.bytes());
    EXPECT_NE(r.status.message().find("no consistent ordering"), std::string::npos)
        << r.status.message();
  }
  {
    // ProcStop while a goroutine runs.
    TraceBuilder b;
    b.Batch(0, 1)
        .Ev(EventType::kGoCreate, 1, {1, 0, 0})
        .Ev(EventType::kProcStart, 1, {3})
        .Ev(EventType::kGoStart, 1, {1, 1})
        .Ev(EventType::kProcStop, 1, {})
        .Frequency(1000);
    Result r = Parse(b.bytes());
    EXPECT_NE(r.status.message().find("p 0 is running a goroutine 1 during stop"),
              std::string::npos)
        << r.status.message();
    EXPECT_NE(r.status.message().find("offset 0x"), std::string::npos);
  }
  {
    // Stray syscall exit with a real timestamp.
    TraceBuilder b;
    b.Batch(0, 1)
        .Ev(EventType::kGoCreate, 1, {1, 0, 0})
        .Ev(EventType::kGoWaiting, 1, {1})
        .Ev(EventType::kGoSysExit, 1, {1, 2, 5})
        .Frequency(1000);
    Result r = Parse(b.bytes());
    EXPECT_NE(r.status.message().find("stray syscall exit"), std::string::npos)
        << r.status.message();
  }
  {
    // Clock going backwards across Ps, after a causal edge.
    TraceBuilder b;
    b.Batch(0, 100)
        .Ev(EventType::kGoCreate, 1, {1, 0, 0})
        .Ev(EventType::kGoWaiting, 1, {1})
        .Ev(EventType::kProcStart, 1, {1})
        .Ev(EventType::kGoCreate, 1, {2, 0, 0})
        .Ev(EventType::kGoStart, 1, {2, 1})
        .Ev(EventType::kGoUnblock, 10, {1, 2, 0})
        .Batch(1, 50)
        .Ev(EventType::kProcStart, 1, {2})
        .Ev(EventType::kGoStart, 1, {1, 3})
        .Frequency(1000);
    Result r = Parse(b.bytes());
    EXPECT_NE(r.status.message().find("time stamps out of order"), std::string::npos)
        << r.status.message();
  }
}

TEST(ParserTest, SyscallExitMovesToItsRealTime) {
  // g1 blocks in a syscall on P0 at tick 110; its exit is emitted on P1 at tick 200 but happened
  // at tick 150, so it must come before P0's event at tick 160.
  TraceBuilder b;
  b.Batch(0, 100)
      .Ev(EventType::kGoCreate, 1, {1, 0, 0})      // 101
      .Ev(EventType::kProcStart, 1, {1})           // 102
      .Ev(EventType::kGoStart, 1, {1, 1})          // 103
      .Ev(EventType::kGoSysCall, 1, {0})           // 104
      .Ev(EventType::kGoSysBlock, 6, {})           // 110
      .Ev(EventType::kHeapAlloc, 50, {42})         // 160
      .Batch(1, 190)
      .Ev(EventType::kGoSysExit, 10, {1, 2, 150})  // 200, real 150
      .Frequency(1000000000);
  Result r = Parse(b.bytes());
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_NE(r.dump.find("49 GoSysExit p=1000003 g=1 off=44 g=1 seq=2 ts=150\n"
                        "59 HeapAlloc p=0 g=0 off=37 mem=42\n"),
            std::string::npos)
      << r.dump;
}

// Two goroutines block in syscalls on P0; their exits are written later on P1 and P2 with real
// times exit1 and exit2, both before P0's HeapAlloc at tick 160. Returns the order of the three
// events in the output ("1 2 H": g1's exit, g2's exit, the HeapAlloc).
std::string SyscallExitOrder(uint64_t exit1, uint64_t exit2) {
  TraceBuilder b;
  b.Batch(0, 100)
      .Ev(EventType::kGoCreate, 1, {1, 0, 0})  // 101
      .Ev(EventType::kGoCreate, 1, {2, 0, 0})  // 102
      .Ev(EventType::kProcStart, 1, {1})       // 103
      .Ev(EventType::kGoStart, 1, {1, 1})      // 104
      .Ev(EventType::kGoSysCall, 1, {0})       // 105
      .Ev(EventType::kGoSysBlock, 5, {})       // 110
      .Ev(EventType::kGoStart, 1, {2, 1})      // 111
      .Ev(EventType::kGoSysCall, 1, {0})       // 112
      .Ev(EventType::kGoSysBlock, 3, {})       // 115
      .Ev(EventType::kHeapAlloc, 45, {42})     // 160
      .Batch(1, 190)
      .Ev(EventType::kGoSysExit, 10, {1, 2, exit1})  // 200
      .Batch(2, 195)
      .Ev(EventType::kGoSysExit, 10, {2, 2, exit2})  // 205
      .Frequency(1000000000);
  Result r = Parse(b.bytes());
  EXPECT_TRUE(r.status.ok()) << r.status.ToString();
  std::string order;
  std::istringstream lines(r.dump);
  for (std::string line; std::getline(lines, line);) {
    if (line.find(" GoSysExit ") != std::string::npos) {
      order += line.find(" g=1 off=") != std::string::npos ? "1 " : "2 ";
    } else if (line.find(" HeapAlloc ") != std::string::npos) {
      order += "H";
    }
  }
  return order;
}

TEST(ParserTest, SyscallExitsFromTheIndex) {
  // Distinct real times: each exit goes out from the index when the merge passes its time.
  EXPECT_EQ(SyscallExitOrder(150, 155), "1 2 H");
  EXPECT_EQ(SyscallExitOrder(155, 150), "2 1 H");
  EXPECT_EQ(SyscallExitOrder(150, 170), "1 H2 ");  // g2's exit is after the HeapAlloc
  EXPECT_EQ(SyscallExitOrder(165, 170), "H1 2 ");
}

TEST(ParserTest, SyscallExitsWithEqualRealTimesKeepMergeOrder) {
  // Equal real times: the index cannot tell their merge order, so the reorder buffer sorts them
  // (stable: g1's exit was merged first).
  EXPECT_EQ(SyscallExitOrder(150, 150), "1 2 H");
}

TEST(ParserTest, EveryTruncationFailsCleanly) {
  std::string t = ReadFile(kCanned + "user_task_region_1_19_good");
  ASSERT_FALSE(t.empty()) << "Go 1.19's canned traces are missing: apt-get install golang-1.19-src";
  Result full = Parse(t);
  ASSERT_TRUE(full.status.ok()) << full.status.ToString();
  for (size_t k = 0; k < t.size(); ++k) {
    Result r = Parse(t.substr(0, k));
    if (r.status.ok()) {
      // Cutting exactly at a record boundary after the frequency may leave a valid trace (with
      // fewer stacks); it must never yield events the full trace does not have.
      EXPECT_EQ(full.dump.substr(0, r.dump.size()), r.dump) << "cut at " << k;
    } else {
      EXPECT_FALSE(r.status.message().empty());
    }
  }
}

TEST(ParserTest, RandomCorruptionNeverCrashes) {
  std::string t = ReadFile(kCanned + "http_1_19_good");
  ASSERT_FALSE(t.empty());
  std::mt19937 rng(42);
  for (int i = 0; i < 400; ++i) {
    std::string c = t;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int j = 0; j < flips; ++j) c[16 + rng() % (c.size() - 16)] = static_cast<char>(rng());
    Result r = Parse(c);
    if (!r.status.ok()) {
      EXPECT_FALSE(r.status.message().empty());
    }
  }
}

// The merge thread (ReaderOptions::threads = 2) must change nothing: same events in the same
// order, same error after the same events, on good, corrupt and randomly damaged traces.
TEST(ParserTest, MergeThreadGivesTheSameEventsAndErrors) {
  std::vector<std::string> traces;
  for (const char* name : {"http_1_19_good", "stress_1_19_good", "user_task_region_1_19_good",
                           "stress_start_stop_1_11_good", "http_1_9_good", "stress_1_5_good"}) {
    traces.push_back(ReadFile(kCanned + name));
    ASSERT_FALSE(traces.back().empty()) << name << ": apt-get install golang-1.19-src";
  }
  traces.push_back(ReadFile(TRACETOOL_SOURCE_DIR "/testdata/go1.19/demo.trace"));
  ASSERT_FALSE(traces.back().empty());
  for (const char* name : {"demo_bitflips.trace", "demo_first_half.trace",
                           "fuzz-time-delta-overflow.trace", "truncated_demo_5000.trace"}) {
    traces.push_back(ReadFile(std::string(TRACETOOL_SOURCE_DIR "/testdata/corrupt/") + name));
    ASSERT_FALSE(traces.back().empty()) << name;
  }
  std::mt19937 rng(7);
  const std::string base = traces[0];
  for (int i = 0; i < 60; ++i) {
    std::string c = base;
    for (int j = 0; j < 2; ++j) c[16 + rng() % (c.size() - 16)] = static_cast<char>(rng());
    traces.push_back(std::move(c));
  }
  int failures = 0;
  for (size_t i = 0; i < traces.size(); ++i) {
    Result one = Parse(traces[i], parser::ReaderOptions{1});
    Result two = Parse(traces[i], parser::ReaderOptions{2});
    EXPECT_EQ(one.status.ToString(), two.status.ToString()) << "trace #" << i;
    EXPECT_EQ(one.events, two.events) << "trace #" << i;
    EXPECT_TRUE(one.dump == two.dump) << "trace #" << i << ": the -d text differs";
    failures += one.status.ok() ? 0 : 1;
  }
  EXPECT_GT(failures, 0);  // the damaged traces did exercise the error path
  EXPECT_LT(failures, static_cast<int>(traces.size()));
}

// The consumer may stop early (an analysis error, a closed pipe): the reader's destructor must
// stop the merge thread wherever it is.
TEST(ParserTest, MergeThreadStopsWhenTheConsumerDoes) {
  std::string t = ReadFile(kCanned + "stress_1_19_good");
  ASSERT_FALSE(t.empty());
  for (int stop_after : {0, 1, 100, 5000}) {
    std::unique_ptr<parser::Input> in;
    ASSERT_TRUE(parser::Input::FromMemory(t, &in).ok());
    std::unique_ptr<parser::Reader> r;
    ASSERT_TRUE(parser::Reader::Open(std::move(in), &r, parser::ReaderOptions{2}).ok());
    parser::Event ev;
    bool done = false;
    for (int k = 0; k < stop_after && !done; ++k) ASSERT_TRUE(r->Next(&ev, &done).ok());
    r.reset();  // joins the merge thread; must not hang or crash
  }
}

std::string Gzip(const std::string& s) {
  z_stream zs{};
  deflateInit2(&zs, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, s.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(s.data()));
  zs.avail_in = static_cast<uInt>(s.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

TEST(ParserTest, CompressedInputGivesTheSameEvents) {
  std::string t = ReadFile(kCanned + "http_1_19_good");
  ASSERT_FALSE(t.empty());
  Result plain = Parse(t);
  ASSERT_TRUE(plain.status.ok());

  Result gz = Parse(Gzip(t));
  ASSERT_TRUE(gz.status.ok()) << gz.status.ToString();
  EXPECT_EQ(gz.dump, plain.dump);

  std::string z(ZSTD_compressBound(t.size()), '\0');
  z.resize(ZSTD_compress(z.data(), z.size(), t.data(), t.size(), 3));
  Result zs = Parse(z);
  ASSERT_TRUE(zs.status.ok()) << zs.status.ToString();
  EXPECT_EQ(zs.dump, plain.dump);

  // Truncated compressed streams are errors, not silently shorter traces.
  Result cut = Parse(z.substr(0, z.size() / 2));
  EXPECT_EQ(cut.status.tag(), ErrorTag::kTruncated) << cut.status.ToString();
  cut = Parse(Gzip(t).substr(0, 1000));
  EXPECT_EQ(cut.status.tag(), ErrorTag::kTruncated) << cut.status.ToString();
}

// InputFeed (STYLE.md P3): a trace pushed in two pieces split at every byte, plain and compressed,
// reads to exactly the events of the whole file; so does one pushed a byte at a time.
Result ParseFed(const std::string& bytes, const std::vector<size_t>& cuts) {
  parser::InputFeed feed("<feed>");
  size_t at = 0;
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  for (size_t cut : cuts) {
    Status st = feed.Feed({p + at, cut - at});
    if (!st.ok()) return Result{st, "", 0};
    at = cut;
  }
  Status st = feed.Feed({p + at, bytes.size() - at});
  if (!st.ok()) return Result{st, "", 0};
  std::unique_ptr<parser::Input> in;
  st = feed.Finish(&in);
  if (!st.ok()) return Result{st, "", 0};
  return ParseInput(std::move(in));
}

TEST(InputFeedTest, SplitAtEveryByteGivesTheSameEvents) {
  const std::string t = ReadFile(kCanned + "user_task_region_1_19_good");
  ASSERT_FALSE(t.empty());
  const Result whole = Parse(t);
  ASSERT_TRUE(whole.status.ok()) << whole.status.ToString();
  std::string z(ZSTD_compressBound(t.size()), '\0');
  z.resize(ZSTD_compress(z.data(), z.size(), t.data(), t.size(), 3));
  const std::string gz = Gzip(t);
  for (const std::string* bytes : std::vector<const std::string*>{&t, &z, &gz}) {
    for (size_t k = 0; k <= bytes->size(); ++k) {
      Result r = ParseFed(*bytes, {k});
      ASSERT_TRUE(r.status.ok()) << "cut at " << k << ": " << r.status.ToString();
      ASSERT_EQ(r.dump, whole.dump) << "cut at " << k;
    }
    std::vector<size_t> every;
    for (size_t k = 1; k < bytes->size(); ++k) every.push_back(k);
    Result r = ParseFed(*bytes, every);
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    EXPECT_EQ(r.dump, whole.dump);
  }
}

TEST(InputFeedTest, TruncatedCompressedStreamsAndMisuse) {
  const std::string t = ReadFile(kCanned + "http_1_19_good");
  ASSERT_FALSE(t.empty());
  std::string z(ZSTD_compressBound(t.size()), '\0');
  z.resize(ZSTD_compress(z.data(), z.size(), t.data(), t.size(), 3));
  const std::string gz = Gzip(t);
  for (const std::string& cut : {z.substr(0, z.size() / 2), gz.substr(0, gz.size() / 2)}) {
    Result r = ParseFed(cut, {cut.size() / 3});
    EXPECT_EQ(r.status.tag(), ErrorTag::kTruncated) << r.status.ToString();
  }
  std::string bad = gz;
  bad[20] ^= 0x55;
  bad[21] ^= 0x55;
  Result r = ParseFed(bad, {7});
  EXPECT_FALSE(r.status.ok());
  // Feeding after Finish, or finishing twice, is an error, not a crash.
  parser::InputFeed feed("<feed>");
  const uint8_t byte = 0;
  ASSERT_TRUE(feed.Feed({&byte, 1}).ok());
  std::unique_ptr<parser::Input> in;
  ASSERT_TRUE(feed.Finish(&in).ok());
  EXPECT_EQ(in->size(), 1u);
  EXPECT_FALSE(feed.Feed({&byte, 1}).ok());
  EXPECT_FALSE(feed.Finish(&in).ok());
}

TEST(InputTest, DirectoryMissingFileAndSparseZeros) {
  std::unique_ptr<parser::Input> in;
  Status st = parser::Input::Open("/", &in);
  EXPECT_EQ(st.tag(), ErrorTag::kIo);
  EXPECT_NE(st.message().find("directory"), std::string::npos);
  st = parser::Input::Open("/nonexistent/trace.out", &in);
  EXPECT_EQ(st.tag(), ErrorTag::kIo);

  char path[] = "/tmp/tracetool-sparse-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, 4LL << 30), 0);  // 4 GiB of zeros, no disk used
  close(fd);
  ASSERT_TRUE(parser::Input::Open(path, &in).ok());
  Result r = ParseInput(std::move(in));
  unlink(path);
  EXPECT_EQ(r.status.tag(), ErrorTag::kNotTrace) << r.status.ToString();
}

}  // namespace
}  // namespace tracetool

namespace tracetool {
namespace {

TEST(FlatMapTest, EraseKeepsEveryOtherKeyReachable) {
  parser::FlatMap<uint64_t> m;
  std::map<uint64_t, uint64_t> ref;
  std::mt19937_64 rng(3);
  for (int i = 0; i < 200000; ++i) {
    const uint64_t k = rng() % 5000;  // many collisions and reinsertions
    if (rng() % 3 == 0) {
      m.Erase(k);
      ref.erase(k);
    } else {
      m.Get(k) = k * 7 + static_cast<uint64_t>(i);
      ref[k] = k * 7 + static_cast<uint64_t>(i);
    }
  }
  EXPECT_EQ(m.size(), ref.size());
  for (uint64_t k = 0; k < 5000; ++k) {
    const uint64_t* v = m.Find(k);
    auto it = ref.find(k);
    ASSERT_EQ(v != nullptr, it != ref.end()) << k;
    if (v) {
      EXPECT_EQ(*v, it->second);
    }
  }
}

TEST(IdSetTest, DenseAndSparseIds) {
  parser::IdSet s;
  std::set<uint64_t> ref;
  std::mt19937_64 rng(5);
  for (uint64_t i = 1; i < 300000; i += 1 + rng() % 3) {  // dense, like Go goroutine ids
    s.Insert(i);
    ref.insert(i);
  }
  for (int i = 0; i < 2000; ++i) {  // sparse and hostile
    const uint64_t v = rng();
    s.Insert(v);
    ref.insert(v);
  }
  for (uint64_t i = 0; i < 310000; ++i) ASSERT_EQ(s.Contains(i), ref.count(i) == 1) << i;
  for (uint64_t v : ref) ASSERT_TRUE(s.Contains(v));
  EXPECT_FALSE(s.Contains(~0ull));
}

}  // namespace
}  // namespace tracetool
