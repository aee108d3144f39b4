// Temporary files and directories for tests, under the system's temporary directory and named
// after the process (and the test), so that tests running side by side never share one.
#pragma once

#include <filesystem>
#include <string>

namespace tensorplan::testing {

// A path for a file `name` of the current test: <tmp>/tensorplan-test-<pid>/<Suite>.<Test>.<name>.
std::string temp_path(const std::string& name);

// A fresh temporary directory, removed with the object.
class TestDir {
 public:
  explicit TestDir(const std::string& name);
  ~TestDir();
  TestDir(const TestDir&) = delete;
  TestDir& operator=(const TestDir&) = delete;
  std::string str() const { return path_.string(); }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace tensorplan::testing
