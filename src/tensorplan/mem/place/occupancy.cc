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
  scratch_.clear();
  for (int node : canonical_) {
    const auto& ranges = below_[node].ranges();
    scratch_.insert(scratch_.end(), ranges.begin(), ranges.end());
  }
  for (int node : ancestors_) {
    const auto& ranges = own_[node].ranges();
    scratch_.insert(scratch_.end(), ranges.begin(), ranges.end());
  }
  std::sort(scratch_.begin(), scratch_.end(),
            [](const AddressRange& a, const AddressRange& b) { return a.begin < b.begin; });
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
