#include "cmd/tracetool/http_goroutines.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <memory>

#include "lib/parser/input.h"
#include "lib/parser/reader.h"

namespace tracetool::cli {

using analysis::GoroutineSummary;

void GoroutineDigest::Attach(analysis::GoroutineStats* stats) {
  stats->SetRetire([this](const GoroutineSummary& s) { Add(s, true); });
}

uint32_t GoroutineDigest::GroupOf(const GoroutineSummary& s) {
  auto [it, inserted] = group_of_pc_.emplace(s.pc, static_cast<uint32_t>(groups_.size()));
  if (inserted) {
    analysis::GoroutineGroup& g = groups_.emplace_back();
    g.pc = s.pc;
    g.name = std::string(s.name);
  }
  return it->second;
}

void GoroutineDigest::Add(const GoroutineSummary& s, bool retired) {
  const uint32_t gi = GroupOf(s);
  analysis::GoroutineGroup& grp = groups_[gi];
  grp.count++;
  grp.stats += s.stats;
  const analysis::ExecStats& st = s.stats;
  recs_.push_back(Rec{s.id, retired ? s.creation_ns : INT64_MIN, gi,
                      retired && st.total_ns == 0 ? 1u : 0u});
}

void GoroutineDigest::Finish(const analysis::GoroutineStats& stats, int64_t last_ts) {
  // Go's end-of-trace finalize of the retired goroutines (GoroutineStats::SetRetire).
  const int64_t gc_start = stats.open_gc_start();
  for (Rec& r : recs_) {
    analysis::ExecStats& s = groups_[r.group].stats;
    if (gc_start != 0) s.gc_ns += last_ts - std::max(gc_start, r.creation_ns);
    if (r.zero_total) s.total_ns += last_ts - r.creation_ns;
  }
  for (const GoroutineSummary& s : stats.goroutines()) {
    Add(s, false);
    if (!s.regions.empty()) with_regions_.push_back(s.id);
  }
  std::sort(with_regions_.begin(), with_regions_.end());
  std::sort(recs_.begin(), recs_.end(), [](const Rec& a, const Rec& b) { return a.id < b.id; });
  recs_.shrink_to_fit();
  // GroupGoroutines()'s order: by PC, then stably by execution time, largest first.
  std::vector<uint32_t> order(groups_.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return groups_[a].pc < groups_[b].pc; });
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return groups_[a].stats.exec_ns > groups_[b].stats.exec_ns;
  });
  std::vector<uint32_t> rank(groups_.size());
  std::vector<analysis::GoroutineGroup> sorted;
  sorted.reserve(groups_.size());
  for (uint32_t i = 0; i < order.size(); ++i) {
    rank[order[i]] = i;
    sorted.push_back(std::move(groups_[order[i]]));
  }
  groups_ = std::move(sorted);
  for (Rec& r : recs_) r.group = rank[r.group];
  group_of_pc_.clear();
}

std::string_view GoroutineDigest::Name(uint64_t g) const {
  auto it = std::lower_bound(recs_.begin(), recs_.end(), g,
                             [](const Rec& r, uint64_t v) { return r.id < v; });
  if (it == recs_.end() || it->id != g) return {};
  return groups_[it->group].name;
}

std::vector<uint64_t> GoroutineDigest::Select(std::string_view group) const {
  std::vector<bool> in(groups_.size(), group.empty());
  for (size_t i = 0; i < groups_.size(); ++i) {
    char hex[24];
    snprintf(hex, sizeof(hex), "0x%" PRIx64, groups_[i].pc);
    if (groups_[i].name == group || group == hex) in[i] = true;
  }
  std::vector<uint64_t> ids;
  for (const Rec& r : recs_) {
    if (in[r.group]) ids.push_back(r.id);
  }
  return ids;
}

size_t GoroutineDigest::MemoryBytes() const {
  size_t n = recs_.capacity() * sizeof(Rec) + with_regions_.capacity() * sizeof(uint64_t);
  for (const auto& g : groups_) n += sizeof(g) + g.name.capacity();
  return n;
}

namespace {

Status GroupDetail(const std::string& path, const std::vector<uint64_t>& ids,
                   const std::vector<uint64_t>& with_regions, std::string* out) {
  std::unique_ptr<parser::Input> input;
  TT_RETURN_IF_ERROR(parser::Input::Open(path, &input));
  std::unique_ptr<parser::Reader> reader;
  TT_RETURN_IF_ERROR(parser::Reader::Open(std::move(input), &reader));
  analysis::GoroutineStats stats(reader.get());
  stats.SetTracked([&](uint64_t g) {
    return std::binary_search(ids.begin(), ids.end(), g) ||
           std::binary_search(with_regions.begin(), with_regions.end(), g);
  });
  parser::Event ev;
  while (true) {
    bool done = false;
    TT_RETURN_IF_ERROR(reader->Next(&ev, &done));
    if (done) break;
    stats.OnEvent(ev);
  }
  stats.Finish();
  std::vector<GoroutineSummary> gs;
  for (const GoroutineSummary& s : stats.goroutines()) {
    if (std::binary_search(ids.begin(), ids.end(), s.id)) gs.push_back(s);
  }
  *out = analysis::GoroutinesJson(gs);
  return Status();
}

}  // namespace

Status GroupDetailJson(const std::string& path, const std::vector<uint64_t>& ids,
                       const std::vector<uint64_t>& with_regions, std::string* out) {
  Status st = GroupDetail(path, ids, with_regions, out);
  if (st.ok()) return st;
  return Status(st.tag(), path + ": " + st.message());
}

}  // namespace tracetool::cli
