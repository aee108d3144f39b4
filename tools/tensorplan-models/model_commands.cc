#include "model_commands.h"

namespace tensorplan::cli {

void add_model_commands(CLI::App& perf) {
  // One line per command, in the order --help lists them.
  add_train_command(perf);

  add_eval_command(perf);

  add_predict_command(perf);

  add_tune_command(perf);

  add_weights_command(perf);
}

}  // namespace tensorplan::cli
