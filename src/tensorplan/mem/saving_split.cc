#include "tensorplan/mem/saving_split.h"

#include <string>

namespace tensorplan::mem {

SavingSplit split_saving(const SavingFigures& f) {
  SavingSplit split;
  split.baseline_reserved = f.baseline_reserved;
  split.baseline_gradients = f.baseline_gradients;
  if (f.baseline_reserved <= 0) return split;
  const double baseline = static_cast<double>(f.baseline_reserved);
  auto fraction = [&](std::int64_t from, std::int64_t to) {
    return static_cast<double>(from - to) / baseline;
  };
  split.allocator = fraction(f.baseline_reserved, f.keep_reference_max_live);
  split.order = fraction(f.keep_reference_max_live, f.keep_planned_max_live);
  split.gradients = fraction(f.keep_planned_max_live, f.planned_max_live);
  split.placement = fraction(f.planned_max_live, f.planned_total);
  return split;
}

void add_split_fields(const SavingSplit& split, Json& object) {
  object["baseline_reserved"] = split.baseline_reserved;
  object["baseline_gradients"] = std::string(to_string(split.baseline_gradients));
  object["saving_from_allocator"] = split.allocator;
  object["saving_from_order"] = split.order;
  object["saving_from_gradients"] = split.gradients;
  object["saving_from_placement"] = split.placement;
}

}  // namespace tensorplan::mem
