#include "tensorplan/mem/place/search/part.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <numeric>
#include <queue>
#include <tuple>
#include <vector>

#include "tensorplan/mem/place/range_max.h"

namespace tensorplan::mem::place::exact {

PriorityKey priority_key(int order, double peak, double life, double size) {
  return order == kLoadFirst ? PriorityKey(peak, life, size) : PriorityKey(size, life, 0);
}

std::vector<std::vector<int>> priority_orders(const Part& part) {
  const int n = static_cast<int>(part.members.size());
  const std::vector<std::int64_t> load = section_loads(part);
  std::vector<std::int64_t> peak(n, 0);
  const RangeMax<std::int64_t> load_max(load);
  for (int b = 0; b < n; ++b) peak[b] = load_max.max(part.first[b], part.last[b]);
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

std::vector<std::int64_t> section_loads(const Part& part) {
  std::vector<std::int64_t> load(part.sections + 1, 0);
  for (std::size_t b = 0; b < part.members.size(); ++b) {
    load[part.first[b]] += part.size[b];
    load[part.last[b]] -= part.size[b];
  }
  for (int s = 1; s < part.sections; ++s) load[s] += load[s - 1];
  load.pop_back();
  return load;
}

std::int64_t part_max_live(const Part& part) {
  const std::vector<std::int64_t> load = section_loads(part);
  std::int64_t peak = 0;
  for (int s = 0; s < part.sections; ++s)
    // A section nothing crosses asks for nothing, whatever its base.
    if (load[s] > 0) peak = std::max(peak, load[s] + (part.base.empty() ? 0 : part.base[s]));
  return peak;
}

std::int64_t node_work(const Part& part) {
  std::int64_t work = static_cast<std::int64_t>(part.members.size()) + part.sections;
  for (std::size_t b = 0; b < part.members.size(); ++b) work += part.last[b] - part.first[b];
  return work;
}

}  // namespace tensorplan::mem::place::exact
