// The planner callers use: chooses an order (lifetimes) and offsets (locations) for every tensor
// of a training step, checks the plan independently, and reports how it compares with what
// PyTorch's caching allocator would reserve for the reference order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tensorplan/common/json.h"
#include "tensorplan/mem/graph.h"
#include "tensorplan/mem/plan.h"
#include "tensorplan/mem/saving_split.h"

namespace tensorplan::mem {

struct PlanOptions {
  double time_limit = 60;  // wall-clock seconds for the whole plan
  // Every offset a multiple of it; sizes rounded up to it. 512 bytes, as PyTorch's caching
  // allocator rounds every block, so plans compare with what it would really hold.
  std::int64_t alignment = 512;
  // Of the time left after ordering, at most this many seconds go to placing: the heuristics and,
  // unless they already meet the max-live bound, the exact placement search from the best of them.
  double placement_time_limit = 5;
  bool placement_ilp = false;  // also try the address ILP on small placement problems
  // After the two-phase plan (order, then offsets), the joint ILP for order and offsets at once,
  // on graphs of at most kJointIlpMaxNodes operators, in the time left.
  bool joint = false;
  // Threads for the placement search (0: one per core; its outcome does not depend on the count)
  // and for CBC (0 or 1: one, which is reproducible; more trades that for speed).
  int threads = 0;
  bool quiet = true;  // no progress on stderr
  // Also a candidate order (node indices, a topological order; empty: none), e.g. the keep
  // graph's planned order when planning its fused graph, so that plan is never the worse one.
  std::vector<int> start_order;
};

struct PlanReport {
  Plan plan;                            // valid: it has passed check_plan
  std::int64_t reference_reserved = 0;  // PyTorch caching allocator, peak reserved, reference order
  std::int64_t reference_allocated = 0;  // same, peak allocated
  std::int64_t reference_max_live = 0;   // peak live bytes of the reference order
  std::int64_t planned_max_live = 0;     // peak live bytes of the planned order
  std::int64_t placed_max_live = 0;  // same, sizes rounded up to the alignment: no arena is lower
  std::int64_t alignment = 1;        // offsets are multiples of it, sizes rounded up to it
  std::int64_t arena_bytes = 0;      // the plan's arena: it holds every tensor
  std::int64_t two_phase_arena_bytes = 0;  // the arena of order-then-place (before the joint ILP)
  std::int64_t planned_total = 0;          // all memory the planned step needs (= arena_bytes)
  std::int64_t lower_bound = 0;            // proven lower bound on max-live over all orders
  GradientSemantics gradients = GradientSemantics::kKeep;  // the planned graph's
  // Where the saving comes from, against the baseline (reference_reserved of the keep step).
  SavingSplit split;
  double saving = 0;         // 1 - planned_total / split.baseline_reserved (the sum of the split)
  double fragmentation = 0;  // arena_bytes / placed_max_live - 1
  double seconds = 0;        // wall-clock time of plan_memory
  double order_seconds = 0;  // of which choosing the order (heuristics or ILP)
  double placement_seconds = 0;  // of which placing the tensors
  std::string order_method;      // which scheduler's order was kept
  std::string placement_method;  // which placer's offsets were kept
};

PlanReport plan_memory(const Graph& graph, const PlanOptions& options);

// One step planned with gradients kept and with gradients fused, the fused plan measured against
// the keep step's baseline (eager PyTorch with .grad kept).
struct KeepAndFused {
  PlanReport keep;
  PlanReport fused;  // its split and saving are against keep's reference_reserved
};

// Plans `keep` with `keep_options`, then `fused` (the same step with fused gradients, e.g.
// with_fused_gradients(keep)) with `fused_options`, also trying keep's planned order. Fails if the
// two graphs are not the same step (tensors, sizes, nodes) in keep and fused semantics.
KeepAndFused plan_keep_and_fused(const Graph& keep, const Graph& fused,
                                 const PlanOptions& keep_options, PlanOptions fused_options);

// Measures a fused plan's report against the keep step's (its baseline: eager PyTorch with .grad
// kept): its split and saving become shares of keep.reference_reserved, with what fusing the
// gradients gains split off.
void rebase_on_keep_baseline(PlanReport& fused, const PlanReport& keep);

// `mem plan FUSED --baseline KEEP`: plans a graph whose gradients are fused against `keep`, the
// same step with them kept, each with half of options.time_limit; returns the fused plan's report.
// Fails if `fused` keeps its gradients (it is its own baseline) or the two are not one step.
PlanReport plan_against_keep_baseline(const Graph& fused, const Graph& keep,
                                      const PlanOptions& options);

// The report of a plan made elsewhere (e.g. read from a file): the same figures plan_memory gives,
// "given" as both methods. The lower bound is best_lower_bound's, raised to the proven optimum
// where the exact order search (as plan_memory runs it) completes within 0.3 * time_limit seconds,
// so it is the bound `mem plan` reports whenever its own search completed. Checks the plan first
// (at its own alignment) and fails if it is not valid for `graph`.
PlanReport evaluate_plan(const Graph& graph, const Plan& plan, double time_limit = 60);

// evaluate_plan for a plan of `fused` (a graph whose gradients are fused), measured against
// `keep`, the same step with them kept, as `mem plan FUSED --baseline KEEP` measures its own plan:
// keep is planned with half of options.time_limit, the plan evaluated with the other half.
PlanReport evaluate_plan_against_keep_baseline(const Graph& fused, const Graph& keep,
                                               const Plan& plan, const PlanOptions& options);

// The most any plan can save against the baseline: 1 - lower_bound / split.baseline_reserved
// (0 when the baseline is 0).
double saving_ceiling(const PlanReport& report);

// The report as one JSON object (field names are relied on by scripts and the zoo benchmark).
Json report_to_json(const PlanReport& report, const Graph& graph);

}  // namespace tensorplan::mem
