// The zoo benchmark (tensorplan mem bench): plan every graph of a directory and tabulate the
// figures the OLLA/MODeL papers report — saving against PyTorch, distance to the proven lower
// bound, fragmentation, time — as rows, a summary against the issue targets, CSV and Markdown.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tensorplan/mem/planner.h"

namespace tensorplan::mem {

struct BenchRow {
  std::string file;   // the graph file's name (no directory)
  std::string graph;  // the graph's own name
  int nodes = 0;
  int tensors = 0;
  PlanReport report;          // the plan itself is dropped (report.plan is empty)
  double bound_gap = 0;       // planned_max_live / lower_bound - 1: how far from proven optimal
  double saving_ceiling = 0;  // 1 - lower_bound / reference_reserved: the most any plan can save
};

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
};

// The graph files (*.json, *.json.gz) of a directory, sorted by name; a file is itself.
std::vector<std::string> list_graph_files(const std::string& path);

BenchRow bench_graph(const std::string& path, const PlanOptions& options);
BenchSummary summarize(const std::vector<BenchRow>& rows);

std::string bench_csv(const std::vector<BenchRow>& rows);
// A Markdown table (MiB, percent, seconds) followed by the summary.
std::string bench_markdown(const std::vector<BenchRow>& rows);
std::string summary_text(const BenchSummary& summary);

}  // namespace tensorplan::mem
