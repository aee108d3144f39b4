#include "cli_runner.h"

#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>

#include "tensorplan/common/file_io.h"

namespace tensorplan::testing {

CliResult run_cli(const std::string& arguments) {
  static std::atomic<int> counter{0};
  const auto dir =
      std::filesystem::temp_directory_path() / fmt::format("tensorplan-cli-{}", ::getpid());
  std::filesystem::create_directories(dir);
  const int n = counter++;
  const std::string out = (dir / fmt::format("stdout.{}", n)).string();
  const std::string err = (dir / fmt::format("stderr.{}", n)).string();
  const std::string command = fmt::format("{} {} >{} 2>{}", TENSORPLAN_CLI, arguments, out, err);
  const int status = std::system(command.c_str());
  CliResult result;
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = read_file(out);
  result.err = read_file(err);
  std::filesystem::remove(out);
  std::filesystem::remove(err);
  return result;
}

}  // namespace tensorplan::testing
