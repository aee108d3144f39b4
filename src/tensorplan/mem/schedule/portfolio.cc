#include "tensorplan/mem/schedule/portfolio.h"

#include <algorithm>

#include "tensorplan/common/error.h"
#include "tensorplan/mem/schedule/exact_dp.h"
#include "tensorplan/mem/schedule/ordering_ilp.h"
#include "tensorplan/mem/schedule/window_reordering.h"
#include "tensorplan/mem/simulate.h"

namespace tensorplan::mem::schedule {

namespace {

// The parts of the remaining time the window decomposition and the ordering ILP may use, each of
// what is left when it starts (the exact search's is kExactSearchShare).
constexpr double kWindowShare = 0.2;
constexpr double kOrderIlpShare = 0.8;

}  // namespace

OrderPortfolioResult order_with_portfolio(const Graph& graph, std::int64_t lower_bound,
                                          const OrderPortfolioOptions& options,
                                          const Deadline& deadline) {
  OrderPortfolioResult out;
  out.lower_bound = lower_bound;
  BestOrder& order = out.order;
  order = best_order(graph, heuristic_schedulers(), Deadline());
  if (!options.start_order.empty()) {
    std::string why;
    if (!is_topological_order(graph, options.start_order, &why))
      fail("{}: the start order is not a topological order: {}", graph.name, why);
    const std::int64_t given = max_live(graph, options.start_order);
    if (given < order.max_live) order = {options.start_order, given, "given"};
  }
  bool proven = order.max_live <= out.lower_bound;
  auto phase = [&](const char* name) {
    if (options.on_phase) options.on_phase(name, order.max_live, out.lower_bound);
  };
  if (!proven && !options.heuristics_only) {
    phase("windows around the peak");
    WindowImprovement windows = improve_order_in_windows(
        graph, order.order, WindowOptions(), Deadline(kWindowShare * deadline.remaining()));
    if (windows.max_live < order.max_live)
      order = {std::move(windows.order), windows.max_live, order.method + "+windows"};
    proven = order.max_live <= out.lower_bound;
  }
  if (!proven && !options.heuristics_only && graph.num_nodes() <= kExactDpMaxNodes) {
    phase("exact search");
    ExactDpOptions dp;
    dp.upper_bound = order.max_live;
    const ExactDpResult exact =
        solve_order_exact(graph, dp, Deadline(kExactSearchShare * deadline.remaining()));
    if (exact.complete) {
      proven = true;
      out.lower_bound = std::max(out.lower_bound, exact.optimum);
      if (!exact.order.empty()) order = {exact.order, exact.optimum, "exact"};
    }
  }
  if (!proven && !options.heuristics_only && graph.num_nodes() <= kOrderIlpMaxNodes) {
    OrderIlpOptions ilp;
    ilp.deadline = Deadline(kOrderIlpShare * deadline.remaining());
    ilp.quiet = options.quiet;
    ilp.threads = std::max(1, options.threads);
    ilp.start_order = order.order;
    const OrderIlpResult solved = solve_order_ilp(graph, ilp);
    if (solved.max_live < order.max_live) order = {solved.order, solved.max_live, "ilp"};
    out.lower_bound = std::max(out.lower_bound, solved.lower_bound);
  }
  return out;
}

}  // namespace tensorplan::mem::schedule
