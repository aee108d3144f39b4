#include "tensorplan/perf/models/autotune.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <numeric>
#include <set>
#include <thread>

#include "tensorplan/common/error.h"
#include "tensorplan/common/progress.h"
#include "tensorplan/common/rng.h"
#include "tensorplan/common/timer.h"
#include "tensorplan/perf/halide/target.h"

namespace tensorplan::perf {

double TuneResult::speedup() const {
  if (best < 0 || beam.status != "ok" || !(beam.seconds > 0)) return 0;
  const double tuned = timed[static_cast<std::size_t>(best)].seconds;
  return tuned > 0 ? beam.seconds / tuned : 0;
}

double TunedSchedule::noise() const {
  return seconds > 0 && median_seconds >= seconds ? (median_seconds - seconds) / seconds : 0;
}

bool TuneResult::faster_beyond_noise() const {
  if (best < 0) return false;
  const TunedSchedule& tuned = timed[static_cast<std::size_t>(best)];
  return speedup() > 1 + beam.noise() + tuned.noise();
}

namespace {

// The dataset's recipe for sample k of the pipeline (0: beam search 32; k >= 1: beam 1 with a
// dropout level and search seed drawn from the pipeline's seed and k), so that the model ranks
// the kind of schedules it learnt from; draws beyond `samples` also under drawn MachineParams.
SampleSpec spec_of(const TuneOptions& options, int k) {
  GenerateOptions run;
  run.seed = options.run_seed;
  run.pipeline = options.pipeline_options;
  run.threads = options.threads;
  run.target = options.target;
  run.timing = options.timing;
  SampleSpec spec = sample_spec(run, options.pipeline, k);
  spec.generator = options.generator;
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

}  // namespace

TuneResult autotune(CostModel& model, const TuneOptions& options) {
  if (options.samples < 1) fail("--samples must be at least 1 (got {})", options.samples);
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

  // Adams2019's default: beam search 32, no dropout, timed.
  const SampleResult beam =
      run_sample_reporting(options, "beam search (Adams2019 default)", spec_of(options, 0));
  if (interrupted(options)) {
    result.interrupted = true;
    result.seconds = clock.seconds();
    return result;
  }
  if (!beam.has_schedule || beam.features.schedule.empty())
    fail("Adams2019's beam search found no schedule for {}: {} {}", pipeline_label(options),
         beam.status, beam.detail);
  result.beam.schedule_source = beam.schedule_source;
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
  std::set<std::string> seen = {beam.schedule_source};
  const long long max_draws = static_cast<long long>(options.samples) * kDrawsPerSample;
  for (int k = 1; static_cast<int>(candidates.size()) < options.samples && k <= max_draws; ++k) {
    if (interrupted(options)) {
      result.interrupted = true;
      break;
    }
    SampleSpec spec = spec_of(options, k);
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
    s.predicted = predicted[i];
    s.schedule_source = candidates[i].schedule_source;
    result.ranked.push_back(std::move(s));
  }

  // Compile and time the favourites, best predicted first, until `top` of them ran (a schedule
  // that fails to compile or run is recorded and the next one takes its place). The search is
  // deterministic given its settings, so running sample k again gives the schedule that was
  // ranked; a mismatch is recorded, not trusted.
  int ran = 0;
  for (std::size_t t = 0; t < result.ranked.size() && ran < options.top; ++t) {
    if (interrupted(options)) {
      result.interrupted = true;
      break;
    }
    TunedSchedule pick = result.ranked[t];
    const SampleResult r = run_sample_reporting(
        options, fmt::format("timing pick {}/{} (sample {})", ran + 1, options.top, pick.sample),
        spec_of(options, pick.sample));
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
      if (result.best < 0 ||
          pick.seconds < result.timed[static_cast<std::size_t>(result.best)].seconds)
        result.best = static_cast<int>(result.timed.size());
    }
    result.timed.push_back(std::move(pick));
  }
  result.seconds = clock.seconds();
  return result;
}

}  // namespace tensorplan::perf
