// Speed of the foundation on a 100,000-node random training-like graph: simulation, the PyTorch
// caching-allocator replay, the best heuristic order, the best heuristic placement, and the whole
// heuristic plan (what `tensorplan mem plan --time-limit 0` does). Single-threaded.
#include <benchmark/benchmark.h>

#include "support/random_graph.h"
#include "tensorplan/mem/place/placer.h"
#include "tensorplan/mem/planner.h"
#include "tensorplan/mem/pytorch_allocator.h"
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
  for (auto _ : state)
    benchmark::DoNotOptimize(schedule::best_order(g, schedulers, Deadline()).max_live);
}
BENCHMARK(BM_BestHeuristicOrder)->Unit(benchmark::kMillisecond);

// Each placer alone on the graph's 120,000 buffers; the greedy ones are slow here (the free space
// is fragmented into hundreds of gaps per query), which is why the planner bounds them by its time
// limit and falls back to the sweep.
void BM_Placer(benchmark::State& state) {
  const Graph& g = big_graph();
  const place::Problem problem = place::problem_from_graph(g, g.order);
  const auto placers = place::heuristic_placers();
  const place::Placer& placer = *placers[state.range(0)];
  state.SetLabel(placer.name());
  std::int64_t height = 0;
  for (auto _ : state) height = placer.place(problem, Deadline()).height;
  state.counters["buffers"] = static_cast<double>(problem.buffers.size());
  state.counters["over_max_live_pct"] =
      100.0 * (static_cast<double>(height) / static_cast<double>(place::max_live(problem)) - 1);
}
BENCHMARK(BM_Placer)->DenseRange(0, 6)->Iterations(1)->Unit(benchmark::kMillisecond);

// Everything `mem plan --time-limit 0` does: baseline replay, simulation, the best of the order
// heuristics, placement within the (zero) time limit, the independent check.
void BM_PlanMemoryHeuristics(benchmark::State& state) {
  const Graph& g = big_graph();
  PlanOptions options;
  options.time_limit = 0;
  PlanReport report;
  for (auto _ : state) report = plan_memory(g, options);
  state.SetLabel(report.order_method + " + " + report.placement_method);
  state.counters["fragmentation_pct"] = 100 * report.fragmentation;
}
BENCHMARK(BM_PlanMemoryHeuristics)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
