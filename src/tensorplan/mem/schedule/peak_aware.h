// A list scheduler that spends the headroom under the peak reached so far: among the ready nodes
// whose step stays at or below that peak, it runs the one that leaves the fewest bytes behind (net
// change); only when every ready node would raise the peak does it run the one that raises it
// least. Ties go to the earlier node in the reference order. Least-peak-first instead always
// minimises the step's bytes, which prefers a small node that frees nothing over a larger one that
// frees much without raising the peak.
// O((n + e) log n): ready nodes sit in a min-tree ranked by step bytes, queried by prefix.
#pragma once

#include "tensorplan/mem/schedule/scheduler.h"

namespace tensorplan::mem::schedule {

class PeakAware : public Scheduler {
 public:
  std::string name() const override { return "peak_aware"; }
  std::vector<int> order(const Graph& graph, const Deadline& deadline) const override;
};

}  // namespace tensorplan::mem::schedule
