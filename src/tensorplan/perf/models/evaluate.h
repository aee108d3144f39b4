// Runs one cost model over a set of pipelines and scores it with perf/models/metrics: the
// evaluation behind `tensorplan perf eval`, shared by every model kind.
#pragma once

#include <string>
#include <vector>

#include "tensorplan/perf/models/cost_model.h"
#include "tensorplan/perf/models/metrics.h"

namespace tensorplan::perf {

struct ModelEvaluation {
  std::string model;             // the model's kind, e.g. "gcn"
  bool predicts_seconds = true;  // false for a pure ranker (MAPE, log RMSE are NaN)
  Metrics metrics{};             // averaged over pipelines
  int schedules = 0;             // schedules predicted
  double predict_seconds = 0;    // wall time spent in predict()
  // Every schedule, in pipeline order: for the predicted-vs-measured picture.
  std::vector<double> predicted;
  std::vector<double> measured;
};

// Predicts every schedule of every pipeline (one predict() call per pipeline, as an autotuner
// would ask) and averages the per-pipeline metrics.
ModelEvaluation evaluate_model(CostModel& model, const std::vector<PipelineSamples>& pipelines);

}  // namespace tensorplan::perf
