// Range checks for numeric command-line options, shared by every subcommand. CLI11 on its own
// clamps integers that do not fit (2^64 becomes INT64_MAX), reads "010" as octal and accepts NaN
// for doubles; these validators refuse all of that with one line naming the option, the value
// (quoted, shortened) and the range, before CLI11 converts the text.
#pragma once

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>

#include "tensorplan/common/text.h"

namespace tensorplan::cli {

// An integer in canonical decimal form (digits, an optional leading '-', no leading zeros: CLI11
// would read "010" as octal 8) in [min, max].
inline CLI::Validator integer_in(std::int64_t min, std::int64_t max) {
  return CLI::Validator(
      [min, max](const std::string& text) -> std::string {
        std::int64_t value = 0;
        const char* end = text.data() + text.size();
        const auto [stop, error] = std::from_chars(text.data(), end, value);
        const bool canonical = error == std::errc() && stop == end && text == std::to_string(value);
        if (!canonical || value < min || value > max)
          return fmt::format("{} is not an integer in [{}, {}]", quote_input(text), min, max);
        return "";
      },
      fmt::format("INT in [{}, {}]", min, max));
}

// A finite number (no NaN, no infinity) in [min, max].
inline CLI::Validator number_in(double min, double max) {
  return CLI::Validator(
      [min, max](std::string& text) -> std::string {
        char* end = nullptr;
        const double value = text.empty() ? 0.0 : std::strtod(text.c_str(), &end);
        if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(value) ||
            value < min || value > max)
          return fmt::format("{} is not a finite number in [{:g}, {:g}]", quote_input(text), min,
                             max);
        return "";
      },
      fmt::format("NUMBER in [{:g}, {:g}]", min, max));
}

// The ranges the subcommands share.
inline constexpr std::int64_t kMaxAlignment = std::int64_t{1} << 30;    // as the plan format allows
inline constexpr std::int64_t kMaxBytesOption = std::int64_t{1} << 62;  // sizes are at most 2^62
inline constexpr double kMaxSeconds = 1e9;  // about 31 years: any longer is a typo
inline constexpr std::int64_t kMaxInt = std::numeric_limits<int>::max();

}  // namespace tensorplan::cli
