// The dataflow graph of one training step: operators (nodes), the tensors they read and write,
// and the reference order in which eager PyTorch ran them. File format: docs/graph-format.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tensorplan::mem {

// What a tensor is; decides nothing by itself except that a tensor with no producer must be one of
// the kinds that exist before the step (input, weight, optimizer_state).
enum class TensorKind : std::uint8_t {
  kInput,           // a batch of training data, given before the step
  kWeight,          // a model parameter or buffer
  kOptimizerState,  // e.g. momentum, Adam's moments
  kActivation,      // forward result, often saved for backward
  kGradient,        // produced by backward
  kTemporary,       // anything else produced during the step
};

std::string_view to_string(TensorKind kind);
std::optional<TensorKind> parse_tensor_kind(std::string_view text);
// True for the kinds that may exist before the step (have no producer).
bool may_exist_before_step(TensorKind kind);

// What the step does with the parameters' gradients (the graph's top-level "gradients" field).
enum class GradientSemantics : std::uint8_t {
  kKeep,   // kept in .grad, PyTorch's default: each parameter's gradient is an output of the step
  kFused,  // fused into backward: each gradient dies after its parameter's update (not an output)
};

std::string_view to_string(GradientSemantics gradients);
std::optional<GradientSemantics> parse_gradient_semantics(std::string_view text);

struct Tensor {
  std::int64_t id = 0;    // id in the graph file, unique among tensors
  std::string name;       // for people; need not be unique
  std::int64_t size = 0;  // bytes, 0 <= size <= 2^62
  TensorKind kind = TensorKind::kTemporary;
  bool output = false;         // kept after the step: lives from its producer to the end
  int producer = -1;           // index into Graph::nodes, -1 if it exists before the step
  std::vector<int> consumers;  // indices into Graph::nodes, ascending and unique

  // Exists before the step and after it: live at every step.
  bool persistent() const { return producer < 0; }
  // Live through the last step.
  bool lives_to_end() const { return producer < 0 || output; }
};

struct Node {
  std::int64_t id = 0;       // id in the graph file, unique among nodes
  std::string name;          // for people
  std::string op;            // operator, e.g. "aten.convolution"
  std::string module;        // module path it came from (e.g. "layer1.0.conv1"), may be ""
  std::vector<int> inputs;   // indices into Graph::tensors, in call order (may repeat)
  std::vector<int> outputs;  // indices into Graph::tensors, each produced only here
};

// A phase of the step as the exporter marks it (the graph's optional "phases" field): the nodes
// at positions [begin, end) of the graph's node list, e.g. {"forward", 0, 280}.
struct Phase {
  std::string name;  // "forward", "loss", "backward", "optimizer" (or what the file says)
  int begin = 0;     // first node index of the phase
  int end = 0;       // one past its last node index (begin <= end <= number of nodes)
};

struct Graph {
  std::string name;
  std::vector<Tensor> tensors;
  std::vector<Node> nodes;
  std::vector<int> order;  // the reference order: a topological order of node indices
  GradientSemantics gradients = GradientSemantics::kKeep;
  std::vector<Phase> phases;  // empty when the file has none (hand-made graphs)

  int num_nodes() const { return static_cast<int>(nodes.size()); }
  int num_tensors() const { return static_cast<int>(tensors.size()); }
  // Sum of the sizes of tensors that exist before the step.
  std::int64_t persistent_bytes() const;
};

// The largest tensor size and sum of sizes the graph may hold (keeps all sums inside int64).
inline constexpr std::int64_t kMaxBytes = std::int64_t{1} << 62;

// Fills Tensor::producer and Tensor::consumers from the nodes, and checks the structure: every
// tensor produced at most once, no node reading its own output, no cycle, kinds consistent with
// producers, sizes in range, no gradient marked output in a graph whose gradients are fused.
// `where` prefixes error messages (usually the file name).
void link_and_validate(Graph& graph, const std::string& where);

// True if `order` holds every node exactly once and each node comes after the producers of its
// inputs. On failure, `why` (if given) says what is wrong.
bool is_topological_order(const Graph& graph, const std::vector<int>& order,
                          std::string* why = nullptr);

// Node indices that produce inputs of `node` (its predecessors), unique.
std::vector<int> predecessors(const Graph& graph, int node);

}  // namespace tensorplan::mem
