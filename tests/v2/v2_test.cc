// Tests of the Go 1.22+ reader (lib/parser/v2): the upstream text tests (assembled by
// text_trace.cc), the upstream fuzz seeds, version detection, the real traces, and the mapping
// onto the format-neutral model on small hand-written traces.
//
// The shared reference data comes from TRACETOOL_SHARED_DIR (normally ../shared beside the clone);
// when it is absent the data-driven tests FAIL saying so, they never skip.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "lib/parser/event.h"
#include "lib/parser/input.h"
#include "lib/parser/reader.h"
#include "lib/parser/v2/reader_v2.h"
#include "tests/v2/text_trace.h"

namespace tracetool {
namespace {

namespace fs = std::filesystem;
using parser::Event;
using parser::EventType;
using parser::Reader;

std::string SharedDir() {
  const char* d = std::getenv("TRACETOOL_SHARED_DIR");
  return d ? d : "";
}

// Files of testdata/<sub>, sorted; fails the test when the folder is absent.
std::vector<fs::path> SharedFiles(const std::string& sub) {
  std::vector<fs::path> out;
  const fs::path dir = fs::path(SharedDir()) / "testdata" / sub;
  if (SharedDir().empty() || !fs::is_directory(dir)) {
    ADD_FAILURE() << "shared test data " << dir
                  << " is absent: set TRACETOOL_SHARED_DIR to the shared/ reference folder";
    return out;
  }
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file()) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct ReadResult {
  Status status;
  std::vector<Event> events;
  std::unique_ptr<Reader> reader;
};

// Reads every event of `bytes`; stops at the first error (kept in status).
ReadResult ReadAll(const std::string& bytes, size_t keep = SIZE_MAX) {
  ReadResult r;
  std::unique_ptr<parser::Input> in;
  r.status = parser::Input::FromMemory(bytes, &in);
  if (!r.status.ok()) return r;
  r.status = Reader::Open(std::move(in), &r.reader);
  if (!r.status.ok()) return r;
  Event ev;
  bool done = false;
  for (uint64_t n = 0; n < (uint64_t{1} << 24); ++n) {
    r.status = r.reader->Next(&ev, &done);
    if (!r.status.ok() || done) break;
    if (r.events.size() < keep) r.events.push_back(ev);
  }
  return r;
}

std::string Assemble(const std::string& text) {
  std::string bytes, err;
  EXPECT_TRUE(testing::AssembleTrace(text, &bytes, &err)) << err;
  return bytes;
}

// ---- Upstream text tests (spec §5.4) ------------------------------------------------------------

TEST(V2TextTests, EveryUpstreamTestHasItsExpectedOutcome) {
  const auto files = SharedFiles("go1.22plus-text");
  EXPECT_EQ(files.size(), 22u) << "the upstream set has 22 tests (spec §5.6)";
  for (const auto& f : files) {
    SCOPED_TRACE(f.filename().string());
    testing::TextTest t;
    std::string err;
    ASSERT_TRUE(testing::ParseTextTest(ReadFile(f), &t, &err)) << err;
    ReadResult r = ReadAll(t.bytes, 0);
    if (t.success) {
      EXPECT_TRUE(r.status.ok()) << r.status.ToString();
    } else {
      ASSERT_FALSE(r.status.ok()) << "expected an error matching " << t.error_re;
      EXPECT_TRUE(std::regex_search(r.status.message(), std::regex(t.error_re)))
          << r.status.message() << " does not match " << t.error_re;
    }
  }
}

std::vector<int64_t> SyncTimes(const std::string& name) {
  testing::TextTest t;
  std::string err;
  const fs::path p = fs::path(SharedDir()) / "testdata" / "go1.22plus-text" / name;
  if (!fs::exists(p)) {
    ADD_FAILURE() << p << " is absent (TRACETOOL_SHARED_DIR)";
    return {};
  }
  EXPECT_TRUE(testing::ParseTextTest(ReadFile(p), &t, &err)) << err;
  ReadResult r = ReadAll(t.bytes, 0);
  EXPECT_TRUE(r.status.ok()) << r.status.ToString();
  if (!r.reader) return {};
  return dynamic_cast<const parser::v2::V2Reader&>(*r.reader).sync_times();
}

// The exact Sync times upstream's TestTraceGenSync asserts (spec §5.4).
TEST(V2TextTests, SyncTimesMatchUpstream) {
  EXPECT_EQ(SyncTimes("go123-sync.test"), (std::vector<int64_t>{10, 40, 60, 63}));
  EXPECT_EQ(SyncTimes("go125-sync.test"), (std::vector<int64_t>{9, 38, 58, 83}));
}

// ---- Fuzz seeds: rejected or accepted, never a crash or hang ----------------------------------

TEST(V2Fuzz, EverySeedIsAcceptedOrRejectedCleanly) {
  const auto files = SharedFiles("go1.22plus-fuzz");
  EXPECT_GE(files.size(), 17u);
  int rejected = 0;
  for (const auto& f : files) {
    SCOPED_TRACE(f.filename().string());
    std::string bytes, err;
    ASSERT_TRUE(testing::ParseGoFuzzSeed(ReadFile(f), &bytes, &err)) << err;
    ReadResult r = ReadAll(bytes, 0);
    if (!r.status.ok()) {
      ++rejected;
      // One line, naming where.
      EXPECT_EQ(r.status.message().find('\n'), std::string::npos) << r.status.message();
    }
  }
  EXPECT_GT(rejected, 0);
}

// ---- Version detection ------------------------------------------------------------------------

std::string Header(const char* h) { return std::string(h) + std::string(16 - strlen(h), '\0'); }

TEST(V2Versions, NewerGoIsNamed) {
  ReadResult r = ReadAll(Header("go 1.27 trace"));
  ASSERT_FALSE(r.status.ok());
  EXPECT_EQ(r.status.tag(), ErrorTag::kUnsupportedVersion);
  EXPECT_NE(r.status.message().find("go 1.27"), std::string::npos) << r.status.message();
  EXPECT_NE(r.status.message().find("newer Go than tracetool supports"), std::string::npos);
  ReadResult r99 = ReadAll(Header("go 1.99 trace"));
  EXPECT_NE(r99.status.message().find("go 1.99"), std::string::npos) << r99.status.message();
  ReadResult r100 = ReadAll(Header("go 1.100 trace"));
  EXPECT_EQ(r100.status.tag(), ErrorTag::kUnsupportedVersion);
  EXPECT_NE(r100.status.message().find("go 1.100"), std::string::npos) << r100.status.message();
}

TEST(V2Versions, NoGo124Header) {
  ReadResult r = ReadAll(Header("go 1.24 trace"));
  ASSERT_FALSE(r.status.ok());
  EXPECT_NE(r.status.message().find("go 1.24"), std::string::npos) << r.status.message();
}

TEST(V2Versions, EachV2HeaderOpens) {
  // Header only (spec §3.9): Go's reader fails "no frequency event found" before 1.26 and reads
  // an empty trace from 1.26 on.
  for (const char* h : {"go 1.22 trace", "go 1.23 trace", "go 1.25 trace"}) {
    ReadResult r = ReadAll(Header(h));
    ASSERT_TRUE(r.reader) << h << ": " << r.status.ToString();
    EXPECT_EQ(r.reader->version(), 1000 + std::stoi(std::string(h).substr(5, 2)));
    EXPECT_NE(r.status.message().find("no frequency event found"), std::string::npos)
        << h << ": " << r.status.ToString();
  }
  ReadResult r26 = ReadAll(Header("go 1.26 trace"));
  EXPECT_TRUE(r26.status.ok()) << r26.status.ToString();
}

// ---- Real traces --------------------------------------------------------------------------------

TEST(V2RealTraces, EveryTraceParses) {
  const auto files = SharedFiles("go1.22plus");
  EXPECT_GE(files.size(), 5u);
  for (const auto& f : files) {
    SCOPED_TRACE(f.filename().string());
    const std::string bytes = ReadFile(f);
    ReadResult r = ReadAll(bytes);
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    ASSERT_FALSE(r.events.empty());
    const auto& v2 = dynamic_cast<const parser::v2::V2Reader&>(*r.reader);
    EXPECT_GE(v2.v2_stats().generations, 1u);
    EXPECT_LE(v2.v2_stats().max_generation_bytes, bytes.size());
    int64_t last = -1;
    for (const Event& e : r.events) {
      ASSERT_GE(e.ts, last) << "times never go back";
      last = e.ts;
      for (const auto& fr : r.reader->Stack(e.stack_id)) (void)r.reader->String(fr.fn);
    }
  }
}

// The same generations in Go 1.26's in-band framing (header 1.26, EndOfGeneration after each
// generation, spec §1.5) read to the same events; without the last end byte the trace is cut.
TEST(V2RealTraces, Go126FramingReadsTheSameEvents) {
  const fs::path p = fs::path(SharedDir()) / "testdata/go1.22plus/go125_pprofsvc.trace";
  ASSERT_TRUE(fs::exists(p)) << p << " is absent (TRACETOOL_SHARED_DIR)";
  const std::string in = ReadFile(p);
  auto uv = [&](size_t* i) {
    uint64_t x = 0;
    for (unsigned s = 0;; s += 7) {
      const uint8_t c = static_cast<uint8_t>(in[(*i)++]);
      x |= static_cast<uint64_t>(c & 0x7f) << s;
      if (c < 0x80) return x;
    }
  };
  std::string out = Header("go 1.26 trace");
  uint64_t cur = 0;
  for (size_t i = 16; i < in.size();) {
    const size_t start = i;
    if (in[i++] == 0x31) ++i;
    const uint64_t gen = uv(&i);
    uv(&i);
    uv(&i);
    i += uv(&i);
    if (cur != 0 && gen != cur) out.push_back(0x34);
    cur = gen;
    out.append(in, start, i - start);
  }
  out.push_back(0x34);
  ReadResult a = ReadAll(in), b = ReadAll(out);
  ASSERT_TRUE(a.status.ok()) << a.status.ToString();
  ASSERT_TRUE(b.status.ok()) << b.status.ToString();
  ASSERT_EQ(a.events.size(), b.events.size());
  for (size_t i = 0; i < a.events.size(); ++i) {
    ASSERT_EQ(a.events[i].type, b.events[i].type) << i;
    ASSERT_EQ(a.events[i].ts, b.events[i].ts) << i;
    ASSERT_EQ(a.events[i].g, b.events[i].g) << i;
  }
  out.pop_back();
  ReadResult cut = ReadAll(out);
  EXPECT_NE(cut.status.message().find("incomplete generation found"), std::string::npos)
      << cut.status.ToString();
}

// ---- The mapping onto the model ----------------------------------------------------------------

const char* kPrelude = R"(Trace Go1.22
EventBatch gen=1 m=18446744073709551615 time=0 size=?
Frequency freq=1000000000
)";

std::string Strings(const std::vector<std::pair<int, std::string>>& ss) {
  std::string body;
  size_t size = 1;
  for (const auto& [id, s] : ss) {
    body += "String id=" + std::to_string(id) + "\n\tdata=\"" + s + "\"\n";
    size += 1 + 1 + 1 + s.size();  // ids and lengths < 128 here
  }
  (void)size;
  return "EventBatch gen=1 m=18446744073709551615 time=0 size=?\nStrings\n" + body;
}

std::vector<std::string> Types(const ReadResult& r) {
  std::vector<std::string> out;
  for (const Event& e : r.events) out.emplace_back(format::Spec(e.type).name);
  return out;
}

TEST(V2Model, BlockReasonsMapOntoV1BlockTypesAndStartLinksToUnblock) {
  // g1 runs on p0/m0, blocks on a channel receive; m1 (p1, g2) unblocks it; m0 starts it again.
  std::string t = std::string(kPrelude) + R"(EventBatch gen=1 m=0 time=0 size=?
ProcStatus dt=1 p=0 pstatus=1
GoStatus dt=1 g=1 m=0 gstatus=2
GoBlock dt=1 reason_string=1 stack=0
GoStart dt=5 g=1 g_seq=2
EventBatch gen=1 m=1 time=0 size=?
ProcStatus dt=1 p=1 pstatus=1
GoStatus dt=1 g=2 m=1 gstatus=2
GoUnblock dt=2 g=1 g_seq=1 stack=0
EventBatch gen=1 m=18446744073709551615 time=0 size=?
Stacks
)" + Strings({{1, "chan receive"}});
  ReadResult r = ReadAll(Assemble(t));
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  const auto types = Types(r);
  // Equal times order by thread (m0 first), so both ProcStatus come before the GoStatus.
  EXPECT_EQ(types, (std::vector<std::string>{"ProcStart", "ProcStart", "GoCreate", "GoStart",
                                             "GoCreate", "GoStart", "GoBlockRecv", "GoUnblock",
                                             "GoStart"}));
  const Event& unblock = r.events[7];
  EXPECT_EQ(unblock.from.type, EventType::kGoBlockRecv);
  EXPECT_EQ(unblock.g, 2u);
  EXPECT_EQ(unblock.args[0], 1u);
  EXPECT_EQ(r.events.back().from.type, EventType::kGoUnblock);
  // Go 1.22+'s -pprof=sched (spec §4.2): the wait before g1's start counts, since g1 had run.
  EXPECT_EQ(r.events.back().sched_rule, parser::SchedRule::kCount);
  EXPECT_EQ(r.events.back().from.g, 2u) << "the unblocker, for -pprof=sched";
  EXPECT_EQ(r.reader->String(r.events[6].args[0]), "chan receive");
}

// CPU samples (spec §1.7.3) are events of the stream: ordered by time among the others (§3.1 step
// 5b), with their M's P and G, "no P" as -1 and "no goroutine" as 0, and a resolved stack.
TEST(V2Model, CpuSamplesAreOrderedEventsWithStacks) {
  std::string t = std::string(kPrelude) + R"(EventBatch gen=1 m=0 time=0 size=?
ProcStatus dt=1 p=0 pstatus=1
GoStatus dt=1 g=1 m=0 gstatus=2
GoBlock dt=20 reason_string=1 stack=0
EventBatch gen=1 m=18446744073709551615 time=0 size=?
CPUSamples
CPUSample time=15 m=0 p=0 g=1 stack=1
CPUSample time=5 m=0 p=18446744073709551615 g=0 stack=0
EventBatch gen=1 m=18446744073709551615 time=0 size=?
Stacks
Stack id=1 nframes=1
	pc=4096 func=2 file=3 line=7
)" + Strings({{1, "chan receive"}, {2, "main.spin"}, {3, "main.go"}});
  ReadResult r = ReadAll(Assemble(t));
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(Types(r), (std::vector<std::string>{"ProcStart", "GoCreate", "GoStart", "CPUSample",
                                                "CPUSample", "GoBlockRecv"}));
  const Event& early = r.events[3];
  EXPECT_EQ(early.p, -1);
  EXPECT_EQ(early.g, 0u);
  EXPECT_EQ(early.args[0], 5u) << "the sample's own clock value";
  EXPECT_EQ(early.stack_id, 0u);
  const Event& late = r.events[4];
  EXPECT_EQ(late.p, 0);
  EXPECT_EQ(late.g, 1u);
  EXPECT_LT(early.ts, late.ts);
  ASSERT_EQ(r.reader->Stack(late.stack_id).size(), 1u);
  EXPECT_EQ(r.reader->String(r.reader->Stack(late.stack_id)[0].fn), "main.spin");
  EXPECT_EQ(r.reader->Stack(late.stack_id)[0].line, 7u);
}

TEST(V2Model, SchedRuleSkipsTheWaitBeforeTheFirstRunAndCountsYields) {
  // g2 is created and started (its first run: not counted), yields (GoStop), starts again
  // (counted, charged to the GoSched's own stack).
  std::string t = std::string(kPrelude) + R"(EventBatch gen=1 m=0 time=0 size=?
ProcStatus dt=1 p=0 pstatus=1
GoStatus dt=1 g=1 m=0 gstatus=2
GoCreate dt=1 new_g=2 new_stack=0 stack=0
GoStop dt=1 reason_string=1 stack=0
GoStart dt=1 g=2 g_seq=1
GoStop dt=1 reason_string=2 stack=0
GoStart dt=3 g=2 g_seq=2
EventBatch gen=1 m=18446744073709551615 time=0 size=?
Stacks
)" + Strings({{1, "runtime.Gosched"}, {2, "preempted"}});
  ReadResult r = ReadAll(Assemble(t));
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  std::vector<std::pair<std::string, parser::SchedRule>> starts;
  for (const Event& e : r.events) {
    if (e.type == EventType::kGoStart) starts.emplace_back(std::to_string(e.g), e.sched_rule);
    if (e.type == EventType::kGoPreempt) {
      EXPECT_EQ(e.from.type, EventType::kGoStart) << "a preemption ends the running interval";
    }
  }
  using R = parser::SchedRule;
  EXPECT_EQ(starts, (std::vector<std::pair<std::string, R>>{{"1", R::kSkip}, {"2", R::kSkip},
                                                              {"2", R::kCount}}));
  EXPECT_EQ(r.events.back().from.type, EventType::kGoPreempt);
}

TEST(V2Model, SyscallsBecomeGoSysCallAndReturnOrBlockExit) {
  // Upstream's go122-syscall-steal-proc-simple (spec §3.10) plus a fast syscall first.
  std::string t = std::string(kPrelude) + R"(EventBatch gen=1 m=0 time=0 size=?
ProcStatus dt=1 p=0 pstatus=1
GoStatus dt=1 g=1 m=0 gstatus=2
GoSyscallBegin dt=1 p_seq=1 stack=0
GoSyscallEnd dt=1
GoSyscallBegin dt=1 p_seq=2 stack=0
GoSyscallEndBlocked dt=1
EventBatch gen=1 m=1 time=0 size=?
ProcStatus dt=1 p=2 pstatus=1
GoStatus dt=1 g=2 m=1 gstatus=2
ProcSteal dt=9 p=0 p_seq=3 m=0
EventBatch gen=1 m=18446744073709551615 time=0 size=?
Stacks
EventBatch gen=1 m=18446744073709551615 time=0 size=?
Strings
)";
  ReadResult r = ReadAll(Assemble(t));
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  const auto types = Types(r);
  EXPECT_EQ(types, (std::vector<std::string>{"ProcStart", "ProcStart", "GoCreate", "GoStart",
                                             "GoCreate", "GoStart", "GoSysCall", "GoSysReturn",
                                             "GoSysCall", "GoSysBlock", "ProcStop",
                                             "GoSysExit"}));
  EXPECT_EQ(r.events[7].from.type, EventType::kGoSysCall);
  EXPECT_EQ(r.events[9].g, 1u) << "the stolen P's goroutine blocks";
  EXPECT_EQ(r.events[11].from.type, EventType::kGoSysCall);
}

TEST(V2Model, StringIdsStayValidAcrossGenerations) {
  // Two generations with different local ids for the same and for different strings.
  std::string t = R"(Trace Go1.22
EventBatch gen=1 m=18446744073709551615 time=0 size=?
Frequency freq=1000000000
EventBatch gen=1 m=0 time=0 size=?
ProcStatus dt=1 p=0 pstatus=1
GoStatus dt=1 g=1 m=0 gstatus=2
UserLog dt=1 task=0 key_string=1 value_string=2 stack=0
EventBatch gen=1 m=18446744073709551615 time=0 size=?
Strings
String id=1
	data="k"
String id=2
	data="v1"
EventBatch gen=2 m=18446744073709551615 time=10 size=?
Frequency freq=1000000000
EventBatch gen=2 m=0 time=10 size=?
ProcStatus dt=1 p=0 pstatus=1
GoStatus dt=1 g=1 m=0 gstatus=2
UserLog dt=1 task=0 key_string=2 value_string=1 stack=0
EventBatch gen=2 m=18446744073709551615 time=10 size=?
Strings
String id=1
	data="v2"
String id=2
	data="k"
)";
  ReadResult r = ReadAll(Assemble(t));
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  std::vector<std::pair<std::string, std::string>> logs;
  for (const Event& e : r.events) {
    if (e.type == EventType::kUserLog) {
      logs.emplace_back(r.reader->String(e.args[1]), std::string(e.message));
    }
  }
  EXPECT_EQ(logs, (std::vector<std::pair<std::string, std::string>>{{"k", "v1"}, {"k", "v2"}}));
  EXPECT_EQ(dynamic_cast<const parser::v2::V2Reader&>(*r.reader).v2_stats().generations, 2u);
}

TEST(V2Model, Go126EndOfGenerationAndTruncation) {
  const std::string gen = R"(EventBatch gen=1 m=18446744073709551615 time=0 size=?
Sync
Frequency freq=1000000000
ClockSnapshot dt=1 mono=1 sec=1 nsec=1
EventBatch gen=1 m=0 time=0 size=?
ProcStatus dt=1 p=0 pstatus=1
GoStatus dt=1 g=1 m=0 gstatus=2
)";
  ReadResult ok = ReadAll(Assemble("Trace Go1.26\n" + gen + "EndOfGeneration\n"));
  EXPECT_TRUE(ok.status.ok()) << ok.status.ToString();
  ReadResult cut = ReadAll(Assemble("Trace Go1.26\n" + gen));
  ASSERT_FALSE(cut.status.ok());
  EXPECT_NE(cut.status.message().find("incomplete generation found; trace likely truncated"),
            std::string::npos)
      << cut.status.message();
  std::string b25 = Assemble("Trace Go1.26\n" + gen + "EndOfGeneration\n");
  b25[6] = '5';  // "go 1.25 trace": the text format cannot name the end byte there
  ReadResult early = ReadAll(b25);
  EXPECT_FALSE(early.status.ok()) << "a 1.25 file never holds the end byte";
}

TEST(V2Model, ErrorsNameTheOffset) {
  std::string t = std::string(kPrelude) + R"(EventBatch gen=1 m=0 time=0 size=?
ProcStatus dt=1 p=0 pstatus=1
GoStart dt=1 g=9 g_seq=1
)";
  ReadResult r = ReadAll(Assemble(t));
  ASSERT_FALSE(r.status.ok());
  EXPECT_NE(r.status.message().find("offset 0x"), std::string::npos) << r.status.message();
  EXPECT_NE(r.status.message().find("failed to advance"), std::string::npos) << r.status.message();
}

}  // namespace
}  // namespace tracetool
