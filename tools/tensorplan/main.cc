// tensorplan: memory planning for training (mem) and learned performance models (perf).
// The CLI only parses and prints; all logic lives in the library.
#include "commands.h"
#include "run_app.h"

int main(int argc, char** argv) {
  CLI::App app{
      "tensorplan: plan the memory of a training step (mem) and predict the speed of tensor\n"
      "pipeline schedules (perf). Run `tensorplan mem --help` or `tensorplan perf --help`."};
  app.name("tensorplan");
  app.require_subcommand(1);
  app.set_version_flag("--version", "tensorplan " TENSORPLAN_VERSION);
  app.footer(
      "\nExamples:\n"
      "  tensorplan mem plan models/resnet50-b32-sgd.json.gz -o plan.json   # order + offsets\n"
      "  tensorplan mem place A.csv -o A.placed.csv                          # MiniMalloc CSV\n"
      "  tensorplan perf eval data/perf                  # the shipped cost models, side by side\n"
      "Every subcommand has --help with an example; -o/--output writes files, -q/--quiet\n"
      "silences progress, --json prints one JSON object.");

  CLI::App* mem = app.add_subcommand(
      "mem", "Memory planning: order operators and place tensors to need less memory");
  mem->require_subcommand(1);
  mem->footer("\nExample: tensorplan mem plan models/resnet50-b32-sgd.json.gz -o plan.json");
  tensorplan::cli::add_mem_plan(*mem);
  tensorplan::cli::add_mem_simulate(*mem);
  tensorplan::cli::add_mem_check(*mem);
  tensorplan::cli::add_mem_place(*mem);
  tensorplan::cli::add_mem_bench(*mem);
  tensorplan::cli::add_mem_report(*mem);

  CLI::App* perf = app.add_subcommand(
      "perf", "Performance models: measure Halide schedules, train and use cost models");
  perf->require_subcommand(1);
  perf->footer("\nExample: tensorplan perf tune data/perf/gcn.tpmodel --pipeline 18");
  tensorplan::cli::add_perf_commands(*perf);

  return tensorplan::cli::run_app(app, argc, argv);
}
