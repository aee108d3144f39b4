// The placement portfolio callers use: the greedy heuristics (milliseconds), then, unless the best
// of them already meets the max-live bound, the exact search from it, then optionally the address
// ILP on small instances. Keeps the lowest placement and says which method found it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "tensorplan/common/timer.h"
#include "tensorplan/mem/place/problem.h"
#include "tensorplan/mem/place/search.h"

namespace tensorplan::mem::place {

struct PortfolioOptions {
  // Fit under this many bytes: the last byte used (max offset + size, sizes not rounded; at
  // alignment 1 the height) at most this. Without it any height is allowed.
  std::optional<std::int64_t> capacity;
  // Look for the smallest height; otherwise stop at the first placement under the capacity (and
  // without a capacity, at the best heuristic's).
  bool minimize = true;
  // Also run the address ILP, after the search, where it has at most `ilp_max_pairs` binaries.
  bool use_ilp = false;
  std::int64_t ilp_max_pairs = 5000;
  // The share of the remaining time the search may use when the ILP runs after it.
  double search_share_before_ilp = 0.5;
  // Threads for the search (SearchOptions::threads; 0: one per core).
  int search_threads = 0;
  // Told of the search's progress (SearchOptions::on_progress); may be empty.
  std::function<void(const SearchProgress&)> on_search_progress;
};

struct PortfolioResult {
  // The lowest placement found; absent only if a capacity was given and nothing fits under it.
  std::optional<Placement> placement;
  std::string method;  // the placer that found it: a heuristic's name, "search" or "ilp"
  SearchStatus status = SearchStatus::kUnknown;
  std::int64_t lower_bound = 0;  // proven: no placement is lower (bytes)
  std::int64_t max_live = 0;     // the problem's max-live (sizes rounded), the first lower bound
  double seconds = 0;
};

PortfolioResult place_with_portfolio(const Problem& problem, const PortfolioOptions& options,
                                     const Deadline& deadline);

}  // namespace tensorplan::mem::place
