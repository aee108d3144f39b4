#include "tensorplan/mem/check.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "tensorplan/common/error.h"
#include "tensorplan/common/saturating.h"

namespace tensorplan::mem {

namespace {

constexpr std::size_t kMaxProblems = 20;

}  // namespace

CheckResult check_plan(const Graph& graph, const Plan& plan, std::int64_t alignment) {
  CheckResult result;
  auto problem = [&](std::string text) {
    result.valid = false;
    ++result.problem_count;
    if (result.problems.size() < kMaxProblems) result.problems.push_back(std::move(text));
  };
  if (alignment < 1) alignment = 1;

  // 1. The order: every node once, each after the producers of its inputs.
  const int n = graph.num_nodes();
  if (static_cast<int>(plan.order.size()) != n)
    problem(fmt::format("order has {} steps, graph has {} nodes", plan.order.size(), n));
  std::vector<int> step(n, -1);
  for (std::size_t s = 0; s < plan.order.size(); ++s) {
    const int node = plan.order[s];
    if (node < 0 || node >= n) {
      problem(fmt::format("order step {}: no such node", s));
    } else if (step[node] >= 0) {
      problem(
          fmt::format("node {} runs twice (steps {} and {})", graph.nodes[node].id, step[node], s));
    } else {
      step[node] = static_cast<int>(s);
    }
  }
  for (int v = 0; v < n; ++v)
    if (step[v] < 0) problem(fmt::format("node {} never runs", graph.nodes[v].id));
  if (!result.valid) return result;
  // Producer-before-consumer, from the tensors' point of view.
  std::vector<int> born(graph.tensors.size(), 0), dies(graph.tensors.size(), 0);
  const int last = std::max(0, n - 1);
  for (int v = 0; v < n; ++v)
    for (int out : graph.nodes[v].outputs) born[out] = step[v] + 1;  // +1: 0 means "before step"
  for (int t = 0; t < graph.num_tensors(); ++t) {
    dies[t] = born[t] == 0 ? last : born[t] - 1;
  }
  for (int v = 0; v < n; ++v) {
    for (int in : graph.nodes[v].inputs) {
      if (born[in] > 0 && born[in] - 1 > step[v])
        problem(fmt::format("node {} (step {}) reads tensor {} before it is produced (step {})",
                            graph.nodes[v].id, step[v], graph.tensors[in].id, born[in] - 1));
      dies[in] = std::max(dies[in], step[v]);
    }
  }
  if (!result.valid) return result;
  for (int t = 0; t < graph.num_tensors(); ++t) {
    const Tensor& tensor = graph.tensors[t];
    if (born[t] == 0 || tensor.output) dies[t] = last;
  }
  // Live intervals [start, end] in steps.
  std::vector<int> start(graph.tensors.size());
  for (int t = 0; t < graph.num_tensors(); ++t) start[t] = born[t] == 0 ? 0 : born[t] - 1;

  // Max live bytes, independently of the simulator.
  // Sums of sizes are bounded by kMaxBytes in a linked graph, but the checker trusts nothing: the
  // running total saturates instead of wrapping.
  std::vector<std::int64_t> starts(static_cast<std::size_t>(last) + 2, 0);
  std::vector<std::int64_t> ends(static_cast<std::size_t>(last) + 2, 0);
  for (int t = 0; t < graph.num_tensors(); ++t) {
    if (graph.tensors[t].size < 0) {
      problem(fmt::format("tensor {} has negative size {}", graph.tensors[t].id,
                          graph.tensors[t].size));
      continue;
    }
    starts[start[t]] = add_saturating(starts[start[t]], graph.tensors[t].size);
    ends[dies[t] + 1] = add_saturating(ends[dies[t] + 1], graph.tensors[t].size);
  }
  if (!result.valid) return result;
  std::int64_t running = 0;  // saturated: once at INT64_MAX it stays there
  for (int s = 0; s <= last; ++s) {
    if (running != kSaturated) running = add_saturating(running - ends[s], starts[s]);
    result.max_live = std::max(result.max_live, running);
  }

  // 2. Offsets present and aligned; arena size.
  if (plan.offsets.size() != graph.tensors.size()) {
    problem(fmt::format("plan has {} offsets, graph has {} tensors", plan.offsets.size(),
                        graph.tensors.size()));
    return result;
  }
  // Where a placed tensor's (rounded) bytes end, saturated at INT64_MAX; *overflow is set if the
  // true end is past INT64_MAX.
  auto end_of = [&](int t, bool* overflow = nullptr) {
    return add_saturating(plan.offsets[t], round_up(graph.tensors[t].size, alignment, overflow),
                          overflow);
  };
  std::vector<int> placed;
  for (int t = 0; t < graph.num_tensors(); ++t) {
    const Tensor& tensor = graph.tensors[t];
    if (tensor.size == 0) continue;
    if (plan.offsets[t] < 0) {
      problem(fmt::format("tensor {} ({} bytes) has no offset", tensor.id, tensor.size));
      continue;
    }
    if (plan.offsets[t] % alignment != 0)
      problem(fmt::format("tensor {} offset {} is not a multiple of {}", tensor.id, plan.offsets[t],
                          alignment));
    bool overflow = false;
    const std::int64_t end = end_of(t, &overflow);
    if (overflow)
      problem(
          fmt::format("tensor {} at offset {} ({} bytes, rounded up to {}) ends past the "
                      "largest possible arena of 2^63-1 bytes",
                      tensor.id, plan.offsets[t], tensor.size, alignment));
    result.arena_bytes = std::max(result.arena_bytes, end);
    placed.push_back(t);
  }
  if (plan.arena_bytes != result.arena_bytes)
    problem(fmt::format("arena_bytes is {} but the placed tensors end at {}", plan.arena_bytes,
                        result.arena_bytes));

  // 3. No two tensors live at the same step overlap in memory. Sweep over steps, keeping the live
  // tensors ordered by offset; a newly live tensor must fit between its neighbours.
  std::vector<std::vector<int>> starting(last + 1), ending(last + 1);
  for (int t : placed) {
    starting[start[t]].push_back(t);
    ending[dies[t]].push_back(t);
  }
  std::set<std::pair<std::int64_t, int>> live;  // (offset, tensor)
  for (int s = 0; s <= last; ++s) {
    for (int t : starting[s]) {
      const std::int64_t lo = plan.offsets[t];
      const std::int64_t hi = end_of(t);
      auto next = live.lower_bound({lo, -1});
      if (next != live.end() && next->first < hi)
        problem(fmt::format(
            "tensors {} and {} overlap in memory at step {} ([{}, {}) and offset {})",
            graph.tensors[t].id, graph.tensors[next->second].id, s, lo, hi, next->first));
      if (next != live.begin()) {
        auto prev = std::prev(next);
        const std::int64_t prev_end = end_of(prev->second);
        if (prev_end > lo)
          problem(fmt::format(
              "tensors {} and {} overlap in memory at step {} (offset {} and [{}, {}))",
              graph.tensors[t].id, graph.tensors[prev->second].id, s, lo, prev->first, prev_end));
      }
      live.insert({lo, t});
    }
    for (int t : ending[s]) live.erase({plan.offsets[t], t});
  }
  return result;
}

void require_valid(const Graph& graph, const Plan& plan, std::int64_t alignment) {
  CheckResult result = check_plan(graph, plan, alignment);
  if (result.valid) return;
  std::string text =
      fmt::format("internal error: the plan for \"{}\" failed the checker:", graph.name);
  for (const auto& p : result.problems) text += " " + p + ";";
  throw Error(text);
}

}  // namespace tensorplan::mem
