// Where a plan's saving comes from. Every term is a fraction of one baseline — PyTorch's caching
// allocator's peak reserved bytes for the reference (eager) order with gradients kept in .grad —
// so the terms add up to the saving, 1 - planned_total / baseline.
#pragma once

#include <cstdint>

#include "tensorplan/common/json.h"
#include "tensorplan/mem/graph.h"

namespace tensorplan::mem {

// The figures a split is made of (bytes). The keep figures are those of the step with gradients
// kept; for a plan of the keep graph itself, planned_max_live equals keep_planned_max_live.
struct SavingFigures {
  std::int64_t baseline_reserved = 0;        // caching allocator, peak reserved, reference order
  std::int64_t keep_reference_max_live = 0;  // peak live bytes of the reference order (keep)
  std::int64_t keep_planned_max_live = 0;    // peak live bytes of the order planned for keep
  std::int64_t planned_max_live = 0;         // the same for the plan split (keep or fused)
  std::int64_t planned_total = 0;            // the plan's arena
  // The baseline's gradient semantics: keep, unless a fused graph was planned without its keep
  // graph (then the baseline is its own reference order and the gradients term is 0).
  GradientSemantics baseline_gradients = GradientSemantics::kKeep;
};

struct SavingSplit {
  std::int64_t baseline_reserved = 0;  // bytes: what every term is a fraction of
  GradientSemantics baseline_gradients = GradientSemantics::kKeep;
  // (baseline - keep reference max-live) / baseline: what one arena gains over the caching
  // allocator (its 512-byte rounding, block splitting and cached free blocks), same order.
  double allocator = 0;
  // (keep reference max-live - keep planned max-live) / baseline: what the planned order gains.
  double order = 0;
  // (keep planned max-live - planned max-live) / baseline: what fusing the gradients into
  // backward gains (0 for a plan of the keep graph).
  double gradients = 0;
  // (planned max-live - planned total) / baseline, at most 0: what the arena costs above
  // max-live, sizes rounded up to the alignment and fragmentation.
  double placement = 0;
  // The sum of the terms: 1 - planned_total / baseline (0 when the baseline is 0).
  double total() const { return allocator + order + gradients + placement; }
};

SavingSplit split_saving(const SavingFigures& figures);

// The split as the fields of `mem plan --json` (saving_from_allocator, ...), added to `object`.
void add_split_fields(const SavingSplit& split, Json& object);

}  // namespace tensorplan::mem
