#include "tensorplan/mem/place/online_best_fit.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <set>

#include "tensorplan/common/error.h"

namespace tensorplan::mem::place {

namespace {

// Free address ranges below the arena top, kept coalesced: by offset (to merge neighbours) and by
// (size, offset) for best fit.
class FreeList {
 public:
  // The lowest offset of the smallest free block of at least `size` bytes, taken out of the free
  // list (its remainder stays free); or the top of the arena, which grows (absorbing a free block
  // that ends at the top).
  std::int64_t take(std::int64_t size) {
    auto fit = by_size_.lower_bound({size, -1});
    if (fit != by_size_.end()) {
      const auto [block_size, offset] = *fit;
      erase(offset, block_size);
      if (block_size > size) insert(offset + size, block_size - size);
      return offset;
    }
    std::int64_t offset = top_;
    if (!by_offset_.empty()) {
      auto last = std::prev(by_offset_.end());
      if (last->first + last->second == top_) {
        offset = last->first;
        erase(last->first, last->second);
      }
    }
    top_ = std::max(top_, offset + size);
    return offset;
  }

  // Returns [offset, offset + size) to the free list, merged with free neighbours.
  void give_back(std::int64_t offset, std::int64_t size) {
    auto next = by_offset_.lower_bound(offset);
    if (next != by_offset_.end() && next->first == offset + size) {
      size += next->second;
      erase(next->first, next->second);
    }
    next = by_offset_.lower_bound(offset);
    if (next != by_offset_.begin()) {
      auto prev = std::prev(next);
      if (prev->first + prev->second == offset) {
        offset = prev->first;
        size += prev->second;
        erase(prev->first, prev->second);
      }
    }
    insert(offset, size);
  }

  std::int64_t top() const { return top_; }

 private:
  void insert(std::int64_t offset, std::int64_t size) {
    by_offset_.emplace(offset, size);
    by_size_.insert({size, offset});
  }
  void erase(std::int64_t offset, std::int64_t size) {
    by_offset_.erase(offset);
    by_size_.erase({size, offset});
  }

  std::map<std::int64_t, std::int64_t> by_offset_;           // offset -> size
  std::set<std::pair<std::int64_t, std::int64_t>> by_size_;  // (size, offset)
  std::int64_t top_ = 0;
};

}  // namespace

Placement OnlineBestFitPlacer::place(const Problem& problem, const Deadline& /*deadline*/) const {
  const auto& buffers = problem.buffers;
  const std::size_t n = buffers.size();
  Placement placement;
  placement.offsets.assign(n, 0);
  std::vector<std::int64_t> sizes(n);
  for (std::size_t i = 0; i < n; ++i) {
    const Buffer& b = buffers[i];
    if (b.lower >= b.upper) fail("buffer {}: empty lifetime [{}, {})", b.id, b.lower, b.upper);
    if (b.size <= 0) fail("buffer {}: size {} is not positive", b.id, b.size);
    sizes[i] = aligned_size(problem, b);
  }
  // Births in time order, largest (then longest-lived) first among buffers born together, so that
  // long-lived and large buffers settle low; deaths are processed before births at equal times.
  std::vector<int> births(n);
  for (std::size_t i = 0; i < n; ++i) births[i] = static_cast<int>(i);
  std::sort(births.begin(), births.end(), [&](int a, int b) {
    if (buffers[a].lower != buffers[b].lower) return buffers[a].lower < buffers[b].lower;
    if (buffers[a].upper != buffers[b].upper) return buffers[a].upper > buffers[b].upper;
    if (sizes[a] != sizes[b]) return sizes[a] > sizes[b];
    return a < b;
  });
  std::multimap<std::int64_t, int> deaths;  // upper -> buffer
  FreeList free_list;
  for (int b : births) {
    while (!deaths.empty() && deaths.begin()->first <= buffers[b].lower) {
      const int dead = deaths.begin()->second;
      free_list.give_back(placement.offsets[dead], sizes[dead]);
      deaths.erase(deaths.begin());
    }
    placement.offsets[b] = free_list.take(sizes[b]);
    deaths.emplace(buffers[b].upper, b);
  }
  placement.height = free_list.top();
  return placement;
}

}  // namespace tensorplan::mem::place
