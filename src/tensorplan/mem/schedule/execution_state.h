// Incremental bookkeeping for schedulers that build an order one node at a time: which nodes are
// ready, the bytes live between steps, and what running a node would cost or free. Running a node
// costs time proportional to its inputs, outputs and their consumers, so a whole order costs
// O(n + e) here (plus whatever the scheduler's priority structure costs).
#pragma once

#include <cstdint>
#include <vector>

#include "tensorplan/mem/graph.h"

namespace tensorplan::mem::schedule {

// Each node's step in the graph's reference order; schedulers break ties by it for determinism.
std::vector<int> reference_positions(const Graph& graph);

class ExecutionState {
 public:
  explicit ExecutionState(const Graph& graph);

  // Nodes that can run before any other (all inputs exist before the step), ascending.
  std::vector<int> initially_ready() const;

  // Bytes live between steps: persistent tensors plus produced tensors still awaiting a consumer
  // or kept as outputs.
  std::int64_t live() const { return live_; }
  // Bytes the node's outputs add during its step; live() + this is the live bytes of its step.
  std::int64_t step_bytes(int node) const { return output_bytes_[node]; }
  // live() after running the node minus live() before it (negative when it frees more than it
  // keeps). Changes as other nodes run: a node frees an input once it is the input's last reader.
  std::int64_t net_change(int node) const { return kept_bytes_[node] - freeable_bytes_[node]; }
  bool scheduled(int node) const { return scheduled_[node] != 0; }

  // Runs `node` (which must be ready). Calls became_ready(n) for each node that it makes ready,
  // and net_change_dropped(n) for each unscheduled node whose net_change() it lowered (that node
  // is now the last reader of one of this node's inputs).
  template <typename BecameReady, typename NetChangeDropped>
  void run(int node, BecameReady&& became_ready, NetChangeDropped&& net_change_dropped);

 private:
  const Graph& graph_;
  std::vector<int> input_begin_;            // CSR offsets into unique_inputs_, per node
  std::vector<int> unique_inputs_;          // each node's produced, freeable inputs, once each
  std::vector<int> remaining_readers_;      // per tensor: consumers not yet run
  std::vector<int> unmet_inputs_;           // per node: produced inputs whose producer has not run
  std::vector<std::int64_t> output_bytes_;  // per node: bytes of all its outputs
  std::vector<std::int64_t> kept_bytes_;    // per node: bytes of outputs that outlive its step
  std::vector<std::int64_t> freeable_bytes_;  // per node: inputs it is the last remaining reader of
  std::vector<char> scheduled_;
  std::int64_t live_ = 0;
};

template <typename BecameReady, typename NetChangeDropped>
void ExecutionState::run(int node, BecameReady&& became_ready,
                         NetChangeDropped&& net_change_dropped) {
  scheduled_[node] = 1;
  for (int i = input_begin_[node]; i < input_begin_[node + 1]; ++i) {
    const int t = unique_inputs_[i];
    const Tensor& tensor = graph_.tensors[t];
    const int left = --remaining_readers_[t];
    if (left == 0) {
      live_ -= tensor.size;
    } else if (left == 1) {
      // The one reader left will free this tensor: scan once per tensor, O(e) in all.
      for (int c : tensor.consumers)
        if (!scheduled_[c]) {
          freeable_bytes_[c] += tensor.size;
          net_change_dropped(c);
          break;
        }
    }
  }
  live_ += kept_bytes_[node];
  for (int t : graph_.nodes[node].outputs)
    for (int c : graph_.tensors[t].consumers)
      if (--unmet_inputs_[c] == 0) became_ready(c);
}

}  // namespace tensorplan::mem::schedule
