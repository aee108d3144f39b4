#include "tensorplan/ilp/cbc.h"

#include <gtest/gtest.h>

#include <vector>

#include "tensorplan/ilp/model.h"

namespace tensorplan::ilp {
namespace {

// A small knapsack: maximise 5a + 4b + 3c (minimise the negation) with 2a + 3b + c <= 5.
Model knapsack() {
  Model model;
  const int a = model.add_binary(-5);
  const int b = model.add_binary(-4);
  const int c = model.add_binary(-3);
  const std::vector<int> columns = {a, b, c};
  const std::vector<double> weights = {2, 3, 1};
  model.add_row(columns, weights, -kInfinity, 5);
  return model;
}

TEST(IlpCbc, SolvesKnapsackToOptimality) {
  const SolveResult result = solve_with_cbc(knapsack(), {});
  ASSERT_EQ(result.status, SolveStatus::kOptimal);
  EXPECT_DOUBLE_EQ(result.objective, -9);  // a and b: 9, weight 5 (a + c = 8, b + c = 7)
  EXPECT_NEAR(result.bound, -9, 1e-6);
  EXPECT_TRUE(knapsack().is_feasible(result.solution));
}

TEST(IlpCbc, ReportsInfeasible) {
  Model model;
  const int x = model.add_column(ColumnType::kInteger, 0, 10, 1);
  const std::vector<int> columns = {x, x};
  const std::vector<double> coefficients = {1, 1};  // merged into 2x
  model.add_row(columns, coefficients, 3, 3);       // 2x = 3 has no integer solution
  const SolveResult result = solve_with_cbc(model, {});
  EXPECT_EQ(result.status, SolveStatus::kInfeasible);
  EXPECT_TRUE(result.solution.empty());
}

TEST(IlpCbc, ZeroTimeLimitReturnsTheStart) {
  SolveOptions options;
  options.deadline = Deadline(0);
  options.start = {0, 1, 1};
  const SolveResult result = solve_with_cbc(knapsack(), options);
  EXPECT_EQ(result.status, SolveStatus::kFeasible);
  EXPECT_EQ(result.solution, options.start);
  EXPECT_DOUBLE_EQ(result.objective, -7);
}

TEST(IlpCbc, StartIsNeverBeatenByWorseAndProgressIsReported) {
  SolveOptions options;
  options.start = {1, 0, 1};  // value 8, not optimal
  int reports = 0;
  bool saw_incumbent = false;
  options.on_progress = [&](const SolveProgress& progress) {
    ++reports;
    if (progress.has_incumbent) {
      saw_incumbent = true;
      EXPECT_LE(progress.incumbent, -8 + 1e-9);
      EXPECT_LE(progress.bound, progress.incumbent + 1e-6);
    }
  };
  const SolveResult result = solve_with_cbc(knapsack(), options);
  EXPECT_TRUE(result.start_accepted);
  EXPECT_EQ(result.status, SolveStatus::kOptimal);
  EXPECT_DOUBLE_EQ(result.objective, -9);
  EXPECT_GT(reports, 0);
  EXPECT_TRUE(saw_incumbent);
}

TEST(IlpModel, FeasibilityNamesTheViolatedRow) {
  std::string why;
  EXPECT_FALSE(knapsack().is_feasible(std::vector<double>{1, 1, 1}, 1e-6, &why));
  EXPECT_NE(why.find("row 0"), std::string::npos);
  EXPECT_FALSE(knapsack().is_feasible(std::vector<double>{0.5, 0, 0}, 1e-6, &why));
}

}  // namespace
}  // namespace tensorplan::ilp
