// The branch-and-bound for one part of the exact search (search.h): is there a canonical placement
// of height <= capacity? One search per branching strategy; the strategies take turns
// (strategy_turns.h). Internal to the exact search.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "tensorplan/mem/place/search/part.h"
#include "tensorplan/mem/place/search/strategy_turns.h"

namespace tensorplan::mem::place::exact {

// How one search branches. Every strategy is complete; which finds a placement fastest varies
// wildly from instance to instance (heavy tails), so probes go round the strategies.
struct Strategy {
  int order = kLoadFirst;    // index into Part::orders: the static tie-break
  bool dynamic = false;      // among the lowest, prefer the buffer in the most loaded section
  bool tight_first = false;  // with a section without slack at the lowest offset, branch on its
                             // buffers alone
};

// Chosen on the MiniMalloc challenging instances by measuring 30 combinations one at a time (six
// static orders, MiniMalloc's WAT and TAW among them, x the tie-break x the tight-section filter
// x re-ranking pieces; docs/results.md): every instance is solved within 0.6 s by at least one of
// these three; B only by size-first orders (or TAW), F only without the tight-section filter, H
// by no load-first strategy without it. Re-ranking pieces helped all of them, so it is always on.
extern const std::vector<Strategy> kStrategies;

// One strategy's search of one part.
class PartSearch : public SteppedSearch {
 public:
  // Search nodes explored so far, over all probes.
  virtual std::int64_t nodes() const = 0;
};

// `crossing`: per section of the part, the buffers crossing it. Both must outlive the search.
std::unique_ptr<PartSearch> make_part_search(const Part& part,
                                             const std::vector<std::vector<int>>& crossing,
                                             const Strategy& strategy);

}  // namespace tensorplan::mem::place::exact
