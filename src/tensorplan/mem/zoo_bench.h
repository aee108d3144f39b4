// The zoo benchmark (tensorplan mem bench): plan every graph of a directory and tabulate the
// figures the OLLA/MODeL papers report — saving against PyTorch, distance to the proven lower
// bound, fragmentation, time — as rows, a summary against the issue targets, CSV and Markdown.
// Each graph whose gradients are kept is also planned with them fused (with_fused_gradients),
// against the same baseline: eager PyTorch with .grad kept.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tensorplan/mem/planner.h"

namespace tensorplan::mem {

struct BenchRow {
  std::string file;   // the graph file's name (no directory)
  std::string graph;  // the graph's own name
  int nodes = 0;
  int tensors = 0;
  // Exported from PyTorch (the graph carries the exporter's "phases"); the hand-made toy graphs
  // (mlp, cnn-small) do not, and are kept out of the zoo's averages.
  bool exported = false;
  PlanReport report;          // the graph as it is; the plan itself is dropped (report.plan empty)
  double bound_gap = 0;       // planned_max_live / lower_bound - 1: how far from proven optimal
  double saving_ceiling = 0;  // 1 - lower_bound / reference_reserved: the most any plan can save
  // The same step with fused gradients, against the same baseline (a keep graph's only).
  std::optional<PlanReport> fused;
  double fused_saving_ceiling = 0;  // 1 - fused lower_bound / keep reference_reserved
};

// Figures over one set of rows (the exported zoo, or the toys).
struct BenchSummary {
  int graphs = 0;
  double average_saving = 0, min_saving = 0, max_saving = 0;
  double average_saving_ceiling = 0;  // the proven most: no order and placement can save more
  int worse_than_baseline = 0;        // planned_total > reference_reserved
  int within_2pct_of_bound = 0;       // bound_gap <= 2%
  double max_bound_gap = 0;
  double max_fragmentation = 0;
  int fragmentation_within_half_pct = 0;  // fragmentation <= 0.5% (the issue-5 target)
  double median_seconds = 0, max_seconds = 0;
  double max_placement_seconds = 0;
  // Fused gradients (rows that have them), savings against the keep baseline.
  int fused_graphs = 0;
  double average_fused_saving = 0, min_fused_saving = 0;
  double average_fused_ceiling = 0;
  double max_fused_ceiling_gap = 0;  // largest fused ceiling - fused saving
  std::string max_fused_ceiling_gap_graph;
  int fused_within_1pct_of_ceiling = 0;  // ceiling - saving <= 1 point
  int fused_worse_than_keep = 0;         // fused planned_total > keep planned_total
  // The averages of the split of the fused saving (shares of the baseline).
  double average_from_allocator = 0, average_from_order = 0, average_from_gradients = 0,
         average_from_placement = 0;
};

// The graph files (*.json, *.json.gz) of a directory, sorted by name; a file is itself.
std::vector<std::string> list_graph_files(const std::string& path);

// Plans the graph (with the full time limit) and, if it keeps its gradients, its fused step (with
// the full time limit again).
BenchRow bench_graph(const std::string& path, const PlanOptions& options);
BenchSummary summarize(const std::vector<BenchRow>& rows);

std::string bench_csv(const std::vector<BenchRow>& rows);
// Markdown: the exported graphs' table and summary, then the toy graphs' apart.
std::string bench_markdown(const std::vector<BenchRow>& rows);
std::string summary_text(const BenchSummary& summary);

}  // namespace tensorplan::mem
