// The reference order with every node moved as late as it can go: sinks (nodes whose outputs
// nobody reads: updates, outputs, dead ends) keep their reference places, and every other node
// runs just before the earliest sink that depends on it. A tensor then comes into being only when
// the work that needs it is about to run, which shortens lifetimes that eager order starts too
// early (e.g. a weight cast or a side branch computed long before use). Built backwards, in
// O((n + e) log n).
#pragma once

#include "tensorplan/mem/schedule/scheduler.h"

namespace tensorplan::mem::schedule {

class AsLateAsPossible : public Scheduler {
 public:
  std::string name() const override { return "reference_alap"; }
  std::vector<int> order(const Graph& graph, const Deadline& deadline) const override;
};

}  // namespace tensorplan::mem::schedule
