#include "tensorplan/perf/halide/featurizer.h"

#include <cstring>

#include "tensorplan/common/error.h"

namespace tensorplan::perf {

const std::array<const char*, kScheduleFeatureCount> kScheduleFeatureNames = {
    "num_realizations",
    "num_productions",
    "points_computed_per_realization",
    "points_computed_per_production",
    "points_computed_total",
    "points_computed_minimum",
    "innermost_loop_extent",
    "innermost_pure_loop_extent",
    "unrolled_loop_extent",
    "inner_parallelism",
    "outer_parallelism",
    "bytes_at_realization",
    "bytes_at_production",
    "bytes_at_root",
    "innermost_bytes_at_realization",
    "innermost_bytes_at_production",
    "innermost_bytes_at_root",
    "inlined_calls",
    "unique_bytes_read_per_realization",
    "unique_lines_read_per_realization",
    "allocation_bytes_read_per_realization",
    "working_set",
    "vector_size",
    "native_vector_size",
    "num_vectors",
    "num_scalars",
    "scalar_loads_per_vector",
    "vector_loads_per_vector",
    "scalar_loads_per_scalar",
    "bytes_at_task",
    "innermost_bytes_at_task",
    "unique_bytes_read_per_vector",
    "unique_lines_read_per_vector",
    "unique_bytes_read_per_task",
    "unique_lines_read_per_task",
    "working_set_at_task",
    "working_set_at_production",
    "working_set_at_realization",
    "working_set_at_root",
};

const std::array<const char*, kOpTypeCount> kOpTypeNames = {
    "Const", "Cast", "Variable", "Param",     "Add",      "Sub",      "Mod",        "Mul",
    "Div",   "Min",  "Max",      "EQ",        "NE",       "LT",       "LE",         "And",
    "Or",    "Not",  "Select",   "ImageCall", "FuncCall", "SelfCall", "ExternCall", "Let",
};

int op_type_index(const std::string& name) {
  for (int i = 0; i < kOpTypeCount; ++i) {
    if (name == kOpTypeNames[i]) return i;
  }
  return -1;
}

float Featurization::op_count(int stage, int op) const {
  float total = 0;
  for (int t = 0; t < kScalarTypeCount; ++t)
    total += pipeline_feature(stage, op_histogram_index(op, t));
  return total;
}

Featurization parse_featurization(const std::vector<std::uint8_t>& bytes, int expected_stages) {
  constexpr std::size_t kRowFloats = kScheduleFeatureCount + kPipelineFeatureCount;
  constexpr std::size_t kRowBytes = kRowFloats * sizeof(float);
  if (bytes.size() % kRowBytes != 0 ||
      bytes.size() / kRowBytes != static_cast<std::size_t>(expected_stages)) {
    fail("featurization has {} bytes; expected {} stages x {} bytes", bytes.size(), expected_stages,
         kRowBytes);
  }
  Featurization f;
  f.stages = expected_stages;
  f.schedule.resize(static_cast<std::size_t>(expected_stages) * kScheduleFeatureCount);
  f.pipeline.resize(static_cast<std::size_t>(expected_stages) * kPipelineFeatureCount);
  std::vector<float> row(kRowFloats);
  for (int r = 0; r < expected_stages; ++r) {
    std::memcpy(row.data(), bytes.data() + r * kRowBytes, kRowBytes);
    const int stage = expected_stages - 1 - r;  // records come in reverse stage order
    std::memcpy(&f.schedule[static_cast<std::size_t>(stage) * kScheduleFeatureCount], row.data(),
                kScheduleFeatureCount * sizeof(float));
    std::memcpy(&f.pipeline[static_cast<std::size_t>(stage) * kPipelineFeatureCount],
                row.data() + kScheduleFeatureCount, kPipelineFeatureCount * sizeof(float));
  }
  return f;
}

}  // namespace tensorplan::perf
