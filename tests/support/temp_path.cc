#include "support/temp_path.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>

namespace tensorplan::testing {

std::string temp_path(const std::string& name) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("tensorplan-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string prefix = info ? std::string(info->test_suite_name()) + "." + info->name() : "test";
  std::replace(prefix.begin(), prefix.end(), '/', '.');  // parameterised: Kinds/Suite.Test/gcn
  return (dir / (prefix + "." + name)).string();
}

TestDir::TestDir(const std::string& name)
    : path_(std::filesystem::temp_directory_path() /
            ("tensorplan-test-dir-" + name + "-" + std::to_string(::getpid()))) {
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

TestDir::~TestDir() { std::filesystem::remove_all(path_); }

}  // namespace tensorplan::testing
