// tensorplan mem bench [ZOO_DIR]: plan every graph of the zoo, one row each, with a summary.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "numeric_options.h"
#include "planning_options.h"
#include "tensorplan/common/error.h"
#include "tensorplan/common/file_io.h"
#include "tensorplan/common/progress.h"
#include "tensorplan/mem/zoo_bench.h"

namespace tensorplan::cli {

namespace {

struct BenchArgs {
  std::string zoo = "models";
  std::string csv;
  std::string md;
  std::string filter;
  PlanningArgs planning;
  bool quiet = false;
};

}  // namespace

void add_mem_bench(CLI::App& mem) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* cmd =
      mem.add_subcommand("bench", "Plan every graph of a model zoo and tabulate the savings");
  cmd->footer(
      "\nRuns `mem plan` on each graph file (*.json, *.json.gz) of ZOO_DIR in name order and\n"
      "prints one row per graph: PyTorch's reserved memory for the reference order (the\n"
      "baseline), max-live before and after, the proven lower bound and the gap to it, the\n"
      "arena (the planned total), the saving, fragmentation (arena / max-live of the sizes\n"
      "rounded up to --alignment, minus 1), the time spent ordering and placing, and which\n"
      "methods won. A summary line follows. Each graph gets the full --time-limit.\n"
      "\nGradients: a graph that keeps its gradients in .grad (all of the zoo) is planned again\n"
      "with them fused (each gradient dies after its parameter's update; the graph with its\n"
      "gradients' output marks removed), again with the full --time-limit, and measured against\n"
      "the same baseline: `fused saving`, its proven `fused ceiling` (1 - fused lower bound /\n"
      "PyTorch reserved) and where the fused saving comes from, in points of the baseline:\n"
      "allocator (reserved -> max-live, reference order) + order (-> planned max-live, keep)\n"
      "+ gradients (-> planned max-live, fused) + placement (-> the arena; <= 0).\n"
      "\nThe zoo's averages cover the graphs exported from PyTorch; the hand-made toy graphs (no\n"
      "exporter `phases`: mlp, cnn-small) are tabulated and summarised apart.\n"
      "\nExample: tensorplan mem bench models --time-limit 60 --csv zoo.csv --md zoo.md");
  cmd->add_option("ZOO_DIR", args->zoo, "directory of graph files, or one graph file")
      ->default_val("models");
  add_planning_options(*cmd, args->planning,
                       "wall-clock seconds per graph (and again for its fused-gradients plan)");
  cmd->add_option("--filter", args->filter, "only graph files whose name contains this");
  cmd->add_option("--csv", args->csv, "also write the rows as CSV here");
  cmd->add_option("--md", args->md, "also write the Markdown table and summary here");
  cmd->add_flag("-q,--quiet", args->quiet, "no progress on stderr");
  cmd->callback([args] {
    check_output_paths({args->csv, args->md});
    std::vector<std::string> files;
    for (const auto& f : mem::list_graph_files(args->zoo))
      if (args->filter.empty() || f.find(args->filter) != std::string::npos) files.push_back(f);
    if (files.empty()) fail("{}: no graph file matches --filter '{}'", args->zoo, args->filter);
    mem::PlanOptions options = plan_options(args->planning);
    options.quiet = true;
    std::vector<mem::BenchRow> rows;
    Progress progress("mem bench", static_cast<std::int64_t>(files.size()), args->quiet);
    for (std::size_t i = 0; i < files.size(); ++i) {
      progress.update(
          static_cast<std::int64_t>(i),
          fmt::format("planning {}", std::filesystem::path(files[i]).filename().string()));
      rows.push_back(mem::bench_graph(files[i], options));
      const mem::BenchRow& row = rows.back();
      if (!args->quiet) {
        const std::string fused =
            row.fused ? fmt::format(", fused saving {:.1f}% (ceiling {:.1f}%, {:.2f} s)",
                                    100 * row.fused->saving, 100 * row.fused_saving_ceiling,
                                    row.fused->seconds)
                      : "";
        progress.print_line(fmt::format(
            "[{}/{}] {}: saving {:.1f}%, gap to bound {:.1f}%, arena {} B, fragmentation "
            "{:.3f}%, placement {:.2f} s ({}), {:.2f} s{}",
            i + 1, files.size(), row.graph, 100 * row.report.saving, 100 * row.bound_gap,
            row.report.arena_bytes, 100 * row.report.fragmentation, row.report.placement_seconds,
            row.report.placement_method, row.report.seconds, fused));
      }
    }
    progress.finish();
    // Files are written only once every graph has been planned: no half-tables.
    if (!args->csv.empty()) write_file_atomic(args->csv, mem::bench_csv(rows));
    const std::string md = mem::bench_markdown(rows);
    if (!args->md.empty()) write_file_atomic(args->md, md);
    std::fputs(md.c_str(), stdout);
  });
}

}  // namespace tensorplan::cli
