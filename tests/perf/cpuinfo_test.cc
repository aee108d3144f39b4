// What /proc/cpuinfo says of the processor, read from a fake file and from this machine's.
#include "tensorplan/perf/cpuinfo.h"

#include <gtest/gtest.h>

#include <fstream>

#include "support/temp_path.h"

namespace tensorplan::perf {
namespace {

using testing::TestDir;

// Two processors; only the first one's fields count.
std::string fake_cpuinfo(const TestDir& dir) {
  const std::string path = dir.str() + "/cpuinfo";
  std::ofstream(path) << "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 26\n"
                         "model\t\t: 2\nmodel name\t: AMD EPYC\nstepping\t: 1\n"
                         "flags\t\t: fpu avx2 avx512f\n\nprocessor\t: 1\ncpu family\t: 25\n";
  return path;
}

TEST(CpuIdentity, NamesTheProcessorBeyondItsModelName) {
  TestDir dir("cpuinfo");
  const std::string path = fake_cpuinfo(dir);
  EXPECT_EQ(cpu_identity(path), "AMD EPYC (family 26, model 2, stepping 1)");
  EXPECT_EQ(cpu_identity(dir.str() + "/missing"), "");
  EXPECT_NE(cpu_identity(), "");  // this machine's
}

TEST(CpuFields, FlagsAndModelNameComeFromTheFirstProcessor) {
  TestDir dir("cpuinfo");
  const std::string path = fake_cpuinfo(dir);
  EXPECT_EQ(cpu_flags(path), (std::set<std::string>{"fpu", "avx2", "avx512f"}));
  EXPECT_EQ(cpu_model_name(path), "AMD EPYC");
  EXPECT_EQ(first_processor_fields(path).at("cpu family"), "26");  // not the second's 25
  EXPECT_TRUE(cpu_flags(dir.str() + "/missing").empty());
  EXPECT_EQ(cpu_model_name(dir.str() + "/missing"), "");
}

}  // namespace
}  // namespace tensorplan::perf
