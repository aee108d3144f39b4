// The OLLA address ILP: one integer offset per buffer in [0, limit - size]; for every pair of
// buffers that share time, a binary "which one is below" and two big-M rows that keep them apart;
// minimise the arena's top. Solved with CBC. Exact simplifications:
// - sizes and offsets in units of the alignment times the GCD of the aligned sizes (a placement
//   pushed down until every buffer rests on another or on 0 only has offsets that are sums of
//   sizes);
// - buffers live over the whole time span are stacked at the bottom in a fixed order (every other
//   buffer lies wholly above or below them, so moving them down and the rest up loses nothing);
// - the top is bounded below by the max-live bound, so CBC stops as soon as it reaches it;
// - a MIP start from a given placement (pushed down first), e.g. the best heuristic's.
// The model grows with the square of the buffers that share time: for small instances.
#pragma once

#include <cstdint>
#include <optional>

#include "tensorplan/common/timer.h"
#include "tensorplan/mem/place/placer.h"
#include "tensorplan/mem/place/problem.h"
#include "tensorplan/mem/place/search.h"

namespace tensorplan::mem::place {

struct AddressIlpOptions {
  // Heights must not exceed it (bytes). Without it, the start's height (or all sizes stacked).
  std::optional<std::int64_t> capacity;
  // Find the smallest height. Without it the solver stops at the first placement under the limit.
  bool minimize = true;
  Deadline deadline;  // wall-clock limit for building and solving
  // A valid placement to start from; ignored if it is not valid or above the capacity.
  std::optional<Placement> start;
  int threads = 1;  // CBC threads; 1 is deterministic
};

struct AddressIlpResult {
  std::optional<Placement> placement;  // the best found under the limit; absent if none
  SearchStatus status = SearchStatus::kUnknown;
  std::int64_t lower_bound = 0;  // proven: no placement is lower (bytes)
  std::int64_t unit = 1;         // bytes per unit in the model
  int columns = 0, rows = 0;
  std::int64_t pairs = 0;  // pairs of buffers that share time (one binary each)
  int fixed = 0;           // buffers fixed at the bottom (live over the whole span)
  double seconds = 0;
};

// Pairs of buffers whose lifetimes overlap: the number of binaries the ILP needs.
std::int64_t overlapping_pairs(const Problem& problem);

// Throws Error on buffers with an empty lifetime or a negative size.
AddressIlpResult solve_address_ilp(const Problem& problem, const AddressIlpOptions& options);

}  // namespace tensorplan::mem::place
