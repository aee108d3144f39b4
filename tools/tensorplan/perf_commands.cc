#include "commands.h"

namespace tensorplan::cli {
void add_perf_commands(CLI::App& perf) { (void)perf; }  // TODO(perf dataset): being written
}  // namespace tensorplan::cli
