#include "tensorplan/mem/place/address_ilp.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "tensorplan/common/error.h"
#include "tensorplan/ilp/cbc.h"
#include "tensorplan/ilp/model.h"

namespace tensorplan::mem::place {
namespace {

bool share_time(const Buffer& x, const Buffer& y) { return x.lower < y.upper && y.lower < x.upper; }

// Places the buffers in `sequence` one at a time, each on top of the highest buffer placed before
// it that shares time with it (or at 0): a placement whose offsets are sums of sizes. Given the
// buffers in the offset order of a valid placement, no buffer ends up higher than it was there.
std::vector<std::int64_t> stack_in_sequence(const std::vector<Buffer>& buffers,
                                            const std::vector<std::int64_t>& units,
                                            const std::vector<int>& sequence) {
  std::vector<std::int64_t> offsets(buffers.size(), 0);
  std::vector<int> done;
  for (int b : sequence) {
    std::int64_t at = 0;
    for (int c : done)
      if (share_time(buffers[b], buffers[c])) at = std::max(at, offsets[c] + units[c]);
    offsets[b] = at;
    done.push_back(b);
  }
  return offsets;
}

}  // namespace

std::int64_t overlapping_pairs(const Problem& problem) {
  // Sweep: at each start, every buffer still live pairs with the new one.
  std::vector<std::pair<std::int64_t, int>> events;  // (time, +1 start / -1 end); ends first
  for (const Buffer& b : problem.buffers) {
    if (b.size <= 0 || b.upper <= b.lower) continue;
    events.emplace_back(b.lower, 1);
    events.emplace_back(b.upper, -1);
  }
  std::sort(events.begin(), events.end());
  std::int64_t live = 0, pairs = 0;
  for (const auto& [time, change] : events) {
    if (change > 0) pairs += live;
    live += change;
  }
  return pairs;
}

AddressIlpResult solve_address_ilp(const Problem& problem, const AddressIlpOptions& options) {
  Stopwatch clock;
  AddressIlpResult result;
  const auto& buffers = problem.buffers;
  const int n = static_cast<int>(buffers.size());
  for (const Buffer& b : buffers) {
    if (b.size < 0) fail("address ILP: buffer {} has negative size {}", b.id, b.size);
    if (b.size > 0 && b.upper <= b.lower)
      fail("address ILP: buffer {} has an empty lifetime [{}, {})", b.id, b.lower, b.upper);
  }
  const std::int64_t a = std::max<std::int64_t>(1, problem.alignment);

  // Units: the alignment times the GCD of the aligned sizes.
  std::vector<int> active;
  std::int64_t gcd = 0;
  for (int b = 0; b < n; ++b) {
    if (buffers[b].size == 0) continue;
    active.push_back(b);
    gcd = std::gcd(gcd, aligned_size(problem, buffers[b]) / a);
  }
  const std::int64_t unit = a * std::max<std::int64_t>(1, gcd);
  result.unit = unit;
  std::vector<std::int64_t> units(n, 0);
  std::int64_t total = 0;
  for (int b : active) total += units[b] = aligned_size(problem, buffers[b]) / unit;
  const std::int64_t bound = max_live(problem) / unit;
  result.lower_bound = bound * unit;

  auto finish = [&](std::vector<std::int64_t> offsets_in_units) {
    Placement placement;
    placement.offsets.resize(n);
    for (int b = 0; b < n; ++b) placement.offsets[b] = offsets_in_units[b] * unit;
    placement.height = height(problem, placement.offsets);
    result.status =
        placement.height <= result.lower_bound ? SearchStatus::kOptimal : SearchStatus::kFeasible;
    result.placement = std::move(placement);
    result.seconds = clock.seconds();
    return result;
  };

  // The limit: the capacity, or the start's height, or everything stacked.
  const std::int64_t capacity_units =
      options.capacity ? std::max<std::int64_t>(-1, *options.capacity / unit) : total;
  if (bound > capacity_units) {
    result.status = SearchStatus::kInfeasible;
    result.lower_bound = std::max(result.lower_bound, (capacity_units + 1) * unit);
    result.seconds = clock.seconds();
    return result;
  }
  if (active.empty()) return finish(std::vector<std::int64_t>(n, 0));

  // Buffers live over the whole span go to the bottom, in index order; the rest keep the start's
  // offset order (pushed down, so the start's offsets become sums of sizes in units).
  std::int64_t first = buffers[active[0]].lower, last = buffers[active[0]].upper;
  for (int b : active) {
    first = std::min(first, buffers[b].lower);
    last = std::max(last, buffers[b].upper);
  }
  std::vector<int> fixed, free;
  for (int b : active)
    (buffers[b].lower <= first && buffers[b].upper >= last ? fixed : free).push_back(b);
  result.fixed = static_cast<int>(fixed.size());
  std::int64_t base = 0;
  for (int b : fixed) base += units[b];

  std::optional<std::vector<std::int64_t>> start;
  std::int64_t limit = capacity_units;
  if (options.start && is_valid(problem, options.start->offsets)) {
    std::vector<int> sequence = fixed, by_offset = free;
    std::stable_sort(by_offset.begin(), by_offset.end(), [&](int x, int y) {
      return options.start->offsets[x] < options.start->offsets[y];
    });
    sequence.insert(sequence.end(), by_offset.begin(), by_offset.end());
    std::vector<std::int64_t> stacked = stack_in_sequence(buffers, units, sequence);
    std::int64_t top = 0;
    for (int b : active) top = std::max(top, stacked[b] + units[b]);
    if (top <= capacity_units) {
      start = std::move(stacked);
      limit = top;
      // Already at the bound, or only asked to fit: nothing to solve.
      if (top <= bound || !options.minimize) return finish(*start);
    }
  }

  // The model: H (the top), an offset per free buffer, a binary per pair of free buffers that
  // share time (1: the first is below the second).
  ilp::Model model;
  const int top_column =
      model.add_column(ilp::ColumnType::kContinuous, static_cast<double>(std::max(bound, base)),
                       static_cast<double>(limit), 1.0);
  std::vector<int> column(n, -1);
  for (int b : free) {
    if (base + units[b] > limit) {  // cannot fit above the fixed stack under the limit
      result.status = SearchStatus::kInfeasible;
      result.lower_bound = std::max(result.lower_bound, (limit + 1) * unit);
      result.seconds = clock.seconds();
      return result;
    }
    column[b] = model.add_column(ilp::ColumnType::kInteger, static_cast<double>(base),
                                 static_cast<double>(limit - units[b]));
    const int cols[] = {top_column, column[b]};
    const double coefs[] = {1.0, -1.0};
    model.add_row(cols, coefs, static_cast<double>(units[b]), ilp::kInfinity);
  }
  // Big-M: offset + size - other offset is at most limit - base.
  const double big_m = static_cast<double>(limit - base);
  struct Pair {
    int below, above, binary;
  };
  std::vector<Pair> pairs;
  std::vector<int> by_lower = free;
  std::sort(by_lower.begin(), by_lower.end(),
            [&](int x, int y) { return buffers[x].lower < buffers[y].lower; });
  for (std::size_t i = 0; i < by_lower.size(); ++i) {
    for (std::size_t j = i + 1; j < by_lower.size(); ++j) {
      const int x = by_lower[i], y = by_lower[j];
      if (buffers[y].lower >= buffers[x].upper) break;  // later ones start later still
      if (options.deadline.expired()) {
        result.seconds = clock.seconds();
        return result;
      }
      const int binary = model.add_binary();
      pairs.push_back({x, y, binary});
      // binary = 1: x below y, so offset_x + size_x <= offset_y.
      const int cols[] = {column[x], column[y], binary};
      const double below[] = {1.0, -1.0, big_m};
      model.add_row(cols, below, -ilp::kInfinity, big_m - static_cast<double>(units[x]));
      // binary = 0: y below x.
      const double above[] = {-1.0, 1.0, -big_m};
      model.add_row(cols, above, -ilp::kInfinity, -static_cast<double>(units[y]));
    }
  }
  result.pairs = static_cast<std::int64_t>(pairs.size());
  result.columns = model.num_columns();
  result.rows = model.num_rows();
  if (pairs.empty()) {  // no two free buffers share time: each sits on the fixed stack
    std::vector<std::int64_t> offsets(n, 0);
    std::int64_t offset = 0;
    for (int b : fixed) {
      offsets[b] = offset;
      offset += units[b];
    }
    for (int b : free) offsets[b] = base;
    return finish(offsets);
  }

  ilp::SolveOptions solve;
  solve.deadline = options.deadline;
  solve.threads = options.threads;
  solve.absolute_gap = 0.999;  // the top is a whole number of units at any integer solution
  if (!options.minimize) solve.relative_gap = 1.0;  // the first placement under the limit will do
  if (start) {
    solve.start.assign(model.num_columns(), 0.0);
    solve.start[top_column] = static_cast<double>(limit);
    for (int b : free) solve.start[column[b]] = static_cast<double>((*start)[b]);
    for (const Pair& p : pairs)
      solve.start[p.binary] = (*start)[p.below] < (*start)[p.above] ? 1.0 : 0.0;
  }
  const ilp::SolveResult solved = ilp::solve_with_cbc(model, solve);

  if (std::isfinite(solved.bound)) {
    const double proven = std::ceil(solved.bound - 1e-6 - 1e-9 * std::abs(solved.bound));
    result.lower_bound = std::max(result.lower_bound, static_cast<std::int64_t>(proven) * unit);
  }
  std::optional<std::vector<std::int64_t>> best = start;
  if (!solved.solution.empty()) {
    std::vector<std::int64_t> offsets(n, 0);
    std::int64_t offset = 0;
    for (int b : fixed) {
      offsets[b] = offset;
      offset += units[b];
    }
    for (int b : free) offsets[b] = std::llround(solved.solution[column[b]]);
    std::vector<std::int64_t> bytes(n);
    for (int b = 0; b < n; ++b) bytes[b] = offsets[b] * unit;
    std::int64_t top = 0;
    for (int b : active) top = std::max(top, offsets[b] + units[b]);
    // Kept only if valid (a guard against the solver's tolerances) and not worse than the start.
    if (top <= limit && is_valid(problem, bytes) && (!best || top < limit)) best = offsets;
  }
  if (best) return finish(*best);
  if (solved.status == ilp::SolveStatus::kInfeasible) {
    result.status = SearchStatus::kInfeasible;
    result.lower_bound = std::max(result.lower_bound, (limit + 1) * unit);
  }
  result.seconds = clock.seconds();
  return result;
}

}  // namespace tensorplan::mem::place
