// The exact placement search against a brute force on small random instances, and its contract:
// statuses, capacities, alignment, splitting, incumbents, bad input, a public MiniMalloc instance.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <numeric>
#include <optional>

#include "place_brute_force.h"
#include "support/random_graph.h"
#include "tensorplan/common/error.h"
#include "tensorplan/mem/place/csv.h"
#include "tensorplan/mem/place/search.h"

namespace tensorplan::mem::place {
namespace {

using testing::brute_force_optimum;
using testing::random_problem;

SearchOptions minimize() {
  SearchOptions options;
  options.minimize = true;
  return options;
}

SearchOptions fit_under(std::int64_t capacity) {
  SearchOptions options;
  options.capacity = capacity;
  return options;
}

void expect_valid(const Problem& problem, const SearchResult& result) {
  ASSERT_TRUE(result.placement);
  std::string why;
  EXPECT_TRUE(is_valid(problem, result.placement->offsets, &why)) << why;
  EXPECT_EQ(result.placement->height, height(problem, result.placement->offsets));
}

TEST(PlaceSearch, MinimizeEqualsBruteForceOnRandomInstances) {
  Rng rng(7);
  for (int trial = 0; trial < 300; ++trial) {
    const Problem problem = random_problem(rng, 7, 1);
    const std::int64_t optimum = brute_force_optimum(problem);
    const SearchResult result = search_placement(problem, minimize());
    SCOPED_TRACE(trial);
    expect_valid(problem, result);
    EXPECT_EQ(result.placement->height, optimum);
    EXPECT_EQ(result.status, SearchStatus::kOptimal);
    EXPECT_EQ(result.lower_bound, optimum);
  }
}

// Sizes with a common factor: the minimiser only probes its multiples, and still reaches the
// optimum (the brute force's on the unscaled sizes, times the factor).
TEST(PlaceSearch, MinimizeWithACommonFactorEqualsBruteForce) {
  Rng rng(17);
  for (int trial = 0; trial < 60; ++trial) {
    Problem problem = random_problem(rng, 7, 1);
    const std::int64_t optimum = brute_force_optimum(problem);
    for (Buffer& buffer : problem.buffers) buffer.size *= 1000;
    SCOPED_TRACE(trial);
    const SearchResult result = search_placement(problem, minimize());
    expect_valid(problem, result);
    EXPECT_EQ(result.placement->height, 1000 * optimum);
    EXPECT_EQ(result.lower_bound, 1000 * optimum);
    SearchOptions below = fit_under(1000 * optimum - 1);
    EXPECT_EQ(search_placement(problem, below).status, SearchStatus::kInfeasible);
  }
}

TEST(PlaceSearch, EightBuffersEqualBruteForce) {
  Rng rng(11);
  for (int trial = 0; trial < 12; ++trial) {
    Problem problem = random_problem(rng, 8, 1);
    while (problem.buffers.size() < 8) problem = random_problem(rng, 8, 1);
    const std::int64_t optimum = brute_force_optimum(problem);
    const SearchResult result = search_placement(problem, minimize());
    SCOPED_TRACE(trial);
    expect_valid(problem, result);
    EXPECT_EQ(result.placement->height, optimum);
    EXPECT_EQ(result.status, SearchStatus::kOptimal);
  }
}

// Short lifetimes on a longer time axis: the problem falls apart while it is searched (pieces
// searched on their own, buffers with nothing left above them), which the rules above must not
// get wrong.
TEST(PlaceSearch, FragmentedInstancesEqualBruteForce) {
  Rng rng(23);
  for (int trial = 0; trial < 20; ++trial) {
    Problem problem;
    for (int b = 0; b < 9; ++b) {
      const std::int64_t lower = rng.uniform(0, 14);
      problem.buffers.push_back({b, lower, lower + rng.uniform(1, 5), rng.uniform(1, 9)});
    }
    const std::int64_t optimum = brute_force_optimum(problem);
    SCOPED_TRACE(trial);
    const SearchResult result = search_placement(problem, minimize());
    expect_valid(problem, result);
    EXPECT_EQ(result.placement->height, optimum);
    EXPECT_EQ(result.status, SearchStatus::kOptimal);
    const SearchResult below = search_placement(problem, fit_under(optimum - 1));
    EXPECT_EQ(below.status, SearchStatus::kInfeasible);
    // Each strategy alone too: pieces re-ranked, and failures remembered across probes.
    for (int strategy = 0; strategy < search_strategy_count(); ++strategy) {
      SearchOptions options = minimize();
      options.strategy = strategy;
      EXPECT_EQ(search_placement(problem, options).placement->height, optimum) << strategy;
    }
  }
}

// Each branching strategy alone is complete: the same optima and the same infeasibility proofs.
TEST(PlaceSearch, EveryStrategyAloneEqualsBruteForce) {
  for (int strategy = 0; strategy < search_strategy_count(); ++strategy) {
    Rng rng(31);
    for (int trial = 0; trial < 60; ++trial) {
      const Problem problem = random_problem(rng, 8, 1);
      const std::int64_t optimum = brute_force_optimum(problem);
      SCOPED_TRACE(::testing::Message() << "strategy " << strategy << ", trial " << trial);
      SearchOptions options = minimize();
      options.strategy = strategy;
      const SearchResult result = search_placement(problem, options);
      expect_valid(problem, result);
      EXPECT_EQ(result.placement->height, optimum);
      SearchOptions below = fit_under(optimum - 1);
      below.strategy = strategy;
      EXPECT_EQ(search_placement(problem, below).status, SearchStatus::kInfeasible);
    }
  }
  Rng rng(1);
  SearchOptions bad;
  bad.strategy = search_strategy_count();
  EXPECT_THROW(search_placement(random_problem(rng, 3, 1), bad), Error);
}

TEST(PlaceSearch, CapacityAtOptimumFitsAndBelowIsInfeasible) {
  Rng rng(23);
  for (int trial = 0; trial < 200; ++trial) {
    const Problem problem = random_problem(rng, 7, 1);
    const std::int64_t optimum = brute_force_optimum(problem);
    SCOPED_TRACE(trial);
    const SearchResult fits = search_placement(problem, fit_under(optimum));
    expect_valid(problem, fits);
    EXPECT_LE(fits.placement->height, optimum);
    EXPECT_TRUE(fits.status == SearchStatus::kFeasible || fits.status == SearchStatus::kOptimal);

    const SearchResult too_small = search_placement(problem, fit_under(optimum - 1));
    EXPECT_EQ(too_small.status, SearchStatus::kInfeasible);
    EXPECT_FALSE(too_small.placement);
    EXPECT_GE(too_small.lower_bound, optimum);

    SearchOptions both = minimize();
    both.capacity = optimum - 1;
    EXPECT_EQ(search_placement(problem, both).status, SearchStatus::kInfeasible);
  }
}

TEST(PlaceSearch, AlignmentIsHonoured) {
  Rng rng(5);
  for (int trial = 0; trial < 150; ++trial) {
    const std::int64_t alignment = rng.uniform(2, 8);
    const Problem problem = random_problem(rng, 6, alignment);
    const SearchResult result = search_placement(problem, minimize());
    SCOPED_TRACE(trial);
    expect_valid(problem, result);  // is_valid checks that offsets are multiples of the alignment
    EXPECT_EQ(result.placement->height % alignment, 0);
    EXPECT_EQ(result.placement->height, brute_force_optimum(problem));
    // A capacity that is not a multiple of the alignment counts as the multiple below it.
    const SearchResult under =
        search_placement(problem, fit_under(result.placement->height + alignment - 1));
    expect_valid(problem, under);
  }
}

TEST(PlaceSearch, EmptyProblem) {
  const SearchResult result = search_placement(Problem{}, minimize());
  ASSERT_TRUE(result.placement);
  EXPECT_TRUE(result.placement->offsets.empty());
  EXPECT_EQ(result.placement->height, 0);
  EXPECT_EQ(result.status, SearchStatus::kOptimal);
}

TEST(PlaceSearch, SplitsWhereNoBufferCrosses) {
  // [0,4) and [4,9) share no buffer: two parts, height is the higher part's.
  const Problem problem{{{0, 0, 2, 5}, {1, 1, 4, 3}, {2, 4, 9, 6}, {3, 5, 7, 6}, {4, 6, 9, 1}}, 1};
  const SearchResult result = search_placement(problem, minimize());
  expect_valid(problem, result);
  EXPECT_EQ(result.parts, 2);
  EXPECT_EQ(result.placement->height, 13);
  EXPECT_EQ(result.status, SearchStatus::kOptimal);
}

TEST(PlaceSearch, ManyIdenticalBuffersAreNotPermuted) {
  // 40! orders of interchangeable buffers; symmetry breaking makes this one dive.
  Problem problem;
  for (int b = 0; b < 40; ++b) problem.buffers.push_back({b, 0, 10, 64});
  problem.buffers.push_back({40, 10, 20, 4000});
  SearchOptions options = fit_under(4000);
  options.minimize = true;
  const SearchResult result = search_placement(problem, options);
  expect_valid(problem, result);
  EXPECT_EQ(result.placement->height, 4000);
  EXPECT_EQ(result.status, SearchStatus::kOptimal);
}

TEST(PlaceSearch, KeepsAValidIncumbentAndIgnoresAnInvalidOne) {
  const Problem problem{{{0, 0, 4, 3}, {1, 0, 4, 5}, {2, 4, 8, 8}}, 1};
  SearchOptions options;
  options.incumbent = Placement{{5, 0, 0}, 8};
  SearchResult result = search_placement(problem, options);
  expect_valid(problem, result);
  EXPECT_EQ(result.placement->height, 8);

  options.incumbent = Placement{{0, 0, 0}, 5};  // overlapping: not a placement
  result = search_placement(problem, options);
  expect_valid(problem, result);
}

TEST(PlaceSearch, BadBuffersThrow) {
  EXPECT_THROW(search_placement(Problem{{{0, 3, 3, 4}}, 1}, minimize()), Error);
  EXPECT_THROW(search_placement(Problem{{{0, 0, 3, -4}}, 1}, minimize()), Error);
}

// Extreme values: lifetimes at both ends of int64, sizes near 2^62 with no common factor, huge
// capacities and offsets. Nothing may wrap around (the asan-ubsan build checks it).
constexpr std::int64_t kMin64 = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kMax64 = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t k61 = std::int64_t{1} << 61, k60 = std::int64_t{1} << 60;

TEST(PlaceSearchExtreme, LifetimesAtTheEndsOfInt64AndSizesNear2To62) {
  // a lives all the time and is larger than 2^61; b and c split time at 0. The sizes add up to
  // exactly 2^62; the optimum stacks a and the larger of b, c.
  const Problem problem{
      {{0, kMin64, kMax64, k61 + 1}, {1, kMin64, 0, k60}, {2, 0, kMax64, k60 - 1}}, 1};
  for (const std::optional<std::int64_t> capacity :
       {std::optional<std::int64_t>(), std::optional<std::int64_t>(kMax64)}) {
    SearchOptions options = minimize();
    options.capacity = capacity;
    const SearchResult result = search_placement(problem, options);
    expect_valid(problem, result);
    EXPECT_EQ(result.placement->height, k61 + 1 + k60);
    EXPECT_EQ(result.status, SearchStatus::kOptimal);
  }
  // Fitting under a capacity (no minimising), including one far above the total.
  for (const std::int64_t capacity : {k61 + 1 + k60, kMax64}) {
    const SearchResult result = search_placement(problem, fit_under(capacity));
    expect_valid(problem, result);
    EXPECT_LE(result.placement->height, capacity);
  }
  // One unit below the optimum is proven impossible.
  const SearchResult below = search_placement(problem, fit_under(k61 + k60));
  EXPECT_EQ(below.status, SearchStatus::kInfeasible);
}

TEST(PlaceSearchExtreme, CoprimeSizesAbove2To61AreSearchedNotSkipped) {
  // Two buffers live together whose sizes exceed 2^61 (the search's old "infinity") and share no
  // factor, then one that can go under either.
  const Problem problem{{{0, 0, 2, k61 + 1}, {1, 1, 3, k61 - 3}, {2, 2, 4, 2}}, 1};
  const SearchResult result = search_placement(problem, minimize());
  expect_valid(problem, result);
  EXPECT_EQ(result.placement->height, max_live(problem));
  EXPECT_EQ(result.status, SearchStatus::kOptimal);
}

TEST(PlaceProblemExtreme, OffsetsAndSizesNear2To62DoNotWrap) {
  constexpr std::int64_t k62 = std::int64_t{1} << 62;
  const Problem problem{{{0, 0, 1, k62}, {1, 0, 1, k62}}, 1};
  // Both at 2^62: each would end at 2^63, past int64 (the end used to wrap negative, and the
  // overlap went unseen).
  std::string why;
  EXPECT_FALSE(is_valid(problem, {k62, k62}, &why));
  EXPECT_FALSE(is_valid(problem, {0, k62}, &why));  // ends at 2^63
  EXPECT_NE(why.find("2^63"), std::string::npos) << why;
  EXPECT_GT(height(problem, {0, k62}), k62);  // not negative
  EXPECT_GT(max_live(problem), k62);          // saturated, not wrapped
  // Sizes 2^62 - 1 and 2^62 stacked end at exactly INT64_MAX: valid.
  const Problem fits{{{0, 0, 1, k62 - 1}, {1, 0, 1, k62}}, 1};
  EXPECT_TRUE(is_valid(fits, {k62, 0}, &why)) << why;
  EXPECT_EQ(height(fits, {k62, 0}), kMax64);
  EXPECT_EQ(max_live(fits), kMax64);
  // Rounding up to a huge alignment is exact.
  EXPECT_EQ(aligned_size(Problem{{}, kMax64}, Buffer{0, 0, 1, 2}), kMax64);
  EXPECT_EQ(aligned_size(Problem{{}, k62}, Buffer{0, 0, 1, k62}), k62);
}

TEST(PlaceSearch, ExpiredDeadlineStillReturnsAPlacement) {
  const Graph graph = random_training_graph(200, 3);
  std::vector<int> order(graph.num_nodes());
  std::iota(order.begin(), order.end(), 0);
  const Problem problem = problem_from_graph(graph, order, 512);
  SearchOptions options;
  options.minimize = true;
  options.deadline = Deadline(0);
  const SearchResult result = search_placement(problem, options);
  ASSERT_TRUE(result.placement);  // without a capacity every part has one: a greedy layout
  const Placement& placement = *result.placement;
  EXPECT_TRUE(is_valid(problem, placement.offsets));
  EXPECT_EQ(placement.height, height(problem, placement.offsets));
  EXPECT_GE(placement.height, max_live(problem));
}

// Strategies run their turns on several threads, but the outcome is read in a fixed order: the
// thread count changes nothing but the speed.
TEST(PlaceSearch, ThreadCountDoesNotChangeTheResult) {
  Rng rng(41);
  for (int trial = 0; trial < 10; ++trial) {
    const Problem problem = random_problem(rng, 12, 1);
    std::vector<std::vector<std::int64_t>> offsets;
    for (int threads : {1, 2, 3}) {
      SearchOptions options = minimize();
      options.threads = threads;
      offsets.push_back(search_placement(problem, options).placement->offsets);
    }
    EXPECT_EQ(offsets[0], offsets[1]) << trial;
    EXPECT_EQ(offsets[0], offsets[2]) << trial;
  }
  // Instances where the first strategy's turns do not decide, so turns run side by side.
  for (const char* name : {"B", "D"}) {
    const std::string path =
        std::string(TENSORPLAN_SOURCE_DIR "/tests/data/minimalloc-challenging/") + name + ".csv";
    if (!std::filesystem::exists(path))
      FAIL() << path << " not found (it ships with the repository)";
    const Problem problem = read_csv(path).problem;
    std::vector<std::vector<std::int64_t>> offsets;
    for (int threads : {1, 2}) {
      SearchOptions options = fit_under(1048576);
      options.deadline = Deadline(60);
      options.threads = threads;
      const SearchResult result = search_placement(problem, options);
      expect_valid(problem, result);
      offsets.push_back(result.placement->offsets);
    }
    EXPECT_EQ(offsets[0], offsets[1]) << name;
  }
}

TEST(PlaceSearch, MiniMallocInstanceAFitsItsCapacity) {
  const std::string path = TENSORPLAN_SOURCE_DIR "/tests/data/minimalloc-challenging/A.csv";
  if (!std::filesystem::exists(path)) FAIL() << path << " not found (it ships with the repository)";
  const Problem problem = read_csv(path).problem;
  SearchOptions options = fit_under(1048576);
  options.deadline = Deadline(60);
  const SearchResult result = search_placement(problem, options);
  expect_valid(problem, result);
  EXPECT_LE(result.placement->height, 1048576);
}

}  // namespace
}  // namespace tensorplan::mem::place
