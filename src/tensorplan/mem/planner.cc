#include "tensorplan/mem/planner.h"

#include <fmt/format.h>

#include <algorithm>

#include "tensorplan/common/error.h"
#include "tensorplan/common/progress.h"
#include "tensorplan/common/timer.h"
#include "tensorplan/mem/check.h"
#include "tensorplan/mem/joint_ilp.h"
#include "tensorplan/mem/lower_bound.h"
#include "tensorplan/mem/place/portfolio.h"
#include "tensorplan/mem/place/problem.h"
#include "tensorplan/mem/pytorch_allocator.h"
#include "tensorplan/mem/schedule/exact_dp.h"
#include "tensorplan/mem/schedule/portfolio.h"
#include "tensorplan/mem/schedule/scheduler.h"
#include "tensorplan/mem/simulate.h"

namespace tensorplan::mem {

namespace {

// The figures derived from the others, once the arena is known: the saving and its split
// (against the graph's own reference order; plan_keep_and_fused rebases a fused plan on keep's),
// and fragmentation against the rounded sizes' peak (the rounding itself is the alignment's cost,
// not the placer's).
void finish_figures(const Graph& graph, PlanReport& report) {
  report.gradients = graph.gradients;
  report.split = split_saving({.baseline_reserved = report.reference_reserved,
                               .keep_reference_max_live = report.reference_max_live,
                               .keep_planned_max_live = report.planned_max_live,
                               .planned_max_live = report.planned_max_live,
                               .planned_total = report.planned_total,
                               .baseline_gradients = graph.gradients});
  report.saving = report.split.total();
  report.fragmentation =
      report.placed_max_live > 0
          ? static_cast<double>(report.arena_bytes) / static_cast<double>(report.placed_max_live) -
                1.0
          : 0.0;
}
}  // namespace

PlanReport plan_memory(const Graph& graph, const PlanOptions& options) {
  const Deadline deadline(options.time_limit);
  PlanReport report;
  // Phases, not steps of equal length: no bar or ETA, the phase and its figures.
  Progress progress(fmt::format("planning {}", graph.name), 0, options.quiet);

  const AllocatorStats baseline = replay_pytorch_allocator(graph, graph.order);
  report.reference_reserved = baseline.peak_reserved;
  report.reference_allocated = baseline.peak_allocated;
  report.reference_max_live = max_live(graph, graph.order);
  report.lower_bound = best_lower_bound(graph);
  progress.status("ordering: heuristics");
  const double order_start = deadline.elapsed();

  // ", gap 0.12%" between a best figure and its bound, when both are known (bytes).
  auto gap = [](std::int64_t best, std::int64_t bound) -> std::string {
    if (best <= 0 || bound <= 0) return "";
    return fmt::format(", gap {:.2f}%",
                       100.0 * static_cast<double>(best - bound) / static_cast<double>(bound));
  };

  // Lifetimes: the ordering chain (schedule/portfolio.h) in most of the time.
  schedule::OrderPortfolioOptions ordering;
  ordering.heuristics_only = !(options.time_limit > 0);
  ordering.start_order = options.start_order;
  ordering.threads = options.threads;
  ordering.quiet = options.quiet;
  ordering.on_phase = [&](const std::string& phase, std::int64_t max_live, std::int64_t bound) {
    progress.status(fmt::format("ordering: {}, max-live {}, bound {}{}", phase,
                                format_bytes(max_live), format_bytes(bound), gap(max_live, bound)));
  };
  schedule::OrderPortfolioResult ordered =
      schedule::order_with_portfolio(graph, report.lower_bound, ordering, deadline);
  schedule::BestOrder& order = ordered.order;
  report.lower_bound = ordered.lower_bound;
  report.order_method = order.method;
  report.order_seconds = deadline.elapsed() - order_start;
  report.planned_max_live = order.max_live;
  progress.status(fmt::format("placing: heuristics, max-live {}", format_bytes(order.max_live)));

  // Locations: place the tensors of that order in one arena: the portfolio (heuristics, then the
  // exact search unless they meet the bound) within its share of the time left. The heuristics
  // always complete, so there is a placement even when no time is left.
  const double placement_start = deadline.elapsed();
  const place::Problem problem = place::problem_from_graph(graph, order.order, options.alignment);
  place::PortfolioOptions portfolio;
  portfolio.use_ilp = options.placement_ilp;
  portfolio.search_threads = options.threads;
  portfolio.on_search_progress = [&](const place::SearchProgress& p) {
    progress.status(fmt::format("placing: search (part {} of {}), arena {}, bound {}{}", p.part,
                                p.parts, p.height < 0 ? "-" : format_bytes(p.height),
                                format_bytes(p.lower_bound), gap(p.height, p.lower_bound)));
  };
  const place::PortfolioResult placed = place::place_with_portfolio(
      problem, portfolio,
      Deadline(std::max(0.0, std::min(options.placement_time_limit, deadline.remaining()))));
  report.placement_method = placed.method;
  report.placement_seconds = deadline.elapsed() - placement_start;

  Plan& plan = report.plan;
  plan.graph = graph.name;
  plan.order = std::move(order.order);
  plan.offsets.assign(graph.tensors.size(), -1);
  for (std::size_t b = 0; b < problem.buffers.size(); ++b)
    plan.offsets[problem.buffers[b].id] = placed.placement->offsets[b];
  plan.arena_bytes = placed.placement->height;
  plan.alignment = options.alignment;
  report.alignment = options.alignment;
  // The checker recomputes lifetimes on purpose: it trusts nothing the planner computed.
  require_valid(graph, plan, options.alignment);
  report.placed_max_live = placed.max_live;
  report.two_phase_arena_bytes = plan.arena_bytes;

  // The joint ILP (asked for, small graphs): order and offsets at once, from the two-phase plan.
  if (options.joint && graph.num_nodes() <= kJointIlpMaxNodes && !deadline.expired()) {
    progress.status("joint order and placement ILP");
    JointIlpOptions joint;
    joint.deadline = deadline;
    joint.alignment = options.alignment;
    joint.threads = std::max(1, options.threads);
    joint.start = plan;
    joint.lower_bound = report.lower_bound;
    joint.on_progress = [&](std::int64_t arena, std::int64_t bound) {
      progress.status(fmt::format("joint order and placement ILP: arena {}, bound {}{}",
                                  arena < 0 ? "-" : format_bytes(arena),
                                  bound < 0 ? "-" : format_bytes(bound), gap(arena, bound)));
    };
    JointIlpResult solved = solve_joint_ilp(graph, joint);
    if (solved.from_solver && solved.arena_bytes < plan.arena_bytes) {
      plan = std::move(solved.plan);
      require_valid(graph, plan, options.alignment);
      report.order_method = report.placement_method = "joint-ilp";
      report.planned_max_live = max_live(graph, plan.order);
      report.placed_max_live =
          place::max_live(place::problem_from_graph(graph, plan.order, options.alignment));
    }
  }

  report.arena_bytes = plan.arena_bytes;
  report.planned_total = plan.arena_bytes;
  finish_figures(graph, report);
  report.seconds = deadline.elapsed();
  progress.finish(
      fmt::format("arena {} ({})", format_bytes(report.arena_bytes), report.placement_method));
  return report;
}

namespace {

// Same tensors (ids, sizes, kinds), nodes and reference order: one step in two semantics.
void require_same_step(const Graph& keep, const Graph& fused) {
  const std::string where =
      fmt::format("the keep graph \"{}\" and the fused graph \"{}\"", keep.name, fused.name);
  if (keep.gradients != GradientSemantics::kKeep)
    fail("{}: the baseline graph's gradients are fused; it must keep them", where);
  if (fused.gradients != GradientSemantics::kFused)
    fail("{}: the planned graph's gradients are kept; it must fuse them", where);
  if (keep.num_tensors() != fused.num_tensors() || keep.num_nodes() != fused.num_nodes())
    fail("{} are not the same step: {} and {} tensors, {} and {} nodes", where, keep.num_tensors(),
         fused.num_tensors(), keep.num_nodes(), fused.num_nodes());
  for (int t = 0; t < keep.num_tensors(); ++t) {
    const Tensor &a = keep.tensors[t], &b = fused.tensors[t];
    if (a.id != b.id || a.size != b.size || a.kind != b.kind)
      fail("{} are not the same step: tensor {} differs (id {}, {} B, {} against id {}, {} B, {})",
           where, t, a.id, a.size, to_string(a.kind), b.id, b.size, to_string(b.kind));
  }
  for (int n = 0; n < keep.num_nodes(); ++n)
    if (keep.nodes[n].id != fused.nodes[n].id || keep.nodes[n].inputs != fused.nodes[n].inputs ||
        keep.nodes[n].outputs != fused.nodes[n].outputs)
      fail("{} are not the same step: node {} differs", where, keep.nodes[n].id);
}

}  // namespace

KeepAndFused plan_keep_and_fused(const Graph& keep, const Graph& fused,
                                 const PlanOptions& keep_options, PlanOptions fused_options) {
  require_same_step(keep, fused);
  KeepAndFused result;
  result.keep = plan_memory(keep, keep_options);
  // Keep's order is an order of the fused step too, with at most keep's live bytes at every step.
  fused_options.start_order = result.keep.plan.order;
  result.fused = plan_memory(fused, fused_options);
  rebase_on_keep_baseline(result.fused, result.keep);
  return result;
}

void rebase_on_keep_baseline(PlanReport& f, const PlanReport& k) {
  f.split = split_saving({.baseline_reserved = k.reference_reserved,
                          .keep_reference_max_live = k.reference_max_live,
                          .keep_planned_max_live = k.planned_max_live,
                          .planned_max_live = f.planned_max_live,
                          .planned_total = f.planned_total,
                          .baseline_gradients = GradientSemantics::kKeep});
  f.saving = f.split.total();
}

PlanReport plan_against_keep_baseline(const Graph& fused, const Graph& keep,
                                      const PlanOptions& options) {
  if (fused.gradients != GradientSemantics::kFused)
    fail(
        "{}: a keep baseline (--baseline) is for graphs whose gradients are fused; this graph "
        "keeps them (it is its own baseline)",
        fused.name);
  PlanOptions half = options;
  half.time_limit = options.time_limit / 2;
  return plan_keep_and_fused(keep, fused, half, half).fused;
}

PlanReport evaluate_plan(const Graph& graph, const Plan& plan, double time_limit) {
  require_valid(graph, plan, plan.alignment);
  PlanReport report;
  const AllocatorStats baseline = replay_pytorch_allocator(graph, graph.order);
  report.plan = plan;
  report.reference_reserved = baseline.peak_reserved;
  report.reference_allocated = baseline.peak_allocated;
  report.reference_max_live = max_live(graph, graph.order);
  report.planned_max_live = max_live(graph, plan.order);
  report.lower_bound = best_lower_bound(graph);
  if (report.planned_max_live > report.lower_bound && time_limit > 0 &&
      graph.num_nodes() <= schedule::kExactDpMaxNodes) {
    schedule::ExactDpOptions dp;
    dp.upper_bound = report.planned_max_live;
    const schedule::ExactDpResult exact =
        schedule::solve_order_exact(graph, dp, Deadline(schedule::kExactSearchShare * time_limit));
    if (exact.complete) report.lower_bound = std::max(report.lower_bound, exact.optimum);
  }
  report.alignment = plan.alignment;
  report.placed_max_live =
      place::max_live(place::problem_from_graph(graph, plan.order, plan.alignment));
  report.arena_bytes = report.two_phase_arena_bytes = report.planned_total = plan.arena_bytes;
  finish_figures(graph, report);
  report.order_method = report.placement_method = "given";
  return report;
}

PlanReport evaluate_plan_against_keep_baseline(const Graph& fused, const Graph& keep,
                                               const Plan& plan, const PlanOptions& options) {
  if (fused.gradients != GradientSemantics::kFused)
    fail(
        "{}: a keep baseline (--baseline) is for graphs whose gradients are fused; this graph "
        "keeps them (it is its own baseline)",
        fused.name);
  require_same_step(keep, fused);
  PlanOptions half = options;
  half.time_limit = options.time_limit / 2;
  PlanReport report = evaluate_plan(fused, plan, half.time_limit);
  rebase_on_keep_baseline(report, plan_memory(keep, half));
  return report;
}

double saving_ceiling(const PlanReport& report) {
  if (report.split.baseline_reserved <= 0) return 0;
  return 1.0 - static_cast<double>(report.lower_bound) /
                   static_cast<double>(report.split.baseline_reserved);
}

Json report_to_json(const PlanReport& r, const Graph& graph) {
  Json j = {{"graph", graph.name},
            {"nodes", graph.num_nodes()},
            {"tensors", graph.num_tensors()},
            {"reference_reserved", r.reference_reserved},
            {"reference_allocated", r.reference_allocated},
            {"reference_max_live", r.reference_max_live},
            {"planned_max_live", r.planned_max_live},
            {"placed_max_live", r.placed_max_live},
            {"alignment", r.alignment},
            {"arena_bytes", r.arena_bytes},
            {"planned_total", r.planned_total},
            {"lower_bound", r.lower_bound},
            {"saving", r.saving},
            {"fragmentation", r.fragmentation},
            {"seconds", r.seconds},
            {"order_seconds", r.order_seconds},
            {"placement_seconds", r.placement_seconds},
            {"order_method", r.order_method},
            {"placement_method", r.placement_method},
            {"two_phase_arena_bytes", r.two_phase_arena_bytes},
            {"gradients", std::string(to_string(r.gradients))}};
  add_split_fields(r.split, j);
  return j;
}

}  // namespace tensorplan::mem
