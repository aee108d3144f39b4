// The exact search on parts too big to search whole (more than 10,000 buffers, or search nodes
// of more than max_work_per_node steps: real training traces of 20k-60k buffers are one part):
// searched in pieces instead, each small enough to search whole. (Big parts that can be searched
// whole are searched in pieces first, for a share of the time: search.cc.) Its hot window (the
// sections from the first to the last loaded above 99%, 98%, ... of its bound) alone, the lifetimes
// cut to it, the other buffers then put around it in the lowest gap that fits; and its top: the
// buffers above a level, placed again on the skyline of the others. Internal to the exact search
// (search.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "tensorplan/common/timer.h"
#include "tensorplan/mem/place/search.h"
#include "tensorplan/mem/place/search/part.h"

namespace tensorplan::mem::place::exact {

// Whether a part is searched whole: at most kMaxSearchedBuffers buffers (search.h) and nodes of
// at most options.max_work_per_node steps.
bool searchable(const Part& part, const SearchOptions& options);

// Searches a piece (a searchable part) for a layout lower than `start` (valid), down to `target`,
// until `deadline`; returns the lowest it found (at worst `start`).
using PieceSearch =
    std::function<std::vector<std::int64_t>(const Part& piece, std::vector<std::int64_t> start,
                                            std::int64_t target, const Deadline& deadline)>;

// A part too big to search whole (searchable) starts from `layout`, its best heuristic one, and is
// lowered towards `target` by the exact search on pieces of it: its hot window, from the narrowest
// (load above 99% of its bound) to wider ones, the rest filled around it, and then the top of the
// layout (repair_top). Every layout found is offered.
void improve_big_part(const Part& part, std::vector<std::int64_t> layout, std::int64_t target,
                      const SearchOptions& options, const PieceSearch& search_piece,
                      const std::function<void(const std::vector<std::int64_t>&)>& offer);

}  // namespace tensorplan::mem::place::exact
