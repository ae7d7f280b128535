#include "lib/pprof_export/profile_builder.h"

#include "lib/pprof_export/profile.pb.h"

namespace tracetool::pprof_export {

ProfileBuilder::ProfileBuilder(std::vector<ValueType> sample_types, ValueType period_type,
                               int64_t period)
    : sample_types_(std::move(sample_types)), period_type_(std::move(period_type)), period_(period) {
  Intern("");
  for (const ValueType& vt : sample_types_) {
    Intern(vt.type);
    Intern(vt.unit);
  }
}

int64_t ProfileBuilder::Intern(std::string_view s) {
  auto it = string_ids_.find(std::string(s));
  if (it != string_ids_.end()) return it->second;
  auto id = static_cast<int64_t>(strings_.size());
  strings_.emplace_back(s);
  string_ids_.emplace(std::string(s), id);
  return id;
}

void ProfileBuilder::AddSample(std::span<const Frame> leaf_first, std::span<const int64_t> values) {
  std::vector<uint64_t> ids;
  ids.reserve(leaf_first.size());
  for (const Frame& f : leaf_first) {
    auto it = location_by_pc_.find(f.pc);
    if (it != location_by_pc_.end()) {
      ids.push_back(it->second);
      continue;
    }
    auto key = std::make_pair(std::string(f.function), std::string(f.file));
    auto fit = function_ids_.find(key);
    uint64_t fid;
    if (fit == function_ids_.end()) {
      fid = functions_.size() + 1;
      int64_t name = Intern(f.function);
      int64_t file = Intern(f.file);
      functions_.push_back(Function{fid, name, file});
      function_ids_.emplace(std::move(key), fid);
    } else {
      fid = fit->second;
    }
    uint64_t lid = locations_.size() + 1;
    locations_.push_back(Location{lid, f.pc, fid, f.line});
    location_by_pc_.emplace(f.pc, lid);
    ids.push_back(lid);
  }
  auto [sit, inserted] = sample_index_.emplace(ids, samples_.size());
  if (inserted) {
    samples_.emplace_back(std::move(ids), std::vector<int64_t>(values.begin(), values.end()));
    samples_.back().second.resize(sample_types_.size());
  } else {
    auto& v = samples_[sit->second].second;
    for (size_t i = 0; i < v.size() && i < values.size(); ++i) v[i] += values[i];
  }
}

std::string ProfileBuilder::BuildUncompressed() const {
  pprof::Profile p;
  // String indexes for the period type may be new: intern on a copy of the table.
  std::vector<std::string> strings = strings_;
  std::unordered_map<std::string, int64_t> ids = string_ids_;
  auto intern = [&](const std::string& s) {
    auto it = ids.find(s);
    if (it != ids.end()) return it->second;
    auto id = static_cast<int64_t>(strings.size());
    strings.push_back(s);
    ids.emplace(s, id);
    return id;
  };
  for (const ValueType& vt : sample_types_) {
    auto* t = p.add_sample_type();
    t->set_type(ids.at(vt.type));
    t->set_unit(ids.at(vt.unit));
  }
  for (const auto& [locs, values] : samples_) {
    auto* s = p.add_sample();
    for (uint64_t id : locs) s->add_location_id(id);
    for (int64_t v : values) s->add_value(v);
  }
  for (const Location& l : locations_) {
    auto* loc = p.add_location();
    loc->set_id(l.id);
    loc->set_address(l.address);
    auto* line = loc->add_line();
    line->set_function_id(l.function_id);
    line->set_line(l.line);
  }
  for (const Function& f : functions_) {
    auto* fn = p.add_function();
    fn->set_id(f.id);
    fn->set_name(f.name);
    fn->set_system_name(f.name);
    fn->set_filename(f.file);
  }
  auto* pt = p.mutable_period_type();
  pt->set_type(intern(period_type_.type));
  pt->set_unit(intern(period_type_.unit));
  p.set_period(period_);
  if (!default_sample_type_.empty()) p.set_default_sample_type(intern(default_sample_type_));
  for (const std::string& s : strings) p.add_string_table(s);
  std::string out;
  p.SerializeToString(&out);
  return out;
}

std::string ProfileBuilder::Build() const { return Gzip(BuildUncompressed()); }

}  // namespace tracetool::pprof_export
