#include "tensorplan/perf/models/autotune.h"

#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <filesystem>
#include <mutex>
#include <numeric>
#include <set>
#include <thread>

#include "tensorplan/common/error.h"
#include "tensorplan/common/progress.h"
#include "tensorplan/common/rng.h"
#include "tensorplan/common/timer.h"
#include "tensorplan/perf/halide/head_to_head.h"
#include "tensorplan/perf/halide/target.h"

namespace tensorplan::perf {

double HeadToHead::speedup() const {
  if (status != "ok" || best < 1 || seconds.size() <= static_cast<std::size_t>(best)) return 0;
  const double tuned = seconds[static_cast<std::size_t>(best)];
  return tuned > 0 ? seconds[0] / tuned : 0;
}

int HeadToHead::rounds_faster() const {
  if (status != "ok" || best < 1 || rounds.size() <= static_cast<std::size_t>(best)) return 0;
  const auto& beam = rounds[0];
  const auto& tuned = rounds[static_cast<std::size_t>(best)];
  int faster = 0;
  for (std::size_t r = 0; r < beam.size() && r < tuned.size(); ++r) faster += tuned[r] < beam[r];
  return faster;
}

double TuneResult::speedup() const {
  if (head_to_head.status == "ok") return head_to_head.speedup();
  if (best < 0 || beam.status != "ok" || !(beam.seconds > 0)) return 0;
  const double tuned = timed[static_cast<std::size_t>(best)].seconds;
  return tuned > 0 ? beam.seconds / tuned : 0;
}

double TunedSchedule::noise() const {
  return seconds > 0 && median_seconds >= seconds ? (median_seconds - seconds) / seconds : 0;
}

bool TuneResult::faster_beyond_noise() const {
  if (best < 0) return false;
  if (head_to_head.status == "ok") {
    const int rounds = static_cast<int>(head_to_head.rounds.at(0).size());
    return rounds > 0 && head_to_head.rounds_faster() == rounds;
  }
  const TunedSchedule& tuned = timed[static_cast<std::size_t>(best)];
  return speedup() > 1 + beam.noise() + tuned.noise();
}

namespace {

// A dataset's recipe for sample k of the pipeline (0: beam search 32; k >= 1 drawn from the
// pipeline's seed and k), so that the model ranks the kind of schedules it learnt from.
// Plan 2: format 2's plan for a pipeline of samples + 1 schedules (draws past them are random-
// weights samples). Plan 1: beam 1 with a dropout level and search seed; draws beyond `samples`
// also under drawn MachineParams. `kind` (may be null) gets the sample's kind, named as v2's.
SampleSpec spec_of(const TuneOptions& options, int k, std::string* kind = nullptr) {
  GenerateOptions run;
  run.seed = options.run_seed;
  run.pipeline = options.pipeline_options;
  run.threads = options.threads;
  run.target = options.target;
  run.timing = options.timing;
  if (options.sample_plan == 2) {
    run.schedules = options.samples + 1;
    std::string drawn;
    SampleSpec spec = sample_spec_v2(run, options.pipeline, k, &drawn);
    if (kind) *kind = drawn;
    spec.timing = options.timing;
    spec.time_it = true;  // as plan 1's: the sampling loop turns it off
    spec.generator = options.generator;
    return spec;
  }
  SampleSpec spec = sample_spec(run, options.pipeline, k);
  spec.generator = options.generator;
  if (kind) *kind = k == 0 ? "beam" : k > options.samples ? "random-machine" : "random";
  if (k > options.samples) {
    // Past the first `samples` draws the search has repeated itself: draw its MachineParams too
    // (as format 2's "random-machine" samples), which moves it to other tilings.
    Rng rng(derive_seed(spec.search_seed ^ 0x6d616368ULL, static_cast<std::uint64_t>(k)));
    draw_machine_params(rng, spec);
  }
  return spec;
}

// The pipeline's name in messages.
std::string pipeline_label(const TuneOptions& options) {
  return options.generator ? fmt::format("generator {}", generator_label(*options.generator))
                           : fmt::format("pipeline {}", options.pipeline);
}

void report(const TuneOptions& options, const std::string& status) {
  if (options.progress) options.progress(status);
}

bool interrupted(const TuneOptions& options) {
  return options.interrupted && options.interrupted();
}

// run_sample with the status reported every second, with the time so far, so that a search of a
// minute or more (the beam search of a big pipeline) does not look stuck. The ticker thread only
// calls options.progress, which must not take locks a forked child could inherit (the CLI's
// writes with write(2)).
SampleResult run_sample_reporting(const TuneOptions& options, const std::string& status,
                                  const SampleSpec& spec) {
  report(options, status);
  if (!options.progress) return run_sample(spec, options.limits);
  std::mutex mutex;
  std::condition_variable stop;
  bool done = false;
  std::thread ticker([&] {
    const Stopwatch clock;
    std::unique_lock<std::mutex> lock(mutex);
    while (!stop.wait_for(lock, std::chrono::seconds(1), [&] { return done; }))
      options.progress(fmt::format("{} ({})", status, format_seconds(clock.seconds())));
  });
  const auto finish = [&] {
    {
      std::lock_guard<std::mutex> lock(mutex);
      done = true;
    }
    stop.notify_all();
    ticker.join();
  };
  try {
    SampleResult r = run_sample(spec, options.limits);
    finish();
    return r;
  } catch (...) {
    finish();
    throw;
  }
}

// A directory of its own for the tuning's objects and library, removed with it.
class TuneWorkDir {
 public:
  TuneWorkDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "tensorplan-tune-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
      fail("cannot create a directory under {}: {}",
           std::filesystem::temp_directory_path().string(), std::strerror(errno));
    path_ = pattern;
  }
  ~TuneWorkDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TuneWorkDir(const TuneWorkDir&) = delete;
  TuneWorkDir& operator=(const TuneWorkDir&) = delete;
  const std::string& path() const { return path_; }
  // Sample k's spec, compiled ahead of time into this directory as well as timed.
  SampleSpec with_object(SampleSpec spec, int k) const {
    spec.function_name = fmt::format("s{}", k);
    spec.object_path = fmt::format("{}/{}.o", path_, spec.function_name);
    return spec;
  }
  // Sample k's spec with its random cost-model weights (if it has any) written here.
  SampleSpec with_weights_dir(SampleSpec spec, int k) const {
    spec.random_weights_dir = fmt::format("{}/s{}.weights", path_, k);
    return spec;
  }

 private:
  std::string path_;
};

// The compiled schedule of a sample that was timed and compiled ahead of time.
CompiledSchedule compiled(const SampleSpec& spec, const SampleResult& r) {
  return {spec.object_path, spec.function_name, r.bound_arguments};
}

// Times the beam search's schedule (first of `schedules`) against the picks that ran, in one
// process, and fills result->head_to_head (its status says why, when it could not).
void run_head_to_head(const TuneOptions& options, const TuneWorkDir& work,
                      const std::vector<int>& samples,
                      const std::vector<CompiledSchedule>& schedules,
                      const std::vector<double>& run_seconds, TuneResult* result) {
  HeadToHead& h = result->head_to_head;
  h.samples = samples;
  // A generous limit: every run, three times over, plus start-up (as dataset v2's).
  const InterleavedOptions& o = options.head_to_head;
  double expected = 0;
  for (const double run : run_seconds) {
    const double per_round =
        run >= o.slow_run_seconds ? run : o.batches_per_round * std::max(run, o.batch_seconds);
    expected += 2 * run + o.rounds * per_round;
  }
  try {
    const InterleavedTiming t = time_head_to_head(
        schedules, options.target.empty() ? host_target().to_string() : options.target,
        options.threads, o, derive_seed(options.run_seed, 0x4832480ULL), work.path(),
        3 * expected + 60, options.limits.memory_cap_bytes);
    h.rounds = t.rounds;
    h.seconds = t.label;
    h.status = "ok";
    for (std::size_t k = 1; k < h.seconds.size(); ++k) {
      if (h.best < 1 || h.seconds[k] < h.seconds[static_cast<std::size_t>(h.best)])
        h.best = static_cast<int>(k);
    }
  } catch (const Error& e) {
    h.status = e.what();
  }
}

}  // namespace

TuneResult autotune(CostModel& model, const TuneOptions& options) {
  if (options.samples < 1) fail("--samples must be at least 1 (got {})", options.samples);
  if (options.sample_plan != 1 && options.sample_plan != 2)
    fail("the sample plan must be 1 or 2 (got {})", options.sample_plan);
  if (options.top < 1) fail("--top must be at least 1 (got {})", options.top);
  if (options.pipeline < 0) fail("--pipeline must be 0 or more (got {})", options.pipeline);
  if (options.threads < 1) fail("--threads must be at least 1 (got {})", options.threads);
  Stopwatch clock;
  TuneResult result;
  if (options.generator) {
    // Load and build it here once, so that what is wrong with it is the error (the children
    // would only report a failed sample). Builds no code and starts no thread.
    build_generator_pipeline(*options.generator, options.target.empty()
                                                     ? host_target()
                                                     : Halide::Target(options.target));
  }

  const TuneWorkDir work;
  // Adams2019's default: beam search 32, no dropout, timed.
  const SampleSpec beam_spec = work.with_object(spec_of(options, 0), 0);
  const SampleResult beam =
      run_sample_reporting(options, "beam search (Adams2019 default)", beam_spec);
  if (interrupted(options)) {
    result.interrupted = true;
    result.seconds = clock.seconds();
    return result;
  }
  if (!beam.has_schedule || beam.features.schedule.empty()) {
    const bool out_of_memory = beam.detail.find("under the child's cap of") != std::string::npos;
    fail("Adams2019's beam search found no schedule for {}{}: {} {}", pipeline_label(options),
         out_of_memory ? " (a larger memory cap may let it finish: perf tune --memory-cap)" : "",
         beam.status, beam.detail);
  }
  result.beam.schedule_source = beam.schedule_source;
  result.beam.kind = "beam";
  result.beam.status = beam.status;
  result.beam.detail = beam.detail;
  if (beam.status == "ok" && beam.has_timing) {
    result.beam.seconds = beam.timing.min_seconds;
    result.beam.median_seconds = beam.timing.median_seconds;
    result.timed_input_shapes = beam.timed_input_shapes;
    result.timed_output_shape = beam.timed_output_shape;
  } else if (beam.status == "ok") {
    result.beam.status = "error:run";
    result.beam.detail = "no timing reported";
  }
  // A beam schedule that fails to compile or run (e.g. one that needs more memory than the cap)
  // leaves nothing to compare with, but the sampled schedules may still run: go on.

  // Sample and featurize without timing: this is the cheap part the model makes affordable. The
  // search often finds a schedule again; draw more until `samples` distinct ones are in.
  PipelineSamples pipeline;
  pipeline.graph = beam.graph;
  pipeline.pipeline_features = beam.features.pipeline;
  std::vector<ScheduleSample> candidates;
  std::vector<std::string> candidate_kinds;  // of each candidate
  std::set<std::string> seen = {beam.schedule_source};
  const long long max_draws = static_cast<long long>(options.samples) * kDrawsPerSample;
  for (int k = 1; static_cast<int>(candidates.size()) < options.samples && k <= max_draws; ++k) {
    if (interrupted(options)) {
      result.interrupted = true;
      break;
    }
    std::string kind;
    SampleSpec spec = work.with_weights_dir(spec_of(options, k, &kind), k);
    spec.time_it = false;
    const SampleResult r = run_sample_reporting(
        options,
        fmt::format("sampling: {}/{} distinct (draw {})", candidates.size(), options.samples, k),
        spec);
    ++result.draws;
    if (!r.has_schedule || r.features.schedule.empty()) continue;
    ++result.sampled;
    if (!seen.insert(r.schedule_source).second) {
      ++result.duplicates;  // the beam's schedule, or one sampled before
      continue;
    }
    ScheduleSample s;
    s.sample = k;
    s.schedule_features = r.features.schedule;
    s.schedule_source = r.schedule_source;
    candidates.push_back(std::move(s));
    candidate_kinds.push_back(kind);
  }
  if (candidates.empty()) {
    if (result.interrupted) {
      result.seconds = clock.seconds();
      return result;
    }
    fail("no sampled schedule differs from the beam search's ({} drawn, {} with a schedule)",
         result.draws, result.sampled);
  }

  report(options, fmt::format("ranking {} schedules", candidates.size()));
  std::vector<CostQuery> batch;
  for (const ScheduleSample& s : candidates) batch.push_back({&pipeline, &s.schedule_features});
  const std::vector<double> predicted = model.predict(batch);
  std::vector<std::size_t> order(candidates.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return predicted[a] < predicted[b]; });
  for (std::size_t i : order) {
    TunedSchedule s;
    s.sample = candidates[i].sample;
    s.kind = candidate_kinds[i];
    s.predicted = predicted[i];
    s.schedule_source = candidates[i].schedule_source;
    result.ranked.push_back(std::move(s));
  }

  // Compile and time the favourites, best predicted first, until `top` of them ran (a schedule
  // that fails to compile or run is recorded and the next one takes its place). The search is
  // deterministic given its settings, so running sample k again gives the schedule that was
  // ranked; a mismatch is recorded, not trusted.
  std::vector<int> head_to_head_samples = {0};
  std::vector<CompiledSchedule> head_to_head_schedules;
  std::vector<double> head_to_head_runs = {result.beam.seconds};
  if (result.beam.status == "ok" && beam.has_object) {
    head_to_head_schedules.push_back(compiled(beam_spec, beam));
  } else if (result.beam.status == "ok") {
    result.head_to_head.status =
        "the beam search's schedule was not compiled ahead of time: " + beam.object_error;
  }
  int ran = 0;
  for (std::size_t t = 0; t < result.ranked.size() && ran < options.top; ++t) {
    if (interrupted(options)) {
      result.interrupted = true;
      break;
    }
    TunedSchedule pick = result.ranked[t];
    const SampleSpec spec = work.with_object(spec_of(options, pick.sample), pick.sample);
    const SampleResult r = run_sample_reporting(
        options, fmt::format("timing pick {}/{} (sample {})", ran + 1, options.top, pick.sample),
        spec);
    if (interrupted(options)) {  // the child was likely interrupted too: not a failed pick
      result.interrupted = true;
      break;
    }
    if (r.status != "ok" || !r.has_timing) {
      pick.status = r.status;
      pick.detail = r.detail;
    } else if (r.schedule_source != pick.schedule_source) {
      pick.status = "error:changed";
      pick.detail = "the search gave another schedule when run again to be timed";
    } else {
      pick.status = "ok";
      pick.seconds = r.timing.min_seconds;
      pick.median_seconds = r.timing.median_seconds;
      ++ran;
      if (r.has_object && !head_to_head_schedules.empty()) {
        head_to_head_samples.push_back(pick.sample);
        head_to_head_schedules.push_back(compiled(spec, r));
        head_to_head_runs.push_back(pick.seconds);
      }
      if (result.best < 0 ||
          pick.seconds < result.timed[static_cast<std::size_t>(result.best)].seconds)
        result.best = static_cast<int>(result.timed.size());
    }
    result.timed.push_back(std::move(pick));
  }

  // The verdict: the beam search's schedule against the picks that ran, in one process.
  if (head_to_head_schedules.size() >= 2 && !result.interrupted) {
    const std::size_t picks = head_to_head_schedules.size() - 1;
    report(options, fmt::format("timing the beam search's schedule against {} pick{}, head to head",
                                picks, picks == 1 ? "" : "s"));
    run_head_to_head(options, work, head_to_head_samples, head_to_head_schedules, head_to_head_runs,
                     &result);
    if (result.head_to_head.status == "ok") {
      const int sample =
          result.head_to_head.samples[static_cast<std::size_t>(result.head_to_head.best)];
      for (std::size_t i = 0; i < result.timed.size(); ++i) {
        if (result.timed[i].sample == sample && result.timed[i].status == "ok")
          result.best = static_cast<int>(i);
      }
    }
  }
  result.seconds = clock.seconds();
  return result;
}

}  // namespace tensorplan::perf
