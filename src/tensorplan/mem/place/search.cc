#include "tensorplan/mem/place/search.h"

#include <pthread.h>

#include <algorithm>
#include <bit>
#include <condition_variable>
#include <exception>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <queue>
#include <system_error>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tensorplan/common/error.h"
#include "tensorplan/mem/place/occupancy.h"

namespace tensorplan::mem::place {
namespace {

// Above every height, offset and size (at most 2^62 units: the sizes add up to at most 2^62
// bytes), with room to add one such value to it without overflow: 2^62 + 2^61.
constexpr std::int64_t kInf = (std::int64_t{1} << 62) + (std::int64_t{1} << 61);
// Search budgets count steps: a node costs one plus its group's buffers and their sections, which
// keeps the time of a step about the same across strategies and instances (~10 ns here).
// Steps a strategy runs before the next one takes its turn (~10 ms).
constexpr std::int64_t kSlice = std::int64_t{1} << 20;

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
PriorityKey priority_key(int order, double peak, double life, double size) {
  return order == kLoadFirst ? PriorityKey(peak, life, size) : PriorityKey(size, life, 0);
}

// Per order, the position of each buffer (lower first).
std::vector<std::vector<int>> priority_orders(const Part& part) {
  const int n = static_cast<int>(part.members.size());
  std::vector<std::int64_t> load(part.sections + 1, 0), peak(n, 0);
  for (int b = 0; b < n; ++b) {
    load[part.first[b]] += part.size[b];
    load[part.last[b]] -= part.size[b];
  }
  for (int s = 1; s <= part.sections; ++s) load[s] += load[s - 1];
  // Peak load over each buffer's sections from a sparse table: O(1) a buffer, however long-lived.
  std::vector<std::vector<std::int64_t>> table{load};
  for (int w = 1; 2 * w <= part.sections; w *= 2) {
    const auto& prev = table.back();
    std::vector<std::int64_t> next(part.sections - 2 * w + 1);
    for (std::size_t s = 0; s < next.size(); ++s) next[s] = std::max(prev[s], prev[s + w]);
    table.push_back(std::move(next));
  }
  for (int b = 0; b < n; ++b) {
    const int len = part.last[b] - part.first[b];
    const int k = std::bit_width(static_cast<unsigned>(len)) - 1;
    peak[b] = std::max(table[k][part.first[b]], table[k][part.last[b] - (1 << k)]);
  }
  std::vector<std::vector<int>> orders;
  for (int o = 0; o < kOrderCount; ++o) {
    std::vector<PriorityKey> key(n);
    for (int b = 0; b < n; ++b)
      key[b] = priority_key(o, static_cast<double>(peak[b]), static_cast<double>(part.life[b]),
                            static_cast<double>(part.size[b]));
    std::vector<int> by_priority(n);
    std::iota(by_priority.begin(), by_priority.end(), 0);
    std::stable_sort(by_priority.begin(), by_priority.end(),
                     [&](int x, int y) { return key[x] > key[y]; });
    std::vector<int> order(n);
    for (int r = 0; r < n; ++r) order[by_priority[r]] = r;
    orders.push_back(std::move(order));
  }
  return orders;
}

// Splits the live buffers where no buffer crosses a time boundary and cuts each part's time axis
// at every lower and upper, so sections are the time spans in which the live set is constant.
std::vector<Part> split_into_parts(const Problem& problem, const std::vector<std::int64_t>& units) {
  std::vector<int> live;
  for (std::size_t b = 0; b < problem.buffers.size(); ++b)
    if (units[b] > 0) live.push_back(static_cast<int>(b));
  const auto& buffers = problem.buffers;
  std::sort(live.begin(), live.end(), [&](int x, int y) {
    return std::tie(buffers[x].lower, x) < std::tie(buffers[y].lower, y);
  });
  std::vector<Part> parts;
  std::int64_t reach = std::numeric_limits<std::int64_t>::min();
  for (int b : live) {
    if (parts.empty() || buffers[b].lower >= reach) parts.emplace_back();
    parts.back().members.push_back(b);
    reach = std::max(reach, buffers[b].upper);
  }
  for (Part& part : parts) {
    std::vector<std::int64_t> cuts;
    for (int b : part.members) {
      cuts.push_back(buffers[b].lower);
      cuts.push_back(buffers[b].upper);
    }
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    part.sections = static_cast<int>(cuts.size()) - 1;
    auto section = [&](std::int64_t t) {
      return static_cast<int>(std::lower_bound(cuts.begin(), cuts.end(), t) - cuts.begin());
    };
    for (int b : part.members) {
      part.first.push_back(section(buffers[b].lower));
      part.last.push_back(section(buffers[b].upper));
      part.size.push_back(units[b]);
      part.life.push_back(static_cast<double>(buffers[b].upper) -
                          static_cast<double>(buffers[b].lower));
    }
    part.orders = priority_orders(part);
  }
  return parts;
}

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
std::vector<std::int64_t> skyline_dive(const Part& part) {
  const int n = static_cast<int>(part.members.size());
  SkylineTree skyline(part.sections);
  for (std::size_t s = 0; s < part.base.size(); ++s)
    skyline.raise(static_cast<int>(s), static_cast<int>(s) + 1, part.base[s]);
  using Entry = std::tuple<std::int64_t, int, int>;  // (lower bound on offset, priority, buffer)
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> queue;
  for (int b = 0; b < n; ++b) queue.emplace(0, part.orders[0][b], b);
  std::vector<std::int64_t> offsets(n, 0);
  std::int64_t requeues = 0;
  while (!queue.empty()) {
    auto [estimate, priority, b] = queue.top();
    queue.pop();
    const std::int64_t offset = skyline.max(part.first[b], part.last[b]);
    // Its skyline rose since it was queued: queue it again, unless that has happened too often
    // (long-lived buffers under a rising skyline could make it quadratic); any order is valid.
    if (offset > estimate && requeues < 4 * static_cast<std::int64_t>(n) + 1000) {
      ++requeues;
      queue.emplace(offset, priority, b);
      continue;
    }
    offsets[b] = offset;
    skyline.raise(part.first[b], part.last[b], offset + part.size[b]);
  }
  return offsets;
}

std::int64_t part_height(const Part& part, const std::vector<std::int64_t>& offsets) {
  std::int64_t top = 0;
  for (std::size_t b = 0; b < offsets.size(); ++b) top = std::max(top, offsets[b] + part.size[b]);
  return top;
}

std::int64_t part_max_live(const Part& part) {
  std::vector<std::int64_t> delta(part.sections + 1, 0);
  for (std::size_t b = 0; b < part.members.size(); ++b) {
    delta[part.first[b]] += part.size[b];
    delta[part.last[b]] -= part.size[b];
  }
  std::int64_t running = 0, peak = 0;
  for (int s = 0; s < part.sections; ++s) {
    running += delta[s];
    // A section nothing crosses asks for nothing, whatever its base.
    if (running > 0) peak = std::max(peak, running + (part.base.empty() ? 0 : part.base[s]));
  }
  return peak;
}

enum class ProbeResult { kFound, kInfeasible, kStopped };

// How one search branches. Every strategy is complete; which finds a placement fastest varies
// wildly from instance to instance (heavy tails), so probes go round the strategies.
struct Strategy {
  int order = kLoadFirst;    // index into Part::orders: the static tie-break
  bool dynamic = false;      // among the lowest, prefer the buffer in the most loaded section
  bool tight_first = false;  // with a section without slack at the lowest offset, branch on its
                             // buffers alone
};

// Chosen on the MiniMalloc challenging instances by measuring 30 combinations one at a time (six
// static orders, MiniMalloc's WAT and TAW among them, x the tie-break x the tight-section filter
// x re-ranking pieces; docs/results.md): every instance is solved within 0.6 s by at least one of
// these three; B only by size-first orders (or TAW), F only without the tight-section filter, H
// by no load-first strategy without it. Re-ranking pieces helped all of them, so it is always on.
const std::vector<Strategy> kStrategies = {
    {kLoadFirst, false, false},
    {kSizeFirst, true, true},
    {kLoadFirst, false, true},
};

// The branch-and-bound for one part: is there a canonical placement of height <= capacity?
class PartSearch {
 public:
  // `crossing`: per section of the part, the buffers crossing it.
  PartSearch(const Part& part, const std::vector<std::vector<int>>& crossing,
             const Strategy& strategy)
      : part_(part),
        crossing_(crossing),
        strategy_(strategy),
        order_(part.orders[strategy.order]),
        n_(static_cast<int>(part.members.size())),
        floor_(part.sections, 0),
        remaining_(part.sections, 0),
        lowest_(part.sections, 0),
        highest_(part.sections, 0),
        smallest_(part.sections),
        second_smallest_(part.sections, 0),
        skyline_(n_, 0),
        placed_(n_, false),
        offset_(n_, 0),
        excluded_at_(n_, -1),
        previous_twin_(n_, -1),
        candidates_(n_ + 1) {
    all_.resize(n_);
    std::iota(all_.begin(), all_.end(), 0);
    std::stable_sort(all_.begin(), all_.end(),
                     [&](int x, int y) { return part.first[x] < part.first[y]; });
    release_.assign(n_, 0);
    load_.assign(n_, 0);
    by_priority_.resize(n_);
    for (int b = 0; b < n_; ++b) by_priority_[order_[b]] = b;
    // Identical buffers (same sections and size) are interchangeable: place them in priority order.
    std::map<std::tuple<int, int, std::int64_t>, int> last_twin;
    for (int b : by_priority_) {
      auto [it, fresh] = last_twin.try_emplace({part.first[b], part.last[b], part.size[b]}, b);
      if (!fresh) previous_twin_[b] = std::exchange(it->second, b);
    }
  }

  ProbeResult probe(std::int64_t capacity, std::int64_t step_budget, const Deadline& deadline) {
    capacity_ = capacity;
    step_budget_ = step_budget;
    deadline_ = &deadline;
    stopped_ = false;
    probe_steps_ = 0;
    if (part_.base.empty())
      std::fill(floor_.begin(), floor_.end(), 0);
    else
      floor_ = part_.base;
    std::fill(remaining_.begin(), remaining_.end(), 0);
    for (int b = 0; b < n_; ++b)
      for (int s = part_.first[b]; s < part_.last[b]; ++s) remaining_[s] += part_.size[b];
    std::fill(placed_.begin(), placed_.end(), false);
    std::fill(excluded_at_.begin(), excluded_at_.end(), -1);
    placed_stack_.clear();
    if (solve(all_, 0, 0)) {
      solution_ = offset_;
      return ProbeResult::kFound;
    }
    return stopped_ ? ProbeResult::kStopped : ProbeResult::kInfeasible;
  }

  const std::vector<std::int64_t>& solution() const { return solution_; }
  std::int64_t nodes() const { return nodes_; }
  // Called when a probe's budget is used up; returns how many more steps it may take (0: stop).
  void set_more_steps(std::function<std::int64_t()> more_steps) {
    more_steps_ = std::move(more_steps);
  }

 private:
  // Places every buffer of `group` (unplaced buffers sorted by first section, no other unplaced
  // buffer crossing their sections) at `level` or above, under the capacity. Returns true with them
  // placed; false with nothing placed, when there is no such placement or the budget ran out
  // (stopped_).
  bool solve(const std::vector<int>& group, std::int64_t level, int depth) {
    if (group.empty()) return true;
    ++nodes_;
    // The group's sections: every one is crossed by some buffer of the group.
    int first = part_.sections, last = 0;
    std::int64_t steps = 1 + static_cast<std::int64_t>(group.size());  // this node's work
    for (int b : group) {
      first = std::min(first, part_.first[b]);
      last = std::max(last, part_.last[b]);
      steps += part_.last[b] - part_.first[b];
    }
    if ((probe_steps_ += steps) > step_budget_) {
      // Out of budget: stop, unless the runner pauses this search and grants more.
      const std::int64_t more = more_steps_ ? more_steps_() : 0;
      if (more <= 0) {
        stopped_ = true;
        return false;
      }
      step_budget_ = probe_steps_ + more;
    }
    if ((nodes_ & 15) == 0 && deadline_->expired()) {
      stopped_ = true;
      return false;
    }
    // Section bound: what is still to come in a section lies above its floor and above `level`.
    for (int s = first; s < last; ++s)
      if (std::max(floor_[s], level) + remaining_[s] > capacity_) return false;

    // Each buffer's skyline, and per section the two smallest buffers crossing it.
    for (int s = first; s < last; ++s) {
      lowest_[s] = kInf;
      highest_[s] = 0;
      smallest_[s] = {kInf, -1};
      second_smallest_[s] = kInf;
    }
    for (int b : group) {
      std::int64_t skyline = 0;
      for (int s = part_.first[b]; s < part_.last[b]; ++s) {
        skyline = std::max(skyline, floor_[s]);
        if (part_.size[b] < smallest_[s].first) {
          second_smallest_[s] = smallest_[s].first;
          smallest_[s] = {part_.size[b], b};
        } else {
          second_smallest_[s] = std::min(second_smallest_[s], part_.size[b]);
        }
      }
      skyline_[b] = skyline;
    }
    // The smallest other buffer of the group that shares time with b (kInf: none).
    auto smallest_neighbour = [&](int b) {
      std::int64_t size = kInf;
      for (int s = part_.first[b]; s < part_.last[b]; ++s)
        size = std::min(size, smallest_[s].second == b ? second_smallest_[s] : smallest_[s].first);
      return size;
    };
    // Each buffer's lowest possible offset; the candidates are those that can be placed now.
    auto& candidates = candidates_[depth];
    candidates.clear();
    std::int64_t lowest_top = kInf;  // of any unplaced buffer resting on its skyline
    for (int b : group) {
      const std::int64_t skyline = skyline_[b];
      lowest_top = std::min(lowest_top, skyline + part_.size[b]);
      const std::int64_t offset = std::max(level, skyline);
      std::int64_t lowest = offset;
      if (skyline < level) {
        // Placed now it would float above its skyline; canonical placements never do, so it must
        // wait to rest on an unplaced buffer that shares time with it. If there is none, or if it
        // fits entirely under level (where nothing unplaced can reach), every completion of this
        // node can be improved by lowering it: a placement reached in another branch, with a
        // smaller sum of offsets, is at least as good.
        if (skyline + part_.size[b] <= level) return false;
        const std::int64_t under = smallest_neighbour(b);
        if (under == kInf) return false;
        lowest = level + under;
      } else if (excluded_at_[b] == offset) {
        // Not at this offset: higher, on top of something still to be placed.
        lowest = std::max(offset + 1, level + smallest_neighbour(b));
      } else if (previous_twin_[b] < 0 || placed_[previous_twin_[b]]) {
        candidates.emplace_back(offset, b);
      }
      if (lowest + part_.size[b] > capacity_) return false;  // it can only rise
      release_[b] = lowest;
      for (int s = part_.first[b]; s < part_.last[b]; ++s) {
        lowest_[s] = std::min(lowest_[s], lowest);
        highest_[s] = std::max(highest_[s], lowest);
      }
    }
    // Sharper section bound: nothing unplaced in a section goes below the lowest such offset.
    int tight = -1;  // a section with no slack left
    for (int s = first; s < last; ++s) {
      if (lowest_[s] + remaining_[s] > capacity_) return false;
      if (lowest_[s] + remaining_[s] == capacity_ && (tight < 0 || lowest_[s] < lowest_[tight]))
        tight = s;
    }
    // Each section alone is a one-machine schedule with release dates (the lowest offsets) and a
    // deadline (the capacity): stacking its buffers in order of release is optimal, so it fails
    // unless, for every release t, the buffers released at t or later fit between t and the top.
    for (int s = first; s < last; ++s) {
      if (highest_[s] + remaining_[s] <= capacity_) continue;  // holds for every t
      auto& jobs = jobs_;
      jobs.clear();
      for (int b : crossing_[s])
        if (!placed_[b]) jobs.emplace_back(release_[b], part_.size[b]);
      std::sort(jobs.begin(), jobs.end(), std::greater<>());
      std::int64_t above = 0;
      for (const auto& [release, size] : jobs)
        if (release + (above += size) > capacity_) return false;
    }
    if (candidates.empty()) return false;
    // Lowest first; ties in priority order, or, dynamically, the buffer crossing the section
    // with the most still to place first (fail first), then in priority order.
    if (strategy_.dynamic) {
      for (const auto& c : candidates) {
        std::int64_t load = 0;
        for (int s = part_.first[c.second]; s < part_.last[c.second]; ++s)
          load = std::max(load, remaining_[s]);
        load_[c.second] = load;
      }
    }
    std::sort(candidates.begin(), candidates.end(), [&](const auto& x, const auto& y) {
      const std::int64_t lx = strategy_.dynamic ? load_[x.second] : 0;
      const std::int64_t ly = strategy_.dynamic ? load_[y.second] : 0;
      return std::make_tuple(x.first, -lx, order_[x.second]) <
             std::make_tuple(y.first, -ly, order_[y.second]);
    });
    // A buffer placed at or above the top some unplaced buffer would have on its skyline leaves a
    // gap that buffer fits in: moving it down there (below everything placed from now on) gives a
    // valid placement with a smaller sum of offsets, so no completion of this branch is needed.
    std::erase_if(candidates, [&](const auto& c) { return c.first >= lowest_top; });
    if (candidates.empty()) return false;
    // A lowest candidate b that no unplaced buffer crosses the start or end of can go there
    // first, whatever follows: in any completion, the buffers below b that share time with it lie
    // within its lifetime, so they can be lifted by its size and b put under them, touching nobody
    // else. No alternatives to try. (Every buffer of the group qualifies if it spans the group.)
    auto encloses = [&](int b) {
      if (part_.first[b] == first && part_.last[b] == last) return true;
      return std::none_of(group.begin(), group.end(), [&](int c) {
        return c != b && part_.first[c] < part_.last[b] && part_.first[b] < part_.last[c] &&
               (part_.first[c] < part_.first[b] || part_.last[c] > part_.last[b]);
      });
    };
    for (const auto& c : candidates) {
      if (c.first != candidates[0].first) break;
      if (encloses(c.second)) {
        candidates = {c};
        break;
      }
    }
    // A section without slack must be filled from its lowest point up, so if that point is the
    // lowest offset of all, the buffer placed there is a lowest one: branch on those alone.
    if (strategy_.tight_first && tight >= 0 && lowest_[tight] == candidates[0].first) {
      std::erase_if(candidates, [&](const auto& c) {
        return c.first != lowest_[tight] || part_.first[c.second] > tight ||
               part_.last[c.second] <= tight;
      });
    }

    const std::size_t excluded_mark = excluded_undo_.size();
    bool found = false;
    std::vector<int> rest;
    std::vector<std::vector<int>> pieces;
    for (std::size_t k = 0; k < candidates_[depth].size() && !found && !stopped_; ++k) {
      const auto [offset, b] = candidates_[depth][k];
      const std::size_t placed_mark = placed_stack_.size();
      // Nothing unplaced shares time with b: the rest does not depend on where b goes.
      bool hatless = true;
      for (int s = part_.first[b]; s < part_.last[b] && hatless; ++s)
        hatless = remaining_[s] == part_.size[b];
      place(b, offset);
      // The rest may fall apart into groups that no buffer joins: each is solved on its own, and
      // one that fails dooms this branch whatever the others do.
      rest.clear();
      for (int c : group)
        if (c != b) rest.push_back(c);
      pieces.clear();
      int reach = -1;
      for (int c : rest) {
        if (part_.first[c] >= reach) pieces.emplace_back();
        pieces.back().push_back(c);
        reach = std::max(reach, part_.last[c]);
      }
      found = true;
      // Pieces that fall apart are independent problems given what is placed: each is searched
      // from offset 0 with its own canonical order (its buffers may go below `offset`, and the
      // no-goods of this search do not apply to it), so a piece that fails proves that nothing
      // completes b at `offset`, not just this order.
      const bool fresh = pieces.size() > 1;
      bool independent_failure = false;
      for (const auto& piece : pieces) {
        std::vector<std::int64_t> saved;
        if (fresh)
          for (int c : piece) saved.push_back(std::exchange(excluded_at_[c], -1));
        // A fresh piece depends only on its buffers, the floors of its sections and the
        // capacity: one that failed once (a proof, not a budget stop) fails again, and so does
        // any harder one.
        const bool known_failure = fresh && known_to_fail(piece);
        std::vector<int> saved_ranks;
        if (fresh && !known_failure) saved_ranks = rerank(piece);
        const bool solved = !known_failure && solve(piece, fresh ? 0 : offset, depth + 1);
        for (std::size_t k = 0; k < saved_ranks.size(); ++k) order_[piece[k]] = saved_ranks[k];
        if (fresh && !solved && !stopped_ && !known_failure) remember_failure(piece);
        if (fresh)
          for (std::size_t k = 0; k < piece.size(); ++k) excluded_at_[piece[k]] = saved[k];
        if (!solved) {
          found = false;
          // Searched from offset 0, a piece that shares no time with b fails whatever b does.
          independent_failure =
              fresh && std::none_of(piece.begin(), piece.end(), [&, placed = b](int c) {
                // (a copy of b: clang 14 cannot capture a structured binding)
                return part_.first[c] < part_.last[placed] && part_.first[placed] < part_.last[c];
              });
          break;
        }
      }
      if (found) break;
      while (placed_stack_.size() > placed_mark) unplace(placed_stack_.back());
      if (stopped_) break;
      // The siblings still to try place something else at `offset` or higher first, so what
      // failed here (everything but b, from `offset` up; or a piece apart from b) fails there too.
      if (hatless || independent_failure) break;
      // No placement has b lowest from here, so deeper down b is not placed at this offset again.
      excluded_undo_.emplace_back(b, excluded_at_[b]);
      excluded_at_[b] = offset;
    }
    while (excluded_undo_.size() > excluded_mark) {
      excluded_at_[excluded_undo_.back().first] = excluded_undo_.back().second;
      excluded_undo_.pop_back();
    }
    return found;
  }

  // Ranks the piece's buffers by the strategy's key with the loads still to place in their
  // sections (as MiniMalloc re-preorders each sub-partition); ties keep the old ranks, so identical
  // buffers keep their order. Returns the old ranks.
  std::vector<int> rerank(const std::vector<int>& piece) {
    std::vector<int> saved(piece.size());
    std::vector<std::pair<PriorityKey, int>> keyed;  // (key, old rank)
    for (std::size_t k = 0; k < piece.size(); ++k) {
      const int c = piece[k];
      saved[k] = order_[c];
      std::int64_t peak = 0;
      for (int s = part_.first[c]; s < part_.last[c]; ++s) peak = std::max(peak, remaining_[s]);
      keyed.emplace_back(
          priority_key(strategy_.order, static_cast<double>(peak),
                       static_cast<double>(part_.life[c]), static_cast<double>(part_.size[c])),
          order_[c]);
    }
    std::vector<int> by_rank(piece.size());
    std::iota(by_rank.begin(), by_rank.end(), 0);
    std::sort(by_rank.begin(), by_rank.end(), [&](int x, int y) {
      if (keyed[x].first != keyed[y].first) return keyed[x].first > keyed[y].first;
      return keyed[x].second < keyed[y].second;
    });
    // New ranks reuse the piece's old rank values, so they stay comparable with nothing else's.
    std::vector<int> ranks(saved);
    std::sort(ranks.begin(), ranks.end());
    for (std::size_t r = 0; r < by_rank.size(); ++r) order_[piece[by_rank[r]]] = ranks[r];
    return saved;
  }

  // The floors of the sections a piece spans (its sections are contiguous).
  void piece_floors(const std::vector<int>& piece, std::vector<std::int64_t>& floors) const {
    int first = part_.sections, last = 0;
    for (int c : piece) {
      first = std::min(first, part_.first[c]);
      last = std::max(last, part_.last[c]);
    }
    floors.assign(floor_.begin() + first, floor_.begin() + last);
  }

  // Whether the piece, with the current floors and capacity, is at least as hard as one that
  // failed: shifting floors and capacity by the same t gives the same problem, and higher floors
  // or a lower capacity only take placements away. So it fails if for some failed (D, G):
  // capacity - D <= min over its sections of (floor - G).
  bool known_to_fail(const std::vector<int>& piece) {
    const auto it = failed_pieces_.find(piece);
    if (it == failed_pieces_.end()) return false;
    piece_floors(piece, floors_scratch_);
    for (const FailedPiece& failed : it->second) {
      std::int64_t slack = kInf;  // how far everything can be lowered and stay above G
      for (std::size_t s = 0; s < floors_scratch_.size(); ++s)
        slack = std::min(slack, floors_scratch_[s] - failed.floors[s]);
      if (capacity_ - failed.capacity <= slack) return true;
    }
    return false;
  }

  void remember_failure(const std::vector<int>& piece) {
    if (failed_count_ >= kMaxFailedPieces) return;
    auto& failures = failed_pieces_[piece];
    if (failures.size() >= kMaxFailuresPerPiece) return;
    FailedPiece failed{capacity_, {}};
    piece_floors(piece, failed.floors);
    failures.push_back(std::move(failed));
    ++failed_count_;
  }

  void place(int b, std::int64_t offset) {
    for (int s = part_.first[b]; s < part_.last[b]; ++s) {
      floor_undo_.push_back(floor_[s]);
      floor_[s] = offset + part_.size[b];
      remaining_[s] -= part_.size[b];
    }
    placed_[b] = true;
    offset_[b] = offset;
    placed_stack_.push_back(b);
  }

  void unplace(int b) {
    for (int s = part_.last[b] - 1; s >= part_.first[b]; --s) {
      floor_[s] = floor_undo_.back();
      floor_undo_.pop_back();
      remaining_[s] += part_.size[b];
    }
    placed_[b] = false;
    placed_stack_.pop_back();
  }

  struct KeyHash {
    template <typename T>
    std::size_t operator()(const std::vector<T>& key) const {
      std::uint64_t h = 1469598103934665603ULL;  // FNV-1a over the values
      for (T v : key) h = (h ^ static_cast<std::uint64_t>(v)) * 1099511628211ULL;
      return static_cast<std::size_t>(h);
    }
  };
  static constexpr std::size_t kMaxFailedPieces = 200000;  // bounds the memory (~tens of MB)
  static constexpr std::size_t kMaxFailuresPerPiece = 16;  // bounds the time of a look-up

  const Part& part_;
  const std::vector<std::vector<int>>& crossing_;
  Strategy strategy_;
  std::vector<int> order_;  // per buffer: its rank, lower first (pieces may be re-ranked)
  int n_;
  std::vector<int> by_priority_;
  std::vector<std::int64_t> floor_;      // per section: top of the placed buffers crossing it
  std::vector<std::int64_t> remaining_;  // per section: units of unplaced buffers crossing it
  std::vector<std::int64_t> lowest_;     // scratch: per section, lowest offset still possible
  std::vector<std::int64_t> highest_;    // scratch: per section, highest such lowest offset
  std::vector<std::pair<std::int64_t, int>> smallest_;  // scratch: per section, (size, buffer)
  std::vector<std::int64_t> second_smallest_;           // scratch: per section
  std::vector<std::int64_t> skyline_;                   // scratch: per buffer
  std::vector<bool> placed_;
  std::vector<std::int64_t> offset_;
  std::vector<std::int64_t> excluded_at_;  // a no-good: not to be placed at this offset
  std::vector<int> previous_twin_;         // identical buffer that must be placed before, or -1
  std::vector<std::vector<std::pair<std::int64_t, int>>> candidates_;  // per depth
  std::vector<std::int64_t> floor_undo_;
  std::vector<std::pair<int, std::int64_t>> excluded_undo_;
  std::vector<std::int64_t> release_;  // scratch: per buffer, lowest offset still possible
  std::vector<std::int64_t> load_;     // scratch: per buffer, most still to place in its sections
  std::vector<std::pair<std::int64_t, std::int64_t>> jobs_;  // scratch: (release, size)
  std::vector<std::int64_t> solution_;
  // Pieces proven to fail, by their buffers: the capacity and floors they failed with. Kept
  // across probes.
  struct FailedPiece {
    std::int64_t capacity;
    std::vector<std::int64_t> floors;
  };
  std::unordered_map<std::vector<int>, std::vector<FailedPiece>, KeyHash> failed_pieces_;
  std::size_t failed_count_ = 0;
  std::vector<std::int64_t> floors_scratch_;
  std::vector<int> placed_stack_;  // buffers placed, in order (unplace pops the last)
  std::vector<int> all_;           // every buffer, by first section
  std::int64_t capacity_ = 0;
  std::int64_t step_budget_ = 0;
  std::int64_t probe_steps_ = 0;
  std::int64_t nodes_ = 0;
  const Deadline* deadline_ = nullptr;
  std::function<std::int64_t()> more_steps_;
  bool stopped_ = false;
};

// The lock that the strategies' runs of one probe and their caller share, and the signal that a
// run's slice has ended (the caller waits for it; each run waits for its own turn signal, so
// handing a turn to one wakes no other thread).
struct Turns {
  std::mutex mutex;
  std::condition_variable slice_ended;
};

// Runs one strategy's probe on a thread of its own, a slice of steps at a time: the search pauses
// when its slice is used up and goes on from there when given the next. So strategies take turns
// without starting over (a restart would repeat the same deterministic search); slices are counted
// in steps, not time, so the outcome does not depend on timing.

// A thread with a large stack: the search recurses once per placed buffer, and parts of thousands
// of buffers overflowed the default 8 MiB thread stack under AddressSanitizer (whose frames are
// larger). The size is only reserved address space; pages are committed as the recursion uses them.
class DeepStackThread {
 public:
  static constexpr std::size_t kStackBytes = std::size_t{512} << 20;
  DeepStackThread() = default;
  DeepStackThread(const DeepStackThread&) = delete;
  DeepStackThread& operator=(const DeepStackThread&) = delete;
  ~DeepStackThread() { join(); }

  void start(std::function<void()> body) {
    auto* owned = new std::function<void()>(std::move(body));
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, kStackBytes);
    const int rc = pthread_create(
        &id_, &attr,
        [](void* arg) -> void* {
          std::unique_ptr<std::function<void()>> f(static_cast<std::function<void()>*>(arg));
          (*f)();
          return nullptr;
        },
        owned);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
      delete owned;
      throw std::system_error(rc, std::generic_category(), "cannot start a search thread");
    }
    running_ = true;
  }
  bool joinable() const { return running_; }
  void join() {
    if (!running_) return;
    pthread_join(id_, nullptr);
    running_ = false;
  }

 private:
  pthread_t id_{};
  bool running_ = false;
};

class SlicedProbe {
 public:
  SlicedProbe(PartSearch& search, std::int64_t capacity, const Deadline& deadline, Turns& turns)
      : search_(search), capacity_(capacity), deadline_(deadline), turns_(turns) {}
  SlicedProbe(const SlicedProbe&) = delete;
  SlicedProbe& operator=(const SlicedProbe&) = delete;
  // A paused search is told to stop, unwinds and ends.
  ~SlicedProbe() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard lock(turns_.mutex);
      abort_ = true;
      worker_turn_ = true;
    }
    your_turn_.notify_one();
    thread_.join();
  }

  // Lets the search take `steps` more steps, or run to its end, while the caller goes on.
  void start(std::int64_t steps) {
    {
      std::lock_guard lock(turns_.mutex);
      granted_ = steps;
      worker_turn_ = true;
    }
    if (thread_.joinable()) {
      your_turn_.notify_one();
    } else {
      thread_.start([this] { work(); });
    }
  }

  // With turns.mutex held: whether the slice given by start() is still running.
  bool running() const { return worker_turn_; }
  // With turns.mutex held: whether the search has ended.
  bool done() const { return done_; }
  // With turns.mutex held, once not running: kStopped while the search is paused (or if it ended
  // at the deadline); otherwise its outcome.
  ProbeResult outcome() {
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
    return done_ ? result_ : ProbeResult::kStopped;
  }

 private:
  void work() {
    search_.set_more_steps([this]() -> std::int64_t {
      std::unique_lock lock(turns_.mutex);
      if (abort_) return 0;  // told to stop while running (the caller is unwinding)
      worker_turn_ = false;
      turns_.slice_ended.notify_one();
      your_turn_.wait(lock, [&] { return worker_turn_; });
      return abort_ ? 0 : granted_;
    });
    std::int64_t first_slice;
    {
      std::lock_guard lock(turns_.mutex);
      first_slice = granted_;
    }
    ProbeResult result = ProbeResult::kStopped;
    std::exception_ptr error;
    try {
      result = search_.probe(capacity_, first_slice, deadline_);
    } catch (...) {
      error = std::current_exception();
    }
    search_.set_more_steps(nullptr);
    {
      std::lock_guard lock(turns_.mutex);
      result_ = result;
      error_ = error;
      done_ = true;
      worker_turn_ = false;
    }
    turns_.slice_ended.notify_one();
  }

  PartSearch& search_;
  std::int64_t capacity_;
  const Deadline& deadline_;
  Turns& turns_;
  std::condition_variable your_turn_;
  DeepStackThread thread_;
  // Guarded by turns_.mutex:
  bool worker_turn_ = false;  // the search runs; the caller waits for it
  bool abort_ = false;
  bool done_ = false;
  std::int64_t granted_ = 0;
  ProbeResult result_ = ProbeResult::kStopped;
  std::exception_ptr error_;
};

// One probe of all strategies at one capacity: they take turns, a slice of steps each, until
// one finds a placement or proves there is none (heavy tails: a different strategy often succeeds
// at once where one is stuck; a proof from any of them holds). The turns form one sequence
// (round 0: strategies 0, 1, ...; round 1: ...); up to `threads` of them run at the same time,
// earliest first, a strategy's next turn after its last, and every turn before a deciding one is
// run: the outcome is that of the first turn in the sequence that decides, the one a single
// thread reaches. A probe that ran out of budget can go on.
class StrategyTurns {
 public:
  // `lead`: the steps of the first turn (strategy 0's), enough for a dive to the bottom.
  StrategyTurns(std::vector<PartSearch>& searches, std::int64_t capacity, const Deadline& deadline,
                std::size_t threads, std::int64_t lead)
      : searches_(searches),
        capacity_(capacity),
        deadline_(deadline),
        threads_(std::max<std::size_t>(1, threads)),
        lead_(std::max(kSlice, lead)),
        spent_(searches.size(), 0),
        finished_(searches.size(), false),
        round_(searches.size(), 0) {
    for (PartSearch& search : searches)
      runs_.push_back(std::make_unique<SlicedProbe>(search, capacity, deadline, turns_));
  }

  std::int64_t capacity() const { return capacity_; }

  // Runs turns until one decides, or each strategy has taken `budget` steps since the probe
  // began. kFound (then solution() holds the placement), kInfeasible, or kStopped.
  ProbeResult run(std::int64_t budget) {
    if (decision_ != ProbeResult::kStopped) return decision_;
    const std::int64_t m = static_cast<std::int64_t>(runs_.size());
    // A strategy has ended when its search has, or its budget is spent.
    auto ended = [&](std::int64_t k) { return finished_[k] || spent_[k] >= budget; };
    std::vector<std::int64_t> turn_of(m, -1);  // the turn a strategy runs now, or -1
    std::int64_t decided = kInf;               // the first turn that decided
    std::size_t flying = 0;
    auto next_turn = [&](std::int64_t k) { return round_[k] * m + k; };
    for (;;) {
      // Start the earliest turns while threads are free: a strategy's turn waits for its last,
      // and none runs more than kMaxLead rounds ahead of the slowest (which all turns before
      // the deciding one must wait for).
      while (flying < threads_ && !deadline_.expired()) {
        std::int64_t slowest = kInf;
        for (std::int64_t k = 0; k < m; ++k)
          if (!ended(k)) slowest = std::min(slowest, turn_of[k] >= 0 ? turn_of[k] : next_turn(k));
        std::int64_t pick = -1;
        for (std::int64_t k = 0; k < m; ++k) {
          if (ended(k) || turn_of[k] >= 0 || next_turn(k) >= decided ||
              next_turn(k) >= slowest + kMaxLead * m)
            continue;
          if (pick < 0 || next_turn(k) < next_turn(pick)) pick = k;
        }
        if (pick < 0) break;
        const std::int64_t slice =
            std::min(next_turn(pick) == 0 ? lead_ : kSlice, budget - spent_[pick]);
        spent_[pick] += slice;
        turn_of[pick] = next_turn(pick);
        ++round_[pick];
        ++flying;
        runs_[pick]->start(slice);
      }
      if (flying == 0) break;
      std::unique_lock lock(turns_.mutex);
      turns_.slice_ended.wait(lock, [&] {
        for (std::int64_t k = 0; k < m; ++k)
          if (turn_of[k] >= 0 && !runs_[k]->running()) return true;
        return false;
      });
      for (std::int64_t k = 0; k < m; ++k) {
        if (turn_of[k] < 0 || runs_[k]->running()) continue;
        const ProbeResult r = runs_[k]->outcome();
        if (r != ProbeResult::kStopped && turn_of[k] < decided) {
          decided = turn_of[k];
          decision_ = r;
          decider_ = static_cast<std::size_t>(k);
        }
        finished_[k] = runs_[k]->done();
        turn_of[k] = -1;
        --flying;
      }
    }
    return decision_;
  }

  const std::vector<std::int64_t>& solution() const { return searches_[decider_].solution(); }

 private:
  std::vector<PartSearch>& searches_;
  std::int64_t capacity_;
  const Deadline& deadline_;
  std::size_t threads_;
  std::int64_t lead_;
  Turns turns_;  // before runs_: they use it until they are destroyed
  std::vector<std::unique_ptr<SlicedProbe>> runs_;
  std::vector<std::int64_t> spent_;  // steps given to each strategy
  std::vector<bool> finished_;       // its search ended
  std::vector<std::int64_t> round_;  // per strategy: turns started (its next turn's round)
  // Turn r of strategy k is turn r * strategies + k of the sequence.
  static constexpr std::int64_t kMaxLead = 4;  // rounds a strategy may run ahead of the slowest
  ProbeResult decision_ = ProbeResult::kStopped;
  std::size_t decider_ = 0;
};

// The work of one search node of a part (steps): its buffers, sections and their crossings.
std::int64_t node_work(const Part& part) {
  std::int64_t work = static_cast<std::int64_t>(part.members.size()) + part.sections;
  for (std::size_t b = 0; b < part.members.size(); ++b) work += part.last[b] - part.first[b];
  return work;
}

// Parts beyond these are not searched whole: each node would cost too much, or the recursion (one
// level per buffer) would go too deep.
constexpr std::size_t kMaxSearchedBuffers = 10000;
bool searchable(const Part& part, const SearchOptions& options) {
  return part.members.size() <= kMaxSearchedBuffers && node_work(part) <= options.max_work_per_node;
}

void improve_big_part(const Part& part, std::vector<std::int64_t> layout, std::int64_t target,
                      const SearchOptions& options,
                      const std::function<void(const std::vector<std::int64_t>&)>& offer);

// What one part's solve established, in alignment units.
struct PartOutcome {
  std::optional<std::vector<std::int64_t>> offsets;  // best found under the capacity
  std::int64_t height = kInf;                        // of offsets
  std::int64_t lower_bound = 0;                      // proven
  bool infeasible = false;                           // proven: nothing fits under the capacity
  std::int64_t nodes = 0;
};

// Solves one part. `capacity` in units (kInf: none). In minimise mode the search stops once the
// part is at or below `good_enough` (lower is of no use to the whole).
// `report(height, lower_bound)` (units) is told of every better placement and every rise of the
// bound.
PartOutcome solve_part(const Part& part, std::optional<std::vector<std::int64_t>> incumbent,
                       std::int64_t capacity, bool minimize, std::int64_t good_enough,
                       const SearchOptions& options,
                       const std::function<void(std::int64_t, std::int64_t)>& report) {
  PartOutcome out;
  out.lower_bound = part_max_live(part);
  auto offer = [&](const std::vector<std::int64_t>& offsets) {
    const std::int64_t h = part_height(part, offsets);
    if (h <= capacity && h < out.height) {
      out.offsets = offsets;
      out.height = h;
      report(out.height, out.lower_bound);
    }
  };
  // The lowest layout so far, under the capacity or not (a part too big to search improves on it).
  if (incumbent) offer(*incumbent);
  std::vector<std::int64_t> layout = skyline_dive(part);
  offer(layout);
  if (incumbent && part_height(part, *incumbent) <= part_height(part, layout)) layout = *incumbent;
  if (out.lower_bound > capacity) {
    out.infeasible = true;
    return out;
  }
  // Too big to search whole (each node would cost too much, or recursion too deep): search it in
  // pieces instead.
  const std::int64_t work_per_node = node_work(part);
  if (!searchable(part, options)) {
    if (minimize || capacity < kInf)
      improve_big_part(part, std::move(layout), minimize ? std::max(good_enough, out.lower_bound)
                                                         : capacity,
                       options, offer);
    return out;
  }
  // Most parts are placed by the first dive of the first strategy, if it gets the steps to reach
  // the bottom (a node costs at most work_per_node): it goes first, alone in its turn.
  const std::int64_t lead = static_cast<std::int64_t>(part.members.size()) * work_per_node;
  std::vector<std::vector<int>> crossing(part.sections);
  for (std::size_t b = 0; b < part.members.size(); ++b)
    for (int s = part.first[b]; s < part.last[b]; ++s) crossing[s].push_back(static_cast<int>(b));
  auto make_searches = [&] {
    std::vector<PartSearch> searches;
    if (options.strategy) {
      searches.emplace_back(part, crossing,
                            kStrategies[static_cast<std::size_t>(*options.strategy)]);
    } else {
      for (const Strategy& strategy : kStrategies) searches.emplace_back(part, crossing, strategy);
    }
    return searches;
  };
  std::vector<PartSearch> searches = make_searches();
  const Deadline& deadline = options.deadline;
  const std::size_t threads = static_cast<std::size_t>(
      options.threads > 0 ? options.threads
                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency())));
  auto probe = [&](std::int64_t capacity, std::int64_t budget) {
    StrategyTurns turns(searches, capacity, deadline, threads, lead);
    const ProbeResult r = turns.run(budget);
    if (r == ProbeResult::kFound) offer(turns.solution());
    return r;
  };
  std::vector<PartSearch> bound_searches;  // minimising: those of the probe at the bound
  auto total_nodes = [&] {
    std::int64_t nodes = 0;
    for (const PartSearch& search : searches) nodes += search.nodes();
    for (const PartSearch& search : bound_searches) nodes += search.nodes();
    return nodes;
  };
  // The first probes get at least the lead (steps).
  const std::int64_t first_budget = std::max<std::int64_t>(std::int64_t{1} << 19, lead);

  if (!minimize) {
    if (out.offsets || capacity == kInf) return out;
    const ProbeResult r = probe(capacity, kInf);
    out.nodes = total_nodes();
    if (r == ProbeResult::kInfeasible) {
      out.infeasible = true;
      out.lower_bound = capacity + 1;
    }
    return out;
  }

  // Minimise: look for heights in [lo, hi); hi is the best height found (or one past capacity).
  // Each round probes the proven bound first, then bisects, each probe with a step budget; probes
  // that run out only move the bisection, and the next round retries with twice the budget. The
  // probe at the bound goes on where it stopped (its own searches; it is the one that matters
  // most), the bisection probes start over with a quarter of the budget (they are many: without
  // that they took most of the time).
  bound_searches = make_searches();
  std::unique_ptr<StrategyTurns> at_bound;
  auto probe_bound = [&](std::int64_t target, std::int64_t budget) {
    if (!at_bound || at_bound->capacity() != target)
      at_bound = std::make_unique<StrategyTurns>(bound_searches, target, deadline, threads, lead);
    const ProbeResult r = at_bound->run(budget);
    if (r == ProbeResult::kFound) offer(at_bound->solution());
    return r;
  };
  // Searched heights are sums of sizes, so only multiples of their gcd need probing.
  std::int64_t g = 0;
  for (std::int64_t size : part.size) g = std::gcd(g, size);
  g = std::max<std::int64_t>(g, 1);
  auto down = [&](std::int64_t x) { return x / g * g; };
  auto up = [&](std::int64_t x) { return (x + g - 1) / g * g; };
  std::int64_t lo = up(out.lower_bound);
  auto hi = [&] { return std::min(out.height, capacity == kInf ? kInf : capacity + 1); };
  auto done = [&] { return up(std::max(lo, good_enough)) >= hi() || deadline.expired(); };
  for (std::int64_t budget = first_budget; !done();
       budget = budget > kInf / 2 ? kInf : budget * 2) {
    bool first = true;
    for (std::int64_t soft_lo = lo; !done() && up(soft_lo) < hi();) {
      const std::int64_t target =
          first ? std::max(up(lo), down(std::min(good_enough, hi() - 1)))
                : std::max(up(soft_lo), down(soft_lo + (hi() - 1 - soft_lo) / 2));
      const ProbeResult r =
          first ? probe_bound(target, budget) : probe(target, std::max(first_budget, budget / 4));
      first = false;
      if (r == ProbeResult::kInfeasible) {
        lo = target + 1;
        soft_lo = std::max(soft_lo, lo);
        report(out.height, lo);
      } else if (r == ProbeResult::kStopped) {
        soft_lo = target + 1;
      }
    }
  }
  out.nodes = total_nodes();
  out.lower_bound = lo;
  if (!out.offsets && lo > capacity) out.infeasible = true;
  return out;
}

// --- Parts too big to search whole: exact search on pieces of them ---

// A share of the time left, from `floor` to `cap` seconds (or what is left, if less): a piece that
// is not solved in a few seconds rarely is in more, and the time is better spent on other pieces.
Deadline slice_of(const Deadline& deadline, double share, double floor, double cap) {
  const double left = deadline.remaining();
  return Deadline(std::min(left, std::clamp(left * share, floor, cap)));
}

// The layout of `part` with the buffers `fixed` (offsets >= 0 in `offsets`) where they are and
// every other buffer put, one at a time, in the lowest gap that fits it among those placed (first
// fit) or the smallest one (best fit): the greedy ways, largest first or longest-lived first, the
// lowest result kept. At least the first way runs in full; the others only before the deadline.
std::vector<std::int64_t> fill_around(const Part& part, const std::vector<std::int64_t>& offsets,
                                      const Deadline& deadline) {
  const int n = static_cast<int>(part.members.size());
  Occupancy fixed(part.sections);
  std::vector<int> rest;
  for (int b = 0; b < n; ++b) {
    if (offsets[b] >= 0)
      fixed.add(part.first[b], part.last[b], offsets[b], offsets[b] + part.size[b]);
    else
      rest.push_back(b);
  }
  std::vector<std::int64_t> best;
  std::int64_t best_height = kInf;
  struct Way {
    bool longest_first, best_fit;
  };
  for (const Way way : {Way{false, false}, Way{false, true}, Way{true, true}}) {
    if (!best.empty() && deadline.expired()) break;
    auto key = [&](int b) {
      const double size = static_cast<double>(part.size[b]);
      return way.longest_first ? std::make_pair(part.life[b], size)
                               : std::make_pair(size, part.life[b]);
    };
    std::stable_sort(rest.begin(), rest.end(), [&](int x, int y) { return key(x) > key(y); });
    Occupancy taken = fixed;
    std::vector<std::int64_t> layout = offsets;
    for (int b : rest) {
      std::int64_t gap_begin = 0, offset = -1, smallest = kInf;
      for (const AddressRange& range : taken.taken(part.first[b], part.last[b])) {
        const std::int64_t gap = range.begin - gap_begin;
        if (gap >= part.size[b] && gap < smallest) {
          offset = gap_begin;
          smallest = gap;
          if (!way.best_fit) break;
        }
        gap_begin = range.end;
      }
      layout[b] = offset >= 0 ? offset : gap_begin;
      taken.add(part.first[b], part.last[b], layout[b], layout[b] + part.size[b]);
    }
    const std::int64_t h = part_height(part, layout);
    if (h < best_height) best_height = h, best = std::move(layout);
  }
  return best;
}

// A layout that is tight where the part is most loaded: the buffers that cross its hot window (from
// the first section loaded above `threshold` to the last) are placed by the exact search on the
// window alone, their lifetimes cut to it, then the rest around them (fill_around). One window,
// not each hot stretch apart: two buffers that cross one window and share time share some of its
// sections (one ends in it, the other starts in it), so cutting to it keeps every conflict, which
// cutting to two stretches would not. `layout` (valid) starts the window's search. Empty if the
// window is too big to search.
std::vector<std::int64_t> hot_window_layout(const Part& part, const std::vector<std::int64_t>& layout,
                                            std::int64_t threshold, std::int64_t target,
                                            const SearchOptions& options) {
  const int n = static_cast<int>(part.members.size());
  std::vector<std::int64_t> load(part.sections + 1, 0);
  for (int b = 0; b < n; ++b) {
    load[part.first[b]] += part.size[b];
    load[part.last[b]] -= part.size[b];
  }
  int begin = part.sections, end = 0;
  for (int s = 0; s < part.sections; ++s) {
    if (s > 0) load[s] += load[s - 1];
    if (load[s] > threshold) begin = std::min(begin, s), end = s + 1;
  }
  if (begin >= end) return {};
  Part hot;
  hot.sections = end - begin;
  std::vector<int> hot_buffers;
  std::vector<std::int64_t> start;
  for (int b = 0; b < n; ++b) {
    const int first = std::max(part.first[b], begin), last = std::min(part.last[b], end);
    if (first >= last) continue;
    hot_buffers.push_back(b);
    hot.members.push_back(b);
    hot.first.push_back(first - begin);
    hot.last.push_back(last - begin);
    hot.size.push_back(part.size[b]);
    hot.life.push_back(part.life[b]);
    start.push_back(layout[b]);
  }
  hot.orders = priority_orders(hot);
  if (!searchable(hot, options)) return {};
  SearchOptions hot_options = options;
  hot_options.deadline = slice_of(options.deadline, 0.5, 0.5, 4.0);
  const PartOutcome out = solve_part(hot, std::move(start), kInf, true, target, hot_options,
                                     [](std::int64_t, std::int64_t) {});
  std::vector<std::int64_t> offsets(n, -1);
  for (std::size_t k = 0; k < hot_buffers.size(); ++k) offsets[hot_buffers[k]] = (*out.offsets)[k];
  return fill_around(part, offsets, options.deadline);
}

// The part made of `part`'s buffers `chosen` (local indices, none under an unchosen buffer that
// shares time with it), standing on the others where `offsets` has them: its sections are cut at
// the chosen buffers' ends, and each one's base is the highest top of an unchosen buffer there.
// Its members are the local indices.
Part band_part(const Part& part, const std::vector<int>& chosen, const std::vector<char>& is_chosen,
               const std::vector<std::int64_t>& offsets) {
  SkylineTree kept(part.sections);
  for (std::size_t b = 0; b < part.members.size(); ++b)
    if (!is_chosen[b]) kept.raise(part.first[b], part.last[b], offsets[b] + part.size[b]);
  std::vector<int> cuts;
  for (int b : chosen) {
    cuts.push_back(part.first[b]);
    cuts.push_back(part.last[b]);
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  Part band;
  band.sections = static_cast<int>(cuts.size()) - 1;
  auto section = [&](int s) {
    return static_cast<int>(std::lower_bound(cuts.begin(), cuts.end(), s) - cuts.begin());
  };
  for (int b : chosen) {
    band.members.push_back(b);
    band.first.push_back(section(part.first[b]));
    band.last.push_back(section(part.last[b]));
    band.size.push_back(part.size[b]);
    band.life.push_back(part.life[b]);
  }
  band.base.assign(band.sections, 0);
  for (int s = 0; s < band.sections; ++s) band.base[s] = kept.max(cuts[s], cuts[s + 1]);
  band.orders = priority_orders(band);
  return band;
}

// The buffers above `level` under the highest one: those with tops above the level that share time
// with the highest buffer and, transitively, those above them (taken in the order of their
// offsets, a buffer sharing time with one already taken is above it, and must be taken too, or it
// would float over the band). `by_offset`: every buffer, lowest offset first.
std::vector<int> column_band(const Part& part, const std::vector<std::int64_t>& offsets,
                             const std::vector<int>& by_offset, int highest, std::int64_t level) {
  SkylineTree taken(part.sections);
  taken.raise(part.first[highest], part.last[highest], 1);
  std::vector<int> band;
  for (int b : by_offset) {
    if (offsets[b] + part.size[b] <= level || taken.max(part.first[b], part.last[b]) == 0) continue;
    band.push_back(b);
    taken.raise(part.first[b], part.last[b], 1);
  }
  return band;
}

// Lowers a layout by searching its top: buffers whose tops lie above a level Y (none of them under
// a buffer that stays) are placed again by the exact search, on the skyline of the others. Two
// kinds of band: the column under the highest buffer (column_band), as deep as a band of the size
// allows, and the highest buffers of the whole part. Bands start at 64 buffers and grow (twice the
// buffers) whenever neither can get lower than the layout (its own bound, base plus load, is as
// high) or its search finds nothing lower in its time, until the layout is at `target`, the bands
// are too big to search, or the deadline passes.
void repair_top(const Part& part, std::vector<std::int64_t>& offsets, std::int64_t target,
                const SearchOptions& options) {
  const std::size_t n = part.members.size();
  std::int64_t height = part_height(part, offsets);
  auto top = [&](int b) { return offsets[b] + part.size[b]; };
  std::vector<int> by_top(n), by_offset(n);
  std::vector<char> is_chosen(n);
  // Searches one band; true if it lowered the layout. Sets `too_big` if it could not be searched.
  bool too_big = false;
  auto try_band = [&](const std::vector<int>& chosen) {
    std::fill(is_chosen.begin(), is_chosen.end(), 0);
    for (int b : chosen) is_chosen[b] = 1;
    const Part band = band_part(part, chosen, is_chosen, offsets);
    if (!searchable(band, options)) {
      too_big = true;
      return false;
    }
    if (part_max_live(band) >= height) return false;
    std::vector<std::int64_t> start;
    for (int b : chosen) start.push_back(offsets[b]);
    SearchOptions band_options = options;
    band_options.deadline = slice_of(options.deadline, 0.25, 0.25, 2.0);
    const PartOutcome out = solve_part(band, std::move(start), kInf, true, target, band_options,
                                       [](std::int64_t, std::int64_t) {});
    if (out.height >= height) return false;
    for (std::size_t c = 0; c < chosen.size(); ++c) offsets[chosen[c]] = (*out.offsets)[c];
    height = part_height(part, offsets);
    return true;
  };
  for (std::size_t want = 64; height > target && !options.deadline.expired();) {
    const std::size_t k = std::min(want, n);
    std::iota(by_top.begin(), by_top.end(), 0);
    std::sort(by_top.begin(), by_top.end(), [&](int x, int y) { return top(x) > top(y); });
    by_offset = by_top;
    std::sort(by_offset.begin(), by_offset.end(),
              [&](int x, int y) { return offsets[x] < offsets[y]; });
    // The column: the lowest level (a top, bisected) whose band has at most k buffers.
    std::size_t lo = 0, hi = n - 1;  // levels by_top[i]: the band grows with i
    std::vector<int> column = column_band(part, offsets, by_offset, by_top[0], top(by_top[0]));
    while (lo < hi) {
      const std::size_t mid = (lo + hi + 1) / 2;
      std::vector<int> band = column_band(part, offsets, by_offset, by_top[0], top(by_top[mid]));
      if (band.size() <= k) {
        lo = mid;
        column = std::move(band);
      } else {
        hi = mid - 1;
      }
    }
    too_big = false;
    bool lowered = !column.empty() && try_band(column);
    const bool column_too_big = too_big;
    if (!lowered && !options.deadline.expired()) {
      // The highest k buffers of the whole part (and those tied with the k-th).
      const std::int64_t level = k < n ? top(by_top[k]) : 0;
      std::vector<int> highest;
      for (std::size_t b = 0; b < n; ++b)
        if (top(static_cast<int>(b)) > level) highest.push_back(static_cast<int>(b));
      too_big = false;
      lowered = try_band(highest);
      if (too_big && column_too_big) return;
    }
    if (!lowered) {
      if (k >= n) return;
      want *= 2;
    }
  }
}

// A part too big to search whole (searchable) starts from `layout`, its best heuristic one, and is
// lowered towards `target` by the exact search on pieces of it: its hot window, from the narrowest
// (load above 99% of its bound) to wider ones, the rest filled around it, and then the top of the
// layout (repair_top). Every layout found is offered.
void improve_big_part(const Part& part, std::vector<std::int64_t> layout, std::int64_t target,
                      const SearchOptions& options,
                      const std::function<void(const std::vector<std::int64_t>&)>& offer) {
  const std::int64_t bound = part_max_live(part);
  std::int64_t height = part_height(part, layout);
  // Each hot layout is repaired at once, even one higher than the best so far: its hot window is
  // tight, and what the filling spoilt is often at the top (S_1: 4.5% above the bound filled,
  // 0.13% repaired, where repairing the best heuristic's layout gained nothing).
  for (const double share : {0.99, 0.98, 0.97, 0.95, 0.9}) {
    if (height <= target || options.deadline.expired()) break;
    std::vector<std::int64_t> hot = hot_window_layout(
        part, layout, static_cast<std::int64_t>(share * static_cast<double>(bound)), target,
        options);
    if (hot.empty()) continue;
    repair_top(part, hot, target, options);
    offer(hot);
    const std::int64_t h = part_height(part, hot);
    if (h < height) height = h, layout = std::move(hot);
  }
  repair_top(part, layout, target, options);
  offer(layout);
}

}  // namespace

int search_strategy_count() { return static_cast<int>(kStrategies.size()); }

std::string to_string(SearchStatus status) {
  switch (status) {
    case SearchStatus::kOptimal:
      return "optimal";
    case SearchStatus::kFeasible:
      return "feasible";
    case SearchStatus::kInfeasible:
      return "infeasible";
    case SearchStatus::kUnknown:
      return "unknown";
  }
  return "unknown";
}

SearchResult search_placement(const Problem& problem, const SearchOptions& options) {
  Stopwatch clock;
  if (options.strategy && (*options.strategy < 0 || *options.strategy >= search_strategy_count()))
    fail("search: strategy {} out of range [0, {})", *options.strategy, search_strategy_count());
  const std::int64_t a = std::max<std::int64_t>(1, problem.alignment);
  const std::size_t n = problem.buffers.size();
  std::vector<std::int64_t> units(n, 0);
  // Totals: in units, at most 2^62 (what kInf stays above); in bytes (sizes rounded up to the
  // alignment), at most 2^62 + 2^61, so that every height fits in int64. Sizes adding up to 2^62
  // round up to a little more than that at an alignment above 1, and must still be placed.
  constexpr std::int64_t kMaxTotalUnits = std::int64_t{1} << 62;
  constexpr std::int64_t kMaxTotalBytes = (std::int64_t{1} << 62) + (std::int64_t{1} << 61);
  std::int64_t total = 0, total_bytes = 0;
  for (std::size_t b = 0; b < n; ++b) {
    const Buffer& buffer = problem.buffers[b];
    if (buffer.size < 0) fail("search: buffer {} has negative size {}", buffer.id, buffer.size);
    if (buffer.size > 0 && buffer.upper <= buffer.lower)
      fail("search: buffer {} has an empty lifetime [{}, {})", buffer.id, buffer.lower,
           buffer.upper);
    if (buffer.size > (std::int64_t{1} << 62))
      fail("search: buffer {} size {} exceeds 2^62 bytes", buffer.id, buffer.size);
    units[b] = aligned_size(problem, buffer) / a;
    if (units[b] > kMaxTotalUnits - total || units[b] * a > kMaxTotalBytes - total_bytes)
      fail(
          "search: buffer sizes, rounded up to the alignment {}, add up to more than 2^62 + 2^61 "
          "bytes",
          a);
    total += units[b];
    total_bytes += units[b] * a;
  }
  // A capacity of at least the total always fits (stacking every buffer), so larger ones are
  // clamped to it: every sum in the search then stays far from overflow.
  const std::int64_t capacity =
      options.capacity ? std::clamp<std::int64_t>(*options.capacity / a, -1, total) : kInf;
  std::optional<std::vector<std::int64_t>> incumbent;
  if (options.incumbent && is_valid(problem, options.incumbent->offsets)) {
    incumbent.emplace(n);
    for (std::size_t b = 0; b < n; ++b) (*incumbent)[b] = options.incumbent->offsets[b] / a;
  }

  std::vector<Part> parts = split_into_parts(problem, units);
  std::vector<std::int64_t> bounds;
  for (const Part& part : parts) bounds.push_back(part_max_live(part));
  // Hardest (highest bound) first: the others then only need to fit under what it reached.
  std::vector<int> order(parts.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int x, int y) { return bounds[x] > bounds[y]; });

  SearchResult result;
  result.parts = static_cast<int>(parts.size());
  std::vector<std::int64_t> offsets(n, 0);
  std::int64_t lower = bounds.empty() ? 0 : *std::max_element(bounds.begin(), bounds.end());
  std::int64_t reached = 0;  // max height of the parts solved so far
  bool all_found = true, infeasible = false;
  // For progress: the best height of every part so far (units; kInf: none yet), the incumbent's
  // to begin with.
  std::vector<std::int64_t> part_best(parts.size(), kInf);
  if (incumbent)
    for (std::size_t p = 0; p < parts.size(); ++p) {
      std::vector<std::int64_t> start;
      for (int b : parts[p].members) start.push_back((*incumbent)[b]);
      part_best[p] = part_height(parts[p], start);
    }
  int searched = 0;
  for (int p : order) {
    const Part& part = parts[p];
    ++searched;
    std::optional<std::vector<std::int64_t>> start;
    if (incumbent) {
      start.emplace();
      for (int b : part.members) start->push_back((*incumbent)[b]);
    }
    auto report = [&](std::int64_t part_height_units, std::int64_t part_bound) {
      if (!options.on_progress) return;
      part_best[p] = std::min(part_best[p], part_height_units);
      const std::int64_t best = *std::max_element(part_best.begin(), part_best.end());
      SearchProgress progress;
      progress.part = searched;
      progress.parts = static_cast<int>(parts.size());
      progress.height = best >= kInf ? -1 : best * a;
      progress.lower_bound = std::max(lower, part_bound) * a;
      options.on_progress(progress);
    };
    PartOutcome out = solve_part(part, std::move(start), capacity, options.minimize,
                                 std::max(lower, reached), options, report);
    result.nodes += out.nodes;
    lower = std::max(lower, out.lower_bound);
    if (out.infeasible) {
      infeasible = true;
      break;
    }
    if (!out.offsets) {
      all_found = false;
      continue;
    }
    reached = std::max(reached, out.height);
    for (std::size_t k = 0; k < part.members.size(); ++k)
      offsets[part.members[k]] = (*out.offsets)[k];
  }

  result.lower_bound = lower * a;
  if (infeasible) {
    result.status = SearchStatus::kInfeasible;
    result.lower_bound = std::max(result.lower_bound, (capacity + 1) * a);
  } else if (all_found) {
    Placement placement;
    for (std::int64_t& offset : offsets) offset *= a;
    placement.offsets = std::move(offsets);
    placement.height = height(problem, placement.offsets);
    result.status =
        placement.height <= result.lower_bound ? SearchStatus::kOptimal : SearchStatus::kFeasible;
    result.placement = std::move(placement);
  }
  result.seconds = clock.seconds();
  return result;
}

Placement SearchPlacer::place(const Problem& problem, const Deadline& deadline) const {
  SearchOptions options;
  options.minimize = true;
  options.deadline = deadline;
  SearchResult result = search_placement(problem, options);
  return std::move(*result.placement);  // without a capacity every part has a placement
}

}  // namespace tensorplan::mem::place
