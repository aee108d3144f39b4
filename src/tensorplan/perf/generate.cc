#include "tensorplan/perf/generate.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "tensorplan/common/error.h"
#include "tensorplan/common/file_io.h"
#include "tensorplan/common/progress.h"
#include "tensorplan/common/rng.h"
#include "tensorplan/common/timer.h"
#include "tensorplan/perf/cpuinfo.h"
#include "tensorplan/perf/dataset.h"
#include "tensorplan/perf/halide/target.h"

namespace tensorplan::perf {

namespace {

double unix_time() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The fixed control: one pipeline and one randomised schedule (same seed, same schedule every
// time), re-timed throughout the run to measure drift and repeatability.
constexpr std::uint64_t kControlSalt = 0xc0a7701ULL;

SampleSpec control_spec(const GenerateOptions& options) {
  SampleSpec spec;
  spec.pipeline_seed = derive_seed(options.seed, kControlSalt);
  spec.pipeline = options.pipeline;
  spec.pipeline.min_stages =
      std::max(spec.pipeline.min_stages, std::min(8, spec.pipeline.max_stages));
  spec.beam_size = 1;
  spec.random_dropout = 50;
  spec.search_seed = 1;
  spec.threads = options.threads;
  spec.target = options.target;
  spec.timing = options.timing;
  return spec;
}

Json pipeline_options_json(const PipelineOptions& p) {
  return {{"min_stages", p.min_stages}, {"max_stages", p.max_stages},     {"min_size", p.min_size},
          {"max_size", p.max_size},     {"max_channels", p.max_channels}, {"max_work", p.max_work}};
}

std::string hash_text(const std::string& text) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char ch : text) h = (h ^ ch) * 1099511628211ULL;
  return fmt::format("{:016x}", h);
}

}  // namespace

void prepare_output_directory(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir)) {
    fail("{}: cannot create the output directory{}", dir, ec ? ": " + ec.message() : "");
  }
  if (::access(dir.c_str(), W_OK) != 0) fail("{}: output directory is not writable", dir);
}

std::string shard_file_name(int shard, int shards) {
  return fmt::format("shard-{:05}-of-{:05}{}", shard, shards, kShardSuffix);
}

Json generation_config(const GenerateOptions& o) {
  const std::string target = o.target.empty() ? host_target().to_string() : o.target;
  Json config = {{"pipelines", o.pipelines},
                 {"schedules", o.schedules},
                 {"seed", o.seed},
                 {"shard", o.shard},
                 {"shards", o.shards},
                 {"threads", o.threads},
                 {"target", target},
                 {"generator_version", kPipelineGeneratorVersion},
                 {"pipeline_options", pipeline_options_json(o.pipeline)},
                 {"halide", "14 (Debian libhalide14-0-dev)"},
                 {"autoscheduler", "Adams2019"},
                 {"cpu", cpu_model_name()}};
  if (o.format_version == 1) {
    config["timing"] = {{"batch_seconds", o.timing.batch_seconds},
                        {"budget_seconds", o.timing.budget_seconds},
                        {"min_batches", o.timing.min_batches},
                        {"max_batches", o.timing.max_batches},
                        {"stable_batches", o.timing.stable_batches},
                        {"stable_tolerance", o.timing.stable_tolerance}};
  } else {
    // The settings that define a v2 label (the quiet-machine limits do not: they are recorded
    // per pipeline, and may be changed to make progress on a busy machine).
    config["timing"] = {{"protocol", "aot-interleaved"},
                        {"rounds", o.rounds.rounds},
                        {"batches_per_round", o.rounds.batches_per_round},
                        {"batch_seconds", o.rounds.batch_seconds},
                        {"slow_run_seconds", o.rounds.slow_run_seconds}};
    config["sample_plan"] = 1;  // sample_spec_v2; bump when it changes
    config["retime_fraction"] = o.retime_fraction;
  }
  return config;
}

DatasetRun dataset_run(const std::string& path) {
  const std::vector<std::string> shards = list_shards(path);
  if (shards.empty()) fail("{}: no dataset shard (*{}) there", path, kShardSuffix);
  const Json config = read_shard(shards.front()).config;
  try {
    DatasetRun run;
    run.seed = config.at("seed").get<std::uint64_t>();
    run.pipelines = config.at("pipelines").get<int>();
    run.target = config.at("target").get<std::string>();
    const Json& p = config.at("pipeline_options");
    run.pipeline.min_stages = p.at("min_stages").get<int>();
    run.pipeline.max_stages = p.at("max_stages").get<int>();
    run.pipeline.min_size = p.at("min_size").get<int>();
    run.pipeline.max_size = p.at("max_size").get<int>();
    run.pipeline.max_channels = p.at("max_channels").get<int>();
    run.pipeline.max_work = p.at("max_work").get<std::int64_t>();
    return run;
  } catch (const Json::exception& e) {
    fail("{}: its header does not say how its pipelines were made ({})", shards.front(), e.what());
  }
}

SampleSpec sample_spec(const GenerateOptions& options, int pipeline, int sample) {
  SampleSpec spec;
  spec.pipeline_seed = derive_seed(options.seed, static_cast<std::uint64_t>(pipeline));
  spec.pipeline = options.pipeline;
  spec.threads = options.threads;
  spec.target = options.target;
  spec.timing = options.timing;
  if (sample == 0) {
    spec.beam_size = 32;
    spec.random_dropout = 100;
    spec.search_seed = 0;
  } else {
    // Randomised greedy search, as Halide's autotuning loop samples: beam 1 with dropout. The
    // dropout level varies so the schedules span good to poor.
    Rng rng(derive_seed(spec.pipeline_seed, static_cast<std::uint64_t>(sample)));
    spec.beam_size = 1;
    spec.random_dropout = rng.pick(std::vector<int>{1, 5, 10, 25, 50, 90});
    spec.search_seed = rng.next() % 2147483647ULL;
  }
  return spec;
}

GenerateSummary generate_shard(const GenerateOptions& options) {
  if (options.format_version == 2) return generate_shard_v2(options);
  if (options.format_version != 1) fail("--format must be 1 or 2 (got {})", options.format_version);
  if (options.pipelines < 1) fail("--pipelines must be at least 1 (got {})", options.pipelines);
  if (options.schedules < 1) fail("--schedules must be at least 1 (got {})", options.schedules);
  if (options.shards < 1 || options.shard < 0 || options.shard >= options.shards) {
    fail("--shard {}/{} is out of range (want 0 <= i < n)", options.shard, options.shards);
  }
  if (options.threads < 1) fail("--threads must be at least 1");
  if (options.out_dir.empty()) fail("--out is required");
  namespace fs = std::filesystem;
  prepare_output_directory(options.out_dir);

  GenerateSummary summary;
  summary.shard_path =
      (fs::path(options.out_dir) / shard_file_name(options.shard, options.shards)).string();
  const Json config = generation_config(options);

  // What is already there (resume).
  std::set<std::pair<int, int>> done;
  std::set<int> pipelines_recorded, pipelines_with_features;
  int controls_before = 0;
  std::optional<ShardWriter> writer;
  if (fs::exists(summary.shard_path)) {
    if (!options.resume)
      fail("{}: already exists (use --resume to continue it)", summary.shard_path);
    const Shard shard = read_shard(summary.shard_path);
    if (shard.version != kShardVersionV1)
      fail("{}: is a format {} shard; resume it with --format {}", summary.shard_path,
           shard.version, shard.version);
    for (const auto& [key, value] : config.items()) {
      if (!shard.config.contains(key) || shard.config.at(key) != value) {
        fail("{}: was generated with {} = {}, not {}; use another --out or the same settings",
             summary.shard_path, key,
             shard.config.contains(key) ? shard.config.at(key).dump() : "(none)", value.dump());
      }
    }
    for (const auto& s : shard.schedules) done.insert({s.pipeline, s.sample});
    for (const auto& p : shard.pipelines) {
      pipelines_recorded.insert(p.index);
      if (!p.pipeline_features.empty()) pipelines_with_features.insert(p.index);
    }
    controls_before = static_cast<int>(shard.controls.size());
    writer.emplace(ShardWriter::append_to(summary.shard_path, shard.valid_bytes));
  } else {
    writer.emplace(ShardWriter::create(summary.shard_path, config, kShardVersionV1));
  }
  summary.samples_before = static_cast<int>(done.size());

  std::vector<std::pair<int, int>> todo;
  for (int p = options.shard; p < options.pipelines; p += options.shards) {
    for (int k = 0; k < options.schedules; ++k) {
      summary.samples_total++;
      if (!done.count({p, k})) todo.push_back({p, k});
    }
  }
  if (options.max_samples >= 0 && static_cast<int>(todo.size()) > options.max_samples) {
    todo.resize(static_cast<std::size_t>(options.max_samples));
  }

  Stopwatch clock;
  Progress progress(fmt::format("perf gen shard {}/{}", options.shard, options.shards),
                    static_cast<std::int64_t>(todo.size()), options.quiet,
                    Progress::Redirected::kLog);
  const SampleSpec control = control_spec(options);
  const auto run_control = [&](int after) {
    const SampleResult r = run_sample(control, options.limits);
    ControlRecord c;
    c.after_samples = after;
    c.status = r.status;
    c.timing = r.timing;
    c.schedule_hash = hash_text(r.schedule_source);
    c.at = unix_time();
    writer->write(to_record(c));
  };
  if (controls_before == 0 && !todo.empty()) run_control(0);

  int failed = 0;
  double last_ms = 0;
  for (std::size_t i = 0; i < todo.size(); ++i) {
    const auto [p, k] = todo[i];
    const SampleSpec spec = sample_spec(options, p, k);
    const SampleResult r = run_sample(spec, options.limits);
    if (r.has_graph && !pipelines_recorded.count(p)) {
      PipelineRecord pr;
      pr.index = p;
      pr.seed = spec.pipeline_seed;
      pr.generator_version = kPipelineGeneratorVersion;
      pr.ops = r.ops;
      pr.inputs = Json::array();
      for (std::size_t j = 0; j < r.input_shapes.size(); ++j) {
        pr.inputs.push_back({{"name", fmt::format("input{}", j)},
                             {"type", r.input_types[j]},
                             {"shape", r.input_shapes[j]}});
      }
      pr.output = {{"type", r.output_type}, {"shape", r.output_shape}};
      pr.graph = r.graph;
      writer->write(to_record(pr));
      pipelines_recorded.insert(p);
    }
    ScheduleRecord s;
    s.pipeline = p;
    s.sample = k;
    s.beam_size = spec.beam_size;
    s.random_dropout = spec.random_dropout;
    s.search_seed = spec.search_seed;
    s.status = r.status;
    s.detail = r.detail;
    s.autoschedule_seconds = r.autoschedule_seconds;
    s.compile_seconds = r.compile_seconds;
    s.wall_seconds = r.wall_seconds;
    s.has_timing = r.has_timing;
    s.timing = r.timing;
    s.schedule_source = r.schedule_source;
    if (r.has_schedule) s.schedule_features = r.features.schedule;
    s.finished_at = unix_time();
    const bool carry_features =
        r.has_schedule && pipelines_recorded.count(p) && !pipelines_with_features.count(p);
    writer->write(to_record(s, carry_features ? &r.features.pipeline : nullptr));
    if (carry_features) pipelines_with_features.insert(p);

    summary.samples_measured++;
    if (r.status == "ok") {
      summary.samples_ok++;
      last_ms = r.timing.min_seconds * 1e3;
    } else {
      failed++;
    }
    if (options.control_every > 0 && summary.samples_measured % options.control_every == 0) {
      run_control(summary.samples_measured);
    }
    progress.update(static_cast<std::int64_t>(i + 1),
                    fmt::format("pipeline {} schedule {}/{}  ok {} failed {}  last {:.3g} ms", p,
                                k + 1, options.schedules, summary.samples_ok, failed, last_ms));
  }
  progress.finish(fmt::format("ok {} failed {} (shard now {}/{} samples)", summary.samples_ok,
                              failed, summary.samples_before + summary.samples_measured,
                              summary.samples_total));
  summary.seconds = clock.seconds();
  return summary;
}

}  // namespace tensorplan::perf
