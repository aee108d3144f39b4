#include "tensorplan/mem/schedule/scheduler.h"

#include "tensorplan/common/error.h"
#include "tensorplan/mem/schedule/as_late_as_possible.h"
#include "tensorplan/mem/schedule/depth_first.h"
#include "tensorplan/mem/schedule/least_peak.h"
#include "tensorplan/mem/schedule/peak_aware.h"
#include "tensorplan/mem/schedule/reference.h"
#include "tensorplan/mem/simulate.h"

namespace tensorplan::mem::schedule {

std::vector<std::unique_ptr<Scheduler>> heuristic_schedulers() {
  std::vector<std::unique_ptr<Scheduler>> schedulers;
  // The reference first: it is free, and on ties the eager order is kept.
  schedulers.push_back(std::make_unique<ReferenceOrder>());
  schedulers.push_back(std::make_unique<LeastPeakFirst>());
  schedulers.push_back(std::make_unique<PeakAware>());
  schedulers.push_back(std::make_unique<DepthFirst>());
  schedulers.push_back(std::make_unique<AsLateAsPossible>());
  return schedulers;
}

BestOrder best_order(const Graph& graph, const std::vector<std::unique_ptr<Scheduler>>& schedulers,
                     const Deadline& deadline) {
  if (schedulers.empty()) fail("{}: best_order needs at least one scheduler", graph.name);
  BestOrder best;
  bool have = false;
  for (const auto& scheduler : schedulers) {
    if (have && deadline.expired()) break;
    std::vector<int> order = scheduler->order(graph, deadline);
    // A wrong order here is a bug in a scheduler, but it must not reach a plan.
    std::string why;
    if (!is_topological_order(graph, order, &why))
      fail("{}: scheduler {} returned an invalid order: {}", graph.name, scheduler->name(), why);
    const std::int64_t peak = max_live(graph, order);
    if (!have || peak < best.max_live) {
      best = {std::move(order), peak, scheduler->name()};
      have = true;
    }
  }
  return best;
}

}  // namespace tensorplan::mem::schedule
