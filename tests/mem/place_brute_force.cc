#include "place_brute_force.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <vector>

namespace tensorplan::mem::place::testing {

// The optimum by brute force: every order of placing the buffers, each at the lowest offset where
// it fits among those already placed. Complete: in the offset order of an optimal placement, each
// buffer fits at its own offset, and a lower one found instead keeps the rest valid.
std::int64_t brute_force_optimum(const Problem& problem) {
  const int n = static_cast<int>(problem.buffers.size());
  const std::int64_t a = std::max<std::int64_t>(1, problem.alignment);
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::int64_t best = std::numeric_limits<std::int64_t>::max();
  do {
    std::vector<std::int64_t> offsets(n, -1);
    std::int64_t top = 0;
    for (int b : order) {
      const Buffer& x = problem.buffers[b];
      const std::int64_t size = aligned_size(problem, x);
      // Candidate offsets: 0 and the tops of the placed buffers that share time with it.
      std::vector<std::int64_t> candidates{0};
      for (int c = 0; c < n; ++c) {
        const Buffer& y = problem.buffers[c];
        if (offsets[c] >= 0 && x.lower < y.upper && y.lower < x.upper)
          candidates.push_back(offsets[c] + aligned_size(problem, y));
      }
      std::sort(candidates.begin(), candidates.end());
      for (std::int64_t at : candidates) {
        at = (at + a - 1) / a * a;
        bool fits = true;
        for (int c = 0; c < n && fits; ++c) {
          const Buffer& y = problem.buffers[c];
          if (offsets[c] >= 0 && x.lower < y.upper && y.lower < x.upper)
            fits = at + size <= offsets[c] || offsets[c] + aligned_size(problem, y) <= at;
        }
        if (fits) {
          offsets[b] = at;
          break;
        }
      }
      top = std::max(top, offsets[b] + size);
    }
    best = std::min(best, top);
  } while (std::next_permutation(order.begin(), order.end()));
  return best;
}

Problem random_problem(Rng& rng, int max_buffers, std::int64_t alignment) {
  Problem problem;
  problem.alignment = alignment;
  const int n = static_cast<int>(rng.uniform(1, max_buffers));
  for (int b = 0; b < n; ++b) {
    const std::int64_t lower = rng.uniform(0, 8);
    const std::int64_t upper = rng.uniform(lower + 1, 10);
    problem.buffers.push_back({100 + b, lower, upper, rng.uniform(1, 12)});
  }
  return problem;
}

}  // namespace tensorplan::mem::place::testing
