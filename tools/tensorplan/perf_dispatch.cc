// `tensorplan perf ...` runs in sibling programs, the way git runs git-foo, so that the mem
// commands start fast: tensorplan-perf (gen, merge, stats) links Halide, LLVM and MPI, and
// tensorplan-models (train, eval, predict, tune) also libtorch, whose start-up alone costs ~0.7 s.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "commands.h"
#include "tensorplan/common/error.h"

namespace tensorplan::cli {

namespace {

// A program beside this executable (resolved through /proc/self/exe, so a symlinked or copied
// set works from anywhere).
std::string sibling_program(const std::string& name) {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) fail("cannot find the tensorplan executable's directory: {}", ec.message());
  return (self.parent_path() / name).string();
}

[[noreturn]] void run_sibling(const std::string& name, const std::string& command,
                              const std::vector<std::string>& args) {
  const std::string program = sibling_program(name);
  std::vector<std::string> argv_strings = {program, "perf", command};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  ::execv(program.c_str(), argv.data());
  fail("cannot run {}: {} (it is built with tensorplan; is the build complete?)", program,
       std::strerror(errno));
}

void add_forwarded(CLI::App& perf, const std::string& program, const std::string& name,
                   const std::string& summary) {
  CLI::App* sub = perf.add_subcommand(name, summary);
  sub->prefix_command();  // everything after the name goes to the sibling unparsed
  sub->set_help_flag();   // ... --help included: the real help lives there
  sub->callback([sub, program, name] { run_sibling(program, name, sub->remaining()); });
}

}  // namespace

void add_perf_commands(CLI::App& perf) {
  add_forwarded(perf, "tensorplan-perf", "gen",
                "Generate random Halide pipelines, sample Adams2019 schedules, compile and time\n"
                "them, and append them to a dataset shard (resumable)");
  add_forwarded(perf, "tensorplan-perf", "merge",
                "Merge the shards of one run (files or directories) into one shard file");
  add_forwarded(perf, "tensorplan-perf", "stats",
                "Summarise a measured dataset: failures, run times, noise, spread within\n"
                "pipelines and (format 2) the agreement of the repeatability pass");
  add_forwarded(perf, "tensorplan-models", "train",
                "Train a cost model (gcn, halide-retrained, xgboost, xgboost-rank) on a dataset");
  add_forwarded(perf, "tensorplan-models", "eval",
                "Evaluate cost models on a dataset's test pipelines, side by side");
  add_forwarded(perf, "tensorplan-models", "predict",
                "Predict the run time of schedules with a trained cost model");
  add_forwarded(perf, "tensorplan-models", "tune",
                "Autotune a pipeline: rank sampled schedules with a model, time the best");
  add_forwarded(perf, "tensorplan-models", "weights",
                "Write a halide or halide-retrained model as a Halide .weights file");
}

}  // namespace tensorplan::cli
