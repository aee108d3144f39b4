// How well a cost model's predictions match measured run times, computed per pipeline (the
// schedules of one pipeline are what an autotuner compares) and then averaged over pipelines.
// All quantities are fractions (0.05 = 5%); NaN marks "not applicable" (MAPE and the log error of
// a model that only ranks, Kendall's tau of a pipeline whose times are all equal, ...).
#pragma once

#include <vector>

namespace tensorplan::perf {

struct Metrics {
  double mape;               // mean |predicted - measured| / measured
  double rmse_log;           // sqrt(mean (ln predicted - ln measured)^2)
  double kendall_tau;        // Kendall's tau-b between predicted and measured times
  double pairwise_accuracy;  // pairs with different measured times ordered right; predicted ties
                             // count one half
  double ordering_rate;      // Halide's correct-ordering rate: of the schedules more than 1.3x
                             // slower than the fastest, the share not predicted faster than it
  double top1_slowdown;      // measured time of the model's favourite / the fastest - 1
  double top5_slowdown;      // the best measured time among the model's 5 favourites / fastest - 1
  int pipelines = 1;         // how many pipelines were averaged
};

// Metrics of one pipeline: predicted[i] and measured[i] (seconds, > 0) belong to schedule i.
// With predicts_seconds false, `predicted` is only a ranking score (lower = faster): MAPE and
// rmse_log are NaN. Ties in the prediction count against the model: among equally predicted
// schedules, the top-k picks take the slowest first.
Metrics pipeline_metrics(const std::vector<double>& predicted, const std::vector<double>& measured,
                         bool predicts_seconds);

// The mean over pipelines of each field, skipping the pipelines where that field is NaN (NaN if
// all are). `pipelines` is the number of pipelines given.
Metrics average_metrics(const std::vector<Metrics>& per_pipeline);

}  // namespace tensorplan::perf
