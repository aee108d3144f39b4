#include "tensorplan/mem/schedule/execution_state.h"

#include <algorithm>

namespace tensorplan::mem::schedule {

std::vector<int> reference_positions(const Graph& graph) {
  std::vector<int> position(graph.nodes.size(), 0);
  for (std::size_t s = 0; s < graph.order.size(); ++s)
    position[graph.order[s]] = static_cast<int>(s);
  return position;
}

ExecutionState::ExecutionState(const Graph& graph)
    : graph_(graph),
      input_begin_(graph.nodes.size() + 1, 0),
      remaining_readers_(graph.tensors.size(), 0),
      unmet_inputs_(graph.nodes.size(), 0),
      output_bytes_(graph.nodes.size(), 0),
      kept_bytes_(graph.nodes.size(), 0),
      freeable_bytes_(graph.nodes.size(), 0),
      scheduled_(graph.nodes.size(), 0),
      live_(graph.persistent_bytes()) {
  std::vector<int> inputs;
  for (int n = 0; n < graph.num_nodes(); ++n) {
    inputs.clear();
    for (int t : graph.nodes[n].inputs)
      if (!graph.tensors[t].persistent()) inputs.push_back(t);
    std::sort(inputs.begin(), inputs.end());
    inputs.erase(std::unique(inputs.begin(), inputs.end()), inputs.end());
    unmet_inputs_[n] = static_cast<int>(inputs.size());
    for (int t : inputs)
      if (!graph.tensors[t].lives_to_end()) unique_inputs_.push_back(t);
    input_begin_[n + 1] = static_cast<int>(unique_inputs_.size());

    for (int t : graph.nodes[n].outputs) {
      const Tensor& tensor = graph.tensors[t];
      output_bytes_[n] += tensor.size;
      if (tensor.output || !tensor.consumers.empty()) kept_bytes_[n] += tensor.size;
    }
  }
  for (int t = 0; t < graph.num_tensors(); ++t) {
    const Tensor& tensor = graph.tensors[t];
    remaining_readers_[t] = static_cast<int>(tensor.consumers.size());
    if (!tensor.lives_to_end() && tensor.consumers.size() == 1)
      freeable_bytes_[tensor.consumers[0]] += tensor.size;
  }
}

std::vector<int> ExecutionState::initially_ready() const {
  std::vector<int> ready;
  for (int n = 0; n < graph_.num_nodes(); ++n)
    if (unmet_inputs_[n] == 0) ready.push_back(n);
  return ready;
}

}  // namespace tensorplan::mem::schedule
