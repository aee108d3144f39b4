#include "tensorplan/mem/place/search/pieces.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <utility>

#include "tensorplan/mem/place/greedy.h"
#include "tensorplan/mem/place/occupancy.h"

namespace tensorplan::mem::place::exact {

bool searchable(const Part& part, const SearchOptions& options) {
  return part.members.size() <= kMaxSearchedBuffers && node_work(part) <= options.max_work_per_node;
}

namespace {

constexpr double kForever = std::numeric_limits<double>::infinity();

// A share of the time left, from `floor` to `cap` seconds (or what is left, if less): a piece that
// is not solved in a few seconds rarely is in more, and the time is better spent on other pieces.
// With minutes left the cap grows to a tenth of them: a slow machine (a loaded one, a sanitizer
// build) still gets its pieces searched (S_1's window needs 0.5 s here, over 4 s under ASan beside
// other work).
Deadline slice_of(const Deadline& deadline, double share, double floor, double cap) {
  const double left = deadline.remaining();
  return Deadline(std::min(left, std::clamp(left * share, floor, std::max(cap, left / 10))));
}

// The layout of `part` with the buffers `fixed` (offsets >= 0 in `offsets`) where they are and
// every other buffer put, one at a time, in the lowest gap that fits it among those placed (first
// fit) or the smallest one (best fit): the greedy ways, largest first or most contended first, the
// lowest result kept. At least the first way runs in full; the others only before the deadline.
std::vector<std::int64_t> fill_around(const Part& part, const std::vector<std::int64_t>& offsets,
                                      const Deadline& deadline) {
  const int n = static_cast<int>(part.members.size());
  Occupancy fixed(part.sections);
  std::vector<int> rest;
  for (int b = 0; b < n; ++b) {
    if (offsets[b] >= 0)
      fixed.add(part.first[b], part.last[b], offsets[b], offsets[b] + part.size[b]);
    else
      rest.push_back(b);
  }
  std::vector<std::int64_t> best;
  std::int64_t best_height = kInf;
  struct Way {
    bool most_contended_first;  // else largest first
    GreedyFit fit;
  };
  // Largest first as the heuristics do (first, so that it is kept on ties), then most contended
  // first (part.orders[kLoadFirst]: the peak load over a buffer's lifetime): on a random packing
  // of 40k buffers the window filled that way ended 1-3% above the bound, largest first 10%.
  for (const Way way : {Way{false, GreedyFit::kFirstFit}, Way{true, GreedyFit::kBestFit},
                        Way{true, GreedyFit::kFirstFit}}) {
    if (!best.empty() && deadline.expired()) break;
    if (way.most_contended_first) {
      std::stable_sort(rest.begin(), rest.end(), [&](int x, int y) {
        return part.orders[kLoadFirst][x] < part.orders[kLoadFirst][y];
      });
    } else {
      std::stable_sort(rest.begin(), rest.end(), [&](int x, int y) {
        return std::make_pair(part.size[x], part.life[x]) >
               std::make_pair(part.size[y], part.life[y]);
      });
    }
    Occupancy taken = fixed;
    std::vector<std::int64_t> layout = offsets;
    for (int b : rest) {
      layout[b] = choose_offset(taken.taken(part.first[b], part.last[b]), part.size[b], way.fit);
      taken.add(part.first[b], part.last[b], layout[b], layout[b] + part.size[b]);
    }
    const std::int64_t h = part_height(part, layout);
    if (h < best_height) best_height = h, best = std::move(layout);
  }
  return best;
}

// How the window's search ranks, among buffers as loaded, those it places first (lowest): by
// lifetime, as every part is ranked, or by age at the window's start, the earliest born first (as
// an allocator that stacks buffers in the order they come). Neither leaves the best room to fill
// in every case: on S_1 (IOPDDL) the window ranked by lifetime fills to 4.5% above the bound (its
// repair 0.126%), ranked by age to the bound itself; on pangu_2.6B ranking by age does worse.
enum class WindowRanking { kLifetime, kAge };

struct HotLayout {
  std::vector<std::int64_t> offsets;  // the part's layout; empty if the window is too big to search
  bool window_at_target = false;      // the window's search reached the target
};

// A layout that is tight where the part is most loaded: the buffers that cross its hot window (from
// the first section loaded above `threshold` to the last) are placed by the exact search on the
// window alone, their lifetimes cut to it, then the rest around them (fill_around). One window,
// not each hot stretch apart: two buffers that cross one window and share time share some of its
// sections (one ends in it, the other starts in it), so cutting to it keeps every conflict, which
// cutting to two stretches would not. `layout` (valid) starts the window's search.
HotLayout hot_window_layout(const Part& part, const std::vector<std::int64_t>& layout,
                            std::int64_t threshold, std::int64_t target, WindowRanking ranking,
                            const SearchOptions& options, const PieceSearch& search_piece) {
  const int n = static_cast<int>(part.members.size());
  const std::vector<std::int64_t> load = section_loads(part);
  int begin = part.sections, end = 0;
  for (int s = 0; s < part.sections; ++s)
    if (load[s] > threshold) begin = std::min(begin, s), end = s + 1;
  if (begin >= end) return {};
  Part hot;  // its members: the part's indices of the buffers that cross the window
  hot.sections = end - begin;
  std::vector<std::int64_t> start;
  for (int b = 0; b < n; ++b) {
    const int first = std::max(part.first[b], begin), last = std::min(part.last[b], end);
    if (first >= last) continue;
    hot.members.push_back(b);
    hot.first.push_back(first - begin);
    hot.last.push_back(last - begin);
    hot.size.push_back(part.size[b]);
    // Ranked by age, `life` holds the time a buffer has lived when the window starts (negative for
    // those born in it); only the priorities read it.
    hot.life.push_back(ranking == WindowRanking::kAge ? static_cast<double>(begin - part.first[b])
                                                      : part.life[b]);
    start.push_back(layout[b]);
  }
  hot.orders = priority_orders(hot);
  if (!searchable(hot, options)) return {};
  // Most of the time: the window is where the bound is set, and a search that reaches its target
  // returns at once (swin_v2_t at batch 1: its window needs 1.1 s of 2 s, a half was too little).
  const std::vector<std::int64_t> placed =
      search_piece(hot, std::move(start), target, slice_of(options.deadline, 0.7, 0.5, 4.0));
  std::vector<std::int64_t> offsets(n, -1);
  for (std::size_t k = 0; k < hot.members.size(); ++k) offsets[hot.members[k]] = placed[k];
  return {fill_around(part, offsets, options.deadline), part_height(hot, placed) <= target};
}

// The part made of `part`'s buffers `chosen` (local indices, none under an unchosen buffer that
// shares time with it), standing on the others where `offsets` has them: its sections are cut at
// the chosen buffers' ends, and each one's base is the highest top of an unchosen buffer there.
// Its members are the local indices.
Part band_part(const Part& part, const std::vector<int>& chosen, const std::vector<char>& is_chosen,
               const std::vector<std::int64_t>& offsets) {
  SkylineTree kept(part.sections);
  for (std::size_t b = 0; b < part.members.size(); ++b)
    if (!is_chosen[b]) kept.raise(part.first[b], part.last[b], offsets[b] + part.size[b]);
  std::vector<int> cuts;
  for (int b : chosen) {
    cuts.push_back(part.first[b]);
    cuts.push_back(part.last[b]);
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  Part band;
  band.sections = static_cast<int>(cuts.size()) - 1;
  auto section = [&](int s) {
    return static_cast<int>(std::lower_bound(cuts.begin(), cuts.end(), s) - cuts.begin());
  };
  for (int b : chosen) {
    band.members.push_back(b);
    band.first.push_back(section(part.first[b]));
    band.last.push_back(section(part.last[b]));
    band.size.push_back(part.size[b]);
    band.life.push_back(part.life[b]);
  }
  band.base.assign(band.sections, 0);
  for (int s = 0; s < band.sections; ++s) band.base[s] = kept.max(cuts[s], cuts[s + 1]);
  band.orders = priority_orders(band);
  return band;
}

// The buffers above `level` under the highest one: those with tops above the level that share time
// with the highest buffer and, transitively, those above them (taken in the order of their
// offsets, a buffer sharing time with one already taken is above it, and must be taken too, or it
// would float over the band). `by_offset`: every buffer, lowest offset first.
std::vector<int> column_band(const Part& part, const std::vector<std::int64_t>& offsets,
                             const std::vector<int>& by_offset, int highest, std::int64_t level) {
  SkylineTree taken(part.sections);
  taken.raise(part.first[highest], part.last[highest], 1);
  std::vector<int> band;
  for (int b : by_offset) {
    if (offsets[b] + part.size[b] <= level || taken.max(part.first[b], part.last[b]) == 0) continue;
    band.push_back(b);
    taken.raise(part.first[b], part.last[b], 1);
  }
  return band;
}

// Lowers a layout by searching its top: buffers whose tops lie above a level Y (none of them under
// a buffer that stays) are placed again by the exact search, on the skyline of the others. Two
// kinds of band: the column under the highest buffer (column_band), as deep as a band of the size
// allows, and the highest buffers of the whole part. Bands start at 64 buffers and grow (twice the
// buffers) whenever neither can get lower than the layout (its own bound, base plus load, is as
// high) or its search finds nothing lower in its time, until the layout is at `target`, the bands
// are too big to search, or the deadline passes.
void repair_top(const Part& part, std::vector<std::int64_t>& offsets, std::int64_t target,
                const SearchOptions& options, const PieceSearch& search_piece) {
  const std::size_t n = part.members.size();
  std::int64_t height = part_height(part, offsets);
  auto top = [&](int b) { return offsets[b] + part.size[b]; };
  std::vector<int> by_top(n), by_offset(n);
  std::vector<char> is_chosen(n);
  // Searches one band; true if it lowered the layout. Sets `too_big` if it could not be searched.
  bool too_big = false;
  auto try_band = [&](const std::vector<int>& chosen) {
    std::fill(is_chosen.begin(), is_chosen.end(), 0);
    for (int b : chosen) is_chosen[b] = 1;
    const Part band = band_part(part, chosen, is_chosen, offsets);
    if (!searchable(band, options)) {
      too_big = true;
      return false;
    }
    if (part_max_live(band) >= height) return false;
    std::vector<std::int64_t> start;
    for (int b : chosen) start.push_back(offsets[b]);
    const std::vector<std::int64_t> placed =
        search_piece(band, std::move(start), target, slice_of(options.deadline, 0.25, 0.25, 2.0));
    if (part_height(band, placed) >= height) return false;
    for (std::size_t c = 0; c < chosen.size(); ++c) offsets[chosen[c]] = placed[c];
    height = part_height(part, offsets);
    return true;
  };
  for (std::size_t want = 64; height > target && !options.deadline.expired();) {
    const std::size_t k = std::min(want, n);
    std::iota(by_top.begin(), by_top.end(), 0);
    std::sort(by_top.begin(), by_top.end(), [&](int x, int y) { return top(x) > top(y); });
    by_offset = by_top;
    std::sort(by_offset.begin(), by_offset.end(),
              [&](int x, int y) { return offsets[x] < offsets[y]; });
    // The column: the lowest level (a top, bisected) whose band has at most k buffers.
    std::size_t lo = 0, hi = n - 1;  // levels by_top[i]: the band grows with i
    std::vector<int> column = column_band(part, offsets, by_offset, by_top[0], top(by_top[0]));
    while (lo < hi) {
      const std::size_t mid = (lo + hi + 1) / 2;
      std::vector<int> band = column_band(part, offsets, by_offset, by_top[0], top(by_top[mid]));
      if (band.size() <= k) {
        lo = mid;
        column = std::move(band);
      } else {
        hi = mid - 1;
      }
    }
    too_big = false;
    bool lowered = !column.empty() && try_band(column);
    const bool column_too_big = too_big;
    if (!lowered && !options.deadline.expired()) {
      // The highest k buffers of the whole part (and those tied with the k-th).
      const std::int64_t level = k < n ? top(by_top[k]) : 0;
      std::vector<int> highest;
      for (std::size_t b = 0; b < n; ++b)
        if (top(static_cast<int>(b)) > level) highest.push_back(static_cast<int>(b));
      too_big = false;
      lowered = try_band(highest);
      if (too_big && column_too_big) return;
    }
    if (!lowered) {
      if (k >= n) return;
      want *= 2;
    }
  }
}

}  // namespace

void improve_big_part(const Part& part, std::vector<std::int64_t> layout, std::int64_t target,
                      const SearchOptions& options, const PieceSearch& search_piece,
                      const std::function<void(const std::vector<std::int64_t>&)>& offer) {
  const std::int64_t bound = part_max_live(part);
  std::int64_t height = part_height(part, layout);
  // Each hot layout is repaired at once, even one higher than the best so far: its hot window is
  // tight, and what the filling spoilt is often at the top (S_1: 4.5% above the bound filled,
  // 0.13% repaired, where repairing the best heuristic's layout gained nothing).
  // A window's layout is filled in full once started, so none is started in less time than the
  // last one took (a fill of 40k buffers takes ~0.4 s).
  double last_window = 0;
  // From the 99% window outwards while the windows can be searched. Where even the 99% window
  // cannot (a part loaded near its peak for long: swin_v2_b at batch 1, whose sections above 99%
  // lie 2,470 sections apart), narrower windows instead, up to the first that can.
  std::vector<double> shares = {0.99, 0.98, 0.97, 0.95, 0.9};
  bool narrowing = false;
  for (std::size_t i = 0; i < shares.size(); ++i) {
    if (height <= target || options.deadline.remaining() <= last_window) break;
    const Stopwatch window_clock;
    const auto threshold = static_cast<std::int64_t>(shares[i] * static_cast<double>(bound));
    HotLayout window = hot_window_layout(part, layout, threshold, target, WindowRanking::kLifetime,
                                         options, search_piece);
    // The window reached its target but the rest did not fit around it: ranked by age, the window
    // may leave the room the rest needs (S_1: 0.126% above the bound repaired; by age, at it).
    if (window.window_at_target && part_height(part, window.offsets) > target &&
        !options.deadline.expired()) {
      HotLayout by_age = hot_window_layout(part, layout, threshold, target, WindowRanking::kAge,
                                           options, search_piece);
      if (!by_age.offsets.empty() &&
          part_height(part, by_age.offsets) < part_height(part, window.offsets))
        window = std::move(by_age);
    }
    last_window = window_clock.seconds();
    std::vector<std::int64_t> hot = std::move(window.offsets);
    if (hot.empty()) {  // too big to search: the wider windows are bigger still
      if (i == 0) {
        shares = {0.99, 0.995, 0.999, 0.9999};
        narrowing = true;
      }
      if (narrowing) continue;
      break;
    }
    SearchOptions repair_options = options;  // a third of the time: the next window may do better
    repair_options.deadline = slice_of(options.deadline, 1.0 / 3, 0.5, kForever);
    repair_top(part, hot, target, repair_options, search_piece);
    offer(hot);
    const std::int64_t h = part_height(part, hot);
    if (h < height) height = h, layout = std::move(hot);
    if (narrowing) break;  // the widest window that can be searched
  }
  repair_top(part, layout, target, options, search_piece);
  offer(layout);
}

}  // namespace tensorplan::mem::place::exact
