// The hand-designed cost terms of Adams2019's cost model (Halide 14's cost_model generator), as a
// tensor of terms per stage: the model's cost of a stage is the sum over i of coefficient i times
// term i, with the coefficients predicted by its network. Shared by the Halide model (which
// predicts the coefficients from its two feature heads) and the GCN's "halide-terms" readout
// (which predicts them from its node states).
#pragma once

#include <torch/torch.h>

namespace tensorplan::perf {

// Coefficients of Adams2019's model; number 4 weighs nothing in Halide 14 (its term is zero).
constexpr int kHalideCostTerms = 28;

// The terms of each stage: `schedule` holds the raw (untransformed) schedule features,
// [..., stages, kScheduleFeatureCount]; `last_stage` ([stages] or broadcastable to the leading
// shape plus stages) marks the pipeline's output stage, whose stores are never loaded again;
// `num_cores` rounds parallel work up to whole waves of tasks. Returns [..., stages,
// kHalideCostTerms], in Halide's units (the cost times 1e-9 is milliseconds).
torch::Tensor halide_cost_terms(const torch::Tensor& schedule, const torch::Tensor& last_stage,
                                int num_cores);

}  // namespace tensorplan::perf
