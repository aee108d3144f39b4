// tensorplan-perf: the dataset commands of `tensorplan perf` (gen, merge, stats).
// `tensorplan perf gen ...` runs this program as `tensorplan-perf perf gen ...`; it is a separate
// program so that Halide, LLVM and MPI (~0.1-0.3 s to load) stay out of the mem commands.
#include "../tensorplan/run_app.h"
#include "dataset_commands.h"

int main(int argc, char** argv) {
  CLI::App app{"tensorplan perf: generate, merge and summarise the measured Halide dataset"};
  app.name("tensorplan");
  app.require_subcommand(1);
  CLI::App* perf = app.add_subcommand(
      "perf", "Performance models: measure Halide schedules, train and use cost models");
  perf->require_subcommand(1);
  tensorplan::cli::add_perf_gen(*perf);
  tensorplan::cli::add_perf_merge(*perf);
  tensorplan::cli::add_perf_stats(*perf);
  return tensorplan::cli::run_app(app, argc, argv);
}
