#include "tensorplan/mem/graph_io.h"

#include <algorithm>
#include <string_view>
#include <unordered_map>

#include "tensorplan/common/error.h"
#include "tensorplan/common/file_io.h"
#include "tensorplan/common/text.h"

namespace tensorplan::mem {

namespace {

// Maps file ids to indices, rejecting duplicates.
class IdMap {
 public:
  IdMap(std::string path, std::string what) : path_(std::move(path)), what_(std::move(what)) {}
  void add(std::int64_t id, int index, const std::string& where) {
    auto [it, inserted] = map_.emplace(id, index);
    if (!inserted) fail("{}: {}: duplicate {} id {}", path_, where, what_, id);
  }
  int find(std::int64_t id, const std::string& where) const {
    auto it = map_.find(id);
    if (it == map_.end()) fail("{}: {}: unknown {} id {}", path_, where, what_, id);
    return it->second;
  }

 private:
  std::string path_;
  std::string what_;
  std::unordered_map<std::int64_t, int> map_;
};

std::string optional_string(const std::string& path, const Json& object, const std::string& where,
                            const std::string& key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return "";
  if (!it->is_string()) fail("{}: {}/{}: expected a string", path, where, key);
  return it->get<std::string>();
}

}  // namespace

Graph graph_from_json(const Json& doc, const std::string& path) {
  check_header(path, doc, kGraphFormat, kGraphVersion);
  Graph graph;
  graph.name = optional_string(path, doc, "", "name");
  if (auto it = doc.find("gradients"); it != doc.end()) {
    if (!it->is_string()) fail("{}: /gradients: expected \"keep\" or \"fused\"", path);
    auto parsed = parse_gradient_semantics(it->get<std::string>());
    if (!parsed)
      fail(
          "{}: /gradients: unknown gradient semantics {} (expected \"keep\": kept in "
          ".grad, or \"fused\": each gradient dies after its parameter's update)",
          path, quote_input(it->get<std::string>()));
    graph.gradients = *parsed;
  }

  const Json& tensors = get_array(path, doc, "", "tensors");
  IdMap tensor_ids(path, "tensor");
  graph.tensors.reserve(tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const std::string where = "/tensors/" + std::to_string(i);
    const Json& t = tensors[i];
    if (!t.is_object()) fail("{}: {}: expected an object", path, where);
    Tensor tensor;
    tensor.id = get_int(path, t, where, "id");
    tensor.name = optional_string(path, t, where, "name");
    tensor.size = get_int(path, t, where, "size");
    if (tensor.size < 0)
      fail("{}: {}/size: tensor {} has negative size {}", path, where, tensor.id, tensor.size);
    if (tensor.size > kMaxBytes)
      fail("{}: {}/size: tensor {} size {} exceeds 2^62 bytes", path, where, tensor.id,
           tensor.size);
    const std::string kind = get_string(path, t, where, "kind");
    auto parsed = parse_tensor_kind(kind);
    if (!parsed)
      fail(
          "{}: {}/kind: tensor {} has unknown kind {} (expected input, weight, "
          "optimizer_state, activation, gradient or temporary)",
          path, where, tensor.id, quote_input(kind));
    tensor.kind = *parsed;
    if (auto it = t.find("output"); it != t.end()) {
      if (!it->is_boolean()) fail("{}: {}/output: expected true or false", path, where);
      tensor.output = it->get<bool>();
    }
    tensor_ids.add(tensor.id, static_cast<int>(i), where + "/id");
    graph.tensors.push_back(std::move(tensor));
  }

  const Json& nodes = get_array(path, doc, "", "nodes");
  IdMap node_ids(path, "node");
  graph.nodes.reserve(nodes.size());
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const std::string where = "/nodes/" + std::to_string(i);
    const Json& n = nodes[i];
    if (!n.is_object()) fail("{}: {}: expected an object", path, where);
    Node node;
    node.id = get_int(path, n, where, "id");
    node.name = optional_string(path, n, where, "name");
    node.op = optional_string(path, n, where, "op");
    node.module = optional_string(path, n, where, "module");
    for (const char* key : {"inputs", "outputs"}) {
      const Json& list = get_array(path, n, where, key);
      auto& target = std::string(key) == "inputs" ? node.inputs : node.outputs;
      for (std::size_t k = 0; k < list.size(); ++k) {
        const std::string at = where + "/" + key + "/" + std::to_string(k);
        target.push_back(tensor_ids.find(as_int(path, list[k], at), at));
      }
    }
    node_ids.add(node.id, static_cast<int>(i), where + "/id");
    graph.nodes.push_back(std::move(node));
  }

  const std::string file_context = path;
  link_and_validate(graph, file_context);

  if (auto it = doc.find("order"); it != doc.end()) {
    if (!it->is_array()) fail("{}: /order: expected an array of node ids", path);
    for (std::size_t s = 0; s < it->size(); ++s) {
      const std::string at = "/order/" + std::to_string(s);
      graph.order.push_back(node_ids.find(as_int(path, (*it)[s], at), at));
    }
    std::string why;
    if (!is_topological_order(graph, graph.order, &why))
      fail("{}: /order is not a topological order of the nodes: {}", path, why);
  } else {
    fail("{}: /order: missing (the reference order of the nodes)", path);
  }

  // Optional: {"forward": [begin, end), ...} over node positions, as the exporter writes it.
  if (auto it = doc.find("phases"); it != doc.end() && !it->is_null()) {
    if (!it->is_object()) fail("{}: /phases: expected an object of [begin, end] node ranges", path);
    for (const auto& [name, range] : it->items()) {
      const std::string at = "/phases/" + name;
      if (!range.is_array() || range.size() != 2)
        fail("{}: {}: expected [begin, end] (node positions)", path, at);
      const std::int64_t begin = as_int(path, range[0], at + "/0");
      const std::int64_t end = as_int(path, range[1], at + "/1");
      if (begin < 0 || begin > end || end > graph.num_nodes())
        fail("{}: {}: [{}, {}] is not a range of the graph's {} nodes", path, at, begin, end,
             graph.num_nodes());
      graph.phases.push_back({name, static_cast<int>(begin), static_cast<int>(end)});
    }
    std::stable_sort(graph.phases.begin(), graph.phases.end(),
                     [](const Phase& a, const Phase& b) { return a.begin < b.begin; });
  }
  return graph;
}

Graph read_graph(const std::string& path) {
  const std::string text = read_file(path);
  // A placement instance given where a graph belongs: say which command takes it.
  const std::string_view start = std::string_view(text).substr(0, 64);
  if (start.find('{') == std::string_view::npos && start.find("id") != std::string_view::npos &&
      start.find(',') != std::string_view::npos)
    fail(
        "{}: this looks like a placement instance (MiniMalloc CSV), not a training graph: "
        "`tensorplan mem place {}` places it",
        path, path);
  return graph_from_json(parse_json(path, text), path);
}

Json graph_to_json(const Graph& graph) {
  Json tensors = Json::array();
  for (const Tensor& t : graph.tensors) {
    Json j = {
        {"id", t.id}, {"name", t.name}, {"size", t.size}, {"kind", std::string(to_string(t.kind))}};
    if (t.output) j["output"] = true;
    tensors.push_back(std::move(j));
  }
  Json nodes = Json::array();
  for (const Node& n : graph.nodes) {
    Json inputs = Json::array(), outputs = Json::array();
    for (int i : n.inputs) inputs.push_back(graph.tensors[i].id);
    for (int o : n.outputs) outputs.push_back(graph.tensors[o].id);
    Json j = {
        {"id", n.id}, {"name", n.name}, {"op", n.op}, {"inputs", inputs}, {"outputs", outputs}};
    if (!n.module.empty()) j["module"] = n.module;
    nodes.push_back(std::move(j));
  }
  Json order = Json::array();
  for (int n : graph.order) order.push_back(graph.nodes[n].id);
  Json doc = {{"format", kGraphFormat}, {"version", kGraphVersion}, {"name", graph.name},
              {"tensors", tensors},     {"nodes", nodes},           {"order", order}};
  // Absent means keep, so keep graphs are written as before.
  if (graph.gradients != GradientSemantics::kKeep)
    doc["gradients"] = std::string(to_string(graph.gradients));
  if (!graph.phases.empty()) {
    Json phases = Json::object();
    for (const Phase& p : graph.phases) phases[p.name] = {p.begin, p.end};
    doc["phases"] = phases;
  }
  return doc;
}

void write_graph(const Graph& graph, const std::string& path) {
  write_file_atomic(path, graph_to_json(graph).dump() + "\n");
}

}  // namespace tensorplan::mem
