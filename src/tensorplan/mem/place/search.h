// An exact placement search: a complete branch-and-bound over buffer offsets, in the spirit of
// Google's MiniMalloc (Moffitt, ASPLOS 2023), written from its published ideas:
//
// - Canonical placements only. Buffers are placed one at a time in non-decreasing offset order,
//   each on the "skyline" of the buffers already placed that share time with it (offset 0 or the
//   top of one of them). Every placement can be pushed down into such a one, so this is complete.
// - Time sections (cut at every lower and upper) carry the current floor and the bytes of the
//   unplaced buffers that cross them; a node is pruned when some section cannot hold what is left
//   above the lowest offset any of its unplaced buffers can still take.
// - Each section on its own is a one-machine schedule with release dates (the lowest offsets its
//   buffers can still take): a node is pruned when stacking them in release order overflows.
// - Dominance: no buffer is placed at or above the top another unplaced buffer would have on its
//   skyline (that one could drop into the gap); a lowest buffer that lives over the whole group
//   goes first without alternatives; after a failure that did not depend on the buffer just
//   placed (nothing unplaced above it, or a failed piece apart from it) no sibling is tried.
// - Branching on the lowest candidates first; a buffer tried first at a node and failed is not
//   tried first again at that same offset deeper down (no-good), and identical buffers are placed
//   in one fixed order (symmetry).
// - The problem splits where no buffer crosses a time boundary, before and during the search; the
//   pieces are solved apart, each from offset 0 with its buffers ranked afresh by the loads left
//   in their sections (as MiniMalloc re-preorders sub-partitions). A piece proven infeasible is
//   remembered with its floors and capacity; any piece of the same buffers that is at least as
//   hard (floors as high, relative to the capacity) fails at once.
// - Several branching strategies (static priority orders, a dynamic fail-first tie-break, tight
//   sections first) take turns, since search times are heavy-tailed: each runs a slice of steps,
//   pauses, and goes on where it stopped at its next turn. Turns run on several threads at once,
//   and the outcome is the first deciding turn in a fixed order, so it does not depend on them.
// - Minimising probes capacities between the proven lower bound (max live bytes, raised by every
//   capacity proven infeasible) and the best height found, with growing step budgets.
// - A part too big to search whole (more than 10,000 buffers, or nodes of more than
//   max_work_per_node steps: real training traces of 20k-60k buffers are one part) is searched in
//   pieces: its hot window (the sections from the first to the last loaded above 99%, 98%, ...
//   of its bound) alone, the lifetimes cut to it, the other buffers then put around it in the
//   lowest gap that fits; and its top: the buffers above a level, placed again on the skyline of
//   the others (a band of 64 buffers, twice as many while that gains nothing). Neither is
//   complete, so only a layout at the bound is proven optimal; each takes a slice of the time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "tensorplan/common/timer.h"
#include "tensorplan/mem/place/placer.h"
#include "tensorplan/mem/place/problem.h"

namespace tensorplan::mem::place {

enum class SearchStatus {
  kOptimal,     // placement found and its height equals the proven lower bound
  kFeasible,    // placement found (under the capacity, if one was given); not proven optimal
  kInfeasible,  // proven: no placement has height <= capacity
  kUnknown,     // stopped (deadline) before finding a placement under the capacity or a proof
};

// "optimal", "feasible", "infeasible", "unknown".
std::string to_string(SearchStatus status);

// What the search has reached, for a progress display (bytes).
struct SearchProgress {
  int part = 0;  // the part being searched, 1-based, of `parts` (hardest first)
  int parts = 0;
  std::int64_t height = -1;      // the best whole placement so far (-1: none yet)
  std::int64_t lower_bound = 0;  // proven so far
};

struct SearchOptions {
  // Heights must not exceed it (bytes). Without it any height is allowed.
  std::optional<std::int64_t> capacity;
  // Find the smallest height (at most `capacity`, if given). Without it the search stops at the
  // first placement that fits under `capacity`, or returns the first one it has when there is none.
  bool minimize = false;
  // Wall-clock limit; the search returns its best placement so far when it expires.
  Deadline deadline;
  // A valid placement to start from (e.g. the best heuristic's); the search only reports better
  // ones. Ignored if it is not valid for the problem.
  std::optional<Placement> incumbent;
  // Parts (after splitting) whose search nodes would cost more than this many steps each are not
  // searched whole, but in pieces of at most this work (see above), starting from the incumbent's
  // layout or a greedy skyline's. Guards huge graphs.
  std::int64_t max_work_per_node = 3000000;
  // Only this one of the built-in branching strategies, in [0, search_strategy_count()), instead
  // of all of them in turn (for tests and experiments: each one alone is complete).
  std::optional<int> strategy;
  // How many strategies run their turns at the same time, each on a thread (0: one per core).
  // Only the speed depends on it: the outcomes are read in a fixed order.
  int threads = 0;
  // Called, on the calling thread, when the best height falls or the bound rises; may be empty.
  std::function<void(const SearchProgress&)> on_progress;
};

// How many branching strategies the search takes turns with.
int search_strategy_count();

// Parts (buffers that overlap in time, directly or through others) with more buffers than this
// are not searched whole, but in pieces (see above): each node would cost too much, or the
// recursion, one level per buffer, would go too deep.
inline constexpr std::size_t kMaxSearchedBuffers = 10000;

struct SearchResult {
  // The best placement found; absent if none was found under the capacity.
  std::optional<Placement> placement;
  SearchStatus status = SearchStatus::kUnknown;
  // Proven: no placement is lower (bytes). At least max_live(problem).
  std::int64_t lower_bound = 0;
  std::int64_t nodes = 0;  // search nodes explored, over all parts and probes
  int parts = 0;           // independent parts the problem split into
  double seconds = 0;
};

// The exact search. Never throws on a valid Problem; throws Error if a buffer has a negative
// size or an empty lifetime, sizes overflow 2^62, or options.strategy is out of range.
SearchResult search_placement(const Problem& problem, const SearchOptions& options);

}  // namespace tensorplan::mem::place
