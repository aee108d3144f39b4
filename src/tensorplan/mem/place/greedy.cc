#include "tensorplan/mem/place/greedy.h"

#include <algorithm>
#include <limits>

#include "tensorplan/common/error.h"
#include "tensorplan/mem/place/occupancy.h"
#include "tensorplan/mem/place/range_max.h"

namespace tensorplan::mem::place {

namespace {

__extension__ using Wide = unsigned __int128;  // size x duration can exceed 64 bits

// Time compressed to the slots between consecutive distinct lifetime bounds: buffer i lives in
// slots [first[i], end[i]).
struct Slots {
  int count = 0;
  std::vector<int> first, end;
};

Slots compress_time(const std::vector<Buffer>& buffers) {
  std::vector<std::int64_t> times;
  times.reserve(2 * buffers.size());
  for (const Buffer& b : buffers) {
    times.push_back(b.lower);
    times.push_back(b.upper);
  }
  std::sort(times.begin(), times.end());
  times.erase(std::unique(times.begin(), times.end()), times.end());
  auto slot = [&](std::int64_t t) {
    return static_cast<int>(std::lower_bound(times.begin(), times.end(), t) - times.begin());
  };
  Slots slots;
  slots.count = times.empty() ? 0 : static_cast<int>(times.size()) - 1;
  slots.first.reserve(buffers.size());
  slots.end.reserve(buffers.size());
  for (const Buffer& b : buffers) {
    slots.first.push_back(slot(b.lower));
    slots.end.push_back(slot(b.upper));
  }
  return slots;
}

// Per buffer, the most bytes live (`sizes`: rounded up to the alignment) at any moment of its
// lifetime.
std::vector<std::uint64_t> max_load_over_lifetimes(const Slots& slots,
                                                   const std::vector<std::int64_t>& sizes) {
  const std::size_t n = sizes.size();
  // Load per slot (unsigned: sums of sizes up to 2^62 + 2^61 stay exact).
  std::vector<std::uint64_t> load(static_cast<std::size_t>(slots.count) + 1, 0);
  for (std::size_t i = 0; i < n; ++i) {
    load[static_cast<std::size_t>(slots.first[i])] += static_cast<std::uint64_t>(sizes[i]);
    load[static_cast<std::size_t>(slots.end[i])] -= static_cast<std::uint64_t>(sizes[i]);
  }
  for (std::size_t s = 1; s < load.size(); ++s) load[s] += load[s - 1];
  load.pop_back();  // the end of the last slot
  const RangeMax<std::uint64_t> load_max(std::move(load));
  std::vector<std::uint64_t> out(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const auto first = static_cast<std::size_t>(slots.first[i]);
    const auto end = static_cast<std::size_t>(slots.end[i]);
    if (first < end) out[i] = load_max.max(first, end);
  }
  return out;
}

// Buffer indices in the order of `order`, each key descending.
std::vector<int> placement_order(const Problem& problem, const Slots& slots,
                                 const std::vector<std::int64_t>& sizes, GreedyOrder order) {
  const auto& buffers = problem.buffers;
  auto duration = [&](int i) {
    return static_cast<std::uint64_t>(buffers[i].upper) -
           static_cast<std::uint64_t>(buffers[i].lower);
  };
  auto area = [&](int i) { return static_cast<Wide>(sizes[i]) * duration(i); };
  std::vector<int> indices(buffers.size());
  for (std::size_t i = 0; i < indices.size(); ++i) indices[i] = static_cast<int>(i);
  auto tie_break = [&](int a, int b) {
    if (buffers[a].lower != buffers[b].lower) return buffers[a].lower < buffers[b].lower;
    return a < b;
  };
  switch (order) {
    case GreedyOrder::kSize:
      std::sort(indices.begin(), indices.end(), [&](int a, int b) {
        if (sizes[a] != sizes[b]) return sizes[a] > sizes[b];
        if (duration(a) != duration(b)) return duration(a) > duration(b);
        return tie_break(a, b);
      });
      break;
    case GreedyOrder::kDuration:
      std::sort(indices.begin(), indices.end(), [&](int a, int b) {
        if (duration(a) != duration(b)) return duration(a) > duration(b);
        if (sizes[a] != sizes[b]) return sizes[a] > sizes[b];
        return tie_break(a, b);
      });
      break;
    case GreedyOrder::kContention: {
      const std::vector<std::uint64_t> contention = max_load_over_lifetimes(slots, sizes);
      std::sort(indices.begin(), indices.end(), [&](int a, int b) {
        if (contention[a] != contention[b]) return contention[a] > contention[b];
        if (sizes[a] != sizes[b]) return sizes[a] > sizes[b];
        if (duration(a) != duration(b)) return duration(a) > duration(b);
        return tie_break(a, b);
      });
      break;
    }
    case GreedyOrder::kArea:
      std::sort(indices.begin(), indices.end(), [&](int a, int b) {
        if (area(a) != area(b)) return area(a) > area(b);
        if (sizes[a] != sizes[b]) return sizes[a] > sizes[b];
        return tie_break(a, b);
      });
      break;
  }
  return indices;
}

}  // namespace

// Every range boundary is a multiple of the alignment (offsets are, and sizes are rounded), so
// every gap start is aligned too.
std::int64_t choose_offset(const std::vector<AddressRange>& taken, std::int64_t size,
                           GreedyFit fit) {
  std::int64_t gap_begin = 0;
  std::int64_t best = -1, best_length = std::numeric_limits<std::int64_t>::max();
  for (const AddressRange& range : taken) {
    const std::int64_t length = range.begin - gap_begin;
    if (length >= size) {
      if (fit == GreedyFit::kFirstFit) return gap_begin;
      if (length < best_length) best = gap_begin, best_length = length;  // strict: lowest on ties
    }
    gap_begin = range.end;
  }
  return best >= 0 ? best : gap_begin;  // no gap fits: on top
}

std::string GreedyPlacer::name() const {
  const char* order = order_ == GreedyOrder::kSize         ? "size"
                      : order_ == GreedyOrder::kDuration   ? "duration"
                      : order_ == GreedyOrder::kContention ? "contention"
                                                           : "area";
  return fmt::format("greedy-{}-{}", order, fit_ == GreedyFit::kBestFit ? "best-fit" : "first-fit");
}

Placement GreedyPlacer::place(const Problem& problem, const Deadline& deadline) const {
  const auto& buffers = problem.buffers;
  const std::size_t n = buffers.size();
  Placement placement;
  placement.offsets.assign(n, 0);
  if (n == 0) return placement;

  std::vector<std::int64_t> sizes(n);
  for (std::size_t i = 0; i < n; ++i) {
    const Buffer& b = buffers[i];
    if (b.lower >= b.upper) fail("buffer {}: empty lifetime [{}, {})", b.id, b.lower, b.upper);
    if (b.size <= 0) fail("buffer {}: size {} is not positive", b.id, b.size);
    sizes[i] = aligned_size(problem, b);
  }
  const Slots slots = compress_time(buffers);

  Occupancy occupancy(slots.count);
  std::size_t placed = 0;
  for (int i : placement_order(problem, slots, sizes, order_)) {
    // Large, fragmented problems can take many seconds: give up when the time is out.
    if (++placed % 1024 == 0 && deadline.expired()) return Placement{};
    const int first = slots.first[static_cast<std::size_t>(i)];
    const int end = slots.end[static_cast<std::size_t>(i)];
    const std::int64_t offset = choose_offset(occupancy.taken(first, end), sizes[i], fit_);
    std::int64_t top = 0;
    if (__builtin_add_overflow(offset, sizes[i], &top))
      fail("placement overflows 64-bit addresses at buffer {}", buffers[i].id);
    occupancy.add(first, end, offset, top);
    placement.offsets[i] = offset;
    placement.height = std::max(placement.height, top);
  }
  return placement;
}

}  // namespace tensorplan::mem::place
