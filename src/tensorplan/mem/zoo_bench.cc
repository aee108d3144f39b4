#include "tensorplan/mem/zoo_bench.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "tensorplan/common/error.h"
#include "tensorplan/common/json.h"
#include "tensorplan/mem/gradients.h"
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
  const Json doc = load_json(path);
  const Graph graph = graph_from_json(doc, path);
  BenchRow row;
  row.file = fs::path(path).filename().string();
  row.graph = graph.name;
  row.nodes = graph.num_nodes();
  row.tensors = graph.num_tensors();
  row.exported = doc.contains("phases");
  if (graph.gradients == GradientSemantics::kKeep) {
    KeepAndFused both = plan_keep_and_fused(graph, with_fused_gradients(graph), options, options);
    row.report = std::move(both.keep);
    row.fused = std::move(both.fused);
    row.fused->plan = Plan();
  } else {
    row.report = plan_memory(graph, options);
  }
  row.report.plan = Plan();  // rows are kept for a whole zoo; the plans are not needed
  const PlanReport& r = row.report;
  row.bound_gap =
      r.lower_bound > 0
          ? static_cast<double>(r.planned_max_live) / static_cast<double>(r.lower_bound) - 1.0
          : 0.0;
  auto ceiling = [&](std::int64_t lower_bound) {
    return r.reference_reserved > 0
               ? 1.0 - static_cast<double>(lower_bound) / static_cast<double>(r.reference_reserved)
               : 0.0;
  };
  row.saving_ceiling = ceiling(r.lower_bound);
  if (row.fused) row.fused_saving_ceiling = ceiling(row.fused->lower_bound);
  return row;
}

BenchSummary summarize(const std::vector<BenchRow>& rows) {
  BenchSummary s;
  s.graphs = static_cast<int>(rows.size());
  if (rows.empty()) return s;
  std::vector<double> seconds;
  s.min_saving = rows.front().report.saving;
  s.max_saving = rows.front().report.saving;
  s.min_fused_saving = 1;
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
    if (!row.fused) continue;
    const PlanReport& f = *row.fused;
    ++s.fused_graphs;
    s.average_fused_saving += f.saving;
    s.average_fused_ceiling += row.fused_saving_ceiling;
    s.min_fused_saving = std::min(s.min_fused_saving, f.saving);
    const double gap = row.fused_saving_ceiling - f.saving;
    if (s.max_fused_ceiling_gap_graph.empty() || gap > s.max_fused_ceiling_gap) {
      s.max_fused_ceiling_gap = gap;
      s.max_fused_ceiling_gap_graph = row.graph;
    }
    s.fused_within_1pct_of_ceiling += gap <= 0.01;
    s.fused_worse_than_keep += f.planned_total > r.planned_total;
    s.average_from_allocator += f.split.allocator;
    s.average_from_order += f.split.order;
    s.average_from_gradients += f.split.gradients;
    s.average_from_placement += f.split.placement;
  }
  s.median_seconds = median(seconds);
  if (s.fused_graphs > 0) {
    const double n = s.fused_graphs;
    for (double* x : {&s.average_fused_saving, &s.average_fused_ceiling, &s.average_from_allocator,
                      &s.average_from_order, &s.average_from_gradients, &s.average_from_placement})
      *x /= n;
  } else {
    s.min_fused_saving = 0;
  }
  return s;
}

std::string bench_csv(const std::vector<BenchRow>& rows) {
  std::string out =
      "graph,exported,nodes,tensors,reference_reserved,reference_max_live,planned_max_live,"
      "lower_bound,bound_gap,alignment,placed_max_live,arena_bytes,planned_total,saving,"
      "saving_ceiling,fragmentation,seconds,order_seconds,placement_seconds,order_method,"
      "placement_method,saving_from_allocator,saving_from_order,saving_from_placement,"
      "fused_planned_max_live,fused_lower_bound,fused_planned_total,fused_saving,"
      "fused_saving_ceiling,fused_from_allocator,fused_from_order,fused_from_gradients,"
      "fused_from_placement,fused_seconds,fused_order_method,fused_placement_method\n";
  for (const BenchRow& row : rows) {
    const PlanReport& r = row.report;
    out += fmt::format(
        "{},{},{},{},{},{},{},{},{:.6f},{},{},{},{},{:.6f},{:.6f},{:.6f},{:.3f},{:.3f},{:.3f},{},{}"
        ","
        "{:.6f},{:.6f},{:.6f}",
        row.graph, row.exported ? 1 : 0, row.nodes, row.tensors, r.reference_reserved,
        r.reference_max_live, r.planned_max_live, r.lower_bound, row.bound_gap, r.alignment,
        r.placed_max_live, r.arena_bytes, r.planned_total, r.saving, row.saving_ceiling,
        r.fragmentation, r.seconds, r.order_seconds, r.placement_seconds, r.order_method,
        r.placement_method, r.split.allocator, r.split.order, r.split.placement);
    if (row.fused) {
      const PlanReport& f = *row.fused;
      out +=
          fmt::format(",{},{},{},{:.6f},{:.6f},{:.6f},{:.6f},{:.6f},{:.6f},{:.3f},{},{}\n",
                      f.planned_max_live, f.lower_bound, f.planned_total, f.saving,
                      row.fused_saving_ceiling, f.split.allocator, f.split.order, f.split.gradients,
                      f.split.placement, f.seconds, f.order_method, f.placement_method);
    } else {
      out += ",,,,,,,,,,,,\n";
    }
  }
  return out;
}

std::string summary_text(const BenchSummary& s) {
  std::string text = fmt::format(
      "{} graphs, gradients kept: average saving {:.1f}% (min {:.1f}%, max {:.1f}%; proven "
      "ceiling {:.1f}%), {} worse than PyTorch; "
      "planned max-live within 2% of the proven lower bound on {} (largest gap {:.1f}%); "
      "fragmentation at most {:.2f}% (at most 0.5% on {}); seconds median {:.2f}, max {:.2f} "
      "(placement at most {:.2f})",
      s.graphs, 100 * s.average_saving, 100 * s.min_saving, 100 * s.max_saving,
      100 * s.average_saving_ceiling, s.worse_than_baseline, s.within_2pct_of_bound,
      100 * s.max_bound_gap, 100 * s.max_fragmentation, s.fragmentation_within_half_pct,
      s.median_seconds, s.max_seconds, s.max_placement_seconds);
  if (s.fused_graphs > 0)
    text += fmt::format(
        ". Gradients fused ({} graphs, same baseline): average saving {:.1f}% (min {:.1f}%; proven "
        "ceiling {:.1f}%) = allocator {:.1f} + order {:.1f} + fused gradients {:.1f} + placement "
        "{:.1f} points; within 1 point of the ceiling on {} (largest gap {:.2f} points, {}); {} "
        "worse than keep",
        s.fused_graphs, 100 * s.average_fused_saving, 100 * s.min_fused_saving,
        100 * s.average_fused_ceiling, 100 * s.average_from_allocator, 100 * s.average_from_order,
        100 * s.average_from_gradients, 100 * s.average_from_placement,
        s.fused_within_1pct_of_ceiling, 100 * s.max_fused_ceiling_gap,
        s.max_fused_ceiling_gap_graph, s.fused_worse_than_keep);
  return text;
}

namespace {

std::string table(const std::vector<const BenchRow*>& rows) {
  std::string out =
      "| graph | nodes | PyTorch reserved MiB | max-live ref MiB | max-live planned MiB | lower "
      "bound MiB | gap to bound | arena MiB | saving | ceiling | fused saving | fused ceiling | "
      "fused split: allocator + order + gradients + placement | fragmentation | s (order + "
      "place) | order / placement |\n"
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n";
  for (const BenchRow* row : rows) {
    const PlanReport& r = row->report;
    std::string fused = "– | – | –";
    if (row->fused) {
      const PlanReport& f = *row->fused;
      fused = fmt::format("{:.1f}% | {:.1f}% | {:.1f} + {:.1f} + {:.1f} {} {:.1f}", 100 * f.saving,
                          100 * row->fused_saving_ceiling, 100 * f.split.allocator,
                          100 * f.split.order, 100 * f.split.gradients,
                          f.split.placement < 0 ? "−" : "+", 100 * std::abs(f.split.placement));
    }
    out += fmt::format(
        "| {} | {} | {:.1f} | {:.1f} | {:.1f} | {:.1f} | {:.1f}% | {:.1f} | {:.1f}% | {:.1f}% | {} "
        "| {:.3f}% | {:.2f} ({:.2f} + {:.2f}) | {} / {} |\n",
        row->graph, row->nodes, mib(r.reference_reserved), mib(r.reference_max_live),
        mib(r.planned_max_live), mib(r.lower_bound), 100 * row->bound_gap, mib(r.planned_total),
        100 * r.saving, 100 * row->saving_ceiling, fused, 100 * r.fragmentation, r.seconds,
        r.order_seconds, r.placement_seconds, r.order_method, r.placement_method);
  }
  return out;
}

}  // namespace

std::string bench_markdown(const std::vector<BenchRow>& rows) {
  std::vector<const BenchRow*> exported, toys;
  std::vector<BenchRow> exported_rows, toy_rows;
  for (const BenchRow& row : rows) {
    (row.exported ? exported : toys).push_back(&row);
    (row.exported ? exported_rows : toy_rows).push_back(row);
  }
  std::string out;
  if (!exported.empty())
    out += table(exported) + "\n" + summary_text(summarize(exported_rows)) + ".\n";
  if (!toys.empty()) {
    if (!out.empty()) out += "\n";
    out += "Hand-made toy graphs (no exporter phases), apart from the averages above:\n\n" +
           table(toys) + "\n" + summary_text(summarize(toy_rows)) + ".\n";
  }
  return out;
}

}  // namespace tensorplan::mem
