// tensorplan mem plan GRAPH: choose an order and offsets, check them, report the memory saved.
#include <fmt/format.h>

#include <cstdio>

#include "commands.h"
#include "numeric_options.h"
#include "planning_options.h"
#include "tensorplan/common/file_io.h"
#include "tensorplan/common/progress.h"
#include "tensorplan/mem/graph_io.h"
#include "tensorplan/mem/joint_ilp.h"
#include "tensorplan/mem/planner.h"
#include "tensorplan/mem/schedule/portfolio.h"
#include "tensorplan/mem/timeline_svg.h"

namespace tensorplan::cli {

namespace {

struct PlanArgs {
  std::string graph;
  std::string output;
  std::string svg;
  std::string baseline;
  PlanningArgs planning;
  bool joint = false;
  bool placement_ilp = false;
  bool json = false;
  bool quiet = false;
};

void print_table(const mem::Graph& graph, const mem::PlanReport& r) {
  auto row = [](const char* label, std::int64_t bytes, const std::string& note = "") {
    std::printf("  %-36s %14s  %s\n", label, format_bytes(bytes).c_str(), note.c_str());
  };
  auto percent = [](double x) { return fmt::format("{:.1f}%", 100 * x); };
  const bool own_baseline = r.split.baseline_reserved == r.reference_reserved &&
                            r.split.baseline_gradients == r.gradients;
  std::printf("%s: %d operators, %d tensors, gradients %s\n", graph.name.c_str(), graph.num_nodes(),
              graph.num_tensors(), std::string(to_string(r.gradients)).c_str());
  if (!own_baseline)
    row("PyTorch reserved, keep graph", r.split.baseline_reserved, "(baseline: .grad kept)");
  row("PyTorch reserved, reference order", r.reference_reserved, own_baseline ? "(baseline)" : "");
  row("max-live, reference order", r.reference_max_live);
  row("max-live, planned order", r.planned_max_live,
      fmt::format("({} lower)", percent(1.0 - static_cast<double>(r.planned_max_live) /
                                                  static_cast<double>(std::max<std::int64_t>(
                                                      1, r.reference_max_live)))));
  row("lower bound on max-live", r.lower_bound);
  row("planned total (arena)", r.planned_total,
      fmt::format("saving {} vs baseline", percent(r.saving)));
  if (r.two_phase_arena_bytes != r.arena_bytes)
    row("arena of order, then place", r.two_phase_arena_bytes, "(before the joint ILP)");
  std::printf("  %-36s %14s  (arena vs max-live of the sizes rounded up to %lld B)\n",
              "fragmentation", percent(r.fragmentation).c_str(),
              static_cast<long long>(r.alignment));
  // The split: each term a share of the baseline; they add up to the saving.
  std::printf("  where the saving comes from (shares of the baseline, gradients %s there):\n",
              std::string(to_string(r.split.baseline_gradients)).c_str());
  auto term = [&](const char* label, double x, const char* note) {
    std::printf("    %-34s %14s  %s\n", label, fmt::format("{:+.1f}%", 100 * x).c_str(), note);
  };
  term("allocator", r.split.allocator, "(caching allocator's reserved -> max-live)");
  term("order", r.split.order, "(max-live: reference -> planned order)");
  term("fused gradients", r.split.gradients,
       r.split.baseline_gradients == mem::GradientSemantics::kFused
           ? "(inside order: --baseline KEEP_GRAPH splits it off)"
           : "(planned max-live: keep -> fused)");
  term("placement", r.split.placement, "(arena above max-live: alignment, fragmentation)");
  std::printf("  order: %s (%s), placement: %s (%s), total %s\n", r.order_method.c_str(),
              format_seconds(r.order_seconds).c_str(), r.placement_method.c_str(),
              format_seconds(r.placement_seconds).c_str(), format_seconds(r.seconds).c_str());
}

}  // namespace

void add_mem_plan(CLI::App& mem) {
  auto args = std::make_shared<PlanArgs>();
  CLI::App* cmd = mem.add_subcommand("plan", "Plan a training step's memory (order + offsets)");
  cmd->footer(fmt::format(
      "\nChooses the order operators run in (each tensor's lifetime) and each tensor's offset in\n"
      "one arena (its location), checks the plan independently, and compares it with PyTorch's\n"
      "caching allocator running the reference (eager) order. Orders: the best heuristic, then\n"
      "exact re-ordering of windows around its peak, the exact search on narrow graphs, and on\n"
      "small graphs (up to {} operators) the OLLA ordering ILP, within the time limit.\n"
      "Offsets: the greedy placers, then (unless they already reach the max-live bound of the\n"
      "order) the exact placement search for at most --placement-time ({} s by default);\n"
      "offsets are multiples of --alignment ({} bytes by default, as PyTorch's allocator\n"
      "rounds) and the plan records it. Progress shows on a terminal (-q: none).\n"
      "\nWhere the saving comes from, each a share of the baseline (PyTorch reserved, reference\n"
      "order, gradients kept), adding up to the saving: allocator (reserved -> max-live of the\n"
      "reference order), order (-> max-live of the planned order), fused gradients (-> the\n"
      "fused step's planned max-live; with --baseline), placement (-> the arena; <= 0).\n"
      "--json adds them as saving_from_allocator, saving_from_order, saving_from_gradients,\n"
      "saving_from_placement, with baseline_reserved, baseline_gradients and gradients.\n"
      "A MiniMalloc CSV (buffers with fixed lifetimes) is placed by `tensorplan mem place`.\n"
      "\nExample: tensorplan mem plan models/resnet50-b32-sgd.json.gz -o plan.json --svg plan.svg",
      mem::schedule::kOrderIlpMaxNodes, mem::PlanOptions().placement_time_limit,
      mem::PlanOptions().alignment));
  cmd->add_option("GRAPH", args->graph, "training graph (tensorplan.graph JSON, .json or .json.gz)")
      ->required();
  cmd->add_option("-o,--output", args->output, "write the plan (tensorplan.plan JSON) here");
  cmd->add_option("--svg", args->svg, "draw the plan as a memory timeline (SVG) here");
  cmd->add_option("--baseline", args->baseline,
                  "for a GRAPH whose gradients are fused: the same step with gradients kept,\n"
                  "whose PyTorch reserved memory is the baseline (both are planned, each with\n"
                  "half the time limit, to split off what fusing the gradients gains)");
  add_planning_options(*cmd, args->planning, "wall-clock seconds to spend planning, all told");
  cmd->add_flag(
      "--joint", args->joint,
      fmt::format("after the two-phase plan, the OLLA joint ILP (order and offsets at once) from "
                  "it,\non graphs of at most {} operators, in the time left",
                  mem::kJointIlpMaxNodes));
  cmd->add_flag("--placement-ilp", args->placement_ilp,
                "also try the OLLA address ILP after the placement search (small problems)");
  cmd->add_flag("--json", args->json, "print one JSON object with the figures on stdout");
  cmd->add_flag("-q,--quiet", args->quiet, "no progress on stderr");
  cmd->callback([args] {
    check_output_paths({args->output, args->svg});  // all of them, before planning or writing
    const mem::Graph graph = mem::read_graph(args->graph);
    mem::PlanOptions options = plan_options(args->planning);
    options.joint = args->joint;
    options.placement_ilp = args->placement_ilp;
    options.quiet = args->quiet || args->json;
    const mem::PlanReport report =
        args->baseline.empty()
            ? mem::plan_memory(graph, options)
            : mem::plan_against_keep_baseline(graph, mem::read_graph(args->baseline), options);
    // The plan has passed the checker inside plan_memory; only now are files written.
    if (!args->output.empty()) mem::write_plan(report.plan, graph, args->output);
    if (!args->svg.empty()) write_file_atomic(args->svg, mem::timeline_svg(graph, report.plan));
    if (args->json) {
      std::printf("%s\n", mem::report_to_json(report, graph).dump().c_str());
    } else {
      print_table(graph, report);
    }
  });
}

}  // namespace tensorplan::cli
