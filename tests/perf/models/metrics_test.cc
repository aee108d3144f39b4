#include "tensorplan/perf/models/metrics.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tensorplan/common/error.h"

namespace tensorplan::perf {
namespace {

TEST(Metrics, OneSwappedPairWorkedByHand) {
  // Measured 1 2 3 4 s; the model swaps the two slowest.
  const Metrics m = pipeline_metrics({1, 2, 4, 3}, {1, 2, 3, 4}, true);
  EXPECT_NEAR(m.mape, (1.0 / 3 + 1.0 / 4) / 4, 1e-12);
  EXPECT_NEAR(m.rmse_log, std::log(4.0 / 3) / std::sqrt(2.0), 1e-12);
  EXPECT_NEAR(m.kendall_tau, (5.0 - 1.0) / 6, 1e-12);  // 5 concordant, 1 discordant of 6 pairs
  EXPECT_NEAR(m.pairwise_accuracy, 5.0 / 6, 1e-12);
  EXPECT_DOUBLE_EQ(m.ordering_rate, 1.0);  // 2, 3, 4 s all predicted slower than the fastest
  EXPECT_DOUBLE_EQ(m.top1_slowdown, 0.0);
  EXPECT_DOUBLE_EQ(m.top5_slowdown, 0.0);
}

TEST(Metrics, RankerWithTiesWorkedByHand) {
  // Measured 1 2 3 s; scores 5 5 1: the slowest schedule is the favourite, the other two tie.
  const Metrics m = pipeline_metrics({5, 5, 1}, {1, 2, 3}, false);
  EXPECT_TRUE(std::isnan(m.mape));
  EXPECT_TRUE(std::isnan(m.rmse_log));
  // Pairs: (0,1) tied in the prediction, (0,2) and (1,2) discordant. tau-b = -2 / sqrt(2 * 3).
  EXPECT_NEAR(m.kendall_tau, -2.0 / std::sqrt(6.0), 1e-12);
  EXPECT_NEAR(m.pairwise_accuracy, 0.5 / 3, 1e-12);
  // Of the schedules > 1.3x the fastest (2 s and 3 s), only the 2 s one is not predicted faster.
  EXPECT_DOUBLE_EQ(m.ordering_rate, 0.5);
  EXPECT_DOUBLE_EQ(m.top1_slowdown, 2.0);  // picks the 3 s schedule
  EXPECT_DOUBLE_EQ(m.top5_slowdown, 0.0);  // its 5 favourites include the fastest
}

TEST(Metrics, TiedFavouritesCountAsTheSlowest) {
  const Metrics m = pipeline_metrics({1, 1, 7}, {1, 2, 1.5}, true);
  EXPECT_DOUBLE_EQ(m.top1_slowdown, 1.0);
}

TEST(Metrics, TopFiveIsTheBestOfTheFiveFavourites) {
  // Favourites in order: schedules 0..4 (measured 9 8 7 6 5.5), the fastest (5) is sixth.
  const Metrics m = pipeline_metrics({1, 2, 3, 4, 5, 6}, {9, 8, 7, 6, 5.5, 5}, true);
  EXPECT_DOUBLE_EQ(m.top1_slowdown, 9.0 / 5 - 1);
  EXPECT_DOUBLE_EQ(m.top5_slowdown, 5.5 / 5 - 1);
  EXPECT_DOUBLE_EQ(m.kendall_tau, -1.0);
  EXPECT_DOUBLE_EQ(m.pairwise_accuracy, 0.0);
}

TEST(Metrics, AllEqualTimesLeaveRankMetricsUndefined) {
  const Metrics m = pipeline_metrics({1, 2}, {3, 3}, true);
  EXPECT_TRUE(std::isnan(m.kendall_tau));
  EXPECT_TRUE(std::isnan(m.pairwise_accuracy));
  EXPECT_TRUE(std::isnan(m.ordering_rate));
}

TEST(Metrics, AverageSkipsUndefinedFields) {
  Metrics a = pipeline_metrics({1, 2}, {1, 2}, true);   // perfect
  Metrics b = pipeline_metrics({2, 1}, {1, 2}, false);  // reversed ranker
  const Metrics mean = average_metrics({a, b});
  EXPECT_EQ(mean.pipelines, 2);
  EXPECT_DOUBLE_EQ(mean.mape, 0.0);           // only a has a MAPE
  EXPECT_DOUBLE_EQ(mean.kendall_tau, 0.0);    // (1 + -1) / 2
  EXPECT_DOUBLE_EQ(mean.top1_slowdown, 0.5);  // (0 + 1) / 2
}

TEST(Metrics, MismatchedSizesAreAnError) {
  EXPECT_THROW(pipeline_metrics({1, 2}, {1}, true), Error);
  EXPECT_THROW(pipeline_metrics({}, {}, true), Error);
}

}  // namespace
}  // namespace tensorplan::perf
