#include "support/synthetic_pipelines.h"

#include <cmath>
#include <random>

#include "tensorplan/perf/halide/featurizer.h"

namespace tensorplan::testing {

std::vector<perf::PipelineSamples> synthetic_pipelines(const SyntheticRelation& relation, int count,
                                                       int first_index, unsigned seed) {
  using perf::kPipelineFeatureCount;
  using perf::kScheduleFeatureCount;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  std::vector<perf::PipelineSamples> out;
  for (int i = 0; i < count; ++i) {
    perf::PipelineSamples p;
    p.pipeline = first_index + i;
    const int stages = 2 + static_cast<int>(rng() % 4);
    p.graph.stages.resize(static_cast<std::size_t>(stages));
    if (relation.chain)
      for (int s = 1; s < stages; ++s) p.graph.edges.push_back({s - 1, s, false, 1});
    p.pipeline_features.resize(static_cast<std::size_t>(stages) * kPipelineFeatureCount);
    for (std::size_t j = 0; j < p.pipeline_features.size(); ++j)
      if (j % kPipelineFeatureCount < 4)
        p.pipeline_features[j] = relation.pipeline_scale * unit(rng);
    for (int k = 0; k < relation.schedules_per_pipeline; ++k) {
      perf::ScheduleSample s;
      s.sample = k;
      s.schedule_features.resize(static_cast<std::size_t>(stages) * kScheduleFeatureCount);
      for (std::size_t j = 0; j < s.schedule_features.size(); ++j)
        if (j % kScheduleFeatureCount < 4)
          s.schedule_features[j] = relation.schedule_scale * unit(rng);
      double producer_cost = 0;
      for (int st = 0; st < stages; ++st) {
        const double work =
            1 + relation.work_gain *
                    p.pipeline_features[static_cast<std::size_t>(st) * kPipelineFeatureCount];
        const double speed =
            std::exp(relation.speed_gain *
                     s.schedule_features[static_cast<std::size_t>(st) * kScheduleFeatureCount]);
        const double cost =
            relation.time_unit * work * speed + relation.producer_share * producer_cost;
        s.seconds += cost;
        producer_cost = cost;
      }
      p.schedules.push_back(std::move(s));
    }
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<perf::CostQuery> queries_of(const std::vector<perf::PipelineSamples>& pipelines) {
  std::vector<perf::CostQuery> q;
  for (const auto& p : pipelines)
    for (const auto& s : p.schedules) q.push_back({&p, &s.schedule_features});
  return q;
}

}  // namespace tensorplan::testing
