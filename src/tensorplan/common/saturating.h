// Overflow-safe arithmetic on byte counts: sizes and offsets go up to 2^62 each, so their sums
// may not fit; these saturate at INT64_MAX instead of wrapping around.
#pragma once

#include <cstdint>
#include <limits>

namespace tensorplan {

inline constexpr std::int64_t kSaturated = std::numeric_limits<std::int64_t>::max();

// a + b, or INT64_MAX if that overflows (and then *overflow = true, when given).
inline std::int64_t add_saturating(std::int64_t a, std::int64_t b, bool* overflow = nullptr) {
  std::int64_t sum = 0;
  if (!__builtin_add_overflow(a, b, &sum)) return sum;
  if (overflow) *overflow = true;
  return kSaturated;
}

// `value` rounded up to a multiple of `multiple` (value >= 0, multiple >= 1), saturating as
// above. No intermediate value exceeds the result, so multiples up to INT64_MAX are exact.
inline std::int64_t round_up(std::int64_t value, std::int64_t multiple, bool* overflow = nullptr) {
  const std::int64_t rest = value % multiple;
  return rest == 0 ? value : add_saturating(value, multiple - rest, overflow);
}

}  // namespace tensorplan
