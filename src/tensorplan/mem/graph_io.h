// Reading and writing the graph file format (tensorplan.graph version 1; docs/graph-format.md).
#pragma once

#include <string>

#include "tensorplan/common/json.h"
#include "tensorplan/mem/graph.h"

namespace tensorplan::mem {

inline constexpr const char* kGraphFormat = "tensorplan.graph";
inline constexpr int kGraphVersion = 1;

// Reads a graph file (plain or gzip-compressed JSON), validating it strictly. Errors name the file,
// the JSON path and the offending id.
Graph read_graph(const std::string& path);
// Same, from a parsed document; `path` is used in messages only.
Graph graph_from_json(const Json& doc, const std::string& path);

Json graph_to_json(const Graph& graph);
// Writes atomically; gzip-compressed when `path` ends in ".gz".
void write_graph(const Graph& graph, const std::string& path);

}  // namespace tensorplan::mem
