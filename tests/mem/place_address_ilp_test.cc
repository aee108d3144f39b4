// The address ILP against brute force and the exact search on small random instances, its
// capacity contract, and the portfolio that runs heuristics, search and ILP in turn.
#include <gtest/gtest.h>

#include "place_brute_force.h"
#include "tensorplan/common/error.h"
#include "tensorplan/mem/place/address_ilp.h"
#include "tensorplan/mem/place/portfolio.h"
#include "tensorplan/mem/place/search.h"

namespace tensorplan::mem::place {
namespace {

void expect_valid(const Problem& problem, const std::optional<Placement>& placement) {
  ASSERT_TRUE(placement);
  std::string why;
  EXPECT_TRUE(is_valid(problem, placement->offsets, &why)) << why;
  EXPECT_EQ(placement->height, height(problem, placement->offsets));
}

TEST(AddressIlp, OptimumEqualsBruteForceAndSearch) {
  Rng rng(31);
  for (int trial = 0; trial < 60; ++trial) {
    const Problem problem = testing::random_problem(rng, 7, trial % 3 == 0 ? 4 : 1);
    SCOPED_TRACE(trial);
    const AddressIlpResult solved = solve_address_ilp(problem, AddressIlpOptions());
    expect_valid(problem, solved.placement);
    EXPECT_EQ(solved.status, SearchStatus::kOptimal);
    EXPECT_EQ(solved.placement->height, testing::brute_force_optimum(problem));
    SearchOptions search;
    search.minimize = true;
    EXPECT_EQ(solved.placement->height, search_placement(problem, search).placement->height);
    EXPECT_EQ(solved.lower_bound, solved.placement->height);
  }
}

TEST(AddressIlp, LargerInstancesMatchTheSearch) {
  Rng rng(5);
  for (int trial = 0; trial < 6; ++trial) {
    Problem problem;
    for (int b = 0; b < 11; ++b) {
      const std::int64_t lower = rng.uniform(0, 14);
      problem.buffers.push_back({b, lower,
                                 rng.uniform(lower + 1, std::min<std::int64_t>(lower + 6, 16)),
                                 rng.uniform(1, 40)});
    }
    SCOPED_TRACE(trial);
    SearchOptions search;
    search.minimize = true;
    const SearchResult exact = search_placement(problem, search);
    ASSERT_EQ(exact.status, SearchStatus::kOptimal);
    AddressIlpOptions options;
    options.start = exact.placement;  // the start may only be improved on, never lost
    const AddressIlpResult solved = solve_address_ilp(problem, options);
    expect_valid(problem, solved.placement);
    EXPECT_EQ(solved.placement->height, exact.placement->height);
    AddressIlpResult cold = solve_address_ilp(problem, AddressIlpOptions());
    expect_valid(problem, cold.placement);
    EXPECT_EQ(cold.placement->height, exact.placement->height);
  }
}

TEST(AddressIlp, CapacityBelowTheOptimumIsInfeasible) {
  Rng rng(8);
  for (int trial = 0; trial < 40; ++trial) {
    const Problem problem = testing::random_problem(rng, 6, 1);
    const std::int64_t optimum = testing::brute_force_optimum(problem);
    SCOPED_TRACE(trial);
    AddressIlpOptions options;
    options.capacity = optimum - 1;
    const AddressIlpResult too_small = solve_address_ilp(problem, options);
    EXPECT_EQ(too_small.status, SearchStatus::kInfeasible);
    EXPECT_FALSE(too_small.placement);
    EXPECT_GE(too_small.lower_bound, optimum);
    options.capacity = optimum;
    options.minimize = false;
    const AddressIlpResult fits = solve_address_ilp(problem, options);
    expect_valid(problem, fits.placement);
    EXPECT_LE(fits.placement->height, optimum);
  }
}

TEST(AddressIlp, BuffersOverTheWholeSpanAreFixedAtTheBottom) {
  Problem problem;
  problem.buffers = {{0, 0, 10, 7}, {1, 0, 4, 5}, {2, 3, 10, 6}, {3, 0, 10, 3}, {4, 5, 8, 2}};
  const AddressIlpResult solved = solve_address_ilp(problem, AddressIlpOptions());
  expect_valid(problem, solved.placement);
  EXPECT_EQ(solved.fixed, 2);
  EXPECT_EQ(solved.pairs, 2);  // 1-2 and 2-4 share time; 1-4 do not
  EXPECT_EQ(solved.placement->height, 7 + 3 + 5 + 6);
  EXPECT_EQ(solved.placement->offsets[0], 0);
  EXPECT_EQ(solved.placement->offsets[3], 7);
}

TEST(AddressIlp, CountsOverlappingPairs) {
  Problem problem;
  problem.buffers = {{0, 0, 2, 1}, {1, 1, 3, 1}, {2, 2, 4, 1}, {3, 0, 4, 1}};
  EXPECT_EQ(overlapping_pairs(problem), 5);  // 0-1, 1-2, and 3 with each
}

TEST(AddressIlp, EmptyAndBadInput) {
  const AddressIlpResult empty = solve_address_ilp(Problem(), AddressIlpOptions());
  ASSERT_TRUE(empty.placement);
  EXPECT_EQ(empty.placement->height, 0);
  Problem bad;
  bad.buffers = {{0, 3, 3, 10}};
  EXPECT_THROW(solve_address_ilp(bad, AddressIlpOptions()), Error);
}

TEST(Portfolio, FindsTheOptimumWithAndWithoutTheIlp) {
  Rng rng(77);
  for (int trial = 0; trial < 40; ++trial) {
    const Problem problem = testing::random_problem(rng, 7, 1);
    const std::int64_t optimum = testing::brute_force_optimum(problem);
    SCOPED_TRACE(trial);
    for (bool use_ilp : {false, true}) {
      PortfolioOptions options;
      options.use_ilp = use_ilp;
      const PortfolioResult placed = place_with_portfolio(problem, options, Deadline(30));
      expect_valid(problem, placed.placement);
      EXPECT_EQ(placed.placement->height, optimum);
      EXPECT_EQ(placed.status, SearchStatus::kOptimal);
      EXPECT_FALSE(placed.method.empty());
    }
  }
}

TEST(Portfolio, ReportsAnInfeasibleCapacity) {
  Problem problem;
  problem.buffers = {{0, 0, 2, 10}, {1, 1, 3, 10}};
  PortfolioOptions options;
  options.capacity = 19;
  options.minimize = false;
  const PortfolioResult placed = place_with_portfolio(problem, options, Deadline(5));
  EXPECT_FALSE(placed.placement);
  EXPECT_EQ(placed.status, SearchStatus::kInfeasible);
  options.capacity = 20;
  const PortfolioResult fits = place_with_portfolio(problem, options, Deadline(5));
  expect_valid(problem, fits.placement);
}

TEST(Portfolio, WithoutMinimisingOrCapacityKeepsTheHeuristics) {
  Problem problem;
  problem.buffers = {{0, 0, 2, 10}, {1, 1, 3, 10}, {2, 2, 4, 5}};
  PortfolioOptions options;
  options.minimize = false;
  const PortfolioResult placed = place_with_portfolio(problem, options, Deadline(5));
  expect_valid(problem, placed.placement);
  EXPECT_NE(placed.method, "search");
}

}  // namespace
}  // namespace tensorplan::mem::place
