#include "tensorplan/mem/schedule/peak_aware.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <tuple>

#include "tensorplan/mem/schedule/execution_state.h"

namespace tensorplan::mem::schedule {

namespace {

// A ready node's key; the empty key (not ready) compares above every real one.
struct Key {
  std::int64_t net_change = std::numeric_limits<std::int64_t>::max();
  int position = std::numeric_limits<int>::max();  // in the reference order
  int node = -1;
  bool operator<(const Key& other) const {
    return std::tie(net_change, position) < std::tie(other.net_change, other.position);
  }
};

// Minimum key over a range of leaves; point updates and prefix queries in O(log n).
class MinTree {
 public:
  explicit MinTree(int leaves) {
    while (width_ < leaves) width_ *= 2;
    tree_.assign(2 * static_cast<std::size_t>(width_), Key{});
  }
  void set(int leaf, const Key& key) {
    std::size_t i = static_cast<std::size_t>(leaf) + width_;
    tree_[i] = key;
    for (i /= 2; i >= 1; i /= 2) tree_[i] = std::min(tree_[2 * i], tree_[2 * i + 1]);
  }
  // Minimum over leaves [0, end).
  Key prefix_min(int end) const {
    Key best;
    std::size_t lo = width_, hi = static_cast<std::size_t>(end) + width_;
    for (; lo < hi; lo /= 2, hi /= 2) {
      if (lo & 1) best = std::min(best, tree_[lo++]);
      if (hi & 1) best = std::min(best, tree_[--hi]);
    }
    return best;
  }
  // The first non-empty leaf, or -1.
  int first_filled() const {
    if (tree_[1].node < 0) return -1;
    std::size_t i = 1;
    while (i < static_cast<std::size_t>(width_)) i = tree_[2 * i].node >= 0 ? 2 * i : 2 * i + 1;
    return static_cast<int>(i - width_);
  }

 private:
  int width_ = 1;
  std::vector<Key> tree_;
};

}  // namespace

std::vector<int> PeakAware::order(const Graph& graph, const Deadline& /*deadline*/) const {
  const int n = graph.num_nodes();
  ExecutionState state(graph);
  const std::vector<int> position = reference_positions(graph);

  // Leaves ranked by step bytes (static), so "step fits under the peak" is a prefix of ranks.
  std::vector<int> by_step(n);
  std::iota(by_step.begin(), by_step.end(), 0);
  std::sort(by_step.begin(), by_step.end(), [&](int a, int b) {
    return std::pair(state.step_bytes(a), position[a]) <
           std::pair(state.step_bytes(b), position[b]);
  });
  std::vector<int> rank(n);
  std::vector<std::int64_t> step_by_rank(n);
  for (int r = 0; r < n; ++r) {
    rank[by_step[r]] = r;
    step_by_rank[r] = state.step_bytes(by_step[r]);
  }
  // Ranks [0, end) whose step bytes are at most `limit`.
  auto ranks_up_to = [&](std::int64_t limit) {
    return static_cast<int>(std::upper_bound(step_by_rank.begin(), step_by_rank.end(), limit) -
                            step_by_rank.begin());
  };

  MinTree ready(n);
  auto enter = [&](int v) { ready.set(rank[v], {state.net_change(v), position[v], v}); };
  for (int v : state.initially_ready()) enter(v);
  std::vector<char> is_ready(n, 0);
  for (int v : state.initially_ready()) is_ready[v] = 1;

  std::int64_t peak = state.live();
  std::vector<int> result;
  result.reserve(n);
  while (true) {
    Key pick = ready.prefix_min(ranks_up_to(peak - state.live()));
    if (pick.node < 0) {
      // Every ready node raises the peak: take the least raise, then the least net change.
      const int first = ready.first_filled();
      if (first < 0) break;
      pick = ready.prefix_min(ranks_up_to(step_by_rank[first]));
    }
    const int v = pick.node;
    peak = std::max(peak, state.live() + state.step_bytes(v));
    ready.set(rank[v], Key{});
    result.push_back(v);
    state.run(
        v,
        [&](int u) {
          is_ready[u] = 1;
          enter(u);
        },
        [&](int u) {
          if (is_ready[u]) enter(u);
        });
  }
  return result;
}

}  // namespace tensorplan::mem::schedule
