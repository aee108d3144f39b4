// tensorplan perf tune: autotune one random pipeline, or a user's Halide generator, with a cost
// model — sample schedules, rank them with the model, time the favourites, and print the fastest
// with its speed-up over Adams2019's default beam-search schedule.
#include <signal.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "../tensorplan/numeric_options.h"
#include "model_commands.h"
#include "tensorplan/common/error.h"
#include "tensorplan/common/file_io.h"
#include "tensorplan/common/json.h"
#include "tensorplan/perf/models/autotune.h"

namespace tensorplan::cli {

namespace {

struct TuneArgs {
  std::string model;
  perf::TuneOptions options;
  perf::GeneratorSpec generator;    // used when generator.library is set
  std::vector<std::string> params;  // -p key=value
  std::string dataset;              // --dataset: tune pipeline --pipeline of it
  double memory_cap_gib = 8;        // --memory-cap
  std::string out;
  bool json = false;
  bool quiet = false;
};

std::string ms(double seconds) { return fmt::format("{:.4f} ms", seconds * 1e3); }

// Ctrl-C (or SIGTERM) stops the tuning between steps; what was timed so far is still reported.
volatile std::sig_atomic_t interrupt_received = 0;

void on_interrupt(int) { interrupt_received = 1; }

void catch_interrupts() {
  struct sigaction action = {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: a wait for a sample's child returns at once
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
}

// The model's prediction in the unit of the measured times, or as what it is for a ranker.
std::string predicted_text(const perf::CostModel& model, double predicted) {
  return model.predicts_seconds() ? ms(predicted) : fmt::format("score {:.4g}", predicted);
}

// "1536x2560x3".
std::string extents_text(const std::vector<int>& extents) {
  std::string out;
  for (int e : extents) out += (out.empty() ? "" : "x") + std::to_string(e);
  return out.empty() ? "(scalar)" : out;
}

std::string join_extents(const std::vector<std::vector<int>>& shapes) {
  std::string out;
  for (const auto& s : shapes) out += (out.empty() ? "" : ", ") + extents_text(s);
  return out.empty() ? "(none)" : out;
}

// A failed pick: what failed and why, on one line (the recorded detail, shortened).
std::string failure_text(const perf::TunedSchedule& s) {
  std::string detail = s.detail;
  for (char& c : detail)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  if (detail.size() > 160) detail = detail.substr(0, 157) + "...";
  if (s.detail.find("under the child's cap of") != std::string::npos)
    detail += "; --memory-cap raises the cap";
  return detail.empty() ? "failed: " + s.status : fmt::format("failed: {} ({})", s.status, detail);
}

Json schedule_json(const perf::TunedSchedule& s) {
  return {{"sample", s.sample},
          {"kind", s.kind},
          {"predicted", s.predicted},
          {"seconds", s.seconds},
          {"median_seconds", s.median_seconds},
          {"noise", s.noise()},
          {"status", s.status},
          {"detail", s.detail}};
}

// --generator-library LIB --generator NAME -p key=value ...: the generator to tune, if any.
void set_generator(TuneArgs& args) {
  if (args.generator.library.empty()) {
    if (!args.generator.name.empty() || !args.params.empty())
      fail("--generator and -p need --generator-library");
    return;
  }
  args.generator.params = perf::parse_generator_params(args.params);
  args.options.generator = args.generator;
}

// The pick timed fastest, if any.
const perf::TunedSchedule* best_pick(const perf::TuneResult& r) {
  return r.best >= 0 ? &r.timed[static_cast<std::size_t>(r.best)] : nullptr;
}

// The head-to-head timing: null when it did not run, its status when it failed.
Json head_to_head_json(const perf::HeadToHead& h) {
  if (h.status.empty()) return nullptr;
  if (h.status != "ok") return {{"status", h.status}};
  return {{"status", h.status},
          {"samples", h.samples},
          {"seconds", h.seconds},
          {"round_seconds", h.rounds},
          {"best_sample", h.samples[static_cast<std::size_t>(h.best)]},
          {"rounds", h.rounds.at(0).size()},
          {"rounds_faster", h.rounds_faster()},
          {"speedup", h.speedup()}};
}

void print_json(const TuneArgs& args, const perf::CostModel& model, const perf::TuneResult& r,
                bool tuned_wins) {
  Json timed = Json::array();
  for (const auto& s : r.timed) timed.push_back(schedule_json(s));
  const perf::TunedSchedule* best = best_pick(r);
  const Json j = {
      {"model", model.name()},
      {"pipeline", args.options.generator ? Json(nullptr) : Json(args.options.pipeline)},
      {"dataset", args.dataset.empty() ? Json(nullptr) : Json(args.dataset)},
      {"generator", args.options.generator ? Json(args.generator.name) : Json(nullptr)},
      {"generator_library", args.options.generator ? Json(args.generator.library) : Json(nullptr)},
      {"generator_params", args.generator.params},
      {"run_seed", args.options.run_seed},
      {"sampler", args.options.sample_plan},
      {"predicted_unit", model.predicts_seconds() ? "seconds" : "score"},
      {"beam_status", r.beam.status},
      {"beam_detail", r.beam.detail},
      {"beam_seconds", r.beam.seconds},
      {"beam_noise", r.beam.noise()},
      {"timed_input_shapes", r.timed_input_shapes},
      {"timed_output_shape", r.timed_output_shape},
      {"draws", r.draws},
      {"sampled", r.sampled},
      {"duplicates", r.duplicates},
      {"ranked", r.ranked.size()},
      {"timed", timed},
      {"best_sample", best ? Json(best->sample) : Json(nullptr)},
      {"best_seconds", best ? Json(best->seconds) : Json(nullptr)},
      {"best_noise", best ? Json(best->noise()) : Json(nullptr)},
      {"head_to_head", head_to_head_json(r.head_to_head)},
      {"speedup", r.speedup()},
      {"faster_beyond_noise", r.faster_beyond_noise()},
      {"tuned_schedule_chosen", tuned_wins},
      {"interrupted", r.interrupted},
      {"seconds", r.seconds}};
  std::printf("%s\n", j.dump().c_str());
}

// What the tuning found, for a person: the beam search, the sampling, each pick, the verdict.
void print_text(const TuneArgs& args, const perf::CostModel& model, const perf::TuneResult& r,
                const perf::TunedSchedule* winner) {
  if (args.options.generator) {
    std::printf("generator %s from %s\n", perf::generator_label(args.generator).c_str(),
                args.generator.library.c_str());
  } else if (!args.dataset.empty()) {
    std::printf("pipeline %d of the dataset in %s (run seed %llu, target %s)\n",
                args.options.pipeline, args.dataset.c_str(),
                static_cast<unsigned long long>(args.options.run_seed),
                args.options.target.c_str());
  } else {
    std::printf("pipeline %d of run seed %llu\n", args.options.pipeline,
                static_cast<unsigned long long>(args.options.run_seed));
  }
  if (r.beam.status == "ok") {
    std::printf("timed on: output %s, input%s %s\n", extents_text(r.timed_output_shape).c_str(),
                r.timed_input_shapes.size() == 1 ? "" : "s",
                join_extents(r.timed_input_shapes).c_str());
    std::printf("Adams2019 beam search (default): measured %s (timing noise %.1f%%)\n",
                ms(r.beam.seconds).c_str(), 100 * r.beam.noise());
  } else if (!r.beam.status.empty()) {
    std::printf("Adams2019 beam search (default): its schedule %s\n", failure_text(r.beam).c_str());
  }
  if (r.draws > 0) {
    std::printf(
        "sampled %d distinct schedules (%d searches: %d gave a schedule, %d of them repeats of "
        "an earlier one), ranked with %s; its favourites:\n",
        static_cast<int>(r.ranked.size()), r.draws, r.sampled, r.duplicates, model.name().c_str());
  }
  for (std::size_t i = 0; i < r.timed.size(); ++i) {
    const auto& s = r.timed[i];
    const std::string measured = s.status == "ok" ? fmt::format("measured {} (noise {:.1f}%)",
                                                                ms(s.seconds), 100 * s.noise())
                                                  : failure_text(s);
    std::printf("  #%zu sample %-4d %-16s predicted %-16s %s\n", i + 1, s.sample,
                ("(" + s.kind + ")").c_str(), predicted_text(model, s.predicted).c_str(),
                measured.c_str());
  }
  const perf::HeadToHead& h = r.head_to_head;
  if (h.status == "ok") {
    std::printf("head to head, in one process, %zu interleaved rounds (median round):",
                h.rounds.at(0).size());
    for (std::size_t k = 0; k < h.samples.size(); ++k) {
      std::printf("%s %s %s", k == 0 ? "" : ",",
                  k == 0 ? "beam search" : fmt::format("sample {}", h.samples[k]).c_str(),
                  ms(h.seconds[k]).c_str());
    }
    std::printf("\n");
  } else if (!h.status.empty()) {
    std::printf("head to head: not timed (%s); the verdict is the separate timings'\n",
                h.status.c_str());
  }
  const perf::TunedSchedule* best = best_pick(r);
  if (r.interrupted)
    std::printf("interrupted: %zu of %d picks timed before it stopped\n", r.timed.size(),
                args.options.top);
  if (best == nullptr) {
    std::printf("%s\n", r.beam.status != "ok" ? "no schedule could be timed"
                        : r.interrupted       ? "no pick was timed; Adams2019's schedule stands"
                                        : "none of the picks could be timed; Adams2019's schedule "
                                          "stands");
  } else if (r.beam.status != "ok") {
    std::printf("fastest pick: sample %d, %s (no beam-search time to compare with)\n", best->sample,
                ms(best->seconds).c_str());
  } else if (h.status == "ok") {
    const int rounds = static_cast<int>(h.rounds.at(0).size());
    const std::string tuned = ms(h.seconds[static_cast<std::size_t>(h.best)]);
    if (r.faster_beyond_noise()) {
      std::printf(
          "fastest: sample %d, %s: %.2fx faster than Adams2019's beam search (faster in every "
          "one of %d rounds timed against it)\n",
          best->sample, tuned.c_str(), r.speedup(), rounds);
    } else if (r.speedup() > 1) {
      std::printf(
          "fastest pick %s is %.2fx faster than the beam search's in the median round, but "
          "faster in only %d of %d rounds: no measurable gain; Adams2019's schedule stands\n",
          tuned.c_str(), r.speedup(), h.rounds_faster(), rounds);
    } else {
      std::printf("fastest pick %s is %.2fx the beam search's time: Adams2019's schedule stands\n",
                  tuned.c_str(), 1 / r.speedup());
    }
  } else if (r.faster_beyond_noise()) {
    std::printf(
        "fastest: sample %d, %s: %.2fx faster than Adams2019's beam search (beyond the "
        "timing noise of both)\n",
        best->sample, ms(best->seconds).c_str(), r.speedup());
  } else if (r.speedup() > 1) {
    std::printf(
        "fastest pick %s is %.2fx faster than the beam search's, within the timing noise "
        "(%.1f%% + %.1f%%): no measurable gain; Adams2019's schedule stands\n",
        ms(best->seconds).c_str(), r.speedup(), 100 * r.beam.noise(), 100 * best->noise());
  } else {
    std::printf("fastest pick %s is %.2fx the beam search's time: Adams2019's schedule stands\n",
                ms(best->seconds).c_str(), 1 / r.speedup());
  }
  std::printf("tuning took %.1f s (%zu of %zu ranked schedules compiled, plus the beam search)\n",
              r.seconds, r.timed.size(), r.ranked.size());
  if (winner == nullptr) return;
  if (args.out.empty())
    std::printf("\n%s", winner->schedule_source.c_str());
  else
    std::printf("schedule written to %s\n", args.out.c_str());
}

// Returns whether a schedule was handed out (written with -o, printed without).
bool report(const TuneArgs& args, const perf::CostModel& model, const perf::TuneResult& r) {
  // The schedule to hand out: the fastest timed pick when it beats the beam search's beyond the
  // noise (in every head-to-head round; or, where that could not run, by more than the separate
  // timings' noise), or when the beam search's failed to run; else the beam search's; none when
  // neither was timed.
  const bool beam_ran = r.beam.status == "ok";
  const bool tuned_wins = r.faster_beyond_noise() || (!beam_ran && r.best >= 0);
  const perf::TunedSchedule* winner = tuned_wins ? best_pick(r) : beam_ran ? &r.beam : nullptr;
  if (!args.out.empty() && winner != nullptr) write_file_atomic(args.out, winner->schedule_source);
  if (args.json)
    print_json(args, model, r, tuned_wins);
  else
    print_text(args, model, r, winner);
  return winner != nullptr;
}

// --dataset DIR: pipeline --pipeline as that dataset made it (its seed, sizes and target).
void set_dataset(TuneArgs& args) {
  if (args.dataset.empty()) return;
  const perf::DatasetRun run = perf::dataset_run(args.dataset);
  if (args.options.pipeline >= run.pipelines)
    fail("--pipeline {}: {} has pipelines 0 to {}", args.options.pipeline, args.dataset,
         run.pipelines - 1);
  args.options.run_seed = run.seed;
  args.options.pipeline_options = run.pipeline;
  args.options.target = run.target;
}

void run(TuneArgs& args) {
  set_generator(args);
  set_dataset(args);
  args.options.limits.memory_cap_bytes =
      static_cast<unsigned long long>(args.memory_cap_gib * static_cast<double>(1ULL << 30));
  std::unique_ptr<perf::CostModel> model = perf::load_cost_model(args.model);
  // The status line rewrites itself, so it is only shown on a terminal.
  const bool show_progress = !args.quiet && isatty(STDERR_FILENO);
  if (show_progress) {
    // One write(2) per line, no stdio: it is called from a ticker thread while sample processes
    // are forked, and a child must not inherit a locked stderr.
    args.options.progress = [](const std::string& status) {
      const std::string line = fmt::format("\rperf tune: {:<60}", status);
      [[maybe_unused]] const auto n = ::write(STDERR_FILENO, line.data(), line.size());
    };
  }
  catch_interrupts();
  args.options.interrupted = [] { return interrupt_received != 0; };
  const perf::TuneResult r = perf::autotune(*model, args.options);
  if (show_progress) std::fprintf(stderr, "\r%-72s\r", "");
  const bool handed_out = report(args, *model, r);
  if (r.interrupted) std::exit(130);  // as a shell reports a command ended by Ctrl-C
  if (!handed_out) std::exit(1);      // no schedule ran: nothing to hand out
}

}  // namespace

void add_tune_command(CLI::App& perf) {
  auto args = std::make_shared<TuneArgs>();
  CLI::App* tune = perf.add_subcommand(
      "tune", "Autotune a pipeline: rank sampled schedules with a model, time the best");
  tune->description(
      "Autotune a pipeline with a cost model: sample --samples schedules with Adams2019's\n"
      "randomised search, rank them with MODEL, compile and time the --top best, time them again\n"
      "against Adams2019's default beam-search schedule in one process (interleaved rounds), and\n"
      "print the fastest schedule's source when it was faster than the beam search's in every\n"
      "round (else the beam search's).\n"
      "The pipeline is a random one, numbered as in `perf gen` (the shipped dataset: run seed 1;\n"
      "its test pipelines are those with index % 10 >= 8; --dataset DIR: as DIR's dataset made\n"
      "it, e.g. --dataset data/perf-v2 --pipeline 8), or your own Halide generator:\n"
      "--generator-library names a shared library that registers generators with\n"
      "HALIDE_REGISTER_GENERATOR (built against Debian's Halide 14), --generator one of them,\n"
      "-p sets its GeneratorParams. It is created for the host target with auto_schedule=true;\n"
      "it must have one single-valued output, and estimates on every input (set_estimates;\n"
      "set_estimate for scalar inputs) and on its output: the schedules are made for them, and a\n"
      "bounds query (as Halide's RunGen) sizes the data they are timed on from them.\n"
      "Ctrl-C stops the tuning and reports what was timed so far (exit code 130); when no\n"
      "schedule, not even the beam search's, could be timed, the exit code is 1.\n"
      "\nExample (the generators of examples/generators; see docs/perf-models.md):\n"
      "  tensorplan perf tune data/perf/gcn.tpmodel --generator-library\n"
      "    build/release/examples/libexample_generators.so --generator conv_relu -p size=32");
  tune->add_option("MODEL", args->model, "a model file (e.g. data/perf/gcn.tpmodel)")->required();
  auto* pipeline = tune->add_option("--pipeline", args->options.pipeline, "random pipeline index")
                       ->capture_default_str()
                       ->check(cli::integer_in(0, cli::kMaxInt));
  auto* run_seed =
      tune->add_option("--run-seed", args->options.run_seed,
                       "seed of the generation run (with --generator: seeds the sampled searches)")
          ->capture_default_str()
          ->check(cli::integer_in(0, std::numeric_limits<std::int64_t>::max()));
  auto* library = tune->add_option("--generator-library", args->generator.library,
                                   "tune a Halide generator from this shared library (.so)");
  tune->add_option("--generator", args->generator.name,
                   "the registered name of the generator to tune (an unknown name lists the "
                   "library's)")
      ->needs(library);
  tune->add_option("-p,--param", args->params,
                   "A GeneratorParam of the generator, key=value (repeatable)")
      ->needs(library);
  auto* dataset =
      tune->add_option("--dataset", args->dataset,
                       "tune pipeline --pipeline of this dataset (a directory of shards, e.g. "
                       "data/perf-v2): its generation seed, pipeline sizes and target")
          ->check(CLI::ExistingPath);
  pipeline->excludes(library);
  dataset->excludes(library);
  dataset->excludes(run_seed);
  tune->add_option("--samples", args->options.samples,
                   fmt::format("distinct schedules to sample and rank (the randomised search runs "
                               "up to {}x as often to find them)",
                               perf::kDrawsPerSample))
      ->capture_default_str()
      ->check(cli::integer_in(1, cli::kMaxInt));
  tune->add_option(
          "--sampler", args->options.sample_plan,
          "how schedules are drawn: 2 = dataset v2's plan (beam 8 under drawn machine "
          "parameters, dropout, random cost-model weights), 1 = v1's (beam 1 with dropout)")
      ->capture_default_str()
      ->check(CLI::IsMember({1, 2}));
  tune->add_option("--top", args->options.top, "schedules to compile and time")
      ->capture_default_str()
      ->check(cli::integer_in(1, cli::kMaxInt));
  tune->add_option("--memory-cap", args->memory_cap_gib,
                   "GiB of address space each sample's process may take, Adams2019's search "
                   "included (it needs more than 8 for a few big pipelines)")
      ->capture_default_str()
      ->check(CLI::Range(0.25, 1024.0));
  tune->add_option("--threads", args->options.threads, "HL_NUM_THREADS for timing")
      ->capture_default_str()
      ->check(cli::integer_in(1, 1024));
  // --out: the name before the options were made one across subcommands.
  tune->add_option("-o,--output,--out", args->out, "write the winning schedule's source here");
  tune->add_flag("--json", args->json, "print one JSON object on stdout");
  tune->add_flag("-q,--quiet", args->quiet, "no progress on stderr");
  tune->callback([args] { run(*args); });
}

}  // namespace tensorplan::cli
