// tensorplan perf eval: every given cost model on the same pipelines of a dataset (the fixed test
// split by default), side by side — the comparison table of docs/perf-models.md, its JSON, and
// the predicted-vs-measured picture.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model_commands.h"
#include "tensorplan/common/error.h"
#include "tensorplan/common/file_io.h"
#include "tensorplan/common/json.h"
#include "tensorplan/perf/dataset.h"
#include "tensorplan/perf/dataset_stats.h"
#include "tensorplan/perf/models/cost_model.h"
#include "tensorplan/perf/models/evaluate.h"
#include "tensorplan/perf/models/scatter_svg.h"

namespace tensorplan::cli {

namespace {

namespace fs = std::filesystem;

struct EvalArgs {
  std::vector<std::string> paths;  // MODEL... DATA
  std::string split = "test";
  bool json = false;
  std::string plot;
  std::string markdown;
};

// Model files named on the command line; a directory stands for its *.tpmodel files.
std::vector<std::string> model_files(const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const std::string& path : paths) {
    if (!fs::exists(path)) fail("{}: no such file or directory", path);
    if (!fs::is_directory(path)) {
      files.push_back(path);
      continue;
    }
    std::vector<std::string> in_dir;
    for (const auto& entry : fs::directory_iterator(path))
      if (entry.path().extension() == ".tpmodel") in_dir.push_back(entry.path().string());
    if (in_dir.empty()) fail("{}: no model files (*.tpmodel) in this directory", path);
    std::sort(in_dir.begin(), in_dir.end());
    files.insert(files.end(), in_dir.begin(), in_dir.end());
  }
  return files;
}

perf::Split parse_split(const std::string& name) {
  if (name == "test") return perf::Split::kTest;
  if (name == "validation") return perf::Split::kValidation;
  if (name == "train") return perf::Split::kTrain;
  fail("--split must be train, validation or test, not '{}'", name);
}

// Position of a kind in the documented order (gcn first: it is the one the others are
// compared with), unknown kinds last.
std::size_t kind_rank(const std::string& kind) {
  const std::vector<std::string> kinds = perf::known_model_kinds();
  const auto it = std::find(kinds.begin(), kinds.end(), kind);
  return static_cast<std::size_t>(it - kinds.begin());
}

std::string percent(double v) { return std::isnan(v) ? "-" : fmt::format("{:.2f}%", 100 * v); }
std::string fixed3(double v) { return std::isnan(v) ? "-" : fmt::format("{:.3f}", v); }
// A baseline's error as a multiple of the GCN's ("-" without a GCN or where undefined).
std::string times(double error, double gcn_error) {
  if (std::isnan(error) || std::isnan(gcn_error) || gcn_error <= 0) return "-";
  return fmt::format("{:.2f}x", error / gcn_error);
}

// A model's kind from its label: "gcn" of "gcn (no-messages.tpmodel)" (see
// label_by_file_where_kinds_repeat).
std::string kind_of(const std::string& label) { return label.substr(0, label.find(' ')); }

// The first GCN (the reference of the "/ GCN's" columns), also when it is labelled by its file.
const perf::ModelEvaluation* find_gcn(const std::vector<perf::ModelEvaluation>& evaluations) {
  for (const auto& e : evaluations)
    if (kind_of(e.model) == "gcn") return &e;
  return nullptr;
}

// Models of the same kind (a GCN and its ablations, say) are told apart by their file names:
// "gcn (no-messages.tpmodel)".
void label_by_file_where_kinds_repeat(std::vector<perf::ModelEvaluation>& evaluations,
                                      const std::vector<std::string>& files) {
  std::map<std::string, int> count;
  for (const auto& e : evaluations) ++count[e.model];
  for (std::size_t i = 0; i < evaluations.size(); ++i) {
    if (count[evaluations[i].model] > 1)
      evaluations[i].model +=
          fmt::format(" ({})", std::filesystem::path(files[i]).filename().string());
  }
}

std::string markdown_table(const std::vector<perf::ModelEvaluation>& evaluations) {
  const perf::ModelEvaluation* gcn = find_gcn(evaluations);
  const double gcn_mape = gcn ? gcn->metrics.mape : NAN;
  const double gcn_rmse = gcn ? gcn->metrics.rmse_log : NAN;
  std::string out =
      "| model | MAPE | MAPE / GCN's | RMSE of ln time | RMSE / GCN's | Kendall τ | pairwise "
      "accuracy | Halide ordering rate | top-1 slowdown | top-5 slowdown |\n"
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& e : evaluations) {
    const perf::Metrics& m = e.metrics;
    out += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", e.model,
                       percent(m.mape), times(m.mape, gcn_mape), fixed3(m.rmse_log),
                       times(m.rmse_log, gcn_rmse), fixed3(m.kendall_tau),
                       percent(m.pairwise_accuracy), percent(m.ordering_rate),
                       percent(m.top1_slowdown), percent(m.top5_slowdown));
  }
  return out;
}

std::string text_table(const std::vector<perf::ModelEvaluation>& evaluations) {
  const perf::ModelEvaluation* gcn = find_gcn(evaluations);
  const double gcn_mape = gcn ? gcn->metrics.mape : NAN;
  std::string out = fmt::format("{:<17} {:>9} {:>8} {:>8} {:>8} {:>9} {:>9} {:>8} {:>8} {:>10}\n",
                                "model", "MAPE", "x GCN", "RMSE ln", "tau", "pairwise", "ordering",
                                "top-1", "top-5", "pred/s");
  for (const auto& e : evaluations) {
    const perf::Metrics& m = e.metrics;
    const double rate = e.predict_seconds > 0 ? e.schedules / e.predict_seconds : NAN;
    out +=
        fmt::format("{:<17} {:>9} {:>8} {:>8} {:>8} {:>9} {:>9} {:>8} {:>8} {:>10.0f}\n", e.model,
                    percent(m.mape), times(m.mape, gcn_mape), fixed3(m.rmse_log),
                    fixed3(m.kendall_tau), percent(m.pairwise_accuracy), percent(m.ordering_rate),
                    percent(m.top1_slowdown), percent(m.top5_slowdown), rate);
  }
  return out;
}

// The labels' own repeatability: Kendall tau between the two timings of the pipelines the
// dataset timed twice (its repeatability pass), over all of them whatever the split. A model's tau
// is read against it: no model can rank the labels better than they repeat.
struct LabelRepeatability {
  int pipelines = 0;  // timed twice (0: a format-1 dataset, or none re-timed yet)
  double kendall_tau = NAN;
};

LabelRepeatability label_repeatability(const std::vector<perf::Shard>& shards) {
  const perf::Agreement a = perf::compute_stats(shards).repeatability;
  LabelRepeatability r;
  r.pipelines = a.pipelines;
  if (a.pipelines > 0) r.kendall_tau = a.kendall_tau;
  return r;
}

std::string repeatability_line(const LabelRepeatability& r) {
  if (r.pipelines == 0)
    return "labels' repeatability: not measured (no pipeline of this dataset was timed twice)\n";
  return fmt::format(
      "labels' repeatability: Kendall tau {:.3f} between two timings of {} pipeline{} (a model's "
      "tau is read against it)\n",
      r.kendall_tau, r.pipelines, r.pipelines == 1 ? "" : "s");
}

Json to_json(const std::vector<perf::ModelEvaluation>& evaluations, const std::string& split,
             int pipelines, const LabelRepeatability& repeatability) {
  Json models = Json::array();
  for (const auto& e : evaluations) {
    const perf::Metrics& m = e.metrics;
    const auto number = [](double v) { return std::isnan(v) ? Json(nullptr) : Json(v); };
    models.push_back({{"model", e.model},
                      {"mape", number(m.mape)},
                      {"rmse_log", number(m.rmse_log)},
                      {"kendall_tau", number(m.kendall_tau)},
                      {"pairwise_accuracy", number(m.pairwise_accuracy)},
                      {"ordering_rate", number(m.ordering_rate)},
                      {"top1_slowdown", number(m.top1_slowdown)},
                      {"top5_slowdown", number(m.top5_slowdown)},
                      {"predicts_seconds", e.predicts_seconds},
                      {"schedules", e.schedules},
                      {"predict_seconds", e.predict_seconds}});
  }
  return {{"split", split},
          {"pipelines", pipelines},
          {"repeatability_tau",
           std::isnan(repeatability.kendall_tau) ? Json(nullptr) : Json(repeatability.kendall_tau)},
          {"repeatability_pipelines", repeatability.pipelines},
          {"models", models}};
}

void run(const EvalArgs& args) {
  check_output_paths({args.plot, args.markdown});
  const perf::Split split = parse_split(args.split);
  const std::string data = args.paths.back();
  // One path: a directory holding both the models and the dataset (as data/perf does).
  const std::vector<std::string> model_paths =
      args.paths.size() == 1 ? args.paths
                             : std::vector<std::string>(args.paths.begin(), args.paths.end() - 1);
  const std::vector<std::string> files = model_files(model_paths);
  // Load every model before the (slower) dataset, so a bad model file fails fast.
  std::vector<std::unique_ptr<perf::CostModel>> models;
  for (const std::string& file : files) models.push_back(perf::load_cost_model(file));

  // The dataset is read once: its repeatability from the shards, then the samples.
  std::vector<perf::Shard> shards;
  for (const std::string& file : perf::list_shards(data)) shards.push_back(perf::read_shard(file));
  const LabelRepeatability repeatability = label_repeatability(shards);
  const std::vector<perf::PipelineSamples> pipelines =
      perf::select_split(perf::samples_from_shards(std::move(shards)), split);
  if (pipelines.empty())
    fail("{}: no {} pipelines with two or more timed schedules", data, args.split);

  std::vector<perf::ModelEvaluation> evaluations;
  for (auto& model : models) evaluations.push_back(perf::evaluate_model(*model, pipelines));
  label_by_file_where_kinds_repeat(evaluations, files);
  std::stable_sort(evaluations.begin(), evaluations.end(), [](const auto& a, const auto& b) {
    return kind_rank(kind_of(a.model)) < kind_rank(kind_of(b.model));
  });

  int schedules = 0;
  for (const auto& p : pipelines) schedules += static_cast<int>(p.schedules.size());
  const std::string title = fmt::format("{} split of {}: {} pipelines, {} schedules", args.split,
                                        data, pipelines.size(), schedules);
  if (!args.plot.empty())
    write_file_atomic(args.plot,
                      perf::prediction_scatter_svg(
                          evaluations, fmt::format("Predicted vs measured run time, {} "
                                                   "split: {} pipelines, {} schedules",
                                                   args.split, pipelines.size(), schedules)));
  if (!args.markdown.empty())
    write_file_atomic(args.markdown,
                      markdown_table(evaluations) + "\n" + repeatability_line(repeatability));
  if (args.json) {
    std::printf("%s\n",
                to_json(evaluations, args.split, static_cast<int>(pipelines.size()), repeatability)
                    .dump()
                    .c_str());
  } else {
    std::printf("%s\n%s%s", title.c_str(), text_table(evaluations).c_str(),
                repeatability_line(repeatability).c_str());
  }
}

}  // namespace

void add_eval_command(CLI::App& perf) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* eval = perf.add_subcommand(
      "eval", "Evaluate cost models on a dataset's test pipelines, side by side");
  eval->description(
      "Evaluate cost models on a dataset's test pipelines, side by side.\n"
      "Examples:\n"
      "  tensorplan perf eval MODEL... DATA   models (files, or directories of *.tpmodel) on DATA\n"
      "  tensorplan perf eval data/perf       the shipped models on the shipped dataset\n"
      "Metrics are computed per pipeline, then averaged: MAPE of run time, RMSE of ln run time,\n"
      "Kendall's tau, pairwise accuracy, Halide's correct-ordering rate, and the top-1 / top-5\n"
      "slowdown (how much slower the model's favourite schedules are than the fastest).\n"
      "Beside them, the labels' own repeatability: Kendall's tau between the two timings of the\n"
      "pipelines the dataset timed twice (format 2), the ceiling a model's tau is read against.");
  eval->add_option("PATH", args->paths, "MODEL... DATA (DATA: a shard file or directory)")
      ->required();
  eval->add_option("--split", args->split, "which pipelines (default: test)")
      ->check(CLI::IsMember({"test", "validation", "train"}));
  eval->add_flag("--json", args->json,
                 "print one JSON object {\"repeatability_tau\", \"models\": [{\"model\", "
                 "\"mape\", ...}]} on stdout");
  eval->add_option("--plot", args->plot, "write the predicted-vs-measured picture (SVG) here");
  eval->add_option("--md", args->markdown, "write the table as Markdown here");
  eval->callback([args] { run(*args); });
}

}  // namespace tensorplan::cli
