#include "tensorplan/perf/halide/interleaved_timer.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "tensorplan/common/error.h"
#include "tensorplan/common/rng.h"
#include "tensorplan/common/timer.h"

namespace tensorplan::perf {

double median_of(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

Json timing_message(const InterleavedTiming& t) {
  return {{"type", "timing"},
          {"rounds", t.rounds},
          {"label", t.label},
          {"first", t.first},
          {"runs_per_batch", t.runs_per_batch},
          {"batches_per_round", t.batches_per_round},
          {"order", t.order},
          {"seconds", t.seconds}};
}

InterleavedTiming timing_from_message(const Json& m) {
  InterleavedTiming t;
  t.rounds = m.at("rounds").get<std::vector<std::vector<double>>>();
  t.label = m.at("label").get<std::vector<double>>();
  t.first = m.at("first").get<std::vector<double>>();
  t.runs_per_batch = m.at("runs_per_batch").get<std::vector<int>>();
  t.batches_per_round = m.at("batches_per_round").get<std::vector<int>>();
  t.order = m.at("order").get<std::vector<std::vector<int>>>();
  t.seconds = m.at("seconds").get<double>();
  return t;
}

InterleavedTiming time_interleaved(const std::vector<std::function<void()>>& runs,
                                   const InterleavedOptions& options, std::uint64_t seed) {
  if (options.rounds < 1 || options.batches_per_round < 1)
    fail("interleaved timing needs at least one round and one batch per round");
  const std::size_t n = runs.size();
  Stopwatch total;
  InterleavedTiming t;
  t.rounds.assign(n, {});
  t.batches.assign(n, {});
  t.first.assign(n, 0);
  t.runs_per_batch.assign(n, 1);
  t.batches_per_round.assign(n, options.batches_per_round);
  for (std::size_t i = 0; i < n; ++i) {
    Stopwatch first;
    runs[i]();
    t.first[i] = first.seconds();
    Stopwatch second;  // warm: sizes the batches
    runs[i]();
    const double one = second.seconds();
    t.runs_per_batch[i] = static_cast<int>(
        std::clamp(std::ceil(options.batch_seconds / std::max(one, 1e-7)), 1.0, 100000.0));
    if (one >= options.slow_run_seconds) t.batches_per_round[i] = 1;
  }
  Rng rng(seed);
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  for (int r = 0; r < options.rounds; ++r) {
    rng.shuffle(order);
    t.order.push_back(order);
    for (const int i : order) {
      const auto s = static_cast<std::size_t>(i);
      std::vector<double> batches;
      for (int b = 0; b < t.batches_per_round[s]; ++b) {
        Stopwatch clock;
        for (int k = 0; k < t.runs_per_batch[s]; ++k) runs[s]();
        batches.push_back(clock.seconds() / t.runs_per_batch[s]);
      }
      t.rounds[s].push_back(*std::min_element(batches.begin(), batches.end()));
      t.batches[s].push_back(std::move(batches));
    }
  }
  for (std::size_t i = 0; i < n; ++i) t.label.push_back(median_of(t.rounds[i]));
  t.seconds = total.seconds();
  return t;
}

}  // namespace tensorplan::perf
