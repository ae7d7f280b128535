// ProfileBuilder on its own (STYLE.md P7): interning, merging, and the wire content decoded back
// with the generated classes.
#include <gtest/gtest.h>
#include <zlib.h>

#include "lib/pprof_export/profile.pb.h"
#include "lib/pprof_export/profile_builder.h"

namespace tracetool::pprof_export {
namespace {

std::string Gunzip(const std::string& gz) {
  z_stream zs{};
  inflateInit2(&zs, 15 + 16);
  std::string out(1 << 20, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  zs.avail_in = static_cast<uInt>(gz.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  return out;
}

TEST(ProfileBuilderTest, InternsAndMerges) {
  ProfileBuilder b({{"contentions", "count"}, {"delay", "nanoseconds"}}, {"trace", "count"});
  const Frame f1{0x10, "main.a", "a.go", 3}, f2{0x20, "main.b", "a.go", 7},
      f3{0x30, "main.a", "a.go", 9};
  const Frame s1[] = {f1, f2};
  const Frame s2[] = {f3, f2};
  const int64_t v1[] = {1, 100}, v2[] = {2, 50};
  b.AddSample(s1, v1);
  b.AddSample(s2, v2);
  b.AddSample(s1, v2);  // same stack: merged

  std::string gz = b.Build();
  ASSERT_GE(gz.size(), 10u);
  EXPECT_EQ(static_cast<uint8_t>(gz[0]), 0x1f);
  EXPECT_EQ(static_cast<uint8_t>(gz[1]), 0x8b);
  pprof::Profile p;
  ASSERT_TRUE(p.ParseFromString(Gunzip(gz)));
  EXPECT_EQ(b.Build(), gz) << "Build() must be idempotent";

  auto str = [&](int64_t i) { return p.string_table(static_cast<int>(i)); };
  EXPECT_EQ(str(0), "");
  ASSERT_EQ(p.sample_type_size(), 2);
  EXPECT_EQ(str(p.sample_type(0).type()), "contentions");
  EXPECT_EQ(str(p.sample_type(1).unit()), "nanoseconds");
  EXPECT_EQ(str(p.period_type().type()), "trace");
  EXPECT_EQ(str(p.period_type().unit()), "count");
  EXPECT_EQ(p.period(), 1);

  ASSERT_EQ(p.sample_size(), 2);
  EXPECT_EQ(p.sample(0).value(0), 3);
  EXPECT_EQ(p.sample(0).value(1), 150);
  EXPECT_EQ(p.sample(1).value(0), 2);
  ASSERT_EQ(p.sample(0).location_id_size(), 2);

  ASSERT_EQ(p.location_size(), 3);  // one per PC
  ASSERT_EQ(p.function_size(), 2);  // main.a and main.b: (name, file) pairs
  for (int i = 0; i < p.location_size(); ++i) {
    EXPECT_EQ(p.location(i).id(), static_cast<uint64_t>(i + 1));
    ASSERT_EQ(p.location(i).line_size(), 1);
  }
  EXPECT_EQ(p.location(0).address(), 0x10u);
  EXPECT_EQ(p.location(0).line(0).line(), 3);
  EXPECT_EQ(p.location(2).line(0).function_id(), p.location(0).line(0).function_id());
  EXPECT_EQ(str(p.function(0).name()), "main.a");
  EXPECT_EQ(str(p.function(0).filename()), "a.go");
}

TEST(ProfileBuilderTest, EmptyProfileIsValid) {
  ProfileBuilder b({{"contentions", "count"}, {"delay", "nanoseconds"}}, {"trace", "count"});
  pprof::Profile p;
  ASSERT_TRUE(p.ParseFromString(Gunzip(b.Build())));
  EXPECT_EQ(p.sample_size(), 0);
  EXPECT_EQ(p.sample_type_size(), 2);
}

}  // namespace
}  // namespace tracetool::pprof_export
