// tensorplan perf gen: generate and time a shard of the Halide dataset.
#include <cstdio>
#include <memory>
#include <string>

#include "../tensorplan/numeric_options.h"
#include "dataset_commands.h"
#include "tensorplan/common/error.h"
#include "tensorplan/common/json.h"
#include "tensorplan/perf/generate.h"

namespace tensorplan::cli {

namespace {

struct GenArgs {
  perf::GenerateOptions options;
  std::string shard = "0/1";
  bool tiny = false;
  bool mpi = false;
  bool json = false;
  bool no_quiet_wait = false;
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
  if (args.no_quiet_wait) args.options.quiet_machine.enabled = false;
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
    Json j = {{"shard", summary.shard_path},
              {"format_version", args.options.format_version},
              {"samples_measured", summary.samples_measured},
              {"samples_ok", summary.samples_ok},
              {"samples_in_shard", summary.samples_before + summary.samples_measured},
              {"samples_total", summary.samples_total},
              {"seconds", summary.seconds}};
    if (args.options.format_version == 2) {
      // Complete = every pipeline timed once and every repeatability pipeline timed again.
      j["pipelines_in_shard"] = summary.pipelines_before + summary.pipelines_measured;
      j["pipelines_total"] = summary.pipelines_total;
      j["retimes_in_shard"] = summary.retimes_before + summary.retimes_measured;
      j["retimes_total"] = summary.retimes_total;
      j["complete"] = j["pipelines_in_shard"] == j["pipelines_total"] &&
                      j["retimes_in_shard"] == j["retimes_total"];
    }
    std::printf("%s\n", j.dump().c_str());
  }
}

}  // namespace

void add_perf_gen(CLI::App& perf) {
  auto args = std::make_shared<GenArgs>();
  perf::GenerateOptions& o = args->options;
  CLI::App* gen = perf.add_subcommand(
      "gen",
      "Generate random Halide pipelines, sample Adams2019 schedules, featurize and time them, and\n"
      "append them to a dataset shard (resumable). Shard i/n holds pipelines p with p % n == i.\n"
      "Format 2 (default): each pipeline's schedules are compiled ahead of time (--jobs at once),\n"
      "then timed together in one process, interleaved in --rounds rounds, once the machine is\n"
      "quiet (--quiet-load, --quiet-busy); a --retime-fraction of the pipelines is timed again at\n"
      "the end of the shard to measure repeatability. Example:\n"
      "  tensorplan perf gen --pipelines 640 --schedules 32 --shard 3/16 --out data/perf-v2 \\\n"
      "      --resume --rounds 9 --jobs 2 --quiet-load 1.5 --quiet-busy 0.1");
  gen->add_option("--pipelines", o.pipelines, "pipelines in the whole run (all shards)")
      ->capture_default_str()
      ->check(integer_in(1, kMaxInt));
  gen->add_option("--schedules", o.schedules, "schedules per pipeline (1 beam search + randomised)")
      ->capture_default_str()
      ->check(integer_in(1, kMaxInt));
  gen->add_option("--seed", o.seed, "seed of the run")
      ->capture_default_str()
      ->check(integer_in(0, std::numeric_limits<std::int64_t>::max()));
  gen->add_option("--shard", args->shard, "this shard, i/n")->capture_default_str();
  // --out: the name scripts know; -o/--output as in every other subcommand.
  gen->add_option("-o,--output,--out", o.out_dir, "output directory (the shards go there)")
      ->required();
  gen->add_flag("--resume", o.resume, "continue the shard in --out (same settings required)");
  gen->add_option("--threads", o.threads,
                  "threads for timing (HL_NUM_THREADS, MachineParams parallelism)")
      ->capture_default_str()
      ->check(integer_in(1, 1024));
  gen->add_option("--control-every", o.control_every,
                  "re-time the control schedule every N samples (0: never)")
      ->capture_default_str()
      ->check(integer_in(0, kMaxInt));
  gen->add_option("--max-samples", o.max_samples,
                  "stop after measuring this many samples (-1: all)")
      ->capture_default_str()
      ->check(integer_in(-1, kMaxInt));
  gen->add_option("--timing-budget", o.timing.budget_seconds, "seconds of timing per schedule")
      ->capture_default_str()
      ->check(number_in(0, kMaxSeconds));
  gen->add_option("--autoschedule-timeout", o.limits.autoschedule_seconds, "seconds")
      ->capture_default_str()
      ->check(number_in(0, kMaxSeconds));
  gen->add_option("--compile-timeout", o.limits.compile_seconds, "seconds")
      ->capture_default_str()
      ->check(number_in(0, kMaxSeconds));
  gen->add_option("--run-timeout", o.limits.run_seconds, "seconds for timing one schedule")
      ->capture_default_str()
      ->check(number_in(0, kMaxSeconds));
  gen->add_option("--target", o.target, "Halide target (default: from /proc/cpuinfo)");
  gen->add_option("--format", o.format_version,
                  "dataset format: 2 (AOT, interleaved rounds) or 1 (the v1 protocol)")
      ->capture_default_str()
      ->check(integer_in(1, 2));
  gen->add_option("--jobs", o.jobs, "format 2: schedules compiled in parallel")
      ->capture_default_str()
      ->check(integer_in(1, 1024));
  gen->add_option("--rounds", o.rounds.rounds,
                  "format 2: timing rounds (each times every schedule once, shuffled)")
      ->capture_default_str()
      ->check(integer_in(1, 1000));
  gen->add_option("--batches-per-round", o.rounds.batches_per_round,
                  "format 2: a round's figure is the minimum over this many short batches")
      ->capture_default_str()
      ->check(integer_in(1, 1000));
  gen->add_option("--retime-fraction", o.retime_fraction,
                  "format 2: fraction of pipelines timed again at the end of the shard")
      ->capture_default_str()
      ->check(number_in(0.0, 1.0));
  gen->add_option("--max-pipelines", o.max_pipelines,
                  "format 2: stop after this many new pipelines (-1: all)")
      ->capture_default_str()
      ->check(integer_in(-1, kMaxInt));
  gen->add_option("--work-dir", o.work_dir,
                  "format 2: directory for objects and libraries (default: a temporary one)");
  gen->add_option("--quiet-load", o.quiet_machine.max_load,
                  "format 2: time only when the 1-minute load average is at most this")
      ->capture_default_str()
      ->check(number_in(0, 1e6));
  gen->add_option("--quiet-busy", o.quiet_machine.max_other_busy,
                  "format 2: ...and the other CPUs are busy at most this fraction (before and "
                  "while timing; a timing under more load is done again)")
      ->capture_default_str()
      ->check(number_in(0.0, 1.0));
  gen->add_option("--quiet-window", o.quiet_machine.window_seconds,
                  "format 2: seconds the other CPUs are watched before timing")
      ->capture_default_str()
      ->check(number_in(1e-3, kMaxSeconds));
  gen->add_flag("--no-quiet-wait", args->no_quiet_wait,
                "format 2: time at once and keep every timing (conditions still recorded)");
  gen->add_flag("--tiny", args->tiny, "tiny pipelines (tests, smoke runs)");
  gen->add_option("--min-size", o.pipeline.min_size, "input width/height drawn from here...")
      ->capture_default_str()
      ->check(integer_in(4, 1 << 16));
  gen->add_option("--max-size", o.pipeline.max_size, "...to here (pixels)")
      ->capture_default_str()
      ->check(integer_in(4, 1 << 16));
  gen->add_option("--max-work", o.pipeline.max_work,
                  "rough bound on a pipeline's multiply-adds per run")
      ->capture_default_str()
      ->check(integer_in(1, std::numeric_limits<std::int64_t>::max()));
  gen->add_flag("--mpi", args->mpi, "run under mpirun: one shard per rank (overrides --shard)");
  gen->add_flag("-q,--quiet", o.quiet, "no progress on stderr");
  gen->add_flag("--json", args->json, "print a JSON summary on stdout");
  gen->callback([args] { run(*args); });
}

}  // namespace tensorplan::cli
