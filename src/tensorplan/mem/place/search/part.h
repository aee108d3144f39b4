// One independent part of a placement problem as the exact search sees it (sizes in alignment
// units, time cut into sections), and what is computed on a part alone: the splitting of a problem
// into parts (MiniMalloc's "sweeper": where no buffer crosses a time boundary), its buffers'
// branching priorities, the greedy skyline layout, its height and max-live bound, the cost of a
// search node. Internal to the exact search (search.h).
#pragma once

#include <algorithm>
#include <cstdint>
#include <tuple>
#include <vector>

#include "tensorplan/mem/place/problem.h"

namespace tensorplan::mem::place::exact {

// Above every height, offset and size (at most 2^62 units: the sizes add up to at most 2^62
// bytes), with room to add one such value to it without overflow: 2^62 + 2^61.
constexpr std::int64_t kInf = (std::int64_t{1} << 62) + (std::int64_t{1} << 61);

// One independent part of the problem in alignment units: buffer b lives on time sections
// [first[b], last[b]) and takes size[b] units.
struct Part {
  std::vector<int> members;  // indices into Problem::buffers
  std::vector<int> first, last;
  std::vector<std::int64_t> size;
  std::vector<double> life;  // upper - lower, in time units (a double: it may exceed int64)
  int sections = 0;
  // Per section, the floor the part stands on (empty: 0 everywhere): a part re-placed on top of
  // buffers that stay where they are (repair_top) sees their highest top in each section.
  std::vector<std::int64_t> base;
  // Static branching priorities: per order, the position of each buffer (lower first).
  std::vector<std::vector<int>> orders;
};

// The static branching priorities: a key per buffer (higher first). Load first: buffers in the
// most loaded sections, then long-lived and large ones, the hardest to fit late. Size first:
// large, then long-lived ones. Which finds a placement fastest varies from instance to instance,
// so the strategies use both. Doubles: only the ordering matters.
using PriorityKey = std::tuple<double, double, double>;
enum Order { kLoadFirst = 0, kSizeFirst = 1, kOrderCount = 2 };
PriorityKey priority_key(int order, double peak, double life, double size);

// Per order, the position of each buffer (lower first).
std::vector<std::vector<int>> priority_orders(const Part& part);

// Splits the live buffers where no buffer crosses a time boundary and cuts each part's time axis
// at every lower and upper, so sections are the time spans in which the live set is constant.
// `units`: each buffer's size in alignment units (0: not placed).
std::vector<Part> split_into_parts(const Problem& problem, const std::vector<std::int64_t>& units);

// Max over a range of sections with "raise a range to at least v": the skyline of the greedy dive.
class SkylineTree {
 public:
  explicit SkylineTree(int sections)
      : n_(std::max(1, sections)), max_(4 * n_, 0), raised_(4 * n_, 0) {}
  std::int64_t max(int lo, int hi) const { return query(1, 0, n_, lo, hi); }
  void raise(int lo, int hi, std::int64_t value) { update(1, 0, n_, lo, hi, value); }

 private:
  // A raise that covers a whole node stops there (raised_), so a query that only partly covers a
  // node takes that node's raise into account on its way down.
  std::int64_t query(int v, int l, int r, int lo, int hi) const {
    if (hi <= l || r <= lo) return 0;
    if (lo <= l && r <= hi) return max_[v];
    const int m = (l + r) / 2;
    return std::max({raised_[v], query(2 * v, l, m, lo, hi), query(2 * v + 1, m, r, lo, hi)});
  }
  void update(int v, int l, int r, int lo, int hi, std::int64_t value) {
    if (hi <= l || r <= lo) return;
    max_[v] = std::max(max_[v], value);
    if (lo <= l && r <= hi) {
      raised_[v] = std::max(raised_[v], value);
      return;
    }
    const int m = (l + r) / 2;
    update(2 * v, l, m, lo, hi, value);
    update(2 * v + 1, m, r, lo, hi, value);
  }

  int n_;
  std::vector<std::int64_t> max_;     // max over the node's sections
  std::vector<std::int64_t> raised_;  // every section of the node is at least this
};

// The greedy skyline layout: repeatedly place, among the unplaced buffers, the one whose skyline is
// lowest (ties by priority) on that skyline. The first dive of the search, in O(n log n log S).
std::vector<std::int64_t> skyline_dive(const Part& part);

// The highest top of the part's buffers at `offsets`.
std::int64_t part_height(const Part& part, const std::vector<std::int64_t>& offsets);

// Per section, the units of the part's buffers that cross it (its base not counted).
std::vector<std::int64_t> section_loads(const Part& part);

// The max-live bound: the most any section holds, with its base.
std::int64_t part_max_live(const Part& part);

// The work of one search node of a part (steps): its buffers, sections and their crossings.
std::int64_t node_work(const Part& part);

}  // namespace tensorplan::mem::place::exact
