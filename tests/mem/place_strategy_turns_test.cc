// The turn-taking of the exact search's strategies, on its own, with fake searches that decide at
// chosen steps: the outcome is that of the first deciding turn in the fixed order, on 1 to 4
// threads; a search paused at the end of its budget goes on where it stopped; a paused search is
// told to stop when the probe is dropped; an expired deadline stops everything.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "tensorplan/mem/place/search/strategy_turns.h"

namespace tensorplan::mem::place::exact {
namespace {

// Decides `result` once it has taken `decide_at` steps in one probe (never, if empty), taking its
// steps in whole budgets as a real search does: it asks for more when a budget is used up.
class FakeSearch : public SteppedSearch {
 public:
  FakeSearch(std::optional<std::int64_t> decide_at, ProbeResult result, std::int64_t id)
      : decide_at_(decide_at), result_(result), solution_{id} {}

  ProbeResult probe(std::int64_t, std::int64_t step_budget, const Deadline& deadline) override {
    ++probes_;
    std::int64_t used = 0, budget = step_budget;
    for (;;) {
      if (deadline.expired()) return ProbeResult::kStopped;
      if (decide_at_ && *decide_at_ - used <= budget - used) {
        steps_ += *decide_at_ - used;
        return result_;
      }
      steps_ += budget - used;
      used = budget;
      const std::int64_t more = more_steps_ ? more_steps_() : 0;
      if (more <= 0) {
        stopped_when_told_ = true;
        return ProbeResult::kStopped;
      }
      budget = used + more;
    }
  }
  const std::vector<std::int64_t>& solution() const override { return solution_; }
  void set_more_steps(std::function<std::int64_t()> more_steps) override {
    more_steps_ = std::move(more_steps);
  }

  int probes() const { return probes_; }
  std::int64_t steps() const { return steps_; }
  bool stopped_when_told() const { return stopped_when_told_; }

 private:
  std::optional<std::int64_t> decide_at_;
  ProbeResult result_;
  std::vector<std::int64_t> solution_;
  std::function<std::int64_t()> more_steps_;
  std::atomic<int> probes_{0};
  std::atomic<std::int64_t> steps_{0};
  std::atomic<bool> stopped_when_told_{false};
};

std::vector<SteppedSearch*> pointers(std::vector<std::unique_ptr<FakeSearch>>& searches) {
  std::vector<SteppedSearch*> out;
  for (auto& search : searches) out.push_back(search.get());
  return out;
}

constexpr std::int64_t k = kSlice;  // every turn but the first is one slice; the first, the lead

// Turns run in the order A0 B0 C0 A1 B1 C1 ...; strategy s's turn r covers its steps
// [r k, (r + 1) k). The first of them that decides is the outcome, whichever finishes first.
TEST(StrategyTurns, TheFirstDecidingTurnInTheFixedOrderWinsOnAnyThreadCount) {
  struct Case {
    std::optional<std::int64_t> a, b, c;  // when each decides
    ProbeResult expected;
    std::int64_t winner;  // its id (the solution), when found
  };
  const std::vector<Case> cases = {
      // B decides in its turn 1 (turn 4 of the sequence), before A's turn 2 (turn 6).
      {3 * k, k + 1, std::nullopt, ProbeResult::kInfeasible, -1},
      // A decides in its turn 1 (turn 3), before B's turn 1 (turn 4).
      {2 * k, k + 1, std::nullopt, ProbeResult::kFound, 0},
      // C decides at once in its turn 0 (turn 2), though A decides later in a long run.
      {5 * k, std::nullopt, 1, ProbeResult::kFound, 2},
      // Only A decides, late.
      {7 * k + 3, std::nullopt, std::nullopt, ProbeResult::kFound, 0},
  };
  for (std::size_t c = 0; c < cases.size(); ++c) {
    for (std::size_t threads = 1; threads <= 4; ++threads) {
      std::vector<std::unique_ptr<FakeSearch>> searches;
      searches.push_back(std::make_unique<FakeSearch>(cases[c].a, ProbeResult::kFound, 0));
      searches.push_back(std::make_unique<FakeSearch>(cases[c].b, ProbeResult::kInfeasible, 1));
      searches.push_back(std::make_unique<FakeSearch>(cases[c].c, ProbeResult::kFound, 2));
      const Deadline deadline(60);
      StrategyTurns turns(pointers(searches), 100, deadline, threads, k);
      const ProbeResult result = turns.run(std::int64_t{1} << 40);
      EXPECT_EQ(result, cases[c].expected) << "case " << c << ", " << threads << " threads";
      if (result == ProbeResult::kFound) {
        EXPECT_EQ(turns.solution(), std::vector<std::int64_t>{cases[c].winner})
            << "case " << c << ", " << threads << " threads";
      }
    }
  }
}

// A probe that runs out of budget is paused, not restarted: run again with more, each search
// goes on from the step it stopped at (one probe call each, no step taken twice).
TEST(StrategyTurns, APausedProbeGoesOnWhereItStopped) {
  for (std::size_t threads = 1; threads <= 4; ++threads) {
    std::vector<std::unique_ptr<FakeSearch>> searches;
    searches.push_back(std::make_unique<FakeSearch>(5 * k, ProbeResult::kFound, 0));
    searches.push_back(std::make_unique<FakeSearch>(std::nullopt, ProbeResult::kFound, 1));
    const Deadline deadline(60);
    StrategyTurns turns(pointers(searches), 100, deadline, threads, k);
    EXPECT_EQ(turns.run(2 * k), ProbeResult::kStopped) << threads;
    EXPECT_EQ(searches[0]->steps(), 2 * k) << threads;
    EXPECT_EQ(turns.run(6 * k), ProbeResult::kFound) << threads;
    EXPECT_EQ(searches[0]->steps(), 5 * k) << threads;
    EXPECT_EQ(searches[0]->probes(), 1) << threads;
    EXPECT_EQ(searches[1]->probes(), 1) << threads;
    // A decided probe stays decided.
    EXPECT_EQ(turns.run(8 * k), ProbeResult::kFound) << threads;
  }
}

// Dropping a probe whose searches are paused tells them to stop: they unwind and their threads end
// (the destructor returns), each having been told so by its more-steps callback.
TEST(StrategyTurns, APausedSearchIsToldToStopWhenTheProbeIsDropped) {
  for (std::size_t threads = 1; threads <= 4; ++threads) {
    std::vector<std::unique_ptr<FakeSearch>> searches;
    for (int s = 0; s < 3; ++s)
      searches.push_back(std::make_unique<FakeSearch>(std::nullopt, ProbeResult::kFound, s));
    {
      const Deadline deadline(60);
      StrategyTurns turns(pointers(searches), 100, deadline, threads, k);
      EXPECT_EQ(turns.run(3 * k), ProbeResult::kStopped);
    }
    for (const auto& search : searches) {
      EXPECT_TRUE(search->stopped_when_told()) << threads;
      EXPECT_EQ(search->steps(), 3 * k) << threads;
    }
  }
}

TEST(StrategyTurns, AnExpiredDeadlineStopsTheProbe) {
  std::vector<std::unique_ptr<FakeSearch>> searches;
  searches.push_back(std::make_unique<FakeSearch>(3 * k, ProbeResult::kFound, 0));
  const Deadline expired(0);
  StrategyTurns turns(pointers(searches), 100, expired, 2, k);
  EXPECT_EQ(turns.run(std::int64_t{1} << 40), ProbeResult::kStopped);
  EXPECT_EQ(searches[0]->steps(), 0);
}

}  // namespace
}  // namespace tensorplan::mem::place::exact
