// tensorplan perf merge: placeholder until the merge command lands.
#include "perf_commands.h"

namespace tensorplan::cli {
void add_perf_merge(CLI::App& perf) { (void)perf; }
}  // namespace tensorplan::cli
