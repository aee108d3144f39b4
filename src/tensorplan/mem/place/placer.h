// One interface for every placement algorithm (heuristics, the exact search, the address ILP),
// and a chooser that runs several and keeps the lowest — the shape of XLA's heap
// simulator portfolio.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tensorplan/common/timer.h"
#include "tensorplan/mem/place/problem.h"

namespace tensorplan::mem::place {

class Placer {
 public:
  virtual ~Placer() = default;
  virtual std::string name() const = 0;
  // Returns a valid placement (Placement::offsets one per buffer), or gives up when the deadline
  // expires by returning no offsets at all. Searches return their best placement found by then.
  virtual Placement place(const Problem& problem, const Deadline& deadline) const = 0;
};

// The greedy heuristics (TFLite's greedy-by-size best-fit and the XLA variants), then the sweep.
std::vector<std::unique_ptr<Placer>> heuristic_placers();

struct BestPlacement {
  Placement placement;
  std::string method;  // name() of the placer that found it
};

// Runs every placer (until the deadline, always at least the first) and keeps the lowest height
// of those that did not give up; if all gave up, the sweep placer (milliseconds) decides;
// ties go to the earlier placer.
BestPlacement place_best(const Problem& problem,
                         const std::vector<std::unique_ptr<Placer>>& placers,
                         const Deadline& deadline);

}  // namespace tensorplan::mem::place
