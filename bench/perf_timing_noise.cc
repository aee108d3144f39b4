// How much do the dataset's labels move when nothing changes but the moment they are taken?
//
// Times one compiled pipeline of a format-2 dataset (all its schedules, interleaved rounds, as
// `perf gen` does) in N separate processes one after another, and reports how far the labels of
// any two processes lie apart: the median relative difference (raw, and once each process's
// common shift is taken out), Kendall's tau, and the same for labels pooled over 2, 3 and 5
// consecutive processes (does more timing help?). With --probe, a short piece of fixed work runs
// just before every batch and each figure is also reported divided by it, to see whether the
// probe tracks the machine's speed:
//   clock   a chain of dependent multiply-adds (its time follows the CPU clock only);
//   memory  a pointer chase through a 32 MiB ring (follows cache and memory latency).
//
// Keeping a pipeline's library (perf gen removes it once timed, except for the pipelines of the
// repeatability pass): ask for two pipelines of a shard with every pipeline re-timed, and stop
// after the first; its library waits in the work directory for the second pass.
//   tensorplan perf gen --pipelines 64 --schedules 32 --min-size 192 --max-size 512
//       --max-work 600000000 --shard 5/32 --retime-fraction 1 --max-pipelines 1
//       --work-dir /tmp/noise/work --out /tmp/noise/data
//   perf_timing_noise /tmp/noise/data 5 /tmp/noise/work/keep-p5.so --processes 30
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <numeric>
#include <optional>

#include "tensorplan/common/error.h"
#include "tensorplan/common/rng.h"
#include "tensorplan/perf/dataset.h"
#include "tensorplan/perf/dataset_stats.h"
#include "tensorplan/perf/halide/aot.h"
#include "tensorplan/perf/halide/interleaved_timer.h"
#include "tensorplan/perf/quiet_machine.h"
#include "tensorplan/perf/subprocess.h"

namespace {

using namespace tensorplan;
using namespace tensorplan::perf;

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Latency-bound work whose time follows the clock only (each step waits for the last).
__attribute__((noinline)) std::uint64_t clock_probe(std::uint64_t x) {
  for (int i = 0; i < 300000; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    asm volatile("" : "+r"(x));
  }
  return x;
}

// One cycle through a random permutation of 32 MiB: every step a cache miss to memory.
struct MemoryProbe {
  std::vector<std::uint32_t> next;
  MemoryProbe() {
    const std::size_t n = (std::size_t{32} << 20) / sizeof(std::uint32_t);
    std::vector<std::uint32_t> order(n);
    std::iota(order.begin(), order.end(), 0u);
    Rng rng(7);
    rng.shuffle(order);
    next.assign(n, 0);
    for (std::size_t i = 0; i < n; ++i) next[order[i]] = order[(i + 1) % n];
  }
  __attribute__((noinline)) std::uint32_t run(std::uint32_t p) const {
    for (int i = 0; i < 20000; ++i) p = next[p];
    return p;
  }
};

struct ProcessLabels {
  std::vector<std::vector<double>> rounds;        // [schedule][round] seconds
  std::vector<std::vector<double>> probe_rounds;  // [schedule][round] seconds / probe seconds
};

// Times every schedule of the pipeline in this process; `probe` "" keeps perf gen's own timer.
ProcessLabels time_in_this_process(const PipelineRecord& pipeline, const std::string& library_path,
                                   int rounds, const std::string& probe, std::uint64_t seed) {
  pin_to_cpu(timing_cpu());
  ScheduleLibrary library(library_path);
  PipelineBuffers buffers(pipeline.inputs, pipeline.output, pipeline.seed);
  const auto arguments = pipeline.timing.at("arguments").get<std::vector<std::string>>();
  const auto samples = pipeline.timing.at("timed_schedules").get<std::vector<int>>();
  std::vector<std::vector<void*>> argvs;
  std::vector<ScheduleLibrary::ArgvFunction> functions;
  for (const int k : samples) {
    argvs.push_back(buffers.argv(arguments));
    functions.push_back(library.function(fmt::format("s{}", k)));
  }
  const std::size_t n = samples.size();
  ProcessLabels out;
  if (probe.empty()) {
    std::vector<std::function<void()>> runs;
    for (std::size_t i = 0; i < n; ++i) {
      runs.push_back([f = functions[i], argv = argvs[i].data()] { f(argv); });
    }
    InterleavedOptions options;
    options.rounds = rounds;
    out.rounds = time_interleaved(runs, options, seed).rounds;
    return out;
  }
  // With a probe: per round and schedule, the minimum over 3 (probe, one run) pairs.
  std::optional<MemoryProbe> memory;
  if (probe == "memory") memory.emplace();
  volatile std::uint64_t sink = 0;
  for (std::size_t i = 0; i < n; ++i) {
    functions[i](argvs[i].data());  // warm up
    functions[i](argvs[i].data());
  }
  out.rounds.assign(n, {});
  out.probe_rounds.assign(n, {});
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  Rng rng(seed);
  for (int r = 0; r < rounds; ++r) {
    rng.shuffle(order);
    for (const int s : order) {
      const auto i = static_cast<std::size_t>(s);
      double best = 1e30, best_probe = 1e30;
      for (int b = 0; b < 3; ++b) {
        const double t0 = now_seconds();
        sink = memory ? memory->run(static_cast<std::uint32_t>(sink % memory->next.size()))
                      : clock_probe(sink);
        const double t1 = now_seconds();
        functions[i](argvs[i].data());
        const double t2 = now_seconds();
        best = std::min(best, t2 - t1);
        best_probe = std::min(best_probe, t1 - t0);
      }
      out.rounds[i].push_back(best);
      out.probe_rounds[i].push_back(best / best_probe);
    }
  }
  return out;
}

// Labels (median over rounds) of consecutive processes pooled `group` at a time.
std::vector<std::vector<double>> pooled_labels(
    const std::vector<std::vector<std::vector<double>>>& processes, int group) {
  std::vector<std::vector<double>> out;
  for (std::size_t g = 0; g + static_cast<std::size_t>(group) <= processes.size(); g += group) {
    std::vector<double> labels;
    for (std::size_t s = 0; s < processes[g].size(); ++s) {
      std::vector<double> all;
      for (std::size_t p = g; p < g + static_cast<std::size_t>(group); ++p)
        all.insert(all.end(), processes[p][s].begin(), processes[p][s].end());
      labels.push_back(median_of(all));
    }
    out.push_back(std::move(labels));
  }
  return out;
}

// Agreement of every pair of label sets, summarised by the median over pairs.
void report_agreement(const std::string& what,
                      const std::vector<std::vector<std::vector<double>>>& processes) {
  for (const int group : {1, 2, 3, 5}) {
    const auto labels = pooled_labels(processes, group);
    if (labels.size() < 2) break;
    std::vector<double> raw, within, tau;
    for (std::size_t i = 0; i < labels.size(); ++i) {
      for (std::size_t j = i + 1; j < labels.size(); ++j) {
        std::vector<std::pair<double, double>> pairs;
        for (std::size_t s = 0; s < labels[i].size(); ++s)
          pairs.emplace_back(labels[i][s], labels[j][s]);
        const Agreement a = compute_agreement({pairs});
        raw.push_back(a.median_relative_difference);
        within.push_back(a.median_relative_difference_within);
        tau.push_back(a.kendall_tau);
      }
    }
    std::printf(
        "%-8s %d process(es) a label (%2zu labels): median relative difference %5.1f%%, "
        "%4.1f%% within; tau %.3f\n",
        what.c_str(), group, labels.size(), 100 * median_of(raw), 100 * median_of(within),
        median_of(tau));
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Times one compiled pipeline of a format-2 dataset in separate processes, one after\n"
      "another, and reports how much its labels move between them (see the comment at the top\n"
      "of bench/perf_timing_noise.cc for how to keep a pipeline's library). Example:\n"
      "  perf_timing_noise /tmp/noise/data 5 /tmp/noise/work/keep-p5.so --processes 30"};
  std::string dataset, library, probe = "none";
  int pipeline_index = 0, processes = 10, rounds = 9;
  app.add_option("dataset", dataset, "shard file or directory holding the pipeline")->required();
  app.add_option("pipeline", pipeline_index, "pipeline index")->required();
  app.add_option("library", library, "the pipeline's compiled library (keep-p<index>.so)")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--processes", processes, "timing processes, one after another")
      ->check(CLI::Range(2, 1000));
  app.add_option("--rounds", rounds, "rounds per process")->check(CLI::Range(1, 1000));
  app.add_option("--probe", probe, "fixed work timed before every batch: none, clock, memory")
      ->check(CLI::IsMember({"none", "clock", "memory"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;  // bad arguments: exit 2, as every tensorplan command
  }
  try {
    std::optional<PipelineRecord> pipeline;
    for (const auto& path : list_shards(dataset)) {
      for (auto& p : read_shard(path).pipelines) {
        if (p.index == pipeline_index) pipeline = std::move(p);
      }
    }
    if (!pipeline) fail("{}: no pipeline {}", dataset, pipeline_index);
    if (!pipeline->timing.contains("arguments") || !pipeline->timing.contains("timed_schedules"))
      fail("pipeline {} was not timed as format 2 (no arguments or timed schedules)",
           pipeline_index);
    std::vector<std::vector<std::vector<double>>> raw, probed;
    for (int k = 0; k < processes; ++k) {
      const ChildOutcome outcome = run_in_child(
          [&](const MessageSink& send) {
            const ProcessLabels l = time_in_this_process(
                *pipeline, library, rounds, probe == "none" ? "" : probe, derive_seed(99, k));
            send({{"rounds", l.rounds}, {"probe_rounds", l.probe_rounds}});
          },
          {}, 3600);
      if (outcome.status != "ok" || outcome.messages.empty())
        fail("timing process {} failed: {} {}", k, outcome.status, outcome.detail);
      const Json& m = outcome.messages.back();
      raw.push_back(m.at("rounds").get<std::vector<std::vector<double>>>());
      probed.push_back(m.at("probe_rounds").get<std::vector<std::vector<double>>>());
      std::vector<double> ratios;
      for (std::size_t s = 0; s < raw.back().size(); ++s)
        ratios.push_back(median_of(raw.back()[s]) / median_of(raw.front()[s]));
      std::fprintf(stderr, "process %d of %d: labels %.3fx those of process 1 (median)\n", k + 1,
                   processes, median_of(ratios));
    }
    report_agreement("raw", raw);
    if (probe != "none") report_agreement("/probe", probed);
  } catch (const Error& e) {
    std::fprintf(stderr, "perf_timing_noise: %s\n", e.what());
    return 2;
  }
  return 0;
}
