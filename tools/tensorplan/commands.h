// Each subcommand lives in its own file and registers itself on its parent command here.
#pragma once

#include <CLI/CLI.hpp>

namespace tensorplan::cli {

// tensorplan mem ...
void add_mem_plan(CLI::App& mem);
void add_mem_simulate(CLI::App& mem);
void add_mem_check(CLI::App& mem);
void add_mem_place(CLI::App& mem);
void add_mem_bench(CLI::App& mem);
void add_mem_report(CLI::App& mem);

// tensorplan perf ...
void add_perf_commands(CLI::App& perf);

}  // namespace tensorplan::cli
