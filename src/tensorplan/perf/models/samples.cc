#include "tensorplan/perf/models/samples.h"

#include <algorithm>
#include <map>

#include "tensorplan/perf/dataset.h"
#include "tensorplan/perf/halide/featurizer.h"

namespace tensorplan::perf {

Split split_of(int pipeline_index) {
  const int r = pipeline_index % 10;
  if (r == 7) return Split::kValidation;
  if (r >= 8) return Split::kTest;
  return Split::kTrain;
}

const char* split_name(Split split) {
  switch (split) {
    case Split::kTrain:
      return "train";
    case Split::kValidation:
      return "validation";
    case Split::kTest:
      return "test";
  }
  return "?";
}

std::vector<PipelineSamples> load_samples(const std::string& path) {
  std::vector<Shard> shards;
  for (const auto& file : list_shards(path)) shards.push_back(read_shard(file));
  return samples_from_shards(std::move(shards));
}

std::vector<PipelineSamples> samples_from_shards(std::vector<Shard> shards) {
  std::map<int, PipelineSamples> by_index;
  for (Shard& shard : shards) {
    for (auto& p : shard.pipelines) {
      PipelineSamples& out = by_index[p.index];
      out.pipeline = p.index;
      out.graph = std::move(p.graph);
      out.pipeline_features = std::move(p.pipeline_features);
    }
    for (auto& s : shard.schedules) {
      if (s.status != "ok" || !s.has_timing || s.schedule_features.empty()) continue;
      auto it = by_index.find(s.pipeline);
      if (it == by_index.end()) continue;  // a schedule without its pipeline: not usable
      ScheduleSample sample;
      sample.sample = s.sample;
      sample.schedule_features = std::move(s.schedule_features);
      sample.seconds = s.label_seconds;  // v2: the median over rounds; v1: the fastest batch
      sample.schedule_source = std::move(s.schedule_source);
      it->second.schedules.push_back(std::move(sample));
    }
  }
  std::vector<PipelineSamples> out;
  for (auto& [index, p] : by_index) {
    const auto stages = static_cast<std::size_t>(p.stages());
    if (p.schedules.size() < 2) continue;
    if (p.pipeline_features.size() != stages * kPipelineFeatureCount) continue;
    std::erase_if(p.schedules, [&](const ScheduleSample& s) {
      return s.schedule_features.size() != stages * kScheduleFeatureCount || !(s.seconds > 0);
    });
    if (p.schedules.size() < 2) continue;
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<PipelineSamples> select_split(const std::vector<PipelineSamples>& all, Split split) {
  std::vector<PipelineSamples> out;
  for (const auto& p : all)
    if (split_of(p.pipeline) == split) out.push_back(p);
  return out;
}

}  // namespace tensorplan::perf
