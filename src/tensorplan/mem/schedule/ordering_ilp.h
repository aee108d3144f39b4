// The OLLA operator-ordering ILP: choose the step (one operator per step) of every operator so
// that the peak of live bytes is as low as possible, solved with CBC. Two encodings:
// - kOlla, the paper's: per node and step a binary "runs here" R (which is the create variable of
//   all the node's outputs at once), per tensor and step a preserve variable P; P[t][s] <=
//   P[t][s-1] + R[p][s-1]; every input preserved at its consumer's step; outputs preserved to the
//   end; memory of a step = sum of sizes created or preserved there <= peak.
// - kCumulative: per node and step a binary "has run by step s" X (monotone in s); precedence
//   X[c][s] <= X[p][s-1]; a tensor is live at s iff produced by s and some consumer has not run
//   before s, which is an exact linear expression for tensors with one consumer (or none, or
//   outputs) and a continuous variable otherwise. Fewer integer variables and a tighter LP.
// Both are exact: the optimum equals the least max-live over all topological orders.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tensorplan/common/timer.h"
#include "tensorplan/ilp/cbc.h"
#include "tensorplan/mem/graph.h"
#include "tensorplan/mem/schedule/scheduler.h"

namespace tensorplan::mem::schedule {

enum class OrderFormulation { kOlla, kCumulative };

struct OrderIlpOptions {
  // For everything: MIP start heuristics, building, solving (default: a minute from when the
  // options are made).
  Deadline deadline = Deadline(60);
  int threads = 1;  // CBC threads; 1 is deterministic
  OrderFormulation formulation = OrderFormulation::kCumulative;
  // Simplifications, each exact (the optimum does not change); switchable to measure them.
  bool use_windows = true;       // variables only at steps within ASAP/ALAP windows by ancestor and
                                 // descendant counts
  bool divide_by_gcd = true;     // sizes in units of the GCD of all sizes
  bool drop_redundant = true;    // no terms for zero-size tensors; peak >= the simple lower bound;
                                 // no memory row for a step whose most possible bytes are below it
  bool mip_start = true;         // start CBC from the best heuristic order (or `start_order`)
  bool relax_preserve = false;   // kOlla only: P continuous (integral anyway once R is)
  std::vector<int> start_order;  // the MIP start if non-empty; else best heuristic order
  bool quiet = true;             // no progress line on stderr
  bool solver_log = false;       // CBC's own log on stdout
};

struct OrderIlpResult {
  std::vector<int> order;           // a topological order of all nodes
  std::int64_t max_live = 0;        // simulated peak of `order`
  std::int64_t lower_bound = 0;     // proven: no order has a lower peak
  bool optimal = false;             // max_live == lower_bound
  bool from_solver = false;         // false: the start order was kept (solver found nothing better)
  std::string start_method;         // which heuristic gave the start ("given" if start_order)
  std::int64_t start_max_live = 0;  // peak of the start order
  ilp::SolveStatus status = ilp::SolveStatus::kNoSolution;
  double objective_bytes = 0;     // solver's objective in bytes (its incumbent)
  double solver_bound_bytes = 0;  // solver's proven bound in bytes (-inf if none)
  // Size of the model.
  int columns = 0, integer_columns = 0, rows = 0;
  std::int64_t nonzeros = 0;
  std::int64_t gcd = 1;      // bytes per size unit in the model
  double build_seconds = 0;  // windows + model
  double solve_seconds = 0;  // CBC
  double seconds = 0;        // everything
};

OrderIlpResult solve_order_ilp(const Graph& graph, const OrderIlpOptions& options);

}  // namespace tensorplan::mem::schedule
