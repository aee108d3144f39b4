#include "tensorplan/perf/models/evaluate.h"

#include "tensorplan/common/error.h"
#include "tensorplan/common/timer.h"

namespace tensorplan::perf {

ModelEvaluation evaluate_model(CostModel& model, const std::vector<PipelineSamples>& pipelines) {
  ModelEvaluation result;
  result.model = model.name();
  result.predicts_seconds = model.predicts_seconds();
  std::vector<Metrics> per_pipeline;
  for (const PipelineSamples& p : pipelines) {
    const std::vector<CostQuery> batch = schedule_queries(p);
    std::vector<double> measured;
    for (const ScheduleSample& s : p.schedules) measured.push_back(s.seconds);
    Stopwatch clock;
    const std::vector<double> predicted = model.predict(batch);
    result.predict_seconds += clock.seconds();
    if (predicted.size() != batch.size())
      fail("model '{}' returned {} predictions for {} schedules", result.model, predicted.size(),
           batch.size());
    per_pipeline.push_back(pipeline_metrics(predicted, measured, result.predicts_seconds));
    result.predicted.insert(result.predicted.end(), predicted.begin(), predicted.end());
    result.measured.insert(result.measured.end(), measured.begin(), measured.end());
    result.schedules += static_cast<int>(batch.size());
  }
  result.metrics = average_metrics(per_pipeline);
  return result;
}

}  // namespace tensorplan::perf
