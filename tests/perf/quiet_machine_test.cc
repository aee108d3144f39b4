// The reference work and its history: the baseline a timing is held to.
#include "tensorplan/perf/quiet_machine.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace tensorplan::perf {
namespace {

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

TEST(ReferenceWork, IsTimedAndRepeatsWithinAFactor) {
  const double a = reference_seconds(), b = reference_seconds();
  EXPECT_GT(a, 0);
  EXPECT_GT(b, 0);
  EXPECT_LT(a, 1.0);  // about 13 ms here; seconds would mean it is not the intended work
  EXPECT_LT(std::max(a, b) / std::min(a, b), 3.0);  // loose: the test runs beside others
}

}  // namespace
}  // namespace tensorplan::perf
