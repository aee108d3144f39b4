// A small, portable, deterministic random number generator (SplitMix64). The standard library's
// distributions differ between implementations, so the generator never uses them: the same seed
// gives the same pipeline and the same schedule settings on every machine.
#pragma once

#include <cstdint>
#include <vector>

namespace tensorplan::perf {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform integer in [lo, hi] (inclusive); hi < lo returns lo.
  int uniform(int lo, int hi) {
    if (hi <= lo) return lo;
    const auto span = static_cast<std::uint64_t>(hi - lo) + 1;
    return lo + static_cast<int>(next() % span);
  }
  // Uniform double in [0, 1).
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  bool chance(double p) { return unit() < p; }
  template <typename T>
  const T& pick(const std::vector<T>& items) {
    return items[static_cast<std::size_t>(uniform(0, static_cast<int>(items.size()) - 1))];
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

}  // namespace tensorplan::perf
