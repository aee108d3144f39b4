// The `tensorplan perf ...` subcommands (registered by add_perf_commands in perf_commands.cc).
#pragma once

#include <CLI/CLI.hpp>

namespace tensorplan::cli {

void add_perf_gen(CLI::App& perf);
void add_perf_merge(CLI::App& perf);
void add_perf_stats(CLI::App& perf);
// train, eval, predict, tune: forwarded to the sibling program tensorplan-models.
void add_perf_model_commands(CLI::App& perf);

}  // namespace tensorplan::cli
