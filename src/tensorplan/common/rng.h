// The project's one random number generator (SplitMix64): small, portable and deterministic. The
// standard library's distributions and std::shuffle differ between implementations, so nothing
// here uses them: the same seed gives the same random graph, pipeline, schedule settings, timing
// order and training order on every machine.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace tensorplan {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform integer in [lo, hi] (inclusive). A range of one value (or hi < lo) gives lo without a
  // draw: the perf dataset's pipelines were generated so, and must stay the same.
  std::int64_t uniform(std::int64_t lo, std::int64_t hi) {
    if (hi <= lo) return lo;
    const auto span = static_cast<std::uint64_t>(hi - lo) + 1;
    return lo + static_cast<std::int64_t>(next() % span);
  }
  // Uniform double in [0, 1).
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  bool chance(double p) { return unit() < p; }
  template <typename T>
  const T& pick(const std::vector<T>& items) {
    return items[static_cast<std::size_t>(uniform(0, static_cast<std::int64_t>(items.size()) - 1))];
  }
  // Fisher-Yates.
  template <typename T>
  void shuffle(std::vector<T>& items) {
    for (std::size_t i = items.size(); i > 1; --i) {
      const auto j = static_cast<std::size_t>(next() % i);
      std::swap(items[i - 1], items[j]);
    }
  }

 private:
  std::uint64_t state_;
};

// Derives an independent seed from a base seed and an index (e.g. a pipeline's seed from the run's
// seed and the pipeline index), so seeds of neighbouring indices are unrelated.
inline std::uint64_t derive_seed(std::uint64_t base, std::uint64_t index) {
  Rng rng(base ^ (0x5851f42d4c957f2dULL * (index + 1)));
  rng.next();
  return rng.next();
}

}  // namespace tensorplan
