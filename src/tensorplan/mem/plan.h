// A memory plan: the order operators run in (each tensor's lifetime) and each tensor's byte offset
// in one arena (its location). File format: tensorplan.plan version 1 (docs/graph-format.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tensorplan/common/json.h"
#include "tensorplan/mem/graph.h"

namespace tensorplan::mem {

inline constexpr const char* kPlanFormat = "tensorplan.plan";
inline constexpr int kPlanVersion = 1;

struct Plan {
  std::string graph;                  // name of the graph it plans
  std::vector<int> order;             // node indices, a topological order
  std::vector<std::int64_t> offsets;  // per tensor index: byte offset, or -1 if not placed
  std::int64_t arena_bytes = 0;       // the arena's size: max(offset + rounded size) over tensors
  // Offsets are multiples of it and sizes count rounded up to it (bytes; 1: none). Written to the
  // file as "alignment" when above 1, so that `mem check` verifies the plan as it was made.
  std::int64_t alignment = 1;
};

// Reads a plan for `graph`; tensor and node ids are resolved against it. Errors name file and path.
Plan read_plan(const std::string& path, const Graph& graph);
Plan plan_from_json(const Json& doc, const Graph& graph, const std::string& path);
Json plan_to_json(const Plan& plan, const Graph& graph);
// The file's text: what write_plan writes (one line of JSON and a newline).
std::string plan_to_text(const Plan& plan, const Graph& graph);
void write_plan(const Plan& plan, const Graph& graph, const std::string& path);

}  // namespace tensorplan::mem
