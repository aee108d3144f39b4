// Fuzz target: a training graph file (tensorplan.graph JSON), as `mem plan` reads it, then the
// order it carries simulated. Bad input must end in tensorplan::Error, never in anything else.
#include <cstdint>
#include <string>

#include "tensorplan/common/error.h"
#include "tensorplan/common/json.h"
#include "tensorplan/mem/graph_io.h"
#include "tensorplan/mem/simulate.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const tensorplan::mem::Graph graph =
        tensorplan::mem::graph_from_json(tensorplan::parse_json("fuzz.json", text), "fuzz.json");
    if (graph.num_nodes() <= 10000) tensorplan::mem::max_live(graph, graph.order);
  } catch (const tensorplan::Error&) {
  }
  return 0;
}
