#include "tensorplan/mem/place/portfolio.h"

#include <algorithm>

#include "tensorplan/mem/place/address_ilp.h"
#include "tensorplan/mem/place/placer.h"

namespace tensorplan::mem::place {

namespace {

// The portfolio on the problem as placement counts it: sizes rounded up to the alignment, the
// capacity bounding the rounded height.
PortfolioResult place_rounded(const Problem& problem, const PortfolioOptions& options,
                              const Deadline& deadline) {
  Stopwatch clock;
  PortfolioResult result;
  result.max_live = result.lower_bound = max_live(problem);
  bool infeasible = false;
  auto offer = [&](const std::optional<Placement>& placement, const std::string& method) {
    if (!placement || placement->offsets.size() != problem.buffers.size()) return;
    if (options.capacity && placement->height > *options.capacity) return;
    if (!result.placement || placement->height < result.placement->height) {
      result.placement = placement;
      result.method = method;
    }
  };
  auto settled = [&] {
    if (infeasible) return true;
    if (!result.placement) return false;
    return result.placement->height <= result.lower_bound || !options.minimize;
  };

  // The heuristics: always, even past the deadline (the first of them at least; milliseconds).
  const BestPlacement heuristic = place_best(problem, heuristic_placers(), deadline);
  offer(heuristic.placement, heuristic.method);
  if (options.capacity && result.lower_bound > *options.capacity) infeasible = true;
  // Without a capacity and without minimising, the heuristics' placement is the answer.
  const bool want_more = options.minimize || (options.capacity && !result.placement);

  if (want_more && !settled() && !deadline.expired()) {
    const bool ilp_next = options.use_ilp && overlapping_pairs(problem) <= options.ilp_max_pairs;
    SearchOptions search;
    search.capacity = options.capacity;
    search.minimize = options.minimize;
    search.threads = options.search_threads;
    search.on_progress = options.on_search_progress;
    search.deadline =
        Deadline(deadline.remaining() * (ilp_next ? options.search_share_before_ilp : 1.0));
    search.incumbent = result.placement ? *result.placement : heuristic.placement;
    SearchResult searched = search_placement(problem, search);
    result.lower_bound = std::max(result.lower_bound, searched.lower_bound);
    if (searched.status == SearchStatus::kInfeasible) infeasible = true;
    offer(searched.placement, "search");

    if (ilp_next && !settled() && !deadline.expired()) {
      AddressIlpOptions ilp;
      ilp.capacity = options.capacity;
      ilp.minimize = options.minimize;
      ilp.deadline = Deadline(deadline.remaining());
      ilp.start = result.placement ? *result.placement : heuristic.placement;
      AddressIlpResult solved = solve_address_ilp(problem, ilp);
      result.lower_bound = std::max(result.lower_bound, solved.lower_bound);
      if (solved.status == SearchStatus::kInfeasible) infeasible = true;
      offer(solved.placement, "ilp");
    }
  }

  if (result.placement)
    result.status = result.placement->height <= result.lower_bound ? SearchStatus::kOptimal
                                                                   : SearchStatus::kFeasible;
  else
    result.status = infeasible ? SearchStatus::kInfeasible : SearchStatus::kUnknown;
  result.seconds = clock.seconds();
  return result;
}

}  // namespace

PortfolioResult place_with_portfolio(const Problem& problem, const PortfolioOptions& options,
                                     const Deadline& deadline) {
  const std::int64_t a = std::max<std::int64_t>(1, problem.alignment);
  if (!options.capacity || a == 1 || *options.capacity % a == 0)
    return place_rounded(problem, options, deadline);
  // An aligned capacity C bounds the last byte used (max offset + size), not the rounded height.
  // With offsets multiples of a, the rounded height is that last byte rounded up to a: whatever
  // fits under C fits, rounded, under C rounded up — nothing there proves it impossible. What is
  // found there may end past C (padding on top); everything found under C rounded down fits.
  Stopwatch clock;
  const std::int64_t above = (*options.capacity / a + 1) * a, below = *options.capacity / a * a;
  PortfolioOptions rounded = options;
  rounded.capacity = above;
  PortfolioResult result = place_rounded(problem, rounded, deadline);
  if (result.placement && top(problem, result.placement->offsets) > *options.capacity) {
    result.placement.reset();
    rounded.capacity = below;
    PortfolioResult lower = below > 0 ? place_rounded(problem, rounded, deadline) : result;
    if (lower.placement) {
      result = lower;
    } else {
      result.status = SearchStatus::kUnknown;  // fits above, not proven to fit or not under C
      result.lower_bound = std::max(result.lower_bound, lower.lower_bound);
    }
  }
  result.seconds = clock.seconds();
  return result;
}

}  // namespace tensorplan::mem::place
