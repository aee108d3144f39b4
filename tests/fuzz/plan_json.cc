// Fuzz target: a plan file (tensorplan.plan JSON) for a fixed small graph, read as `mem check`
// reads it and then checked. Bad input must end in tensorplan::Error (unreadable) or a checker
// verdict, never in anything else.
#include <cstdint>
#include <string>

#include "tensorplan/common/error.h"
#include "tensorplan/common/json.h"
#include "tensorplan/mem/check.h"
#include "tensorplan/mem/graph_io.h"
#include "tensorplan/mem/plan.h"

namespace {

// x -> n0 -> a -> n1 -> b (output), and a weight w read by n1.
const char* const kGraph = R"({"format": "tensorplan.graph", "version": 1, "name": "fuzz",
  "tensors": [{"id": 0, "name": "x", "size": 100, "kind": "input"},
              {"id": 1, "name": "w", "size": 64, "kind": "weight"},
              {"id": 2, "name": "a", "size": 50, "kind": "activation"},
              {"id": 3, "name": "b", "size": 50, "kind": "activation", "output": true}],
  "nodes": [{"id": 0, "name": "n0", "op": "aten.relu", "inputs": [0], "outputs": [2]},
            {"id": 1, "name": "n1", "op": "aten.mul", "inputs": [2, 1], "outputs": [3]}],
  "order": [0, 1]})";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const tensorplan::mem::Graph graph =
      tensorplan::mem::graph_from_json(tensorplan::parse_json("graph", kGraph), "graph");
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const tensorplan::mem::Plan plan = tensorplan::mem::plan_from_json(
        tensorplan::parse_json("fuzz.json", text), graph, "fuzz.json");
    tensorplan::mem::check_plan(graph, plan, plan.alignment);
  } catch (const tensorplan::Error&) {
  }
  return 0;
}
