// The reference work and its history: the baseline a timing is held to.
#include "tensorplan/perf/quiet_machine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "support/temp_path.h"

namespace tensorplan::perf {
namespace {

using testing::TestDir;

TEST(ReferenceHistory, BaselineIsTheRecentMedianElseTheMedianSinceTheReset) {
  ReferenceHistory h;
  EXPECT_EQ(h.baseline(1000, 1800), 0);  // nothing yet: no baseline
  h.add(0, 0.0130);                      // fast, long ago
  h.add(10, 0.0131);
  h.add(20, 0.0160);
  h.add(5000, 0.0150);  // slower, lately
  h.add(5100, 0.0148);
  h.add(5150, 0.0141);  // one lucky figure does not become the bar
  // Within the last 30 minutes only the slower figures count: a drift of hours is followed.
  EXPECT_DOUBLE_EQ(h.baseline(5200, 1800), 0.0148);
  // Nothing in the window: the median of all (a new session is held to the last one's speed);
  // of an even count, the lower middle.
  EXPECT_DOUBLE_EQ(h.baseline(20000, 1800), 0.0141);
  // After a reset (the machine stayed slow) only what came after counts.
  h.reset(5050);
  EXPECT_DOUBLE_EQ(h.baseline(20000, 1800), 0.0141);
  h.add(5060, 0.0);  // unmeasured figures are ignored
  EXPECT_DOUBLE_EQ(h.baseline(5200, 1800), 0.0141);
}

TEST(CpuIdentity, NamesTheProcessorBeyondItsModelName) {
  TestDir dir("cpuinfo");
  const std::string path = dir.str() + "/cpuinfo";
  std::ofstream(path) << "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 26\n"
                         "model\t\t: 2\nmodel name\t: AMD EPYC\nstepping\t: 1\n"
                         "flags\t\t: fpu avx2 avx512f\n\nprocessor\t: 1\ncpu family\t: 25\n";
  EXPECT_EQ(cpu_identity(path), "AMD EPYC (family 26, model 2, stepping 1)");
  EXPECT_EQ(cpu_identity(dir.str() + "/missing"), "");
  EXPECT_NE(cpu_identity(), "");  // this machine's
}

TEST(ReferenceWork, IsTimedAndRepeatsWithinAFactor) {
  const double a = reference_seconds(), b = reference_seconds();
  EXPECT_GT(a, 0);
  EXPECT_GT(b, 0);
  EXPECT_LT(a, 1.0);  // about 13 ms here; seconds would mean it is not the intended work
  EXPECT_LT(std::max(a, b) / std::min(a, b), 3.0);  // loose: the test runs beside others
}

}  // namespace
}  // namespace tensorplan::perf
