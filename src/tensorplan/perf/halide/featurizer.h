// Adams2019's featurization, mapped onto the stages of a StageGraph.
//
// Halide returns it (AutoSchedulerResults::featurization) as one record of float32 per stage:
// first the 39 schedule-dependent features (ScheduleFeatures, stored as doubles by the
// autoscheduler and written as floats), then the 287 schedule-independent "pipeline features"
// (PipelineFeatures: types in use, the op histogram by op and scalar type, and the access
// patterns). The records come in the reverse of StageGraph's order (the autoscheduler walks its
// Funcs from the output back to the inputs and each Func's stages from the last update back); here
// row s is StageGraph::stages[s].
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace tensorplan::perf {

inline constexpr int kScheduleFeatureCount = 39;
inline constexpr int kScalarTypeCount = 7;  // Bool, UInt8, UInt16, UInt32, UInt64, Float, Double
inline constexpr int kOpTypeCount = 24;     // Const, Cast, ..., Let (see kOpTypeNames)
inline constexpr int kAccessTypeCount = 4;  // LoadFunc, LoadSelf, LoadImage, Store
inline constexpr int kPipelineFeatureCount =
    kScalarTypeCount + kOpTypeCount * kScalarTypeCount + 4 * kAccessTypeCount * kScalarTypeCount;
static_assert(kPipelineFeatureCount == 287);

// Names of the 39 schedule features, in order (e.g. "num_realizations", ...,
// "working_set_at_root").
extern const std::array<const char*, kScheduleFeatureCount> kScheduleFeatureNames;
// Names of the op types of the op histogram, in order ("Const", "Cast", ..., "Let").
extern const std::array<const char*, kOpTypeCount> kOpTypeNames;

// Index of op_histogram[op][scalar_type] within the pipeline features.
constexpr int op_histogram_index(int op, int scalar_type) {
  return kScalarTypeCount + op * kScalarTypeCount + scalar_type;
}
// Index of the op type by name in kOpTypeNames; -1 if unknown.
int op_type_index(const std::string& name);

struct Featurization {
  int stages = 0;
  std::vector<float> schedule;  // stages x kScheduleFeatureCount, row s = stage s
  std::vector<float> pipeline;  // stages x kPipelineFeatureCount, row s = stage s

  float schedule_feature(int stage, int feature) const {
    return schedule[static_cast<std::size_t>(stage) * kScheduleFeatureCount + feature];
  }
  float pipeline_feature(int stage, int feature) const {
    return pipeline[static_cast<std::size_t>(stage) * kPipelineFeatureCount + feature];
  }
  // Sum over scalar types of op_histogram[op] for a stage.
  float op_count(int stage, int op) const;
};

// Splits Halide's featurization bytes into per-stage rows in StageGraph order. Throws Error when
// the size does not match `expected_stages` records.
Featurization parse_featurization(const std::vector<std::uint8_t>& bytes, int expected_stages);

}  // namespace tensorplan::perf
