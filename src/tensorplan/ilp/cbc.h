// Solves an ilp::Model with COIN-OR CBC (OsiClpSolverInterface + CbcModel, driven through CBC's
// standard driver so that its preprocessing, cuts and heuristics are on): MIP start, wall-clock
// time limit, threads, silent logging, and a progress callback.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "tensorplan/common/timer.h"
#include "tensorplan/ilp/model.h"

namespace tensorplan::ilp {

enum class SolveStatus {
  kOptimal,     // solution proven optimal (within the gaps asked for)
  kFeasible,    // a solution, not proven optimal (time limit or stop)
  kInfeasible,  // proven: no solution exists
  kNoSolution,  // stopped before any solution was found (nothing proven)
};

std::string to_string(SolveStatus status);

// A snapshot of the search, in the model's objective units.
struct SolveProgress {
  bool has_incumbent = false;    // false until a solution is known
  double incumbent = kInfinity;  // objective of the best solution so far
  double bound = -kInfinity;     // best proven lower bound so far
  double gap = kInfinity;        // (incumbent - bound) / max(|incumbent|, 1e-9), 0 when closed
  double elapsed = 0;            // wall-clock seconds since solve() started
  long nodes = 0;                // branch-and-bound nodes explored
};

struct SolveOptions {
  // When to stop (wall clock). An expired one runs no search: the start, if feasible, is returned
  // as it is.
  Deadline deadline;
  int threads = 1;  // 1: deterministic; more trades reproducibility for speed
  // A MIP start: one value per column (or empty). Given to CBC as its first incumbent.
  std::vector<double> start;
  double relative_gap = 0;  // stop when (incumbent - bound) / |incumbent| <= this
  double absolute_gap = 0;  // stop when incumbent - bound <= this
  bool log = false;         // CBC's own log on stdout (for debugging)
  // Called on every new incumbent and at most a few times a second otherwise; may be empty.
  std::function<void(const SolveProgress&)> on_progress;
};

struct SolveResult {
  SolveStatus status = SolveStatus::kNoSolution;
  std::vector<double> solution;  // one value per column; empty unless a solution was found
  double objective = kInfinity;  // objective of `solution`
  double bound = -kInfinity;     // proven lower bound on the optimum (-inf when none is known)
  double seconds = 0;            // wall-clock seconds spent in solve()
  long nodes = 0;                // branch-and-bound nodes explored
  bool start_accepted = false;   // the MIP start was feasible and given to CBC
};

SolveResult solve_with_cbc(const Model& model, const SolveOptions& options);

}  // namespace tensorplan::ilp
