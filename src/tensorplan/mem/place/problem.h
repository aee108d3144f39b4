// The placement problem: buffers with fixed live intervals get byte offsets in one arena so that
// buffers live at the same time never overlap. The same shape as Google's MiniMalloc problems.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tensorplan/mem/graph.h"

namespace tensorplan::mem::place {

struct Buffer {
  std::int64_t id = 0;     // the caller's id: a tensor index, or the CSV's id column
  std::int64_t lower = 0;  // first time step at which it is live
  std::int64_t upper = 0;  // first time step at which it is no longer live: live on [lower, upper)
  std::int64_t size = 0;   // bytes, > 0
};

struct Problem {
  std::vector<Buffer> buffers;
  std::int64_t alignment = 1;  // every offset is a multiple of it; sizes count rounded up to it
};

struct Placement {
  std::vector<std::int64_t> offsets;  // one per buffer, same index as Problem::buffers
  std::int64_t height = 0;            // max(offset + rounded size): the arena's size
};

// Size as placement counts it: rounded up to the alignment.
std::int64_t aligned_size(const Problem& problem, const Buffer& buffer);

// The largest total (aligned) size of buffers live at one time: no placement is lower.
std::int64_t max_live(const Problem& problem);

// max(offset + aligned size) over buffers.
std::int64_t height(const Problem& problem, const std::vector<std::int64_t>& offsets);
// max(offset + size) over buffers, sizes not rounded: the last byte used, what MiniMalloc calls
// the height. Equal to height() at alignment 1; with offsets aligned, height() rounds it up to
// the alignment.
std::int64_t top(const Problem& problem, const std::vector<std::int64_t>& offsets);

// True if every offset is non-negative, aligned, and no two buffers that share a time overlap in
// memory. On failure `why` says which.
// `names`, if given (one per buffer, e.g. a CSV's ids), name the buffers in `why`.
bool is_valid(const Problem& problem, const std::vector<std::int64_t>& offsets,
              std::string* why = nullptr, const std::vector<std::string>* names = nullptr);

// The placement problem of a graph under an order: one buffer per tensor of non-zero size, with
// id = tensor index and [lower, upper) = its lifetime in steps, [start, end + 1).
Problem problem_from_graph(const Graph& graph, const std::vector<int>& order,
                           std::int64_t alignment = 1);

}  // namespace tensorplan::mem::place
