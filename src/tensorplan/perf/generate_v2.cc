// Dataset format 2: compile apart from timing, time in interleaved rounds on a quiet machine.
//
// Per pipeline of the shard:
//  1. compile: every sample is generated, autoscheduled, featurized and compiled ahead of time to
//     an object file in its own child process (`jobs` at a time; the plugin's statics need a
//     fresh process per sample); the objects and one Halide runtime are linked into one library;
//  2. check: every compiled schedule runs twice in its own child process, so a schedule that
//     crashes or hangs costs itself, never the pipeline's timing;
//  3. time: wait until the machine is quiet, then one timing process (pinned to one CPU, one
//     thread) times all the checked schedules interleaved in rounds; if the other CPUs were busy
//     meanwhile, the timing is thrown away and done again; if the process fails, each schedule
//     is timed alone, those that fail are left out, and the rest timed together again;
//  4. record: the pipeline and all its schedules are appended as ONE record, so a run killed at
//     any moment loses at most the pipeline in flight.
// After the last pipeline, the repeatability pass compiles and times a fixed random few of the
// shard's pipelines again and records the second labels beside the first.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "tensorplan/common/error.h"
#include "tensorplan/common/progress.h"
#include "tensorplan/common/rng.h"
#include "tensorplan/common/timer.h"
#include "tensorplan/perf/cpuinfo.h"
#include "tensorplan/perf/dataset.h"
#include "tensorplan/perf/generate.h"
#include "tensorplan/perf/halide/aot.h"
#include "tensorplan/perf/halide/target.h"
#include "tensorplan/perf/subprocess.h"

namespace tensorplan::perf {

namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t kRetimeSalt = 0x2e71e5a17ULL;
constexpr std::uint64_t kRoundsSalt = 0x50a7d5ULL;
// Timing processes of one pipeline that may fail (crash, hang) before the pipeline is lost.
constexpr int kMaxFailedTimings = 3;

double unix_time() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Runs f(0..n-1) on `jobs` threads. The threads only fork sample processes and wait for them
// (run_in_child); they never run Halide, so forking from them is safe.
template <typename F>
void parallel_for(int n, int jobs, F&& f) {
  std::atomic<int> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  const auto worker = [&] {
    for (int i; (i = next++) < n;) {
      try {
        f(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
      }
    }
  };
  std::vector<std::thread> threads;
  for (int j = 1; j < std::min(jobs, n); ++j) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
}

// A working directory for objects and libraries. The default one is named after the shard (not
// the process), so a resumed run finds the libraries kept for the repeatability pass; it is
// removed once the shard is complete.
struct WorkDir {
  fs::path path;
  bool owned = false;
  bool remove = false;  // set when the shard is complete
  explicit WorkDir(const GenerateOptions& o) {
    if (!o.work_dir.empty()) {
      path = o.work_dir;
    } else {
      // Named after the output directory too: two runs of the same shard into different
      // directories (tests in two checkouts at once) must not share it.
      std::uint64_t h = 1469598103934665603ULL;  // FNV-1a of the absolute output path
      for (unsigned char ch : fs::absolute(o.out_dir).string()) h = (h ^ ch) * 1099511628211ULL;
      path = fs::temp_directory_path() /
             fmt::format("tensorplan-perf-gen-{:08x}-seed{}-shard{}-of-{}",
                         static_cast<std::uint32_t>(h), o.seed, o.shard, o.shards);
      owned = true;
    }
    fs::create_directories(path);
  }
  ~WorkDir() {
    std::error_code ec;
    if (owned && remove) fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

// A pipeline's samples after compiling and checking them.
struct CompiledPipeline {
  std::vector<SampleSpec> specs;
  std::vector<std::string> kinds;
  std::vector<SampleResult> results;        // status "ok" = compiled and checked, ready to time
  std::vector<double> check_seconds;        // the checking run's time (0 if not run)
  std::string library;                      // "" when nothing compiled
  const SampleResult* described = nullptr;  // a result that carries the graph and inputs
  Json inputs, output;                      // the pipeline's, as in its record (when described)
  double seconds = 0;
};

Json inputs_json(const SampleResult& r) {
  Json inputs = Json::array();
  for (std::size_t j = 0; j < r.input_shapes.size(); ++j) {
    inputs.push_back({{"name", fmt::format("input{}", j)},
                      {"type", r.input_types[j]},
                      {"shape", r.input_shapes[j]}});
  }
  return inputs;
}
Json output_json(const SampleResult& r) {
  return {{"type", r.output_type}, {"shape", r.output_shape}};
}

// Sets status/detail of a failed child from its outcome.
void record_failure(const ChildOutcome& outcome, const std::string& phase, SampleResult* r) {
  r->status = fmt::format("{}:{}", outcome.status == "ok" ? "error" : outcome.status, phase);
  r->detail = outcome.detail.empty() ? fmt::format("{} after '{}'", outcome.status, outcome.phase)
                                     : outcome.detail;
  std::string tail = outcome.stderr_tail;
  while (!tail.empty() && (tail.back() == '\n' || tail.back() == ' ')) tail.pop_back();
  if (!tail.empty() && outcome.status != "timeout") {
    const auto nl = tail.rfind('\n', tail.size() > 400 ? tail.size() - 400 : 0);
    r->detail += fmt::format(" | stderr: {}", tail.substr(nl == std::string::npos ? 0 : nl + 1));
  }
}

CompiledPipeline compile_pipeline(const GenerateOptions& options, int p, const WorkDir& work,
                                  const std::string& runtime_object) {
  Stopwatch clock;
  CompiledPipeline c;
  const auto n = static_cast<std::size_t>(options.schedules);
  c.specs.resize(n);
  c.kinds.resize(n);
  c.results.resize(n);
  c.check_seconds.assign(n, 0);
  for (std::size_t k = 0; k < n; ++k) {
    c.specs[k] = sample_spec_v2(options, p, static_cast<int>(k), &c.kinds[k]);
    c.specs[k].object_path = work.file(fmt::format("p{}-s{}.o", p, k));
    c.specs[k].function_name = fmt::format("s{}", k);
  }
  parallel_for(static_cast<int>(n), options.jobs, [&](int k) {
    const auto i = static_cast<std::size_t>(k);
    c.results[i] = run_sample(c.specs[i], options.limits);
  });
  for (const auto& r : c.results) {
    if (r.has_graph) {
      c.described = &r;
      c.inputs = inputs_json(r);
      c.output = output_json(r);
      break;
    }
  }
  std::vector<std::string> objects;
  for (std::size_t k = 0; k < n; ++k) {
    if (c.results[k].status == "ok") objects.push_back(c.specs[k].object_path);
  }
  if (!objects.empty()) {
    objects.push_back(runtime_object);
    c.library = work.file(fmt::format("p{}.so", p));
    try {
      link_shared_object(objects, c.library);
    } catch (const Error& e) {
      for (auto& r : c.results) {
        if (r.status != "ok") continue;
        r.status = "error:link";
        r.detail = e.what();
      }
      c.library.clear();
    }
    for (std::size_t k = 0; k + 1 < objects.size(); ++k) fs::remove(objects[k]);
  }
  for (const auto& spec : c.specs) {
    std::error_code ec;
    fs::remove_all(spec.object_path + ".weights", ec);
    fs::remove(spec.object_path, ec);  // a failed sample's partial object
  }
  // Check: each schedule runs twice in its own process (some crash only on their second run).
  if (!c.library.empty() && c.described) {
    const Json& inputs = c.inputs;
    const Json& output = c.output;
    const std::uint64_t seed = c.specs[0].pipeline_seed;
    parallel_for(static_cast<int>(n), options.jobs, [&](int k) {
      const auto i = static_cast<std::size_t>(k);
      SampleResult& r = c.results[i];
      if (r.status != "ok") return;
      const ChildOutcome outcome = run_in_child(
          [&](const MessageSink& send) {
            ::setenv("HL_NUM_THREADS", std::to_string(options.threads).c_str(), 1);
            ScheduleLibrary library(c.library);
            const auto fn = library.function(c.specs[i].function_name);
            PipelineBuffers buffers(inputs, output, seed);
            std::vector<void*> argv = buffers.argv(r.argument_names);
            send({{"type", "loaded"}});
            Stopwatch run;
            const int rc = fn(argv.data());
            if (rc != 0) fail("the schedule returned Halide error {}", rc);
            const double seconds = run.seconds();
            if (fn(argv.data()) != 0) fail("the schedule's second run returned a Halide error");
            send({{"type", "ran"}, {"seconds", seconds}});
          },
          {{"start", 60}, {"loaded", options.limits.run_seconds}}, 60);
      if (outcome.status == "ok" && !outcome.messages.empty() &&
          outcome.messages.back().value("type", "") == "ran") {
        c.check_seconds[i] = outcome.messages.back().at("seconds").get<double>();
      } else {
        record_failure(outcome, "run", &r);
      }
    });
  }
  c.seconds = clock.seconds();
  return c;
}

// One timing of a compiled pipeline: the rounds of every timed sample, and the conditions.
struct PipelineTiming {
  bool ok = false;
  std::string detail;        // why not ok
  std::vector<int> samples;  // the samples timed, in the order of `timing`
  // Samples left out because they failed when timed alone, after the timing process of all of
  // them failed: sample -> its status and detail then.
  std::map<int, SampleResult> failed_alone;
  InterleavedTiming timing;  // from the timing process
  MachineConditions conditions;
};

// Times the checked schedules of `c` in one child process, waiting for a quiet machine first and
// timing again as long as the machine was not quiet throughout.
// `references` holds the reference work's figures of the run; the timing adds its own, and is
// redone while the reference around it ran much slower than its recent median.
PipelineTiming time_pipeline(const GenerateOptions& options, const CompiledPipeline& c, int p,
                             int pass, const std::function<void(const std::string&)>& report,
                             ReferenceHistory* references) {
  PipelineTiming out;
  for (std::size_t k = 0; k < c.results.size(); ++k) {
    if (c.results[k].status == "ok") out.samples.push_back(static_cast<int>(k));
  }
  if (out.samples.empty() || c.library.empty() || c.inputs.is_null()) {
    out.detail = "nothing to time";
    return out;
  }
  const Json& inputs = c.inputs;
  const Json& output = c.output;
  const std::uint64_t pipeline_seed = c.specs[0].pipeline_seed;
  const std::uint64_t rounds_seed =
      derive_seed(pipeline_seed ^ kRoundsSalt, static_cast<std::uint64_t>(pass));
  // A generous limit: every timed run, three times over, plus start-up.
  double expected = 0;
  for (int k : out.samples) {
    const double run = std::max(c.check_seconds[static_cast<std::size_t>(k)], 1e-6);
    const double per_round =
        run >= options.rounds.slow_run_seconds
            ? run
            : options.rounds.batches_per_round * std::max(run, options.rounds.batch_seconds);
    expected += 2 * run + options.rounds.rounds * per_round;
  }
  const double limit = 3 * expected + 60;
  const int cpu = timing_cpu();
  // Times `samples` interleaved in this (child) process and sends the figures.
  // Tests only: the first options.fail_first_timings timing processes of the pipeline abort.
  int timings_started = 0;
  const auto fault_injected = [&] { return ++timings_started <= options.fail_first_timings; };
  const auto time_samples = [&](const std::vector<int>& samples, bool abort_at_start,
                                const MessageSink& send) {
    if (abort_at_start) std::abort();
    pin_to_cpu(cpu);
    // Ahead of other work on the machine for the few seconds it takes, when allowed.
    ::setpriority(PRIO_PROCESS, 0, -5);
    ::setenv("HL_NUM_THREADS", std::to_string(options.threads).c_str(), 1);
    const double reference_before = reference_seconds();
    ScheduleLibrary library(c.library);
    PipelineBuffers buffers(inputs, output, pipeline_seed);
    std::vector<std::vector<void*>> argvs;
    std::vector<std::function<void()>> runs;
    for (int k : samples) {
      const auto i = static_cast<std::size_t>(k);
      argvs.push_back(buffers.argv(c.results[i].argument_names));
    }
    for (std::size_t j = 0; j < samples.size(); ++j) {
      const auto fn = library.function(c.specs[static_cast<std::size_t>(samples[j])].function_name);
      void** argv = argvs[j].data();
      const int k = samples[j];
      const bool crash = k == options.crash_sample_in_timing;
      runs.push_back([fn, argv, k, crash] {
        if (crash) std::abort();
        const int rc = fn(argv);
        if (rc != 0) fail("schedule {} returned Halide error {}", k, rc);
      });
    }
    const InterleavedTiming t = time_interleaved(runs, options.rounds, rounds_seed);
    const double reference_after = reference_seconds();
    struct rusage usage {};
    ::getrusage(RUSAGE_SELF, &usage);
    Json message = timing_message(t);
    message["involuntary_switches"] = usage.ru_nivcsw;
    message["reference_before"] = reference_before;
    message["reference_after"] = reference_after;
    send(message);
  };
  int slow_attempts = 0;
  int failed_timings = 0;
  bool isolated = false;  // the schedules were timed one by one after a failed timing process
  // Failures of each schedule timed alone, set aside while all of them failed alone (the machine
  // more likely than the schedules); restored if the pipeline is lost after all.
  std::map<int, SampleResult> set_aside;
  for (int attempt = 1;; ++attempt) {
    MachineConditions cond;
    cond.attempt = attempt;
    cond.timing_cpu = cpu;
    cond.cpu = cpu_identity();
    const bool quiet_before = wait_until_quiet(options.quiet_machine, cpu, &cond, report);
    const CpuTimes before = read_cpu_times();
    const bool abort_at_start = fault_injected();
    const ChildOutcome outcome = run_in_child(
        [&](const MessageSink& send) { time_samples(out.samples, abort_at_start, send); },
        {{"start", limit}}, limit);
    const CpuTimes after = read_cpu_times();
    cond.load_after = read_load_average();
    cond.other_busy_during = busy_fraction(before, after, cpu);
    if (outcome.status != "ok" || outcome.messages.empty()) {
      SampleResult failed;
      record_failure(outcome, "time", &failed);
      if (++failed_timings >= kMaxFailedTimings) {
        if (out.failed_alone.empty()) out.failed_alone = std::move(set_aside);
        out.detail = failed.detail;
        out.conditions = cond;
        return out;
      }
      if (isolated || out.samples.size() == 1) {
        if (report) {
          report(
              fmt::format("pipeline {}: the timing process failed again ({}); timing again "
                          "({} of {} attempts)",
                          p, failed.detail, failed_timings + 1, kMaxFailedTimings));
        }
        continue;
      }
      isolated = true;
      // One schedule that crashes on a later run must not cost the pipeline every label: time
      // each alone, leave out those that fail, and time the rest together again. (Pipeline 611's
      // schedules crash at random, several when timed alone, and the rest together again.)
      if (report) {
        report(
            fmt::format("pipeline {}: the timing process failed ({}); timing each of its {} "
                        "schedules alone to find the one that fails",
                        p, failed.detail, out.samples.size()));
      }
      std::vector<int> kept;
      for (const int k : out.samples) {
        const bool abort_alone = fault_injected();
        const ChildOutcome alone =
            run_in_child([&](const MessageSink& send) { time_samples({k}, abort_alone, send); },
                         {{"start", limit}}, limit);
        if (alone.status == "ok" && !alone.messages.empty()) {
          kept.push_back(k);
        } else {
          record_failure(alone, "time", &out.failed_alone[k]);
        }
      }
      if (kept.empty()) {
        // Every schedule passed its check, yet each failed alone now: more likely the machine
        // (a stopped or starved process) than the schedules. All of them again, after a pause.
        set_aside = std::move(out.failed_alone);
        out.failed_alone.clear();
        if (report) {
          report(
              fmt::format("pipeline {}: every schedule failed alone too; timing them all "
                          "again in {:.0f} s",
                          p, options.quiet_machine.slow_retry_seconds));
        }
        std::this_thread::sleep_for(
            std::chrono::duration<double>(options.quiet_machine.slow_retry_seconds));
      } else {
        if (out.failed_alone.empty() && report) {
          report(
              fmt::format("pipeline {}: each schedule ran alone; timing them together again", p));
        }
        out.samples = std::move(kept);
      }
      continue;  // together again (waiting for a quiet machine first)
    }
    const Json& m = outcome.messages.back();
    out.timing = timing_from_message(m);
    cond.involuntary_switches = m.at("involuntary_switches").get<std::int64_t>();
    cond.reference_before = m.at("reference_before").get<double>();
    cond.reference_after = m.at("reference_after").get<double>();
    // Held to the accepted timings before it (a refused one must not lower the bar for the next
    // attempt); the first of a run only to itself (before against after).
    const double now = unix_time();
    const QuietOptions& q = options.quiet_machine;
    const double fastest = std::min(cond.reference_before, cond.reference_after);
    const double slowest = std::max(cond.reference_before, cond.reference_after);
    const double prior = references->baseline(now, q.reference_window_seconds);
    double baseline = prior > 0 ? prior : fastest;
    bool fast = slowest <= baseline * (1 + q.max_reference_slowdown);
    if (!fast && ++slow_attempts >= q.max_slow_attempts) {
      if (report) {
        report(
            fmt::format("pipeline {}: the machine stayed {:.0f}% slower than its recent median "
                        "for {} timings; taking its present speed as its normal",
                        p, 100 * (slowest / baseline - 1), slow_attempts));
      }
      references->reset(now);
      baseline = fastest;
      cond.reference_reset = true;
      fast = slowest <= baseline * (1 + q.max_reference_slowdown);  // still: before against after
    }
    cond.reference_baseline = baseline;
    if (fast) {
      references->add(now, cond.reference_before);
      references->add(now, cond.reference_after);
    }
    cond.quiet =
        quiet_before && fast && cond.other_busy_during <= options.quiet_machine.max_other_busy;
    out.conditions = cond;
    if (cond.quiet || !options.quiet_machine.enabled) {
      out.ok = true;
      return out;
    }
    if (!fast) {
      // Slow where /proc does not show it (the host, the clock, memory): wait, then again.
      if (report) {
        report(fmt::format(
            "pipeline {}: the machine ran the reference work {:.0f}% slower than its recent median "
            "(want <= {:.0f}%); timing again in {:.0f} s",
            p, 100 * (slowest / baseline - 1), 100 * options.quiet_machine.max_reference_slowdown,
            options.quiet_machine.slow_retry_seconds));
      }
      std::this_thread::sleep_for(
          std::chrono::duration<double>(options.quiet_machine.slow_retry_seconds));
    } else if (report) {
      report(fmt::format("pipeline {}: timed under load (other CPUs {:.0f}% busy); timing again", p,
                         cond.other_busy_during * 100));
    }
  }
}

Json timing_record(const GenerateOptions& options, const PipelineTiming& t, int pass) {
  Json j = conditions_to_json(t.conditions);
  j["pass"] = pass;
  j["rounds"] = options.rounds.rounds;
  j["timed_schedules"] = t.samples;
  j["timing_seconds"] = t.timing.seconds;
  j["at"] = unix_time();
  if (!t.ok) j["error"] = t.detail;
  return j;
}

void log_line(const GenerateOptions& options, const std::string& line) {
  if (options.quiet) return;
  std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
}

}  // namespace

void draw_machine_params(Rng& rng, SampleSpec& spec) {
  // Parallelism changes how outer loops are split, cache size how deep tiles go, balance how much
  // recomputation is traded for locality: each moves Adams2019 to other schedules. Drawn far
  // beyond real machines on purpose (1 KiB .. 1 GiB, balance 0.5 .. 2000) to spread them.
  spec.machine_parallelism = 1 << rng.uniform(0, 7);                  // 1 .. 128
  spec.machine_cache_bytes = std::int64_t{1} << rng.uniform(10, 30);  // 1 KiB .. 1 GiB
  spec.machine_balance = 0.5 * std::pow(4000.0, rng.unit());          // 0.5 .. 2000, log-uniform
}

SampleSpec sample_spec_v2(const GenerateOptions& options, int pipeline, int sample,
                          std::string* kind) {
  SampleSpec spec;
  spec.pipeline_seed = derive_seed(options.seed, static_cast<std::uint64_t>(pipeline));
  spec.pipeline = options.pipeline;
  spec.threads = options.threads;
  spec.target = options.target;
  spec.time_it = false;
  Rng rng(derive_seed(spec.pipeline_seed ^ 0x5a3b1e2ULL, static_cast<std::uint64_t>(sample)));
  const auto draw_machine = [&] { draw_machine_params(rng, spec); };
  // After the beam searches: a quarter beam-1 dropout samples, a quarter the same under drawn
  // machines, and half under random weights. On the first trial pipelines the dropout samples
  // ran within a few percent of the greedy schedule (Adams2019 drops a state only in favour of
  // its next-best sibling), while random weights moved the run time up to 2x: they get the most.
  const int random_start = std::min(4, options.schedules);
  const int rest = options.schedules - random_start;
  const int quarter = rest >= 3 ? std::max(1, rest / 4) : 0;  // every kind even in small runs
  const int machine_start = random_start + quarter, weights_start = random_start + 2 * quarter;
  if (sample < random_start) {
    // The beam search as Halide users run it (beam 32) once; under drawn machines a beam of 8,
    // which finds other schedules at a quarter of the search time (beam 32 took ~15 s of a
    // pipeline's ~25 s of compile work on a trial pipeline).
    spec.beam_size = sample == 0 ? 32 : 8;
    spec.random_dropout = 100;
    spec.search_seed = 0;
    *kind = sample == 0 ? "beam" : "beam-machine";
    if (sample > 0) draw_machine();
  } else if (sample < weights_start) {
    spec.beam_size = 1;
    // Log-uniform over the whole range 1..100: low values (far from greedy) are where the
    // schedules differ most, 100 is the greedy search itself.
    spec.random_dropout = static_cast<int>(std::lround(std::pow(100.0, rng.unit())));
    spec.search_seed = rng.next() % 2147483647ULL;
    *kind = sample < machine_start ? "random" : "random-machine";
    if (sample >= machine_start) draw_machine();
  } else {
    // The greedy search under a cost model of random weights: schedules far from what the
    // trained model prefers (tiling, fusion and vectorisation it would rank low).
    spec.beam_size = 1;
    spec.random_dropout = 100;
    spec.search_seed = 0;
    spec.random_weights_seed = rng.next() | 1;  // never 0 (= built-in weights)
    // Every other one also under a drawn machine, to move tiling further.
    if ((sample - weights_start) % 2 == 1) draw_machine();
    *kind = "random-weights";
  }
  return spec;
}

bool retimed_pipeline(const GenerateOptions& options, int pipeline) {
  const std::uint64_t draw =
      derive_seed(options.seed ^ kRetimeSalt, static_cast<std::uint64_t>(pipeline));
  return static_cast<double>(draw % 1000000) < options.retime_fraction * 1000000;
}

GenerateSummary generate_shard_v2(const GenerateOptions& options) {
  if (options.pipelines < 1) fail("--pipelines must be at least 1 (got {})", options.pipelines);
  if (options.schedules < 1) fail("--schedules must be at least 1 (got {})", options.schedules);
  if (options.shards < 1 || options.shard < 0 || options.shard >= options.shards) {
    fail("--shard {}/{} is out of range (want 0 <= i < n)", options.shard, options.shards);
  }
  if (options.threads < 1) fail("--threads must be at least 1");
  if (options.jobs < 1) fail("--jobs must be at least 1 (got {})", options.jobs);
  if (options.rounds.rounds < 1)
    fail("--rounds must be at least 1 (got {})", options.rounds.rounds);
  if (options.retime_fraction < 0 || options.retime_fraction > 1)
    fail("--retime-fraction must be in [0, 1] (got {})", options.retime_fraction);
  if (options.out_dir.empty()) fail("--out is required");
  prepare_output_directory(options.out_dir);

  GenerateSummary summary;
  summary.shard_path =
      (fs::path(options.out_dir) / shard_file_name(options.shard, options.shards)).string();
  const Json config = generation_config(options);

  // What is already there (resume): pipelines are complete records, so a pipeline is either
  // there with all its schedules or not at all.
  std::set<int> done, retimed;
  std::map<int, std::map<int, std::string>> first_sources;  // pipeline -> sample -> source
  std::map<int, std::map<int, std::string>> first_status;
  std::map<int, std::map<int, double>> first_labels;
  std::map<int, Json> first_pipeline;  // inputs, output, arguments
  ReferenceHistory references;         // the reference work's figures in this run (every shard)
  auto note_reference = [&](const Json& timing) {
    if (!timing.is_object()) return;
    const double at = timing.value("at", 0.0);
    if (timing.value("reference_reset", false)) references.reset(at);
    for (const char* key : {"reference_before", "reference_after"})
      references.add(at, timing.value(key, 0.0));
  };
  std::optional<ShardWriter> writer;
  if (fs::exists(summary.shard_path)) {
    if (!options.resume)
      fail("{}: already exists (use --resume to continue it)", summary.shard_path);
    const Shard shard = read_shard(summary.shard_path);
    if (shard.version != kShardVersion)
      fail("{}: is a format {} shard; resume it with --format {}", summary.shard_path,
           shard.version, shard.version);
    for (const auto& [key, value] : config.items()) {
      // The processor is a condition of each timing (recorded with it), not a setting: a shard
      // begun on one machine may be finished on another.
      if (key == "cpu") continue;
      if (!shard.config.contains(key) || shard.config.at(key) != value) {
        fail("{}: was generated with {} = {}, not {}; use another --out or the same settings",
             summary.shard_path, key,
             shard.config.contains(key) ? shard.config.at(key).dump() : "(none)", value.dump());
      }
    }
    for (const auto& s : shard.schedules) {
      done.insert(s.pipeline);
      first_sources[s.pipeline][s.sample] = s.schedule_source;
      first_status[s.pipeline][s.sample] = s.status;
      first_labels[s.pipeline][s.sample] = s.label_seconds;
    }
    for (const auto& r : shard.retimes) note_reference(r.timing);
    for (const auto& p : shard.pipelines) {
      note_reference(p.timing);
      first_pipeline[p.index] = {{"inputs", p.inputs},
                                 {"output", p.output},
                                 {"arguments", p.timing.value("arguments", Json::array())}};
    }
    for (const auto& r : shard.retimes) retimed.insert(r.pipeline);
    writer.emplace(ShardWriter::append_to(summary.shard_path, shard.valid_bytes));
  } else {
    writer.emplace(ShardWriter::create(summary.shard_path, config, kShardVersion));
  }
  // The other shards of the run in the same directory know how fast the machine can be too.
  for (int other = 0; other < options.shards; ++other) {
    const fs::path path = fs::path(options.out_dir) / shard_file_name(other, options.shards);
    if (other == options.shard || !fs::exists(path)) continue;
    try {
      const Shard shard = read_shard(path.string());
      for (const auto& r : shard.retimes) note_reference(r.timing);
      for (const auto& p : shard.pipelines) note_reference(p.timing);
    } catch (const Error&) {
      // A damaged neighbour is its own run's business; it only lends a figure here.
    }
  }

  std::vector<int> todo, retime_todo;
  for (int p = options.shard; p < options.pipelines; p += options.shards) {
    summary.pipelines_total++;
    summary.samples_total += options.schedules;
    if (done.count(p)) {
      summary.pipelines_before++;
      summary.samples_before += options.schedules;
    } else {
      todo.push_back(p);
    }
    if (retimed_pipeline(options, p)) {
      summary.retimes_total++;
      if (retimed.count(p)) {
        summary.retimes_before++;
      } else {
        retime_todo.push_back(p);
      }
    }
  }
  if (options.max_pipelines >= 0 && static_cast<int>(todo.size()) > options.max_pipelines) {
    todo.resize(static_cast<std::size_t>(options.max_pipelines));
  }

  Stopwatch clock;
  WorkDir work(options);
  const std::string target = config.at("target").get<std::string>();
  const std::string runtime_object = work.file("runtime.o");
  if (!todo.empty() || !retime_todo.empty()) compile_runtime_object(target, runtime_object);
  const auto report = [&](const std::string& line) { log_line(options, "perf gen: " + line); };
  const std::string what = fmt::format("perf gen shard {}/{}", options.shard, options.shards);

  Progress progress(what, static_cast<std::int64_t>(todo.size()), options.quiet,
                    Progress::Redirected::kLog);
  int timed_total = 0;
  for (std::size_t i = 0; i < todo.size(); ++i) {
    const int p = todo[i];
    Stopwatch pipeline_clock;
    const CompiledPipeline c = compile_pipeline(options, p, work, runtime_object);
    const int compiled =
        static_cast<int>(std::count_if(c.results.begin(), c.results.end(),
                                       [](const SampleResult& r) { return r.status == "ok"; }));
    const PipelineTiming t = time_pipeline(options, c, p, 1, report, &references);
    // The repeatability pass times the very same code again: keep its library till then.
    if (!c.library.empty()) {
      if (retimed_pipeline(options, p)) {
        fs::rename(c.library, work.file(fmt::format("keep-p{}.so", p)));
      } else {
        fs::remove(c.library);
      }
    }

    // One record: the pipeline (if it could be generated) and every sample, failed ones included.
    std::optional<PipelineRecord> pr;
    if (c.described) {
      pr.emplace();
      pr->index = p;
      pr->seed = c.specs[0].pipeline_seed;
      pr->generator_version = kPipelineGeneratorVersion;
      pr->ops = c.described->ops;
      pr->inputs = c.inputs;
      pr->output = c.output;
      pr->graph = c.described->graph;
      for (const auto& r : c.results) {
        if (r.has_schedule && !r.features.pipeline.empty()) {
          pr->pipeline_features = r.features.pipeline;
          break;
        }
      }
      pr->timing = timing_record(options, t, 1);
      for (const auto& r : c.results) {
        if (r.has_object) {
          pr->timing["arguments"] = r.argument_names;  // the same for every schedule
          break;
        }
      }
    }
    std::vector<ScheduleRecord> schedules(c.results.size());
    std::vector<const ScheduleRecord*> pointers;
    int ok = 0;
    for (std::size_t k = 0; k < c.results.size(); ++k) {
      const SampleResult& r = c.results[k];
      const SampleSpec& spec = c.specs[k];
      ScheduleRecord& s = schedules[k];
      s.pipeline = p;
      s.sample = static_cast<int>(k);
      s.beam_size = spec.beam_size;
      s.random_dropout = spec.random_dropout;
      s.search_seed = spec.search_seed;
      s.kind = c.kinds[k];
      s.machine_parallelism =
          spec.machine_parallelism > 0 ? spec.machine_parallelism : spec.threads;
      s.machine_cache_bytes = spec.machine_cache_bytes;
      s.machine_balance = spec.machine_balance;
      s.status = r.status;
      s.detail = r.detail;
      s.autoschedule_seconds = r.autoschedule_seconds;
      s.compile_seconds = r.compile_seconds;
      s.wall_seconds = r.wall_seconds;
      s.schedule_source = r.schedule_source;
      if (r.has_schedule) s.schedule_features = r.features.schedule;
      s.finished_at = unix_time();
      if (s.status == "ok") {
        const auto at = std::find(t.samples.begin(), t.samples.end(), static_cast<int>(k));
        if (const auto alone = t.failed_alone.find(static_cast<int>(k));
            alone != t.failed_alone.end()) {
          s.status = alone->second.status;
          s.detail = fmt::format("{} (timed alone, after the pipeline's timing process failed)",
                                 alone->second.detail);
        } else if (!t.ok || at == t.samples.end()) {
          s.status = t.ok ? "error:time" : "crashed:time";
          s.detail = t.ok ? "not timed" : t.detail;
        } else {
          const auto j = static_cast<std::size_t>(at - t.samples.begin());
          s.has_timing = true;
          s.rounds = t.timing.rounds[j];
          s.label_seconds = t.timing.label[j];
          s.timing.min_seconds = *std::min_element(s.rounds.begin(), s.rounds.end());
          s.timing.median_seconds = s.label_seconds;
          s.timing.max_seconds = *std::max_element(s.rounds.begin(), s.rounds.end());
          s.timing.first_seconds = t.timing.first[j];
          s.timing.batches = t.timing.batches_per_round[j] * static_cast<int>(s.rounds.size());
          s.timing.runs_per_batch = t.timing.runs_per_batch[j];
          ok++;
        }
      }
      pointers.push_back(&s);
    }
    writer->write(to_record_v2(pr ? &*pr : nullptr, p, pointers));
    summary.pipelines_measured++;
    summary.samples_measured += static_cast<int>(c.results.size());
    summary.samples_ok += ok;
    timed_total += ok;
    std::vector<double> labels;
    for (const auto& s : schedules)
      if (s.has_timing) labels.push_back(s.label_seconds);
    std::sort(labels.begin(), labels.end());
    log_line(options,
             fmt::format(
                 "perf gen: pipeline {} ({}/{}): {} of {} compiled in {:.1f} s, {} timed "
                 "in {:.1f} s ({} rounds, attempt {}, waited {:.0f} s, other CPUs {:.0f}% "
                 "busy); labels {:.3g}..{:.3g} ms, median {:.3g} ms; {:.1f} s in all",
                 p, i + 1, todo.size(), compiled, c.results.size(), c.seconds, ok, t.timing.seconds,
                 options.rounds.rounds, t.conditions.attempt, t.conditions.waited_seconds,
                 t.conditions.other_busy_during * 100, labels.empty() ? 0 : labels.front() * 1e3,
                 labels.empty() ? 0 : labels.back() * 1e3,
                 labels.empty() ? 0 : labels[labels.size() / 2] * 1e3, pipeline_clock.seconds()));
    progress.update(static_cast<std::int64_t>(i + 1),
                    fmt::format("pipeline {}: {} timed; {} schedules timed", p, ok, timed_total));
    done.insert(p);
    for (const auto& s : schedules) {
      first_sources[p][s.sample] = s.schedule_source;
      first_status[p][s.sample] = s.status;
      first_labels[p][s.sample] = s.label_seconds;
    }
    if (pr) {
      first_pipeline[p] = {{"inputs", pr->inputs},
                           {"output", pr->output},
                           {"arguments", pr->timing.value("arguments", Json::array())}};
    }
  }
  progress.finish(fmt::format("{} pipelines, {} schedules timed", summary.pipelines_measured,
                              summary.samples_ok));

  // The repeatability pass: only once every pipeline of the shard has its first timing, so the
  // second timing is later (other load, other temperature, other memory layout).
  const bool first_pass_complete =
      summary.pipelines_before + summary.pipelines_measured == summary.pipelines_total;
  if (first_pass_complete) {
    for (const int p : retime_todo) {
      if (!done.count(p)) continue;
      CompiledPipeline c;
      std::vector<bool> same(static_cast<std::size_t>(options.schedules), false);
      const std::string kept = work.file(fmt::format("keep-p{}.so", p));
      const Json& info = first_pipeline[p];
      if (fs::exists(kept) && info.is_object() && !info.at("arguments").empty()) {
        // The library timed in the first pass: the same code, timed at another time.
        const auto n = static_cast<std::size_t>(options.schedules);
        c.specs.resize(n);
        c.kinds.resize(n);
        c.results.resize(n);
        c.check_seconds.assign(n, 0);
        c.library = kept;
        c.inputs = info.at("inputs");
        c.output = info.at("output");
        const auto arguments = info.at("arguments").get<std::vector<std::string>>();
        for (std::size_t k = 0; k < n; ++k) {
          const int sample = static_cast<int>(k);
          c.specs[k] = sample_spec_v2(options, p, sample, &c.kinds[k]);
          c.specs[k].function_name = fmt::format("s{}", k);
          c.results[k].status = first_status[p][sample] == "ok" ? "ok" : "error:skipped";
          c.results[k].argument_names = arguments;
          c.check_seconds[k] = first_labels[p][sample];
          same[k] = true;
        }
      } else {
        // Kept library gone (a resumed run on another machine): compile again; only schedules
        // that come out the same as the first time, and were timed then, are compared.
        c = compile_pipeline(options, p, work, runtime_object);
        for (std::size_t k = 0; k < c.results.size(); ++k) {
          const int sample = static_cast<int>(k);
          same[k] = c.results[k].schedule_source == first_sources[p][sample];
          if (c.results[k].status == "ok" && first_status[p][sample] != "ok") {
            c.results[k].status = "error:skipped";  // not timed the first time: nothing to compare
          }
        }
      }
      const PipelineTiming t = time_pipeline(options, c, p, 2, report, &references);
      if (!c.library.empty()) fs::remove(c.library);
      RetimeRecord r;
      r.pipeline = p;
      r.timing = timing_record(options, t, 2);
      r.at = unix_time();
      if (t.ok) {
        for (std::size_t j = 0; j < t.samples.size(); ++j) {
          RetimeRecord::Schedule s;
          s.sample = t.samples[j];
          s.same_schedule = same[static_cast<std::size_t>(s.sample)];
          s.rounds = t.timing.rounds[j];
          s.label_seconds = t.timing.label[j];
          r.schedules.push_back(std::move(s));
        }
      }
      writer->write(to_record(r));
      summary.retimes_measured++;
      log_line(options, fmt::format("perf gen: pipeline {} timed again ({} schedules, {:.1f} s)", p,
                                    r.schedules.size(), t.timing.seconds));
    }
  }
  work.remove = summary.pipelines_before + summary.pipelines_measured == summary.pipelines_total &&
                summary.retimes_before + summary.retimes_measured == summary.retimes_total;
  summary.seconds = clock.seconds();
  return summary;
}

}  // namespace tensorplan::perf
