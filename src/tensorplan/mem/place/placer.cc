#include "tensorplan/mem/place/placer.h"

#include "tensorplan/common/error.h"
#include "tensorplan/mem/place/greedy.h"
#include "tensorplan/mem/place/online_best_fit.h"

namespace tensorplan::mem::place {

std::vector<std::unique_ptr<Placer>> heuristic_placers() {
  std::vector<std::unique_ptr<Placer>> placers;
  // TFLite's rule first: on ties in height the portfolio keeps the earlier placer.
  for (GreedyOrder order :
       {GreedyOrder::kSize, GreedyOrder::kDuration, GreedyOrder::kArea, GreedyOrder::kContention})
    for (GreedyFit fit : {GreedyFit::kBestFit, GreedyFit::kFirstFit})
      placers.push_back(std::make_unique<GreedyPlacer>(order, fit));
  placers.push_back(std::make_unique<OnlineBestFitPlacer>());
  return placers;
}

BestPlacement place_best(const Problem& problem,
                         const std::vector<std::unique_ptr<Placer>>& placers,
                         const Deadline& deadline) {
  if (placers.empty()) fail("place_best: no placers to run");
  BestPlacement best;
  bool found = false;
  auto consider = [&](const Placer& placer) {
    Placement placement = placer.place(problem, deadline);
    const bool gave_up = placement.offsets.size() != problem.buffers.size();
    if (!gave_up && (!found || placement.height < best.placement.height)) {
      best.placement = std::move(placement);
      best.method = placer.name();
      found = true;
    }
  };
  for (const auto& placer : placers) {
    if (found && deadline.expired()) break;  // always run the first
    consider(*placer);
  }
  // Every placer gave up in time: the sweep never does, and takes milliseconds.
  if (!found) consider(OnlineBestFitPlacer());
  return best;
}

}  // namespace tensorplan::mem::place
