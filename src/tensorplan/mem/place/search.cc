#include "tensorplan/mem/place/search.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <memory>
#include <numeric>
#include <thread>
#include <utility>
#include <vector>

#include "tensorplan/common/error.h"
#include "tensorplan/common/saturating.h"
#include "tensorplan/mem/place/search/branch_and_bound.h"
#include "tensorplan/mem/place/search/part.h"
#include "tensorplan/mem/place/search/pieces.h"
#include "tensorplan/mem/place/search/strategy_turns.h"

namespace tensorplan::mem::place {
namespace {

using exact::improve_big_part;
using exact::kInf;
using exact::kStrategies;
using exact::make_part_search;
using exact::node_work;
using exact::Part;
using exact::part_height;
using exact::part_max_live;
using exact::PartSearch;
using exact::ProbeResult;
using exact::searchable;
using exact::skyline_dive;
using exact::split_into_parts;
using exact::SteppedSearch;
using exact::Strategy;
using exact::StrategyTurns;

// The searches as the turn-taking sees them.
std::vector<SteppedSearch*> stepped(const std::vector<std::unique_ptr<PartSearch>>& searches) {
  std::vector<SteppedSearch*> out;
  for (const auto& search : searches) out.push_back(search.get());
  return out;
}

// What one part's solve established, in alignment units.
struct PartOutcome {
  std::optional<std::vector<std::int64_t>> offsets;  // best found under the capacity
  std::int64_t height = kInf;                        // of offsets
  std::int64_t lower_bound = 0;                      // proven
  bool infeasible = false;                           // proven: nothing fits under the capacity
  std::int64_t nodes = 0;
};

// A part of more buffers than this that can be searched whole is searched in pieces first.
constexpr std::size_t kPiecesFirstBuffers = 1000;
constexpr double kPiecesFirstShare = 0.5;  // of the time left

// Solves one part. `capacity` in units (kInf: none). In minimise mode the search stops once the
// part is at or below `good_enough` (lower is of no use to the whole). `piece`: the part is a piece
// of a bigger one (searched whole, never in pieces of its own).
// `report(height, lower_bound)` (units) is told of every better placement and every rise of the
// bound.
PartOutcome solve_part(const Part& part, std::optional<std::vector<std::int64_t>> incumbent,
                       std::int64_t capacity, bool minimize, std::int64_t good_enough,
                       const SearchOptions& options,
                       const std::function<void(std::int64_t, std::int64_t)>& report,
                       bool piece = false) {
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
  // A piece of this part is searched like a part, without pieces of its own (it is searchable).
  auto search_piece = [&options](const Part& piece, std::vector<std::int64_t> start,
                                 std::int64_t target, const Deadline& deadline) {
    SearchOptions piece_options = options;
    piece_options.deadline = deadline;
    PartOutcome found = solve_part(
        piece, std::move(start), kInf, true, target, piece_options,
        [](std::int64_t, std::int64_t) {}, true);
    return std::move(*found.offsets);  // at worst the start: no capacity
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
      improve_big_part(part, std::move(layout),
                       minimize ? std::max(good_enough, out.lower_bound) : capacity, options,
                       search_piece, offer);
    return out;
  }
  // A big part that can be searched whole is searched in pieces first, for a share of the time:
  // the branch and bound rarely improves on a layout of thousands of buffers in seconds (swin_s at
  // batch 1: 2,848 buffers, still 1.2% above the bound after 5 s), where its windows and top can
  // reach the bound at once (0 in 0.3 s). The search goes on from the lowest layout found.
  if (!piece && minimize && part.members.size() > kPiecesFirstBuffers &&
      out.height > std::max(good_enough, out.lower_bound)) {
    SearchOptions piece_options = options;
    piece_options.deadline = Deadline(options.deadline.remaining() * kPiecesFirstShare);
    improve_big_part(part, out.offsets ? *out.offsets : layout,
                     std::max(good_enough, out.lower_bound), piece_options, search_piece, offer);
  }
  // Most parts are placed by the first dive of the first strategy, if it gets the steps to reach
  // the bottom (a node costs at most work_per_node): it goes first, alone in its turn.
  const std::int64_t lead = static_cast<std::int64_t>(part.members.size()) * work_per_node;
  std::vector<std::vector<int>> crossing(part.sections);
  for (std::size_t b = 0; b < part.members.size(); ++b)
    for (int s = part.first[b]; s < part.last[b]; ++s) crossing[s].push_back(static_cast<int>(b));
  auto make_searches = [&] {
    std::vector<std::unique_ptr<PartSearch>> searches;
    if (options.strategy) {
      searches.push_back(make_part_search(
          part, crossing, kStrategies[static_cast<std::size_t>(*options.strategy)]));
    } else {
      for (const Strategy& strategy : kStrategies)
        searches.push_back(make_part_search(part, crossing, strategy));
    }
    return searches;
  };
  std::vector<std::unique_ptr<PartSearch>> searches = make_searches();
  const Deadline& deadline = options.deadline;
  const std::size_t threads = static_cast<std::size_t>(
      options.threads > 0 ? options.threads
                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency())));
  auto probe = [&](std::int64_t capacity, std::int64_t budget) {
    StrategyTurns turns(stepped(searches), capacity, deadline, threads, lead);
    const ProbeResult r = turns.run(budget);
    if (r == ProbeResult::kFound) offer(turns.solution());
    return r;
  };
  std::vector<std::unique_ptr<PartSearch>> bound_searches;  // minimising: the probe at the bound's
  auto total_nodes = [&] {
    std::int64_t nodes = 0;
    for (const auto& search : searches) nodes += search->nodes();
    for (const auto& search : bound_searches) nodes += search->nodes();
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
      at_bound =
          std::make_unique<StrategyTurns>(stepped(bound_searches), target, deadline, threads, lead);
    const ProbeResult r = at_bound->run(budget);
    if (r == ProbeResult::kFound) offer(at_bound->solution());
    return r;
  };
  // Searched heights are sums of sizes, so only multiples of their gcd need probing.
  std::int64_t g = 0;
  for (std::int64_t size : part.size) g = std::gcd(g, size);
  g = std::max<std::int64_t>(g, 1);
  auto down = [&](std::int64_t x) { return x / g * g; };
  auto up = [&](std::int64_t x) { return round_up(x, g); };
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

}  // namespace tensorplan::mem::place
