// tensorplan perf stats: counts, failures, run-time range and noise of a measured dataset.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "dataset_commands.h"
#include "tensorplan/common/error.h"
#include "tensorplan/perf/dataset_stats.h"

namespace tensorplan::cli {

namespace {

struct StatsArgs {
  std::vector<std::string> paths;
  bool json = false;
};

void run(const StatsArgs& args) {
  std::vector<perf::Shard> shards;
  std::vector<std::string> errors;
  for (const auto& path : args.paths) {
    for (const auto& file : perf::list_shards(path)) {
      // A corrupt shard is reported and skipped: it never hides the others.
      try {
        shards.push_back(perf::read_shard(file));
      } catch (const Error& e) {
        errors.push_back(e.what());
      }
    }
  }
  if (shards.empty() && errors.empty())
    fail("no shard files (*.tpshard) in {}", args.paths.front());
  const perf::DatasetStats stats = perf::compute_stats(shards);
  if (args.json) {
    Json j = perf::stats_to_json(stats);
    j["corrupt_shards"] = errors;
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("%s", perf::stats_to_text(stats).c_str());
  }
  for (const auto& e : errors) std::fprintf(stderr, "tensorplan: error: %s\n", e.c_str());
  if (!errors.empty())
    fail("{} corrupt shard{} skipped", errors.size(), errors.size() == 1 ? "" : "s");
}

}  // namespace

void add_perf_stats(CLI::App& perf) {
  auto args = std::make_shared<StatsArgs>();
  CLI::App* stats = perf.add_subcommand(
      "stats",
      "Summarise a measured dataset: pipelines, timed schedules, failures, run times, noise, the\n"
      "spread of labels within pipelines and (format 2) how well the repeatability pass agrees.\n"
      "Example:\n"
      "  tensorplan perf stats --json data/perf-v2   # {\"format_version\": 2, \"spread\": {...}, "
      "\"repeatability\": {...}, ...}");
  stats->add_option("SHARD", args->paths, "shard files or directories of shards")->required();
  stats->add_flag("--json", args->json,
                  "print one JSON object (with `pipelines` and `schedules`) on stdout");
  stats->callback([args] { run(*args); });
}

}  // namespace tensorplan::cli
