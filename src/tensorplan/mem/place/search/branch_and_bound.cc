#include "tensorplan/mem/place/search/branch_and_bound.h"

#include <algorithm>
#include <functional>
#include <map>
#include <numeric>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tensorplan::mem::place::exact {

const std::vector<Strategy> kStrategies = {
    {kLoadFirst, false, false},
    {kSizeFirst, true, true},
    {kLoadFirst, false, true},
};

namespace {

// The branch-and-bound for one part: is there a canonical placement of height <= capacity?
class BranchAndBound final : public PartSearch {
 public:
  // `crossing`: per section of the part, the buffers crossing it.
  BranchAndBound(const Part& part, const std::vector<std::vector<int>>& crossing,
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

  ProbeResult probe(std::int64_t capacity, std::int64_t step_budget,
                    const Deadline& deadline) override {
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

  const std::vector<std::int64_t>& solution() const override { return solution_; }
  std::int64_t nodes() const override { return nodes_; }
  void set_more_steps(std::function<std::int64_t()> more_steps) override {
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
    Node node;
    if (!take_steps(group, node)) return false;
    if (!list_candidates(group, level, depth, node)) return false;
    if (!sections_can_hold_the_rest(node)) return false;
    if (!narrow_candidates(group, depth, node)) return false;
    return branch(group, depth);
  }

  // What one node of the search works out before it branches.
  struct Node {
    int first = 0, last = 0;         // the group's sections: every one is crossed by a buffer of it
    std::int64_t lowest_top = kInf;  // lowest top of an unplaced buffer resting on its skyline
    int tight = -1;                  // a section with no slack left, or -1
  };

  // Counts the node's work against the step budget (the runner may pause the search here and
  // grant more) and checks the deadline: false (stopped_) if the search must stop.
  bool take_steps(const std::vector<int>& group, Node& node) {
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
    node.first = first;
    node.last = last;
    return true;
  }

  // The bounds of the node and its candidates (into candidates_[depth]): the buffers that can be
  // placed now, each at `level` or on its skyline. False if the node is pruned.
  bool list_candidates(const std::vector<int>& group, std::int64_t level, int depth, Node& node) {
    const int first = node.first, last = node.last;
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
    node.lowest_top = lowest_top;
    return true;
  }

  // The bounds of each section on what is still to come above the lowest offsets of its buffers
  // (list_candidates). False if some section cannot hold it.
  bool sections_can_hold_the_rest(Node& node) {
    const int first = node.first, last = node.last;
    // Sharper section bound: nothing unplaced in a section goes below the lowest such offset.
    int tight = -1;
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
    node.tight = tight;
    return true;
  }

  // Orders the candidates (lowest first) and drops those no completion needs. False if none is
  // left.
  bool narrow_candidates(const std::vector<int>& group, int depth, const Node& node) {
    const int first = node.first, last = node.last;
    const std::int64_t lowest_top = node.lowest_top;
    const int tight = node.tight;
    auto& candidates = candidates_[depth];
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
    return true;
  }

  // Tries the candidates in turn: places one, solves what is left (apart, where it falls apart),
  // and takes the placement back if that fails. True with the group placed.
  bool branch(const std::vector<int>& group, int depth) {
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

}  // namespace

std::unique_ptr<PartSearch> make_part_search(const Part& part,
                                             const std::vector<std::vector<int>>& crossing,
                                             const Strategy& strategy) {
  return std::make_unique<BranchAndBound>(part, crossing, strategy);
}

}  // namespace tensorplan::mem::place::exact
