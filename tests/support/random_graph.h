// Random graphs for property tests and benchmarks. Deterministic: the same arguments give the
// same graph on every machine (own generator, no std:: distributions, whose output varies).
#pragma once

#include <cstdint>

#include "tensorplan/common/rng.h"
#include "tensorplan/mem/graph.h"

namespace tensorplan::mem {

// A general DAG of `nodes` operators: each reads 1-3 earlier tensors (or persistent ones) and
// writes 1-2 new tensors of random size in [1, max_size]; a few tensors are outputs; some have no
// consumer. The reference order is the creation order.
Graph random_dag(int nodes, std::uint64_t seed, std::int64_t max_size = 1000);

// A training-step-like graph: a forward pass of `layers` layers (each a weight, one or two
// activations, sometimes a skip connection), a loss, a backward pass that mirrors it (reading the
// saved activations, producing gradients kept as outputs), and an SGD update per weight. About
// 5 nodes per layer. The reference order is forward, backward, update — as eager PyTorch runs it.
Graph random_training_graph(int layers, std::uint64_t seed);

}  // namespace tensorplan::mem
