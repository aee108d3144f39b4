#include "tensorplan/perf/halide/benchmark.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "tensorplan/common/timer.h"

namespace tensorplan::perf {

Timing time_runs(const std::function<void()>& run, const TimingOptions& options) {
  Timing timing;
  {
    Stopwatch warm_up;
    run();
    timing.first_seconds = warm_up.seconds();
  }
  // Size batches from a second, warm run.
  double one_run;
  {
    Stopwatch clock;
    run();
    one_run = clock.seconds();
  }
  timing.runs_per_batch = static_cast<int>(
      std::clamp(std::ceil(options.batch_seconds / std::max(one_run, 1e-7)), 1.0, 100000.0));

  std::vector<double> per_run;
  Stopwatch total;
  int since_improvement = 0;
  double best = one_run;
  while (static_cast<int>(per_run.size()) < options.max_batches) {
    Stopwatch clock;
    for (int i = 0; i < timing.runs_per_batch; ++i) run();
    const double t = clock.seconds() / timing.runs_per_batch;
    per_run.push_back(t);
    if (t < best * (1.0 - options.stable_tolerance)) {
      since_improvement = 0;
    } else {
      since_improvement++;
    }
    best = std::min(best, t);
    const int n = static_cast<int>(per_run.size());
    if (n >= options.min_batches && (total.seconds() >= options.budget_seconds ||
                                     since_improvement >= options.stable_batches)) {
      break;
    }
  }
  std::vector<double> sorted = per_run;
  std::sort(sorted.begin(), sorted.end());
  timing.batches = static_cast<int>(sorted.size());
  timing.min_seconds = sorted.front();
  timing.max_seconds = sorted.back();
  timing.median_seconds = sorted[sorted.size() / 2];
  return timing;
}

}  // namespace tensorplan::perf
