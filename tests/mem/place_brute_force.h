// Test helpers for placement: small random instances and their optimum by brute force.
#pragma once

#include <cstdint>

#include "support/random_graph.h"
#include "tensorplan/mem/place/problem.h"

namespace tensorplan::mem::place::testing {

// The least height over every order of placing the buffers, each at the lowest offset where it
// fits among those already placed: the optimum (factorial time: up to 8 buffers or so).
std::int64_t brute_force_optimum(const Problem& problem);

// 1..max_buffers buffers (ids from 100) on times [0, 10), sizes 1..12 bytes.
Problem random_problem(Rng& rng, int max_buffers, std::int64_t alignment);

}  // namespace tensorplan::mem::place::testing
