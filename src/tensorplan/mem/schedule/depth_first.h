// Depth-first: after running a node, continue with the nodes it just made ready (best first: the
// one that leaves the fewest bytes behind), and return to older ready nodes only when that line of
// work runs dry. Finishing one branch before starting another frees its tensors early, where an
// interleaving order keeps both branches' tensors live. O((n + e) log deg).
#pragma once

#include "tensorplan/mem/schedule/scheduler.h"

namespace tensorplan::mem::schedule {

class DepthFirst : public Scheduler {
 public:
  std::string name() const override { return "depth_first"; }
  std::vector<int> order(const Graph& graph, const Deadline& deadline) const override;
};

}  // namespace tensorplan::mem::schedule
