#include "tensorplan/mem/place/occupancy.h"

#include <algorithm>

namespace tensorplan::mem::place {

void AddressUnion::add(std::int64_t begin, std::int64_t end) {
  // The first range that ends at or after `begin` may touch the new one; ranges are disjoint and
  // sorted, so their ends are sorted too.
  auto first = std::lower_bound(ranges_.begin(), ranges_.end(), begin,
                                [](const AddressRange& r, std::int64_t at) { return r.end < at; });
  auto last = first;
  while (last != ranges_.end() && last->begin <= end) {
    begin = std::min(begin, last->begin);
    end = std::max(end, last->end);
    ++last;
  }
  if (first == last) {
    ranges_.insert(first, {begin, end});
  } else {
    *first = {begin, end};
    ranges_.erase(first + 1, last);
  }
}

Occupancy::Occupancy(int slots) : leaves_(1) {
  while (leaves_ < slots) leaves_ *= 2;
  own_.resize(2 * static_cast<std::size_t>(leaves_));
  below_.resize(own_.size());
  visited_.assign(own_.size(), 0);
}

void Occupancy::decompose(int first_slot, int end_slot) {
  canonical_.clear();
  ancestors_.clear();
  ++epoch_;
  for (int l = first_slot + leaves_, r = end_slot + leaves_; l < r; l >>= 1, r >>= 1) {
    if (l & 1) canonical_.push_back(l++);
    if (r & 1) canonical_.push_back(--r);
  }
  for (int node : canonical_) visited_[node] = epoch_;
  for (int node : canonical_) {
    // Chains of ancestors merge quickly; stop at the first node already seen.
    for (int up = node >> 1; up >= 1 && visited_[up] != epoch_; up >>= 1) {
      visited_[up] = epoch_;
      ancestors_.push_back(up);
    }
  }
}

void Occupancy::add(int first_slot, int end_slot, std::int64_t begin, std::int64_t end) {
  decompose(first_slot, end_slot);
  for (int node : canonical_) {
    own_[node].add(begin, end);
    below_[node].add(begin, end);
  }
  for (int node : ancestors_) below_[node].add(begin, end);
}

const std::vector<AddressRange>& Occupancy::taken(int first_slot, int end_slot) {
  decompose(first_slot, end_slot);
  // Concatenate the sorted unions as runs, then merge runs pairwise: linear passes, O(log runs).
  scratch_.clear();
  runs_.assign(1, 0);
  auto append = [&](const AddressUnion& set) {
    if (set.ranges().empty()) return;
    scratch_.insert(scratch_.end(), set.ranges().begin(), set.ranges().end());
    runs_.push_back(scratch_.size());
  };
  for (int node : canonical_) append(below_[node]);
  for (int node : ancestors_) append(own_[node]);
  auto by_begin = [](const AddressRange& a, const AddressRange& b) { return a.begin < b.begin; };
  while (runs_.size() > 2) {
    merged_.resize(scratch_.size());
    std::vector<std::size_t> next_runs(1, 0);
    for (std::size_t r = 0; r + 1 < runs_.size(); r += 2) {
      const std::size_t begin = runs_[r], middle = runs_[r + 1];
      const std::size_t end = r + 2 < runs_.size() ? runs_[r + 2] : middle;
      std::merge(scratch_.begin() + begin, scratch_.begin() + middle, scratch_.begin() + middle,
                 scratch_.begin() + end, merged_.begin() + begin, by_begin);
      next_runs.push_back(end);
    }
    scratch_.swap(merged_);
    runs_.swap(next_runs);
  }
  result_.clear();
  for (const AddressRange& range : scratch_) {
    if (!result_.empty() && range.begin <= result_.back().end)
      result_.back().end = std::max(result_.back().end, range.end);
    else
      result_.push_back(range);
  }
  return result_;
}

}  // namespace tensorplan::mem::place
