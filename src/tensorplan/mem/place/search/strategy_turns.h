// Strategies taking turns on one probe of the exact search, on threads: each search runs a slice of
// steps, pauses, and goes on where it stopped at its next turn; the outcome is that of the first
// deciding turn in a fixed order, so it does not depend on the threads. Works on any search that
// can be run in slices (SteppedSearch), so it is tested on its own with fake ones. Internal to the
// exact search (search.h).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "tensorplan/common/timer.h"

namespace tensorplan::mem::place::exact {

// Search budgets count steps: a node costs one plus its group's buffers and their sections, which
// keeps the time of a step about the same across strategies and instances (~10 ns here).
// Steps a strategy runs before the next one takes its turn (~10 ms).
constexpr std::int64_t kSlice = std::int64_t{1} << 20;

enum class ProbeResult { kFound, kInfeasible, kStopped };

// A search that decides one question (is there a placement under a capacity?) and can be run a
// slice of steps at a time.
class SteppedSearch {
 public:
  virtual ~SteppedSearch() = default;
  // Runs until it decides (kFound: solution() holds the placement; kInfeasible: proven), or stops
  // (kStopped) when the deadline passes or `step_budget` steps are used up and the more-steps
  // callback (if any) grants none. Each call starts afresh.
  virtual ProbeResult probe(std::int64_t capacity, std::int64_t step_budget,
                            const Deadline& deadline) = 0;
  virtual const std::vector<std::int64_t>& solution() const = 0;
  // Called, on the search's thread, when a probe's budget is used up; returns how many more steps
  // it may take (0: stop). Empty: stop.
  virtual void set_more_steps(std::function<std::int64_t()> more_steps) = 0;
};

// The lock that the strategies' runs of one probe and their caller share, and the signal that a
// run's slice has ended (the caller waits for it; each run waits for its own turn signal, so
// handing a turn to one wakes no other thread).
struct Turns {
  std::mutex mutex;
  std::condition_variable slice_ended;
};

class SlicedProbe;

// One probe of all strategies at one capacity: they take turns, a slice of steps each, until
// one finds a placement or proves there is none (heavy tails: a different strategy often succeeds
// at once where one is stuck; a proof from any of them holds). The turns form one sequence
// (round 0: strategies 0, 1, ...; round 1: ...); up to `threads` of them run at the same time,
// earliest first, a strategy's next turn after its last, and every turn before a deciding one is
// run: the outcome is that of the first turn in the sequence that decides, the one a single
// thread reaches. A probe that ran out of budget can go on.
class StrategyTurns {
 public:
  // `lead`: the steps of the first turn (strategy 0's), enough for a dive to the bottom. The
  // searches must outlive this.
  StrategyTurns(std::vector<SteppedSearch*> searches, std::int64_t capacity,
                const Deadline& deadline, std::size_t threads, std::int64_t lead);
  // Stops every paused search and joins its thread.
  ~StrategyTurns();
  StrategyTurns(const StrategyTurns&) = delete;
  StrategyTurns& operator=(const StrategyTurns&) = delete;

  std::int64_t capacity() const { return capacity_; }

  // Runs turns until one decides, or each strategy has taken `budget` steps since the probe
  // began. kFound (then solution() holds the placement), kInfeasible, or kStopped.
  ProbeResult run(std::int64_t budget);

  const std::vector<std::int64_t>& solution() const { return searches_[decider_]->solution(); }

 private:
  std::vector<SteppedSearch*> searches_;
  std::int64_t capacity_;
  const Deadline& deadline_;
  std::size_t threads_;
  std::int64_t lead_;
  Turns turns_;  // before runs_: they use it until they are destroyed
  std::vector<std::unique_ptr<SlicedProbe>> runs_;
  std::vector<std::int64_t> spent_;  // steps given to each strategy
  std::vector<bool> finished_;       // its search ended
  std::vector<std::int64_t> round_;  // per strategy: turns started (its next turn's round)
  // Turn r of strategy k is turn r * strategies + k of the sequence.
  static constexpr std::int64_t kMaxLead = 4;  // rounds a strategy may run ahead of the slowest
  ProbeResult decision_ = ProbeResult::kStopped;
  std::size_t decider_ = 0;
};

}  // namespace tensorplan::mem::place::exact
