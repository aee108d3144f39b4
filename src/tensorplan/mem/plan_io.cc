#include <charconv>
#include <unordered_map>

#include "tensorplan/common/error.h"
#include "tensorplan/common/file_io.h"
#include "tensorplan/common/text.h"
#include "tensorplan/mem/plan.h"

namespace tensorplan::mem {

Plan plan_from_json(const Json& doc, const Graph& graph, const std::string& path) {
  check_header(path, doc, kPlanFormat, kPlanVersion);
  Plan plan;
  if (auto it = doc.find("graph"); it != doc.end()) {
    if (!it->is_string()) fail("{}: /graph: expected the graph's name (a string)", path);
    plan.graph = it->get<std::string>();
    if (plan.graph != graph.name)
      fail("{}: /graph: the plan is for graph {}, but the graph given is {}", path,
           quote_input(plan.graph), quote_input(graph.name));
  }

  std::unordered_map<std::int64_t, int> node_index, tensor_index;
  for (int n = 0; n < graph.num_nodes(); ++n) node_index[graph.nodes[n].id] = n;
  for (int t = 0; t < graph.num_tensors(); ++t) tensor_index[graph.tensors[t].id] = t;

  const Json& order = get_array(path, doc, "", "order");
  for (std::size_t s = 0; s < order.size(); ++s) {
    const std::string at = "/order/" + std::to_string(s);
    const std::int64_t id = as_int(path, order[s], at);
    auto it = node_index.find(id);
    if (it == node_index.end())
      fail("{}: {}: unknown node id {} (not in graph \"{}\")", path, at, id, graph.name);
    plan.order.push_back(it->second);
  }

  plan.offsets.assign(graph.tensors.size(), -1);
  const Json& offsets = require(path, doc, "", "offsets");
  if (!offsets.is_object())
    fail("{}: /offsets: expected an object {{\"<tensor id>\": offset}}", path);
  for (auto it = offsets.begin(); it != offsets.end(); ++it) {
    const std::string at = "/offsets/" + quote_input(it.key());
    // Canonical decimal only: " 9", "+9" and "09" would all name tensor 9, and one would
    // silently replace another.
    std::int64_t id = 0;
    const std::string& key = it.key();
    const auto [stop, error] = std::from_chars(key.data(), key.data() + key.size(), id);
    if (error != std::errc() || stop != key.data() + key.size() || key != std::to_string(id))
      fail("{}: /offsets: key {} is not a tensor id in canonical decimal form", path,
           quote_input(key));
    auto t = tensor_index.find(id);
    if (t == tensor_index.end()) fail("{}: {}: unknown tensor id {}", path, at, id);
    const std::int64_t offset = as_int(path, it.value(), at);
    if (offset < 0 || offset > kMaxBytes)
      fail("{}: {}: offset {} out of range [0, 2^62]", path, at, offset);
    plan.offsets[t->second] = offset;
  }
  plan.arena_bytes = get_int(path, doc, "", "arena_bytes");
  if (plan.arena_bytes < 0) fail("{}: /arena_bytes: negative", path);
  if (doc.contains("alignment")) {
    plan.alignment = get_int(path, doc, "", "alignment");
    if (plan.alignment < 1 || plan.alignment > (std::int64_t{1} << 30))
      fail("{}: /alignment: {} is not in [1, 2^30]", path, plan.alignment);
  }
  return plan;
}

Plan read_plan(const std::string& path, const Graph& graph) {
  return plan_from_json(load_json(path), graph, path);
}

Json plan_to_json(const Plan& plan, const Graph& graph) {
  Json order = Json::array();
  for (int n : plan.order) order.push_back(graph.nodes[n].id);
  Json offsets = Json::object();
  for (int t = 0; t < graph.num_tensors(); ++t)
    if (plan.offsets[t] >= 0) offsets[std::to_string(graph.tensors[t].id)] = plan.offsets[t];
  Json doc = {{"format", kPlanFormat}, {"version", kPlanVersion},
              {"graph", plan.graph},   {"order", order},
              {"offsets", offsets},    {"arena_bytes", plan.arena_bytes}};
  if (plan.alignment > 1) doc["alignment"] = plan.alignment;
  return doc;
}

std::string plan_to_text(const Plan& plan, const Graph& graph) {
  return plan_to_json(plan, graph).dump() + "\n";
}

void write_plan(const Plan& plan, const Graph& graph, const std::string& path) {
  write_file_atomic(path, plan_to_text(plan, graph));
}

}  // namespace tensorplan::mem
