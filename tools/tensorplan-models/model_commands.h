// The cost-model subcommands of `tensorplan perf`; each lives in its own file and registers itself
// in add_model_commands (model_commands.cc).
#pragma once

#include <CLI/CLI.hpp>

namespace tensorplan::cli {

void add_model_commands(CLI::App& perf);

void add_train_command(CLI::App& perf);    // train_command.cc
void add_eval_command(CLI::App& perf);     // eval_command.cc
void add_predict_command(CLI::App& perf);  // predict_command.cc
void add_tune_command(CLI::App& perf);     // tune_command.cc
void add_weights_command(CLI::App& perf);  // weights_command.cc

}  // namespace tensorplan::cli
