// The greedy placement heuristics of TFLite and XLA: take the buffers one at a time in a fixed
// order (largest first, longest-lived first, largest size x lifetime first, or most contended
// first) and put each in a gap left by the buffers already placed that share time with it, or on
// top of them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tensorplan/mem/place/occupancy.h"
#include "tensorplan/mem/place/placer.h"

namespace tensorplan::mem::place {

// The order in which buffers are placed. Every order breaks ties by the other keys, then by the
// earlier start, then by position in the problem, so results are deterministic.
enum class GreedyOrder {
  kSize,      // largest aligned size first (TFLite's greedy-by-size, XLA's spatial order)
  kDuration,  // longest lifetime first (XLA's temporal order)
  kArea,      // largest size x lifetime first
  // Most contended first: the highest load (bytes live) at any moment of the buffer's lifetime,
  // then the largest. The buffers live at the peak go first and stack without holes there (they
  // all share that moment); those with slack under the bound come later, into the gaps.
  kContention,
};

// Where a buffer goes among the gaps that fit it.
enum class GreedyFit {
  kBestFit,   // the smallest gap that fits, lowest offset on ties (TFLite)
  kFirstFit,  // the lowest gap that fits
};

// The offset for a buffer of `size` bytes among the address ranges `taken` during its lifetime
// (sorted, disjoint, as Occupancy::taken gives them): the gap that `fit` picks, or on top of them
// all if none fits.
std::int64_t choose_offset(const std::vector<AddressRange>& taken, std::int64_t size,
                           GreedyFit fit);

class GreedyPlacer : public Placer {
 public:
  GreedyPlacer(GreedyOrder order, GreedyFit fit) : order_(order), fit_(fit) {}
  // e.g. "greedy-size-best-fit"
  std::string name() const override;
  // Throws Error if a buffer has an empty lifetime or a non-positive size, or if the arena would
  // overflow 64 bits. Gives up (returns no offsets) if the deadline expires part way.
  Placement place(const Problem& problem, const Deadline& deadline) const override;

 private:
  GreedyOrder order_;
  GreedyFit fit_;
};

}  // namespace tensorplan::mem::place
