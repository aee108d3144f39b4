// One interface for every way of ordering a graph's operators (heuristics and the OLLA ordering
// ILP), and a chooser that keeps the order with the lowest peak of live bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tensorplan/common/timer.h"
#include "tensorplan/mem/graph.h"

namespace tensorplan::mem::schedule {

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  virtual std::string name() const = 0;
  // Returns a topological order of all nodes (node indices). Heuristics ignore the deadline (they
  // take O((n + e) log n)); searches return their best order when it expires.
  virtual std::vector<int> order(const Graph& graph, const Deadline& deadline) const = 0;
};

// The heuristics, reference order first: "reference", "least_peak" (least-peak-memory-first list
// scheduler), "peak_aware" (list scheduler that frees memory while under the peak so far),
// "depth_first", "reference_alap" (reference order, each node as late as possible).
std::vector<std::unique_ptr<Scheduler>> heuristic_schedulers();

struct BestOrder {
  std::vector<int> order;
  std::int64_t max_live = 0;
  std::string method;  // name() of the scheduler that found it
};

// Runs every scheduler (until the deadline; always at least the first) and keeps the order with
// the lowest max-live; ties go to the earlier scheduler. Throws Error if `schedulers` is empty or
// one returns an order that is not a complete topological order.
BestOrder best_order(const Graph& graph, const std::vector<std::unique_ptr<Scheduler>>& schedulers,
                     const Deadline& deadline);

}  // namespace tensorplan::mem::schedule
