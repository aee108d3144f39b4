#include "model_commands.h"

namespace tensorplan::cli {

void add_model_commands(CLI::App& perf) {
  // perf train / eval / predict / tune register here as they are built.
  (void)perf;
}

}  // namespace tensorplan::cli
