#include "tensorplan/mem/zoo_bench.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "tensorplan/common/error.h"
#include "tensorplan/mem/graph_io.h"

namespace tensorplan::mem {

namespace fs = std::filesystem;

namespace {

bool is_graph_file(const std::string& name) {
  auto ends_with = [&](const std::string& suffix) {
    return name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends_with(".json") || ends_with(".json.gz");
}

double mib(std::int64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 == 1 ? v[m] : (v[m - 1] + v[m]) / 2;
}

}  // namespace

std::vector<std::string> list_graph_files(const std::string& path) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return {path};
  if (!fs::is_directory(path, ec)) fail("{}: no such file or directory", path);
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(path, ec))
    if (entry.is_regular_file() && is_graph_file(entry.path().filename().string()))
      files.push_back(entry.path().string());
  if (ec) fail("{}: cannot list the directory: {}", path, ec.message());
  std::sort(files.begin(), files.end());
  if (files.empty()) fail("{}: no graph files (*.json, *.json.gz) in this directory", path);
  return files;
}

BenchRow bench_graph(const std::string& path, const PlanOptions& options) {
  const Graph graph = read_graph(path);
  BenchRow row;
  row.file = fs::path(path).filename().string();
  row.graph = graph.name;
  row.nodes = graph.num_nodes();
  row.tensors = graph.num_tensors();
  row.report = plan_memory(graph, options);
  row.report.plan = Plan();  // rows are kept for a whole zoo; the plans are not needed
  const PlanReport& r = row.report;
  row.bound_gap =
      r.lower_bound > 0
          ? static_cast<double>(r.planned_max_live) / static_cast<double>(r.lower_bound) - 1.0
          : 0.0;
  row.saving_ceiling =
      r.reference_reserved > 0
          ? 1.0 - static_cast<double>(r.lower_bound) / static_cast<double>(r.reference_reserved)
          : 0.0;
  return row;
}

BenchSummary summarize(const std::vector<BenchRow>& rows) {
  BenchSummary s;
  s.graphs = static_cast<int>(rows.size());
  if (rows.empty()) return s;
  std::vector<double> seconds;
  s.min_saving = rows.front().report.saving;
  s.max_saving = rows.front().report.saving;
  for (const BenchRow& row : rows) {
    const PlanReport& r = row.report;
    s.average_saving += r.saving / static_cast<double>(rows.size());
    s.average_saving_ceiling += row.saving_ceiling / static_cast<double>(rows.size());
    s.min_saving = std::min(s.min_saving, r.saving);
    s.max_saving = std::max(s.max_saving, r.saving);
    s.worse_than_baseline += r.planned_total > r.reference_reserved;
    s.within_2pct_of_bound += row.bound_gap <= 0.02;
    s.max_bound_gap = std::max(s.max_bound_gap, row.bound_gap);
    s.max_fragmentation = std::max(s.max_fragmentation, r.fragmentation);
    s.fragmentation_within_half_pct += r.fragmentation <= 0.005;
    s.max_seconds = std::max(s.max_seconds, r.seconds);
    s.max_placement_seconds = std::max(s.max_placement_seconds, r.placement_seconds);
    seconds.push_back(r.seconds);
  }
  s.median_seconds = median(seconds);
  return s;
}

std::string bench_csv(const std::vector<BenchRow>& rows) {
  std::string out =
      "graph,nodes,tensors,reference_reserved,reference_max_live,planned_max_live,lower_bound,"
      "bound_gap,alignment,placed_max_live,arena_bytes,planned_total,saving,saving_ceiling,"
      "fragmentation,seconds,order_seconds,placement_seconds,order_method,placement_method\n";
  for (const BenchRow& row : rows) {
    const PlanReport& r = row.report;
    out += fmt::format(
        "{},{},{},{},{},{},{},{:.6f},{},{},{},{},{:.6f},{:.6f},{:.6f},{:.3f},{:.3f},{:.3f},{},{}\n",
        row.graph, row.nodes, row.tensors, r.reference_reserved, r.reference_max_live,
        r.planned_max_live, r.lower_bound, row.bound_gap, r.alignment, r.placed_max_live,
        r.arena_bytes, r.planned_total, r.saving, row.saving_ceiling, r.fragmentation, r.seconds,
        r.order_seconds, r.placement_seconds, r.order_method, r.placement_method);
  }
  return out;
}

std::string summary_text(const BenchSummary& s) {
  return fmt::format(
      "{} graphs: average saving {:.1f}% (min {:.1f}%, max {:.1f}%; proven ceiling {:.1f}%), {} "
      "worse than PyTorch; "
      "planned max-live within 2% of the proven lower bound on {} (largest gap {:.1f}%); "
      "fragmentation at most {:.2f}% (at most 0.5% on {}); seconds median {:.2f}, max {:.2f} "
      "(placement at most {:.2f})",
      s.graphs, 100 * s.average_saving, 100 * s.min_saving, 100 * s.max_saving,
      100 * s.average_saving_ceiling, s.worse_than_baseline, s.within_2pct_of_bound,
      100 * s.max_bound_gap, 100 * s.max_fragmentation, s.fragmentation_within_half_pct,
      s.median_seconds, s.max_seconds, s.max_placement_seconds);
}

std::string bench_markdown(const std::vector<BenchRow>& rows) {
  std::string out =
      "| graph | nodes | PyTorch reserved MiB | max-live ref MiB | max-live planned MiB | lower "
      "bound MiB | gap to bound | arena MiB | saving | ceiling | fragmentation | s (order + place) "
      "| order / placement |\n"
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n";
  for (const BenchRow& row : rows) {
    const PlanReport& r = row.report;
    out += fmt::format(
        "| {} | {} | {:.1f} | {:.1f} | {:.1f} | {:.1f} | {:.1f}% | {:.1f} | {:.1f}% | {:.1f}% | "
        "{:.3f}% | {:.2f} ({:.2f} + {:.2f}) | {} / {} |\n",
        row.graph, row.nodes, mib(r.reference_reserved), mib(r.reference_max_live),
        mib(r.planned_max_live), mib(r.lower_bound), 100 * row.bound_gap, mib(r.planned_total),
        100 * r.saving, 100 * row.saving_ceiling, 100 * r.fragmentation, r.seconds, r.order_seconds,
        r.placement_seconds, r.order_method, r.placement_method);
  }
  out += "\n" + summary_text(summarize(rows)) + ".\n";
  return out;
}

}  // namespace tensorplan::mem
