// The dataset commands of `tensorplan perf` (gen, merge, stats), one per file, run by the
// tensorplan-perf program.
#pragma once

#include <CLI/CLI.hpp>

namespace tensorplan::cli {

void add_perf_gen(CLI::App& perf);
void add_perf_merge(CLI::App& perf);
void add_perf_stats(CLI::App& perf);

}  // namespace tensorplan::cli
