// ProfileBuilder: samples with leaf-first stacks → a gzipped profile.proto that `go tool pprof`
// reads. Knows nothing about traces (STYLE.md P1): the CLI adapts analysis records to samples.
//
//   ProfileBuilder b({{"contentions", "count"}, {"delay", "nanoseconds"}}, {"trace", "count"});
//   b.AddSample(frames, {count, delay});
//   std::string gz = b.Build();
//
// Interning follows pprof's rules as Go's tool applies them (spec §6.3): strings deduplicated with
// "" at index 0; one Location per PC (the first description seen wins), one Function per
// (name, file); ids start at 1. Samples with the same location sequence are merged.
#ifndef TRACETOOL_LIB_PPROF_EXPORT_PROFILE_BUILDER_H_
#define TRACETOOL_LIB_PPROF_EXPORT_PROFILE_BUILDER_H_

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tracetool::pprof_export {

struct ValueType {
  std::string type;
  std::string unit;
};

struct Frame {
  uint64_t pc = 0;
  std::string_view function;
  std::string_view file;
  int64_t line = 0;
};

class ProfileBuilder {
 public:
  ProfileBuilder(std::vector<ValueType> sample_types, ValueType period_type, int64_t period = 1);

  // AddSample() adds values (one per sample type) for the stack `leaf_first`. Values of a stack
  // already added are summed.
  void AddSample(std::span<const Frame> leaf_first, std::span<const int64_t> values);

  // SetDefaultSampleType() names the sample type pprof shows by default (profile.proto's
  // default_sample_type); without it pprof shows the last one.
  void SetDefaultSampleType(std::string type) { default_sample_type_ = std::move(type); }

  // Build() returns the serialized profile, gzip-compressed. May be called more than once.
  std::string Build() const;
  // BuildUncompressed() returns the serialized protobuf bytes.
  std::string BuildUncompressed() const;

 private:
  int64_t Intern(std::string_view s);

  struct Location {
    uint64_t id;
    uint64_t address;
    uint64_t function_id;
    int64_t line;
  };
  struct Function {
    uint64_t id;
    int64_t name;
    int64_t file;
  };

  std::vector<ValueType> sample_types_;
  ValueType period_type_;
  int64_t period_;
  std::string default_sample_type_;
  std::vector<std::string> strings_;
  std::unordered_map<std::string, int64_t> string_ids_;
  std::vector<Location> locations_;
  std::unordered_map<uint64_t, uint64_t> location_by_pc_;
  std::vector<Function> functions_;
  std::map<std::pair<std::string, std::string>, uint64_t> function_ids_;
  std::map<std::vector<uint64_t>, size_t> sample_index_;  // location ids → samples_ index
  std::vector<std::pair<std::vector<uint64_t>, std::vector<int64_t>>> samples_;
};

// Gzip() compresses `data` as a gzip member (RFC 1952).
std::string Gzip(std::string_view data);

}  // namespace tracetool::pprof_export

#endif  // TRACETOOL_LIB_PPROF_EXPORT_PROFILE_BUILDER_H_
