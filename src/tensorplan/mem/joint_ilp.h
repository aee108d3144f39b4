// The OLLA joint ILP: the order operators run in and every tensor's offset, chosen at once, so
// that the arena (not max-live) is as small as possible. One binary per node and step ("runs
// here"), a liveness variable per tensor and step, an offset per tensor, and for every pair of
// tensors that may be live at the same time a "do they share a step" variable and an "above or
// below" binary whose big-M rows only bind when they do. Exact simplifications: steps limited to
// each node's ancestor/descendant window, liveness only where the windows allow it, pairs that
// can never share a step dropped, sizes in units of the alignment. For small graphs (tens of
// operators): the model grows with steps x tensors and with the pairs.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "tensorplan/common/timer.h"
#include "tensorplan/ilp/cbc.h"
#include "tensorplan/mem/graph.h"
#include "tensorplan/mem/plan.h"

namespace tensorplan::mem {

// Graphs with more operators than this are left to the two-phase planner by `mem plan --joint`.
inline constexpr int kJointIlpMaxNodes = 40;

struct JointIlpOptions {
  Deadline deadline = Deadline(60);  // for building and solving (default: a minute from now)
  int threads = 1;                   // CBC threads; 1 is deterministic
  std::int64_t alignment = 1;        // offsets multiples of it, sizes rounded up to it
  // A MIP start and upper bound (e.g. the two-phase plan): a valid plan with this alignment, or
  // empty. Without it the bound is every tensor stacked.
  Plan start;
  // A known lower bound on max-live over all orders (bytes), e.g. the planner's; the arena is at
  // least that. The graph's own simple bounds are used as well.
  std::int64_t lower_bound = 0;
  // Told of the solver's incumbent arena and proven bound (bytes; -1: none yet) on every new
  // incumbent and a few times a second otherwise; may be empty.
  std::function<void(std::int64_t arena, std::int64_t bound)> on_progress;
};

struct JointIlpResult {
  Plan plan;                     // the best plan found (checked); empty order if none
  bool from_solver = false;      // false: the start was kept (nothing better found)
  std::int64_t arena_bytes = 0;  // of plan
  std::int64_t lower_bound = 0;  // proven: no order and placement has a smaller arena
  ilp::SolveStatus status = ilp::SolveStatus::kNoSolution;
  int columns = 0, rows = 0;
  std::int64_t pairs = 0;  // pairs of tensors that may share a step
  double seconds = 0;
};

JointIlpResult solve_joint_ilp(const Graph& graph, const JointIlpOptions& options);

}  // namespace tensorplan::mem
