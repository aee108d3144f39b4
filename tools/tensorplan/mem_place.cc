#include "commands.h"

namespace tensorplan::cli {
void add_mem_place(CLI::App& mem) { (void)mem; }  // TODO(foundation): being written
}  // namespace tensorplan::cli
