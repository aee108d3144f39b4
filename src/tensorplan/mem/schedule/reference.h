// The graph's own order: what eager PyTorch ran, the baseline every saving is measured against.
#pragma once

#include "tensorplan/mem/schedule/scheduler.h"

namespace tensorplan::mem::schedule {

class ReferenceOrder : public Scheduler {
 public:
  std::string name() const override { return "reference"; }
  std::vector<int> order(const Graph& graph, const Deadline& deadline) const override;
};

}  // namespace tensorplan::mem::schedule
