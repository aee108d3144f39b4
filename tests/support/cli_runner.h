// Runs the tensorplan program (TENSORPLAN_CLI) through the shell, as a user would, and captures
// its exit status, stdout and stderr.
#pragma once

#include <string>

namespace tensorplan::testing {

struct CliResult {
  int status = -1;  // exit code (-1 if it did not exit normally)
  std::string out;  // stdout
  std::string err;  // stderr
};

// `arguments` are appended to the program path unquoted (quote paths with spaces yourself).
CliResult run_cli(const std::string& arguments);

// Any shell command (e.g. the program under mpirun), captured the same way.
CliResult run_command(const std::string& command);

}  // namespace tensorplan::testing
