// tensorplan mem report GRAPH [PLAN] -o report.html: one self-contained HTML page showing where a
// training step's memory goes, eager PyTorch against the plan.
#include <fmt/format.h>

#include <cstdio>
#include <optional>

#include "commands.h"
#include "numeric_options.h"
#include "planning_options.h"
#include "tensorplan/common/error.h"
#include "tensorplan/common/file_io.h"
#include "tensorplan/common/progress.h"
#include "tensorplan/mem/graph_io.h"
#include "tensorplan/mem/plan.h"
#include "tensorplan/mem/planner.h"
#include "tensorplan/mem/report_html.h"

namespace tensorplan::cli {

namespace {

struct ReportArgs {
  std::string graph;
  std::string plan;
  std::string output;
  std::string baseline;
  PlanningArgs planning;
  bool quiet = false;
};

void run_report(const ReportArgs& args) {
  check_output_paths({args.output});  // before reading or planning anything
  const mem::Graph graph = mem::read_graph(args.graph);
  std::optional<mem::Graph> keep;
  if (!args.baseline.empty()) keep = mem::read_graph(args.baseline);
  mem::PlanOptions options = plan_options(args.planning);
  options.quiet = args.quiet;
  mem::PlanReport report;
  if (args.plan.empty()) {
    report = keep ? mem::plan_against_keep_baseline(graph, *keep, options)
                  : mem::plan_memory(graph, options);
  } else {
    const mem::Plan plan = mem::read_plan(args.plan, graph);  // refuses another graph's plan
    report = keep ? mem::evaluate_plan_against_keep_baseline(graph, *keep, plan, options)
                  : mem::evaluate_plan(graph, plan, args.planning.time_limit);
  }
  write_file_atomic(args.output, mem::report_html(graph, report, keep ? &*keep : nullptr));
  if (!args.quiet)
    std::fprintf(stderr, "wrote %s: PyTorch reserved %s, planned arena %s (%.1f%% less)\n",
                 args.output.c_str(), format_bytes(report.split.baseline_reserved).c_str(),
                 format_bytes(report.arena_bytes).c_str(), 100 * report.saving);
}

}  // namespace

void add_mem_report(CLI::App& mem) {
  auto args = std::make_shared<ReportArgs>();
  CLI::App* cmd =
      mem.add_subcommand("report", "Write an HTML page showing where a step's memory goes");
  cmd->footer(
      "\nOne self-contained page (no network): live memory over the step stacked by tensor kind,\n"
      "for the eager order under PyTorch's caching allocator (reserved and allocated) and for the\n"
      "planned order and arena, on the same axes, with the forward/loss/backward/optimizer\n"
      "phases; the tensors live at each peak, with totals by kind and by top-level module; where\n"
      "the saving comes from and the proven ceiling; the plan's address layout (hover, zoom).\n"
      "Without PLAN, plans the graph as `mem plan` does with its default options. The numbers are\n"
      "embedded in the page as JSON (<script type=\"application/json\" id=\"data\">; its \"plan\" "
      "has\n"
      "the fields of `mem plan --json`).\n"
      "\nExample: tensorplan mem report models/resnet50-b32-sgd.json.gz -o report.html");
  cmd->add_option("GRAPH", args->graph, "training graph (tensorplan.graph JSON, .json or .json.gz)")
      ->required();
  cmd->add_option("PLAN", args->plan,
                  "a plan of GRAPH (tensorplan.plan JSON); default: plan it now");
  cmd->add_option("-o,--output", args->output, "write the page (HTML) here")->required();
  cmd->add_option("--baseline", args->baseline,
                  "for a GRAPH whose gradients are fused: the same step with gradients kept,\n"
                  "whose eager run is the baseline (as mem plan --baseline; both are planned,\n"
                  "each with half the time limit, to split off what fusing the gradients gains)");
  add_planning_options(*cmd, args->planning,
                       "wall-clock seconds to spend planning when no PLAN is given; with a PLAN,\n"
                       "a share of it proves the lower bound by exact search (as mem plan does)");
  cmd->add_flag("-q,--quiet", args->quiet, "no progress or summary on stderr");
  cmd->callback([args] { run_report(*args); });
}

}  // namespace tensorplan::cli
