#include "tensorplan/mem/place/problem.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "tensorplan/common/saturating.h"
#include "tensorplan/common/text.h"
#include "tensorplan/mem/simulate.h"

namespace tensorplan::mem::place {

std::int64_t aligned_size(const Problem& problem, const Buffer& buffer) {
  return round_up(buffer.size, std::max<std::int64_t>(1, problem.alignment));
}

std::int64_t max_live(const Problem& problem) {
  // Starts and ends per time, each summed saturating; the running total never goes above the
  // sum of the starts so far, so it saturates too rather than wrapping.
  std::map<std::int64_t, std::pair<std::int64_t, std::int64_t>> events;  // time -> (ends, starts)
  for (const Buffer& b : problem.buffers) {
    auto& start = events[b.lower].second;
    start = add_saturating(start, aligned_size(problem, b));
    auto& end = events[b.upper].first;
    end = add_saturating(end, aligned_size(problem, b));
  }
  std::int64_t running = 0, peak = 0;
  for (const auto& [time, change] : events) {
    if (running != kSaturated) running = add_saturating(running - change.first, change.second);
    peak = std::max(peak, running);
  }
  return peak;
}

std::int64_t height(const Problem& problem, const std::vector<std::int64_t>& offsets) {
  std::int64_t top = 0;
  for (std::size_t i = 0; i < problem.buffers.size(); ++i)
    top = std::max(top, add_saturating(offsets[i], aligned_size(problem, problem.buffers[i])));
  return top;
}

std::int64_t top(const Problem& problem, const std::vector<std::int64_t>& offsets) {
  std::int64_t last = 0;
  for (std::size_t i = 0; i < problem.buffers.size(); ++i)
    last = std::max(last, add_saturating(offsets[i], problem.buffers[i].size));
  return last;
}

bool is_valid(const Problem& problem, const std::vector<std::int64_t>& offsets, std::string* why,
              const std::vector<std::string>* names) {
  auto explain = [&](std::string text) {
    if (why) *why = std::move(text);
    return false;
  };
  const auto& buffers = problem.buffers;
  auto name = [&](std::size_t i) {
    return names && i < names->size() ? quote_name((*names)[i]) : std::to_string(buffers[i].id);
  };
  auto overlap = [&](int b, int other) {
    return explain(fmt::format(
        "buffers {} (offset {}, {} B) and {} (offset {}, {} B) overlap while both are live at "
        "time {}",
        name(other), offsets[other], aligned_size(problem, buffers[other]), name(b), offsets[b],
        aligned_size(problem, buffers[b]), buffers[b].lower));
  };
  if (offsets.size() != buffers.size())
    return explain(fmt::format("{} offsets for {} buffers", offsets.size(), buffers.size()));
  const std::int64_t a = std::max<std::int64_t>(1, problem.alignment);
  // Sweep over time: buffers sorted by start; the live set ordered by offset.
  std::vector<int> by_lower(buffers.size());
  for (std::size_t i = 0; i < buffers.size(); ++i) {
    by_lower[i] = static_cast<int>(i);
    if (offsets[i] < 0) return explain(fmt::format("buffer {} has negative offset", name(i)));
    if (offsets[i] % a != 0)
      return explain(
          fmt::format("buffer {} offset {} is not a multiple of {}", name(i), offsets[i], a));
  }
  std::sort(by_lower.begin(), by_lower.end(),
            [&](int x, int y) { return buffers[x].lower < buffers[y].lower; });
  std::set<std::pair<std::int64_t, int>> live;  // (offset, buffer)
  std::multimap<std::int64_t, int> expiry;      // upper -> buffer
  for (int b : by_lower) {
    while (!expiry.empty() && expiry.begin()->first <= buffers[b].lower) {
      live.erase({offsets[expiry.begin()->second], expiry.begin()->second});
      expiry.erase(expiry.begin());
    }
    const std::int64_t lo = offsets[b];
    std::int64_t hi = 0;
    if (__builtin_add_overflow(lo, aligned_size(problem, buffers[b]), &hi))
      return explain(fmt::format("buffer {} at offset {} ends past 2^63-1 bytes", name(b), lo));
    auto next = live.lower_bound({lo, -1});
    if (next != live.end() && next->first < hi) return overlap(b, next->second);
    if (next != live.begin()) {
      auto prev = std::prev(next);
      if (add_saturating(prev->first, aligned_size(problem, buffers[prev->second])) > lo)
        return overlap(b, prev->second);
    }
    live.insert({lo, b});
    expiry.emplace(buffers[b].upper, b);
  }
  return true;
}

Problem problem_from_graph(const Graph& graph, const std::vector<int>& order,
                           std::int64_t alignment) {
  Problem problem;
  problem.alignment = alignment;
  const auto lives = lifetimes(graph, order);
  for (int t = 0; t < graph.num_tensors(); ++t) {
    if (graph.tensors[t].size == 0) continue;
    problem.buffers.push_back({t, lives[t].start, lives[t].end + 1, graph.tensors[t].size});
  }
  return problem;
}

}  // namespace tensorplan::mem::place
