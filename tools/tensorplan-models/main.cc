// tensorplan-models: the cost-model commands of `tensorplan perf` (train, eval, predict, tune).
// `tensorplan perf train ...` runs this program as `tensorplan-models perf train ...`; it is a
// separate program only so that libtorch's start-up cost stays out of every other command.
#include "../tensorplan/run_app.h"
#include "model_commands.h"

int main(int argc, char** argv) {
  CLI::App app{"tensorplan perf: train, evaluate and use the learned cost models"};
  app.name("tensorplan");
  app.require_subcommand(1);
  CLI::App* perf = app.add_subcommand(
      "perf", "Performance models: measure Halide schedules, train and use cost models");
  perf->require_subcommand(1);
  tensorplan::cli::add_model_commands(*perf);
  return tensorplan::cli::run_app(app, argc, argv);
}
