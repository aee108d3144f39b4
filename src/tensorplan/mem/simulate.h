// Liveness under an order: when each tensor is live, the live bytes at every step, and the peak.
// A tensor is live from its producer's step (step 0 if it exists before the step) through its last
// consumer's step (the last step if it exists before the step or is an output).
#pragma once

#include <cstdint>
#include <vector>

#include "tensorplan/mem/graph.h"

namespace tensorplan::mem {

// Inclusive range of steps (positions in the order) during which a tensor is live.
struct Lifetime {
  int start = 0;  // first step it is live
  int end = 0;    // last step it is live (>= start)
};

// One lifetime per tensor (indexed like Graph::tensors). `order` must be a topological order.
// With no nodes at all, every tensor gets [0, 0].
std::vector<Lifetime> lifetimes(const Graph& graph, const std::vector<int>& order);

struct Simulation {
  std::vector<std::int64_t> live_bytes;  // bytes live at each step
  std::int64_t max_live = 0;             // the peak of live_bytes (persistent bytes if no steps)
  int peak_step = 0;                     // first step where live_bytes == max_live
  std::vector<int> live_at_peak;         // tensor indices live at peak_step, largest first
};

Simulation simulate(const Graph& graph, const std::vector<int>& order);

// Peak live bytes only; cheaper than simulate() (no per-tensor lists).
std::int64_t max_live(const Graph& graph, const std::vector<int>& order);

}  // namespace tensorplan::mem
