// An online placer: sweep time forward as an allocator would, freeing buffers when they die and
// giving each new buffer (longest-lived, then largest, first among those born together) the
// best-fitting free block, growing the arena only when none fits. O(n log n), so it places even
// 100,000-buffer problems in milliseconds; it is the portfolio's fallback when the greedy
// heuristics run out of time. (MiniMalloc's "sweeper", the split into parts, is place/search/part.)
#pragma once

#include <string>

#include "tensorplan/mem/place/placer.h"

namespace tensorplan::mem::place {

class OnlineBestFitPlacer : public Placer {
 public:
  std::string name() const override { return "sweep-best-fit"; }
  // Never gives up: ignores the deadline. Throws Error on an empty lifetime or a size <= 0.
  Placement place(const Problem& problem, const Deadline& deadline) const override;
};

}  // namespace tensorplan::mem::place
