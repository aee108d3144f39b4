// Registers the `tensorplan perf ...` subcommands; each lives in its own perf_*.cc file.
#include "perf_commands.h"

#include "commands.h"

namespace tensorplan::cli {

void add_perf_commands(CLI::App& perf) {
  add_perf_gen(perf);
  add_perf_merge(perf);
  add_perf_stats(perf);
  add_perf_model_commands(perf);
}

}  // namespace tensorplan::cli
