#include "tensorplan/mem/simulate.h"

#include <algorithm>

namespace tensorplan::mem {

std::vector<Lifetime> lifetimes(const Graph& graph, const std::vector<int>& order) {
  const int steps = static_cast<int>(order.size());
  const int last = std::max(0, steps - 1);
  std::vector<int> position(graph.nodes.size(), 0);
  for (int s = 0; s < steps; ++s) position[order[s]] = s;
  std::vector<Lifetime> result(graph.tensors.size());
  for (std::size_t i = 0; i < graph.tensors.size(); ++i) {
    const Tensor& t = graph.tensors[i];
    Lifetime& life = result[i];
    life.start = t.persistent() ? 0 : position[t.producer];
    life.end = life.start;
    if (t.lives_to_end()) {
      life.end = last;
    } else {
      for (int c : t.consumers) life.end = std::max(life.end, position[c]);
    }
  }
  return result;
}

namespace {

// Live bytes per step by a difference array over lifetimes.
std::vector<std::int64_t> live_bytes(const Graph& graph, const std::vector<Lifetime>& lives,
                                     int steps) {
  std::vector<std::int64_t> delta(static_cast<std::size_t>(std::max(steps, 1)) + 1, 0);
  for (std::size_t i = 0; i < lives.size(); ++i) {
    delta[lives[i].start] += graph.tensors[i].size;
    delta[lives[i].end + 1] -= graph.tensors[i].size;
  }
  std::vector<std::int64_t> live(std::max(steps, 1));
  std::int64_t running = 0;
  for (std::size_t s = 0; s < live.size(); ++s) live[s] = running += delta[s];
  return live;
}

}  // namespace

Simulation simulate(const Graph& graph, const std::vector<int>& order) {
  const auto lives = lifetimes(graph, order);
  const int steps = static_cast<int>(order.size());
  Simulation sim;
  sim.live_bytes = live_bytes(graph, lives, steps);
  if (steps == 0) sim.live_bytes.clear();
  if (sim.live_bytes.empty()) {
    sim.max_live = graph.persistent_bytes();
    for (int i = 0; i < graph.num_tensors(); ++i)
      if (graph.tensors[i].persistent()) sim.live_at_peak.push_back(i);
  } else {
    auto peak = std::max_element(sim.live_bytes.begin(), sim.live_bytes.end());
    sim.max_live = *peak;
    sim.peak_step = static_cast<int>(peak - sim.live_bytes.begin());
    for (int i = 0; i < graph.num_tensors(); ++i)
      if (lives[i].start <= sim.peak_step && sim.peak_step <= lives[i].end)
        sim.live_at_peak.push_back(i);
  }
  std::stable_sort(sim.live_at_peak.begin(), sim.live_at_peak.end(),
                   [&](int a, int b) { return graph.tensors[a].size > graph.tensors[b].size; });
  return sim;
}

std::int64_t max_live(const Graph& graph, const std::vector<int>& order) {
  if (order.empty()) return graph.persistent_bytes();
  const auto live = live_bytes(graph, lifetimes(graph, order), static_cast<int>(order.size()));
  return *std::max_element(live.begin(), live.end());
}

}  // namespace tensorplan::mem
