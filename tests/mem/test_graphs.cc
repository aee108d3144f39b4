#include "test_graphs.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace tensorplan::mem::testing {

std::string temp_path(const std::string& name) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("tensorplan-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string prefix = info ? std::string(info->test_suite_name()) + "." + info->name() : "test";
  return (dir / (prefix + "." + name)).string();
}

}  // namespace tensorplan::mem::testing
