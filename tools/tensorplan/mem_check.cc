// tensorplan mem check GRAPH PLAN: the independent validator. Exit 0 if the plan is valid, 1 if it
// is not (with the problems listed), 2 if the input cannot be read.
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <optional>

#include "commands.h"
#include "numeric_options.h"
#include "tensorplan/common/progress.h"
#include "tensorplan/mem/check.h"
#include "tensorplan/mem/graph_io.h"
#include "tensorplan/mem/plan.h"

namespace tensorplan::cli {

namespace {
struct CheckArgs {
  std::string graph;
  std::string plan;
  std::optional<std::int64_t> alignment;  // unset: the plan's own (1 if it names none)
  bool json = false;
  bool quiet = false;
};
}  // namespace

void add_mem_check(CLI::App& mem) {
  auto args = std::make_shared<CheckArgs>();
  CLI::App* cmd =
      mem.add_subcommand("check", "Check a plan independently (exit 0 valid, 1 invalid)");
  cmd->footer(
      "\nVerifies: a complete topological order, an offset for every non-empty tensor, no two\n"
      "tensors live at the same time overlapping in memory, the right arena size. An invalid\n"
      "plan gets the number of problems and the first 20 of them; a plan made for another\n"
      "graph (its \"graph\" name differs) is refused as such.\n"
      "Exit status: 0 valid, 1 invalid, 2 unreadable input (or a plan for another graph).\n"
      "--json: valid, problems (the first 20), problem_count, and if valid max_live and\n"
      "arena_bytes.\n"
      "\nExample: tensorplan mem check models/resnet50-b32-sgd.json.gz plan.json");
  cmd->add_option("GRAPH", args->graph, "training graph (tensorplan.graph JSON, .json or .json.gz)")
      ->required();
  cmd->add_option("PLAN", args->plan, "plan to check (tensorplan.plan JSON)")->required();
  cmd->add_option("--alignment", args->alignment,
                  "require offsets to be multiples of this, sizes rounded up to it (default: the\n"
                  "plan's own \"alignment\", 1 if it has none)")
      ->check(integer_in(1, kMaxAlignment));
  cmd->add_flag("--json", args->json, "print one JSON object on stdout");
  cmd->add_flag("-q,--quiet", args->quiet, "print nothing: the exit status says it all");
  cmd->callback([args] {
    const mem::Graph graph = mem::read_graph(args->graph);
    const mem::Plan plan = mem::read_plan(args->plan, graph);
    const mem::CheckResult result =
        mem::check_plan(graph, plan, args->alignment.value_or(plan.alignment));
    if (args->quiet) {
    } else if (args->json) {
      Json out = {{"valid", result.valid},
                  {"problems", result.problems},
                  {"problem_count", result.problem_count}};
      if (result.valid) {
        out["max_live"] = result.max_live;
        out["arena_bytes"] = result.arena_bytes;
      }
      std::printf("%s\n", out.dump().c_str());
    } else if (result.valid) {
      std::printf("valid: %s plan, max-live %s, arena %s\n", graph.name.c_str(),
                  format_bytes(result.max_live).c_str(), format_bytes(result.arena_bytes).c_str());
    } else {
      const auto listed = static_cast<std::int64_t>(result.problems.size());
      std::printf(
          "INVALID plan for %s: %lld problem%s%s\n", graph.name.c_str(),
          static_cast<long long>(result.problem_count), result.problem_count == 1 ? "" : "s",
          result.problem_count > listed ? fmt::format(", the first {}", listed).c_str() : "");
      for (const auto& p : result.problems) std::printf("  %s\n", p.c_str());
    }
    std::fflush(stdout);
    if (!result.valid) std::exit(1);
  });
}

}  // namespace tensorplan::cli
