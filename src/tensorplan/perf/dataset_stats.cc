#include "tensorplan/perf/dataset_stats.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>

#include "tensorplan/common/error.h"
#include "tensorplan/common/progress.h"

namespace tensorplan::perf {

namespace {

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i =
      static_cast<std::size_t>(std::clamp(q, 0.0, 1.0) * static_cast<double>(v.size() - 1));
  return v[i];
}

}  // namespace

DatasetStats compute_stats(const std::vector<Shard>& shards) {
  DatasetStats st;
  st.shards = static_cast<int>(shards.size());
  std::vector<double> runtimes, spreads, controls, best_over_worst;
  std::set<std::string> control_hashes;
  std::vector<int> stage_counts;
  int beam_wins = 0;
  for (const Shard& shard : shards) {
    if (st.config.is_null()) st.config = shard.config;
    if (shard.torn_tail) st.torn_tails++;
    st.pipelines += static_cast<int>(shard.pipelines.size());
    for (const auto& p : shard.pipelines) {
      stage_counts.push_back(static_cast<int>(p.graph.stages.size()));
      for (const auto& op : p.ops) st.ops[op]++;
    }
    std::map<int, std::vector<const ScheduleRecord*>> by_pipeline;
    for (const auto& s : shard.schedules) {
      st.samples++;
      st.wall_seconds += s.wall_seconds;
      if (s.status == "ok" && s.has_timing) {
        st.schedules++;
        runtimes.push_back(s.timing.min_seconds);
        if (s.timing.min_seconds > 0) {
          spreads.push_back((s.timing.median_seconds - s.timing.min_seconds) /
                            s.timing.min_seconds);
        }
        by_pipeline[s.pipeline].push_back(&s);
      } else {
        st.failures[s.status]++;
      }
    }
    for (const auto& c : shard.controls) {
      if (c.status != "ok") continue;
      controls.push_back(c.timing.min_seconds);
      control_hashes.insert(c.schedule_hash);
    }
    for (const auto& [p, list] : by_pipeline) {
      double best = 1e300, worst = 0, beam = -1;
      std::vector<double> random;
      for (const ScheduleRecord* s : list) {
        best = std::min(best, s->timing.min_seconds);
        worst = std::max(worst, s->timing.min_seconds);
        if (s->sample == 0) {
          beam = s->timing.min_seconds;
        } else {
          random.push_back(s->timing.min_seconds);
        }
      }
      if (worst > 0 && list.size() > 1) best_over_worst.push_back(best / worst);
      if (beam >= 0 && !random.empty()) {
        st.beam_compared++;
        if (beam < quantile(random, 0.5)) beam_wins++;
      }
    }
  }
  st.min_runtime = quantile(runtimes, 0);
  st.median_runtime = quantile(runtimes, 0.5);
  st.max_runtime = quantile(runtimes, 1);
  st.median_spread = quantile(spreads, 0.5);
  st.p90_spread = quantile(spreads, 0.9);
  st.controls = static_cast<int>(controls.size());
  st.control_schedules = static_cast<int>(control_hashes.size());
  if (!controls.empty()) {
    st.control_min = quantile(controls, 0);
    st.control_max = quantile(controls, 1);
    double mean = 0, var = 0;
    for (double c : controls) mean += c;
    mean /= static_cast<double>(controls.size());
    for (double c : controls) var += (c - mean) * (c - mean);
    var /= static_cast<double>(controls.size());
    st.control_cv = mean > 0 ? std::sqrt(var) / mean : 0;
  }
  st.beam_beats_median_random =
      st.beam_compared ? static_cast<double>(beam_wins) / st.beam_compared : 0;
  st.median_best_over_worst = quantile(best_over_worst, 0.5);
  if (!stage_counts.empty()) {
    st.stages_min = *std::min_element(stage_counts.begin(), stage_counts.end());
    st.stages_max = *std::max_element(stage_counts.begin(), stage_counts.end());
    double sum = 0;
    for (int s : stage_counts) sum += s;
    st.stages_mean = sum / static_cast<double>(stage_counts.size());
  }
  return st;
}

Json stats_to_json(const DatasetStats& st) {
  return {{"shards", st.shards},
          {"pipelines", st.pipelines},
          {"schedules", st.schedules},
          {"samples", st.samples},
          {"failed", st.samples - st.schedules},
          {"failures", st.failures},
          {"torn_tails", st.torn_tails},
          {"runtime_seconds",
           {{"min", st.min_runtime}, {"median", st.median_runtime}, {"max", st.max_runtime}}},
          {"noise",
           {{"median_spread", st.median_spread},
            {"p90_spread", st.p90_spread},
            {"controls", st.controls},
            {"control_min_seconds", st.control_min},
            {"control_max_seconds", st.control_max},
            {"control_cv", st.control_cv},
            {"control_schedules", st.control_schedules}}},
          {"beam_beats_median_random", st.beam_beats_median_random},
          {"beam_compared", st.beam_compared},
          {"median_best_over_worst", st.median_best_over_worst},
          {"stages", {{"min", st.stages_min}, {"mean", st.stages_mean}, {"max", st.stages_max}}},
          {"ops", st.ops},
          {"wall_seconds", st.wall_seconds},
          {"config", st.config}};
}

std::string stats_to_text(const DatasetStats& st) {
  std::string out;
  out += fmt::format(
      "shards            {}{}\n", st.shards,
      st.torn_tails ? fmt::format(" ({} with an incomplete last record)", st.torn_tails) : "");
  out += fmt::format("pipelines         {} ({}..{} stages, mean {:.1f})\n", st.pipelines,
                     st.stages_min, st.stages_max, st.stages_mean);
  out += fmt::format("schedules timed   {} of {} samples\n", st.schedules, st.samples);
  for (const auto& [status, n] : st.failures)
    out += fmt::format("  failed          {} x {}\n", n, status);
  out += fmt::format("run time          {:.4g} ms .. {:.4g} ms (median {:.4g} ms)\n",
                     st.min_runtime * 1e3, st.max_runtime * 1e3, st.median_runtime * 1e3);
  out += fmt::format(
      "noise             (median - min) / min per schedule: median {:.2f}%, p90 {:.2f}%\n",
      st.median_spread * 100, st.p90_spread * 100);
  out += fmt::format(
      "control           {} re-timings, {:.4g}..{:.4g} ms, CV {:.2f}% ({} distinct schedule{})\n",
      st.controls, st.control_min * 1e3, st.control_max * 1e3, st.control_cv * 100,
      st.control_schedules, st.control_schedules == 1 ? "" : "s");
  out +=
      fmt::format("beam search       beats the median random schedule in {:.0f}% of {} pipelines\n",
                  st.beam_beats_median_random * 100, st.beam_compared);
  out += fmt::format("spread            median fastest/slowest per pipeline {:.3f}\n",
                     st.median_best_over_worst);
  out += fmt::format("time              {} in samples\n", format_seconds(st.wall_seconds));
  if (st.config.is_object()) {
    out +=
        fmt::format("target            {} ({} thread{})\n", st.config.value("target", "?"),
                    st.config.value("threads", 0), st.config.value("threads", 0) == 1 ? "" : "s");
  }
  return out;
}

void merge_shards(const std::vector<std::string>& inputs, const std::string& output) {
  if (inputs.empty()) fail("perf merge: no input shards");
  std::vector<Shard> shards;
  for (const auto& path : inputs) {
    for (const auto& file : list_shards(path)) shards.push_back(read_shard(file));
  }
  if (shards.empty()) fail("perf merge: no shard files in {}", inputs.front());
  // Same run: every setting but the shard index must agree.
  Json config = shards.front().config;
  const auto comparable = [](Json c) {
    c.erase("shard");
    c.erase("shards");
    c.erase("merged_from");
    return c;
  };
  const Json reference = comparable(config);
  Json merged_from = Json::array();
  std::set<int> pipelines;
  for (const Shard& s : shards) {
    if (comparable(s.config) != reference) {
      fail("perf merge: {} was generated with other settings than {}", s.path, shards.front().path);
    }
    merged_from.push_back(std::filesystem::path(s.path).filename().string());
    for (const auto& p : s.pipelines) {
      if (!pipelines.insert(p.index).second)
        fail("perf merge: pipeline {} is in two shards ({})", p.index, s.path);
    }
  }
  config["shard"] = 0;
  config["shards"] = 1;
  config["merged_from"] = merged_from;

  const std::string temp = output + ".tmp";
  std::filesystem::remove(temp);
  try {
    ShardWriter writer = ShardWriter::create(temp, config);
    for (const Shard& s : shards) {
      std::map<int, const PipelineRecord*> by_index;
      for (const auto& p : s.pipelines) by_index[p.index] = &p;
      std::set<int> written, with_features;
      for (const auto& c : s.controls) writer.write(to_record(c));
      for (const auto& sched : s.schedules) {
        const auto p = by_index.find(sched.pipeline);
        if (p != by_index.end() && !written.count(sched.pipeline)) {
          writer.write(to_record(*p->second));
          written.insert(sched.pipeline);
        }
        const bool carry = p != by_index.end() && !p->second->pipeline_features.empty() &&
                           !sched.schedule_features.empty() && !with_features.count(sched.pipeline);
        writer.write(to_record(sched, carry ? &p->second->pipeline_features : nullptr));
        if (carry) with_features.insert(sched.pipeline);
      }
    }
  } catch (...) {
    std::filesystem::remove(temp);
    throw;
  }
  std::filesystem::rename(temp, output);
}

}  // namespace tensorplan::perf
