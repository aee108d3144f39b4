// A list scheduler that always runs, among the ready nodes, the one whose step holds the fewest
// live bytes (live now + its outputs); ties go to the one that leaves the least behind (net change,
// which counts inputs it is the last reader of), then to the earlier node in the reference order.
// O((n + e) log n): a heap with lazy re-insertion when a node's net change drops.
#pragma once

#include "tensorplan/mem/schedule/scheduler.h"

namespace tensorplan::mem::schedule {

class LeastPeakFirst : public Scheduler {
 public:
  std::string name() const override { return "least_peak"; }
  std::vector<int> order(const Graph& graph, const Deadline& deadline) const override;
};

}  // namespace tensorplan::mem::schedule
