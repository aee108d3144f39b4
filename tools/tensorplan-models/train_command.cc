// tensorplan perf train: fits one cost model on a dataset's training pipelines, selects it on the
// validation pipelines, writes the model file and prints a one-line summary.
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>

#include "../tensorplan/numeric_options.h"
#include "model_commands.h"
#include "tensorplan/common/error.h"
#include "tensorplan/common/timer.h"
#include "tensorplan/perf/models/cost_model.h"
#include "tensorplan/perf/models/evaluate.h"

namespace tensorplan::cli {

namespace {

struct TrainArgs {
  std::string kind;
  std::string data;
  std::string output;
  perf::TrainOptions options;
};

std::size_t schedule_count(const std::vector<perf::PipelineSamples>& pipelines) {
  std::size_t n = 0;
  for (const auto& p : pipelines) n += p.schedules.size();
  return n;
}

void run(const TrainArgs& args) {
  Stopwatch clock;
  auto model = perf::make_cost_model(args.kind);  // an unknown kind fails before any loading
  if (!args.options.model_options.empty() && model->name() != "gcn")
    fail("--model-options: {} takes none (only gcn has hyper-parameters to set)", model->name());
  const auto all = perf::load_samples(args.data);
  const auto train = perf::select_split(all, perf::Split::kTrain);
  const auto validation = perf::select_split(all, perf::Split::kValidation);
  if (train.empty())
    fail("{}: no training pipelines (no shards, or no pipeline with two timed schedules)",
         args.data);
  model->train(train, validation, args.options);
  model->save(args.output);

  std::string quality = "no validation pipelines";
  if (!validation.empty()) {
    const perf::Metrics m = perf::evaluate_model(*model, validation).metrics;
    quality =
        fmt::format("validation {} pipelines: tau {:.3f}, pairwise {:.3f}, top-1 {:.1f}%",
                    validation.size(), m.kendall_tau, m.pairwise_accuracy, 100 * m.top1_slowdown);
    if (model->predicts_seconds())
      quality += fmt::format(", MAPE {:.1f}%, rmse-log {:.3f}", 100 * m.mape, m.rmse_log);
  }
  if (model->trains()) {
    std::printf("%s: trained on %zu pipelines (%zu schedules); %s; %.1f s -> %s\n",
                model->name().c_str(), train.size(), schedule_count(train), quality.c_str(),
                clock.seconds(), args.output.c_str());
  } else {
    std::printf(
        "%s: not trained (Adams2019's shipped weights as they are; --model %s-retrained "
        "trains them); %s; %.1f s -> %s\n",
        model->name().c_str(), model->name().c_str(), quality.c_str(), clock.seconds(),
        args.output.c_str());
  }
}

}  // namespace

void add_train_command(CLI::App& perf) {
  auto args = std::make_shared<TrainArgs>();
  std::string kinds;
  for (const auto& k : perf::known_model_kinds()) kinds += (kinds.empty() ? "" : ", ") + k;
  CLI::App* train = perf.add_subcommand(
      "train", "Train a cost model on a dataset's training pipelines (validation picks the best)");
  train->footer(
      "\nExample:\n"
      "  tensorplan perf train data/perf-v2 --model gcn -o gcn.tpmodel --time-limit 600");
  train->add_option("--model", args->kind, "model kind: " + kinds)
      ->required()
      ->check(CLI::IsMember(perf::known_model_kinds()));
  train->add_option("DATA", args->data, "a shard file or a directory of shards")->required();
  train->add_option("-o,--output", args->output, "the model file to write")->required();
  train
      ->add_option(
          "--epochs", args->options.epochs,
          "epochs (gcn, halide-retrained) or boosting rounds (xgboost); 0 = the model's default")
      ->check(cli::integer_in(0, cli::kMaxInt));
  train->add_option("--seed", args->options.seed, "seed for everything random")
      ->check(cli::integer_in(0, cli::kMaxInt));
  train
      ->add_option("--threads", args->options.threads,
                   "threads (1 = deterministic; more is faster)")
      ->check(cli::integer_in(1, 1024));
  train
      ->add_option("--time-limit", args->options.time_limit,
                   "stop after this many seconds and keep the best so far (default: none)")
      ->check(cli::number_in(0, cli::kMaxSeconds));
  train->add_option("--model-options", args->options.model_options,
                    "gcn hyper-parameters as a JSON object, e.g. '{\"layers\": 2, \"readout\": "
                    "\"pooled\"}' (keys in docs/perf-models.md); recorded in the model file");
  train->add_flag("-q,--quiet", args->options.quiet, "no progress on stderr");
  train->callback([args] { run(*args); });
}

}  // namespace tensorplan::cli
