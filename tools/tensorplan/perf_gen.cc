// tensorplan perf gen: generate (or resume) one shard of the measured Halide dataset.
#include <cstdio>
#include <memory>
#include <string>

#include "perf_commands.h"
#include "tensorplan/common/error.h"
#include "tensorplan/perf/generate.h"

namespace tensorplan::cli {

namespace {

struct GenArgs {
  perf::GenerateOptions options;
  std::string shard = "0/1";
  bool tiny = false;
  bool mpi = false;
  bool json = false;
};

void parse_shard(const std::string& text, int* shard, int* shards) {
  const auto slash = text.find('/');
  try {
    if (slash == std::string::npos) throw std::invalid_argument(text);
    std::size_t used = 0;
    *shard = std::stoi(text.substr(0, slash), &used);
    if (used != slash) throw std::invalid_argument(text);
    *shards = std::stoi(text.substr(slash + 1), &used);
    if (used != text.size() - slash - 1) throw std::invalid_argument(text);
  } catch (const std::exception&) {
    fail("--shard wants i/n (e.g. 3/8), got '{}'", text);
  }
}

void run(GenArgs& args) {
  if (args.tiny) args.options.pipeline = perf::tiny_pipeline_options();
  perf::GenerateSummary summary;
  if (args.mpi) {
    if (!perf::mpi_available())
      fail("this tensorplan was built without MPI (install libopenmpi-dev and rebuild)");
    summary = perf::generate_shard_mpi(args.options, nullptr, nullptr);
  } else {
    parse_shard(args.shard, &args.options.shard, &args.options.shards);
    summary = perf::generate_shard(args.options);
  }
  if (args.json) {
    std::printf(
        "{\"shard\": \"%s\", \"samples_measured\": %d, \"samples_ok\": %d, \"samples_in_shard\": "
        "%d, "
        "\"samples_total\": %d, \"seconds\": %.3f}\n",
        summary.shard_path.c_str(), summary.samples_measured, summary.samples_ok,
        summary.samples_before + summary.samples_measured, summary.samples_total, summary.seconds);
  }
}

}  // namespace

void add_perf_gen(CLI::App& perf) {
  auto args = std::make_shared<GenArgs>();
  perf::GenerateOptions& o = args->options;
  CLI::App* gen = perf.add_subcommand(
      "gen",
      "Generate random Halide pipelines, sample Adams2019 schedules, featurize and time them, and\n"
      "append them to a dataset shard (resumable). Shard i/n holds pipelines p with p % n == i.");
  gen->add_option("--pipelines", o.pipelines, "Pipelines in the whole run (all shards)")
      ->capture_default_str();
  gen->add_option("--schedules", o.schedules, "Schedules per pipeline (1 beam search + randomised)")
      ->capture_default_str();
  gen->add_option("--seed", o.seed, "Seed of the run")->capture_default_str();
  gen->add_option("--shard", args->shard, "This shard, i/n")->capture_default_str();
  gen->add_option("--out", o.out_dir, "Output directory")->required();
  gen->add_flag("--resume", o.resume, "Continue the shard in --out (same settings required)");
  gen->add_option("--threads", o.threads,
                  "Threads for timing (HL_NUM_THREADS, MachineParams parallelism)")
      ->capture_default_str();
  gen->add_option("--control-every", o.control_every,
                  "Re-time the control schedule every N samples (0: never)")
      ->capture_default_str();
  gen->add_option("--max-samples", o.max_samples,
                  "Stop after measuring this many samples (-1: all)")
      ->capture_default_str();
  gen->add_option("--timing-budget", o.timing.budget_seconds, "Seconds of timing per schedule")
      ->capture_default_str();
  gen->add_option("--autoschedule-timeout", o.limits.autoschedule_seconds, "Seconds")
      ->capture_default_str();
  gen->add_option("--compile-timeout", o.limits.compile_seconds, "Seconds")->capture_default_str();
  gen->add_option("--run-timeout", o.limits.run_seconds, "Seconds for timing one schedule")
      ->capture_default_str();
  gen->add_option("--target", o.target, "Halide target (default: from /proc/cpuinfo)");
  gen->add_flag("--tiny", args->tiny, "Tiny pipelines (tests, smoke runs)");
  gen->add_flag("--mpi", args->mpi, "Run under mpirun: one shard per rank (overrides --shard)");
  gen->add_flag("--quiet", o.quiet, "No progress on stderr");
  gen->add_flag("--json", args->json, "Print a JSON summary on stdout");
  gen->callback([args] { run(*args); });
}

}  // namespace tensorplan::cli
