// GoroutineDigest (cmd/tracetool/http_goroutines.h): the web UI's goroutine pages from 24 bytes
// per goroutine must equal the pages of the full goroutine analysis, on every bundled trace:
// the groups, each goroutine's start function, every group's page (re-read from the trace with
// only that group tracked) and the regions/tasks pages (which read the goroutines kept with
// regions).
#include "cmd/tracetool/http_goroutines.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "lib/analysis/annotations.h"
#include "lib/analysis/goroutine_stats.h"
#include "lib/analysis/report.h"
#include "lib/parser/input.h"
#include "lib/parser/reader.h"

namespace tracetool::cli {
namespace {

struct Analysed {
  std::unique_ptr<parser::Reader> reader;
  std::unique_ptr<analysis::GoroutineStats> stats;
  std::unique_ptr<analysis::Annotations> ann;
  uint64_t retired = 0;
};

// One pass over `path`; with `digest`, goroutines are retired into it as the web server does.
void Analyse(const std::string& path, GoroutineDigest* digest, Analysed* out) {
  std::unique_ptr<parser::Input> input;
  ASSERT_TRUE(parser::Input::Open(path, &input).ok()) << path;
  ASSERT_TRUE(parser::Reader::Open(std::move(input), &out->reader).ok()) << path;
  out->stats = std::make_unique<analysis::GoroutineStats>(out->reader.get());
  out->ann = std::make_unique<analysis::Annotations>(out->reader.get());
  if (digest != nullptr) digest->Attach(out->stats.get());
  parser::Event ev;
  int64_t last = 0;
  while (true) {
    bool done = false;
    ASSERT_TRUE(out->reader->Next(&ev, &done).ok()) << path;
    if (done) break;
    last = ev.ts;
    out->stats->OnEvent(ev);
    out->ann->OnEvent(ev);
  }
  out->stats->Finish();
  out->ann->Finish(*out->stats, last);
  if (digest != nullptr) digest->Finish(*out->stats, last);
}

class DigestTest : public testing::TestWithParam<const char*> {};

TEST_P(DigestTest, SamePagesAsTheFullAnalysis) {
  // "shared/…" is the shared reference folder (TRACETOOL_SHARED_DIR), anything else the source.
  const std::string param = GetParam();
  const std::string path = param.rfind("shared/", 0) == 0
                               ? std::string(TRACETOOL_DIGEST_SHARED_DIR) + param.substr(6)
                               : std::string(TRACETOOL_DIGEST_SOURCE_DIR) + "/" + param;
  Analysed full, lean;
  GoroutineDigest digest;
  Analyse(path, nullptr, &full);
  Analyse(path, &digest, &lean);
  const auto& all = full.stats->goroutines();
  ASSERT_FALSE(all.empty());
  // The digest keeps fewer summaries; on the traces whose goroutines end it must actually have
  // retired some (else this test proves nothing). task.trace's goroutines all live to the end.
  EXPECT_LE(lean.stats->goroutines().size(), all.size());
  if (param.find("task.trace") == std::string::npos) {
    EXPECT_LT(lean.stats->goroutines().size(), all.size());
  }
  EXPECT_EQ(digest.goroutine_count(), all.size());

  EXPECT_EQ(analysis::GroupsJson(digest.groups()),
            analysis::GroupsJson(analysis::GroupGoroutines(all)));
  for (const auto& g : all) EXPECT_EQ(digest.Name(g.id), g.name) << "G" << g.id;
  EXPECT_EQ(digest.Name(~0ull), "");

  EXPECT_EQ(analysis::RegionTypesJson(*lean.ann), analysis::RegionTypesJson(*full.ann));
  EXPECT_EQ(analysis::TaskTypesJson(*lean.ann), analysis::TaskTypesJson(*full.ann));

  std::vector<std::string> keys = {""};
  for (const auto& grp : digest.groups()) keys.push_back(grp.name);
  keys.push_back("0x1");  // no such PC
  for (const std::string& key : keys) {
    const std::vector<uint64_t> ids = digest.Select(key);
    const auto want = analysis::SelectGroup(all, key);
    ASSERT_EQ(ids.size(), want.size()) << "group '" << key << "'";
    if (ids.empty()) continue;
    std::string got;
    ASSERT_TRUE(GroupDetailJson(path, ids, digest.with_regions(), &got).ok());
    EXPECT_EQ(got, analysis::GoroutinesJson(want)) << "group '" << key << "'";
  }
}

INSTANTIATE_TEST_SUITE_P(Traces, DigestTest,
                         testing::Values("testdata/go1.19/demo.trace",
                                         "shared/testdata/go1.21/task.trace",
                                         "shared/testdata/go1.21/fgprof.trace",
                                         "shared/testdata/go1.22plus/go122_urihandler.trace"));

TEST(DigestTest, MissingTraceIsAnError) {
  std::string out;
  Status st = GroupDetailJson("/nonexistent/trace.out", {1}, {}, &out);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("/nonexistent/trace.out"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace tracetool::cli
