// Prediction speed of the shipped cost models (data/perf/*.tpmodel): schedules predicted per
// second when an autotuner asks for all the schedules of one pipeline at once (the target:
// at least 20,000 per second on this 2-core machine). Run from the repository root, or set
// TENSORPLAN_PERF_DATA to the directory holding the models and shards.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tensorplan/perf/models/cost_model.h"

namespace {

using namespace tensorplan::perf;

std::string data_dir() {
  const char* dir = std::getenv("TENSORPLAN_PERF_DATA");
  return dir ? dir : "data/perf";
}

// The test split, loaded once for every benchmark.
const std::vector<PipelineSamples>& test_pipelines() {
  static const std::vector<PipelineSamples> pipelines =
      select_split(load_samples(data_dir()), Split::kTest);
  return pipelines;
}

void BM_Predict(benchmark::State& state, const std::string& file) {
  const std::unique_ptr<CostModel> model = load_cost_model(file);
  const std::vector<PipelineSamples>& pipelines = test_pipelines();
  std::vector<std::vector<CostQuery>> batches;
  for (const PipelineSamples& p : pipelines) batches.push_back(schedule_queries(p));
  std::size_t next = 0;
  int64_t predicted = 0;
  for (auto _ : state) {
    const auto& batch = batches[next++ % batches.size()];
    benchmark::DoNotOptimize(model->predict(batch));
    predicted += static_cast<int64_t>(batch.size());
  }
  state.SetItemsProcessed(predicted);
  state.counters["stages_avg"] = [&] {
    double stages = 0;
    for (const auto& p : pipelines) stages += p.stages();
    return pipelines.empty() ? 0.0 : stages / static_cast<double>(pipelines.size());
  }();
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> files;
  if (std::filesystem::is_directory(data_dir()))
    for (const auto& entry : std::filesystem::directory_iterator(data_dir()))
      if (entry.path().extension() == ".tpmodel") files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  for (const std::string& file : files)
    benchmark::RegisterBenchmark(
        ("BM_Predict/" + std::filesystem::path(file).stem().string()).c_str(), BM_Predict, file)
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();  // predictions per wall-clock second, what an autotuner waits for
  benchmark::Initialize(&argc, argv);
  if (files.empty())
    std::fprintf(stderr, "perf_models_bench: no *.tpmodel in %s\n", data_dir().c_str());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
