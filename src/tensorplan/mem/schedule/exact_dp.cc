#include "tensorplan/mem/schedule/exact_dp.h"

#include <algorithm>
#include <array>
#include <limits>
#include <unordered_map>

#include "tensorplan/common/error.h"
#include "tensorplan/mem/simulate.h"

namespace tensorplan::mem::schedule {

namespace {

template <std::size_t W>
using Bits = std::array<std::uint64_t, W>;

template <std::size_t W>
bool has(const Bits<W>& s, int v) {
  return (s[static_cast<std::size_t>(v) >> 6] >> (v & 63)) & 1;
}
template <std::size_t W>
void add(Bits<W>& s, int v) {
  s[static_cast<std::size_t>(v) >> 6] |= std::uint64_t{1} << (v & 63);
}

struct BitsHash {
  template <std::size_t W>
  std::size_t operator()(const Bits<W>& s) const {
    std::uint64_t h = 0x9E3779B97F4A7C15ull;
    for (std::uint64_t w : s) h = (h ^ w) * 0xBF58476D1CE4E5B9ull, h ^= h >> 31;
    return static_cast<std::size_t>(h);
  }
};

// One down-set reached by the search: the best (lowest) peak of any path to it, and where that
// path came from, so that the order can be read back.
template <std::size_t W>
struct State {
  Bits<W> run;
  std::int64_t resident = 0;  // bytes live between steps (non-persistent)
  std::int64_t peak = 0;      // lowest peak of a path to this set
  std::int64_t parent = -1;   // index of the previous state
  int node = -1;              // node run to get here
};

// What one search orders: `nodes` (local index i is graph node nodes[i]), after the nodes marked
// in `ran_before` and before every other node. The whole graph is the region with all nodes.
struct Region {
  std::vector<int> nodes;
  std::vector<int> local;        // graph node -> local index, -1 outside the region
  std::vector<char> ran_before;  // graph node ran before the region
  std::int64_t resident = 0;     // non-persistent bytes live after those nodes
  std::int64_t base_peak = 0;    // the lowest a path's peak can start at
};

// The search with sets of W words (up to 64 W region nodes): keys stay small for small regions.
template <std::size_t W>
ExactDpResult search(const Graph& graph, const Region& region, const ExactDpOptions& options,
                     const Deadline& deadline) {
  using NodeBits = Bits<W>;
  Stopwatch clock;
  const int n = static_cast<int>(region.nodes.size());
  ExactDpResult result;
  const std::int64_t persistent = graph.persistent_bytes();

  // Per region node: bytes it creates (non-persistent outputs), and its predecessors in the region
  // (those outside ran before it, by construction of the region).
  std::vector<std::int64_t> created(n, 0);
  std::vector<std::vector<int>> preds(n);
  for (int i = 0; i < n; ++i) {
    const int v = region.nodes[i];
    for (int t : graph.nodes[v].outputs) created[i] += graph.tensors[t].size;
    for (int p : predecessors(graph, v))
      if (region.local[p] >= 0) preds[i].push_back(region.local[p]);
  }
  auto has_run = [&](const NodeBits& run, int v) {
    return region.ran_before[v] || (region.local[v] >= 0 && has(run, region.local[v]));
  };
  // Bytes freed after region node i runs, given the set run before it: its inputs (and its own
  // outputs) that no node still to run reads and that do not live to the end.
  auto freed_after = [&](const NodeBits& run_before, int i) {
    const int v = region.nodes[i];
    std::int64_t freed = 0;
    auto dead = [&](int t) {
      const Tensor& tensor = graph.tensors[t];
      if (tensor.lives_to_end()) return false;
      for (int c : tensor.consumers)
        if (c != v && !has_run(run_before, c)) return false;
      return true;
    };
    const auto& inputs = graph.nodes[v].inputs;
    for (std::size_t k = 0; k < inputs.size(); ++k) {
      const int t = inputs[k];
      if (std::find(inputs.begin(), inputs.begin() + static_cast<std::ptrdiff_t>(k), t) !=
          inputs.begin() + static_cast<std::ptrdiff_t>(k))
        continue;  // an input read twice is freed once
      if (dead(t)) freed += graph.tensors[t].size;
    }
    for (int t : graph.nodes[v].outputs)
      if (graph.tensors[t].consumers.empty() && dead(t)) freed += graph.tensors[t].size;
    return freed;
  };

  const std::int64_t cap =
      options.upper_bound >= 0 ? options.upper_bound : std::numeric_limits<std::int64_t>::max();
  std::vector<State<W>> states;
  states.push_back(State<W>{NodeBits{}, region.resident, region.base_peak, -1, -1});
  std::size_t layer_begin = 0, layer_end = 1;
  for (int k = 0; k < n; ++k) {
    std::unordered_map<NodeBits, std::int64_t, BitsHash> next;  // set -> index in `states`
    for (std::size_t i = layer_begin; i < layer_end; ++i) {
      if ((i & 1023) == 0 && deadline.expired()) {
        result.states = static_cast<std::int64_t>(states.size());
        result.seconds = clock.seconds();
        return result;  // gave up
      }
      const State<W> from = states[i];  // copy: `states` grows below
      auto is_ready = [&](int v) {
        if (has(from.run, v)) return false;
        for (int p : preds[v])
          if (!has(from.run, p)) return false;
        return true;
      };
      // Dominance: a ready node that frees at least what it creates, and whose step stays within
      // the peak so far, can run first in some optimal continuation (moving it to the front
      // lowers or keeps every later step and adds no new peak) — so it is the only branch.
      int forced = -1;
      for (int v = 0; v < n && forced < 0; ++v)
        if (is_ready(v) && created[v] <= freed_after(from.run, v) &&
            persistent + from.resident + created[v] <= from.peak)
          forced = v;
      for (int v = forced >= 0 ? forced : 0; v < n; ++v) {
        if (forced >= 0 && v != forced) break;
        if (!is_ready(v)) continue;
        const std::int64_t step = persistent + from.resident + created[v];
        const std::int64_t peak = std::max(from.peak, step);
        if (peak >= cap) continue;  // cannot beat the known order
        NodeBits run = from.run;
        add(run, v);
        const std::int64_t resident = from.resident + created[v] - freed_after(from.run, v);
        auto [it, inserted] = next.try_emplace(run, static_cast<std::int64_t>(states.size()));
        if (inserted) {
          if (static_cast<std::int64_t>(states.size()) >= options.max_states) {
            result.states = static_cast<std::int64_t>(states.size());
            result.seconds = clock.seconds();
            return result;  // gave up
          }
          states.push_back(State<W>{run, resident, peak, static_cast<std::int64_t>(i), v});
        } else if (peak < states[it->second].peak) {
          State<W>& s = states[static_cast<std::size_t>(it->second)];
          s.peak = peak;
          s.parent = static_cast<std::int64_t>(i);
          s.node = v;
        }
      }
    }
    layer_begin = layer_end;
    layer_end = states.size();
    if (layer_begin == layer_end) break;  // every path was pruned: nothing beats upper_bound
  }
  result.complete = true;
  result.states = static_cast<std::int64_t>(states.size());
  if (layer_end - layer_begin == 1 && n > 0 && layer_begin > 0) {
    // The full set: read the order back along the parents.
    std::int64_t at = static_cast<std::int64_t>(layer_begin);
    result.optimum = states[static_cast<std::size_t>(at)].peak;
    while (states[static_cast<std::size_t>(at)].parent >= 0) {
      result.order.push_back(region.nodes[states[static_cast<std::size_t>(at)].node]);
      at = states[static_cast<std::size_t>(at)].parent;
    }
    std::reverse(result.order.begin(), result.order.end());
  } else if (n == 0) {
    result.optimum = region.base_peak;
  } else {
    result.optimum = options.upper_bound;  // nothing strictly below it: the known order is optimal
  }
  result.seconds = clock.seconds();
  return result;
}

}  // namespace

ExactDpResult solve_order_exact(const Graph& graph, const ExactDpOptions& options,
                                const Deadline& deadline) {
  const int n = graph.num_nodes();
  if (n > kExactDpMaxNodes)
    fail("{}: the exact order search handles at most {} operators, not {}", graph.name,
         kExactDpMaxNodes, n);
  Region region;
  region.nodes = graph.order;
  region.local.assign(n, -1);
  for (int i = 0; i < n; ++i) region.local[region.nodes[i]] = i;
  region.ran_before.assign(n, 0);
  region.base_peak = graph.persistent_bytes();
  if (n <= 256) return search<4>(graph, region, options, deadline);
  if (n <= 1024) return search<16>(graph, region, options, deadline);
  return search<kExactDpMaxNodes / 64>(graph, region, options, deadline);
}

ExactDpResult solve_window_exact(const Graph& graph, const std::vector<int>& order, int begin,
                                 int end, const ExactDpOptions& options, const Deadline& deadline) {
  const int n = graph.num_nodes();
  if (begin < 0 || end > n || end - begin > kMaxWindow || begin > end)
    fail("{}: the window [{}, {}) of {} operators is out of range", graph.name, begin, end, n);
  Region region;
  region.nodes.assign(order.begin() + begin, order.begin() + end);
  region.local.assign(n, -1);
  for (int i = 0; i < end - begin; ++i) region.local[region.nodes[i]] = i;
  region.ran_before.assign(n, 0);
  for (int s = 0; s < begin; ++s) region.ran_before[order[s]] = 1;
  for (const Tensor& t : graph.tensors) {
    if (t.persistent() || !region.ran_before[t.producer]) continue;
    bool needed = t.output;
    for (int c : t.consumers) needed = needed || !region.ran_before[c];
    if (needed) region.resident += t.size;
  }
  return end - begin <= 64 ? search<1>(graph, region, options, deadline)
                           : search<2>(graph, region, options, deadline);
}

}  // namespace tensorplan::mem::schedule
