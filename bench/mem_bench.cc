// Speed of the foundation on a 100,000-node random training-like graph: simulation, the PyTorch
// caching-allocator replay, the best heuristic order, the best heuristic placement, and the whole
// heuristic plan (what `tensorplan mem plan --time-limit 0` does). Single-threaded.
#include <benchmark/benchmark.h>

#include "tensorplan/mem/planner.h"
#include "tensorplan/mem/place/placer.h"
#include "tensorplan/mem/pytorch_allocator.h"
#include "tensorplan/mem/random_graph.h"
#include "tensorplan/mem/schedule/scheduler.h"
#include "tensorplan/mem/simulate.h"

namespace {

using namespace tensorplan;
using namespace tensorplan::mem;

// 20,000 layers x 5 operators = 100,000 nodes (and ~120,000 tensors).
const Graph& big_graph() {
  static const Graph graph = random_training_graph(20000, 1);
  return graph;
}

void BM_Simulate(benchmark::State& state) {
  const Graph& g = big_graph();
  for (auto _ : state) benchmark::DoNotOptimize(simulate(g, g.order).max_live);
  state.counters["nodes"] = g.num_nodes();
}
BENCHMARK(BM_Simulate)->Unit(benchmark::kMillisecond);

void BM_PyTorchAllocatorReplay(benchmark::State& state) {
  const Graph& g = big_graph();
  for (auto _ : state) benchmark::DoNotOptimize(replay_pytorch_allocator(g, g.order).peak_reserved);
}
BENCHMARK(BM_PyTorchAllocatorReplay)->Unit(benchmark::kMillisecond);

void BM_BestHeuristicOrder(benchmark::State& state) {
  const Graph& g = big_graph();
  const auto schedulers = schedule::heuristic_schedulers();
  for (auto _ : state) benchmark::DoNotOptimize(schedule::best_order(g, schedulers, Deadline()).max_live);
}
BENCHMARK(BM_BestHeuristicOrder)->Unit(benchmark::kMillisecond);

void BM_BestHeuristicPlacement(benchmark::State& state) {
  const Graph& g = big_graph();
  const place::Problem problem = place::problem_from_graph(g, g.order);
  const auto placers = place::heuristic_placers();
  for (auto _ : state)
    benchmark::DoNotOptimize(place::place_best(problem, placers, Deadline()).placement.height);
  state.counters["buffers"] = static_cast<double>(problem.buffers.size());
}
BENCHMARK(BM_BestHeuristicPlacement)->Unit(benchmark::kMillisecond);

// Everything `mem plan` does with heuristics: baseline replay, simulation, best order, best
// placement, the independent check.
void BM_PlanMemoryHeuristics(benchmark::State& state) {
  const Graph& g = big_graph();
  PlanOptions options;
  options.time_limit = 0;
  for (auto _ : state) benchmark::DoNotOptimize(plan_memory(g, options).arena_bytes);
}
BENCHMARK(BM_PlanMemoryHeuristics)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
