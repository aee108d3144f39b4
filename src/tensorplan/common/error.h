// The one exception type of tensorplan. Its message carries the context a user needs to fix the
// input (file, JSON path, id); the CLI prints it as one line and exits with code 2.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace tensorplan {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Throws Error with a fmt-formatted message.
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace tensorplan
