// tensorplan perf weights: hands a (retrained) Adams2019 model back to Halide as a `.weights`
// file, which the autoscheduler loads with HL_WEIGHTS_DIR=<file>.weights.
#include <cstdio>
#include <memory>
#include <string>

#include "model_commands.h"
#include "tensorplan/common/error.h"
#include "tensorplan/common/file_io.h"
#include "tensorplan/perf/models/halide_weights.h"

namespace tensorplan::cli {

namespace {

struct WeightsArgs {
  std::string model;
  std::string output;
  bool quiet = false;
};

void run(const WeightsArgs& args) {
  const std::string bytes = perf::halide_weights_of_model_file(args.model);
  write_file_atomic(args.output, bytes);
  if (!args.quiet)
    std::printf("%s: Adams2019 weights (%zu bytes); use them with HL_WEIGHTS_DIR=%s\n",
                args.output.c_str(), bytes.size(), args.output.c_str());
}

}  // namespace

void add_weights_command(CLI::App& perf) {
  auto args = std::make_shared<WeightsArgs>();
  CLI::App* weights = perf.add_subcommand(
      "weights", "Write a halide or halide-retrained model as a Halide .weights file");
  weights->description(
      "Write the network of a halide or halide-retrained model as a Halide .weights file, so that\n"
      "Adams2019 itself searches with it: set HL_WEIGHTS_DIR to the file (it must end in\n"
      ".weights) when running a generator with autoscheduler.name=Adams2019.\n"
      "\nExample:\n"
      "  tensorplan perf weights data/perf/halide-retrained.tpmodel -o retrained.weights\n"
      "  HL_WEIGHTS_DIR=$PWD/retrained.weights ./my_generator -g my_gen ... "
      "autoscheduler=Adams2019");
  weights->add_option("MODEL", args->model, "a halide or halide-retrained model file")->required();
  weights->add_option("-o,--output", args->output, "the .weights file to write")->required();
  weights->add_flag("-q,--quiet", args->quiet, "print nothing on success");
  weights->callback([args] {
    if (args->output.size() < 8 || args->output.substr(args->output.size() - 8) != ".weights")
      fail(
          "-o {}: the file name must end in .weights (Adams2019 reads any other HL_WEIGHTS_DIR "
          "as a directory)",
          args->output);
    run(*args);
  });
}

}  // namespace tensorplan::cli
