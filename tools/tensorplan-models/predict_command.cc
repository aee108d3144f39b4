// tensorplan perf predict: a trained model's predicted run time next to the measured one, for
// every timed schedule of a dataset (or of one pipeline, or one split), as text or JSON.
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "../tensorplan/numeric_options.h"
#include "model_commands.h"
#include "tensorplan/common/error.h"
#include "tensorplan/common/json.h"
#include "tensorplan/perf/models/cost_model.h"
#include "tensorplan/perf/models/evaluate.h"

namespace tensorplan::cli {

namespace {

struct PredictArgs {
  std::string model;
  std::string data;
  std::optional<int> pipeline;
  std::string split = "all";
  bool json = false;
};

bool selected(const PredictArgs& args, const perf::PipelineSamples& p) {
  if (args.pipeline && p.pipeline != *args.pipeline) return false;
  return args.split == "all" || args.split == perf::split_name(perf::split_of(p.pipeline));
}

// JSON has no NaN: not-applicable metrics are null.
Json number_or_null(double x) { return std::isnan(x) ? Json(nullptr) : Json(x); }

void run(const PredictArgs& args) {
  auto model = perf::load_cost_model(args.model);
  const auto all = perf::load_samples(args.data);
  std::vector<perf::PipelineSamples> pipelines;
  for (const auto& p : all)
    if (selected(args, p)) pipelines.push_back(p);
  if (pipelines.empty()) {
    if (args.pipeline) {
      std::string known;  // a few that do exist, to help pick one
      for (std::size_t i = 0; i < all.size() && i < 8; ++i)
        known += (i ? ", " : "") + std::to_string(all[i].pipeline);
      fail("{}: no pipeline {} with timed schedules (there are {}{}{})", args.data, *args.pipeline,
           all.size(), all.empty() ? "" : ": ", known + (all.size() > 8 ? ", ..." : ""));
    }
    fail("{}: no pipelines with timed schedules{}", args.data,
         args.split == "all" ? "" : " in the " + args.split + " split");
  }
  const perf::ModelEvaluation evaluation = perf::evaluate_model(*model, pipelines);
  const std::string unit = model->predicts_seconds() ? "predicted_seconds" : "predicted_score";
  Json rows = Json::array();
  if (!args.json)
    std::printf("%8s %6s %-10s %14s %14s\n", "pipeline", "sample", "split",
                model->predicts_seconds() ? "predicted_s" : "score", "measured_s");
  std::size_t row = 0;  // evaluation.predicted is in pipeline, then schedule order
  for (const perf::PipelineSamples& p : pipelines) {
    const char* split = perf::split_name(perf::split_of(p.pipeline));
    for (const perf::ScheduleSample& s : p.schedules) {
      const double predicted = evaluation.predicted[row++];
      if (args.json) {
        rows.push_back({{"pipeline", p.pipeline},
                        {"sample", s.sample},
                        {"split", split},
                        {unit, predicted},
                        {"measured_seconds", s.seconds}});
      } else {
        std::printf("%8d %6d %-10s %14.6g %14.6g\n", p.pipeline, s.sample, split, predicted,
                    s.seconds);
      }
    }
  }
  const perf::Metrics& m = evaluation.metrics;
  if (args.json) {
    const Json metrics = {{"pipelines", m.pipelines},
                          {"mape", number_or_null(m.mape)},
                          {"rmse_log", number_or_null(m.rmse_log)},
                          {"kendall_tau", number_or_null(m.kendall_tau)},
                          {"pairwise_accuracy", number_or_null(m.pairwise_accuracy)},
                          {"ordering_rate", number_or_null(m.ordering_rate)},
                          {"top1_slowdown", number_or_null(m.top1_slowdown)},
                          {"top5_slowdown", number_or_null(m.top5_slowdown)}};
    std::printf(
        "%s\n",
        Json{{"model", model->name()}, {"predictions", rows}, {"metrics", metrics}}.dump().c_str());
    return;
  }
  std::printf(
      "%s on %d pipeline%s: MAPE %.1f%%, rmse-log %.3f, tau %.3f, pairwise %.3f, top-1 %.1f%%, "
      "top-5 %.1f%%\n",
      model->name().c_str(), m.pipelines, m.pipelines == 1 ? "" : "s", 100 * m.mape, m.rmse_log,
      m.kendall_tau, m.pairwise_accuracy, 100 * m.top1_slowdown, 100 * m.top5_slowdown);
}

}  // namespace

void add_predict_command(CLI::App& perf) {
  auto args = std::make_shared<PredictArgs>();
  CLI::App* predict = perf.add_subcommand(
      "predict", "Predict the run time of a dataset's schedules with a trained model");
  predict->footer(
      "\nExample:\n"
      "  tensorplan perf predict data/perf/gcn.tpmodel data/perf --split test --pipeline 18");
  predict->add_option("MODEL", args->model, "a model file written by `perf train`")->required();
  predict->add_option("DATA", args->data, "a shard file or a directory of shards")->required();
  predict->add_option("--pipeline", args->pipeline, "only this pipeline (its index)")
      ->check(cli::integer_in(0, cli::kMaxInt));
  predict->add_option("--split", args->split, "only this split's pipelines")
      ->check(CLI::IsMember({"all", "train", "validation", "test"}));
  predict->add_flag("--json", args->json,
                    "one JSON object on stdout: {model, predictions: [...], metrics}");
  predict->callback([args] { run(*args); });
}

}  // namespace tensorplan::cli
