#include "support/cli_runner.h"

#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>

#include "tensorplan/common/file_io.h"

namespace tensorplan::testing {

CliResult run_command(const std::string& command) {
  static std::atomic<int> counter{0};
  const auto dir =
      std::filesystem::temp_directory_path() / fmt::format("tensorplan-cli-{}", ::getpid());
  std::filesystem::create_directories(dir);
  const int n = counter++;
  const std::string out = (dir / fmt::format("stdout.{}", n)).string();
  const std::string err = (dir / fmt::format("stderr.{}", n)).string();
  const int status = std::system(fmt::format("{} >{} 2>{}", command, out, err).c_str());
  CliResult result;
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = read_file(out);
  result.err = read_file(err);
  std::filesystem::remove(out);
  std::filesystem::remove(err);
  return result;
}

CliResult run_cli(const std::string& arguments) {
  return run_command(fmt::format("{} {}", TENSORPLAN_CLI, arguments));
}

}  // namespace tensorplan::testing
