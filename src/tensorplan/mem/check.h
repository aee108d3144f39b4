// The independent checker: decides whether a plan is valid for a graph. It recomputes liveness on
// its own (it does not call the simulator), so a bug there cannot hide a bad plan.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tensorplan/mem/graph.h"
#include "tensorplan/mem/plan.h"

namespace tensorplan::mem {

struct CheckResult {
  bool valid = true;
  std::vector<std::string> problems;  // the first 20, each one line
  std::int64_t problem_count = 0;     // all the problems found (more than listed, past 20)
  std::int64_t max_live = 0;          // peak live bytes under the plan's order (if it is valid)
  std::int64_t arena_bytes = 0;       // max(offset + size) over non-empty tensors
};

// Checks: the order is a complete topological order; every tensor of non-zero size has an offset
// (a multiple of `alignment`); no two tensors live at the same step overlap in memory (sizes
// rounded up to `alignment`); arena_bytes equals max(offset + rounded size).
CheckResult check_plan(const Graph& graph, const Plan& plan, std::int64_t alignment = 1);

// Throws Error listing the problems if the plan is invalid: the last guard before writing.
void require_valid(const Graph& graph, const Plan& plan, std::int64_t alignment = 1);

}  // namespace tensorplan::mem
