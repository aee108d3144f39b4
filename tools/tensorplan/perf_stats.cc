// tensorplan perf stats: placeholder until the stats command lands.
#include "perf_commands.h"

namespace tensorplan::cli {
void add_perf_stats(CLI::App& perf) { (void)perf; }
}  // namespace tensorplan::cli
