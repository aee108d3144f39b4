// `tensorplan perf train|eval|predict|tune` run in a sibling program, tensorplan-models, the way
// git runs git-foo: the cost models link libtorch, whose start-up costs ~0.7 s, and every other
// command (all of mem, perf gen/stats/merge) should not pay that.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "perf_commands.h"
#include "tensorplan/common/error.h"

namespace tensorplan::cli {

namespace {

// tensorplan-models beside this executable (resolved through /proc/self/exe, so a symlinked or
// copied pair works from anywhere).
std::string models_program() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) fail("cannot find the tensorplan executable's directory: {}", ec.message());
  return (self.parent_path() / "tensorplan-models").string();
}

[[noreturn]] void run_models_program(const std::string& command,
                                     const std::vector<std::string>& args) {
  const std::string program = models_program();
  std::vector<std::string> argv_strings = {program, "perf", command};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  ::execv(program.c_str(), argv.data());
  fail("cannot run {}: {} (it is built with tensorplan; is the build complete?)", program,
       std::strerror(errno));
}

void add_forwarded(CLI::App& perf, const std::string& name, const std::string& summary) {
  CLI::App* sub = perf.add_subcommand(name, summary);
  sub->prefix_command();  // everything after the name goes to tensorplan-models unparsed
  sub->set_help_flag();   // ... --help included: the real help lives there
  sub->callback([sub, name] { run_models_program(name, sub->remaining()); });
}

}  // namespace

void add_perf_model_commands(CLI::App& perf) {
  add_forwarded(perf, "train",
                "Train a cost model (gcn, halide-retrained, xgboost, xgboost-rank) on a dataset");
  add_forwarded(perf, "eval", "Evaluate cost models on a dataset's test pipelines, side by side");
  add_forwarded(perf, "predict", "Predict the run time of schedules with a trained cost model");
  add_forwarded(perf, "tune",
                "Autotune a pipeline: rank sampled schedules with a model, time the best");
}

}  // namespace tensorplan::cli
