// Maxima over ranges of a fixed sequence in constant time a query: the peak load over a buffer's
// lifetime, asked for every buffer of traces with tens of thousands of them, however long-lived.
// A sparse table: level k holds, from each position, the maximum of the 2^k values there.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <vector>

namespace tensorplan::mem::place {

template <typename T>
class RangeMax {
 public:
  explicit RangeMax(std::vector<T> values) : levels_{std::move(values)} {
    const std::size_t n = levels_.front().size();
    for (std::size_t width = 2; width <= n; width *= 2) {
      const std::vector<T>& prev = levels_.back();
      std::vector<T> next(n - width + 1);
      for (std::size_t i = 0; i < next.size(); ++i)
        next[i] = std::max(prev[i], prev[i + width / 2]);
      levels_.push_back(std::move(next));
    }
  }

  // The maximum of values [begin, end); begin < end <= size.
  T max(std::size_t begin, std::size_t end) const {
    const std::size_t k = static_cast<std::size_t>(std::bit_width(end - begin)) - 1;
    return std::max(levels_[k][begin], levels_[k][end - (std::size_t{1} << k)]);
  }

 private:
  std::vector<std::vector<T>> levels_;
};

}  // namespace tensorplan::mem::place
