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

Agreement compute_agreement(const std::vector<std::vector<std::pair<double, double>>>& pipelines) {
  Agreement a;
  long long concordant = 0, discordant = 0, concordant10 = 0, discordant10 = 0;
  std::vector<double> relative, within, shifts;
  for (const auto& list : pipelines) {
    if (list.size() < 2) continue;
    a.pipelines++;
    std::vector<double> ratios;
    for (const auto& [first, second] : list) {
      if (first > 0) ratios.push_back(second / first);
    }
    if (!ratios.empty()) {
      const double shift = quantile(ratios, 0.5);
      shifts.push_back(std::abs(shift - 1));
      for (const double r : ratios) within.push_back(shift > 0 ? std::abs(r / shift - 1) : 0.0);
    }
    for (std::size_t i = 0; i < list.size(); ++i) {
      a.schedules++;
      if (list[i].first > 0)
        relative.push_back(std::abs(list[i].second - list[i].first) / list[i].first);
      for (std::size_t j = i + 1; j < list.size(); ++j) {
        const double d1 = list[i].first - list[j].first, d2 = list[i].second - list[j].second;
        if (d1 == 0 || d2 == 0) continue;  // ties count neither way
        const bool agree = (d1 > 0) == (d2 > 0);
        (agree ? concordant : discordant)++;
        const double lo = std::min(list[i].first, list[j].first);
        const double hi = std::max(list[i].first, list[j].first);
        if (lo > 0 && hi >= 1.1 * lo) (agree ? concordant10 : discordant10)++;
      }
    }
  }
  const auto tau = [](long long c, long long d) {
    return c + d ? static_cast<double>(c - d) / static_cast<double>(c + d) : 0.0;
  };
  a.kendall_tau = tau(concordant, discordant);
  a.kendall_tau_10pct = tau(concordant10, discordant10);
  a.median_relative_difference = quantile(relative, 0.5);
  a.median_relative_difference_within = quantile(within, 0.5);
  a.median_pipeline_shift = quantile(shifts, 0.5);
  return a;
}

DatasetStats compute_stats(const std::vector<Shard>& shards) {
  DatasetStats st;
  st.shards = static_cast<int>(shards.size());
  std::vector<double> runtimes, spreads, controls, best_over_worst, slowest_over_fastest;
  std::vector<std::vector<std::pair<double, double>>> repeats;
  std::vector<double> other_busy, waits, reference_slowdowns;
  struct KindFigures {
    int samples = 0, timed = 0;
    std::vector<double> autoschedule, compile, label, best_over_pipeline_best;
  };
  std::map<std::string, KindFigures> kinds;
  long long pairs = 0, pairs_close = 0;
  int at_least_1ms = 0;
  std::set<std::string> control_hashes;
  std::vector<int> stage_counts;
  int beam_wins = 0;
  for (const Shard& shard : shards) {
    if (st.config.is_null()) {
      st.config = shard.config;
      st.format_version = shard.version;
    } else if (st.format_version != shard.version) {
      st.format_version = 0;
    }
    if (shard.torn_tail) st.torn_tails++;
    for (const auto& [begin, end] : shard.damaged)
      st.damaged.push_back(fmt::format("{}: bytes {} to {}", shard.path, begin, end));
    st.pipelines += static_cast<int>(shard.pipelines.size());
    for (const auto& p : shard.pipelines) {
      stage_counts.push_back(static_cast<int>(p.graph.stages.size()));
      for (const auto& op : p.ops) st.ops[op]++;
    }
    std::map<int, std::vector<const ScheduleRecord*>> by_pipeline;
    for (const auto& s : shard.schedules) {
      st.samples++;
      st.wall_seconds += s.wall_seconds;
      if (!s.kind.empty()) {
        KindFigures& k = kinds[s.kind];
        k.samples++;
        k.autoschedule.push_back(s.autoschedule_seconds);
        if (s.compile_seconds > 0) k.compile.push_back(s.compile_seconds);
        if (s.status == "ok" && s.has_timing) {
          k.timed++;
          k.label.push_back(s.label_seconds);
        }
      }
      if (s.status == "ok" && s.has_timing) {
        st.schedules++;
        runtimes.push_back(s.label_seconds);
        if (s.label_seconds >= 1e-3) at_least_1ms++;
        if (s.timing.min_seconds > 0) {
          spreads.push_back((s.timing.median_seconds - s.timing.min_seconds) /
                            s.timing.min_seconds);
        }
        by_pipeline[s.pipeline].push_back(&s);
      } else {
        st.failures[s.status]++;
      }
    }
    // The processor a timing ran on, as recorded (older shards did not record it).
    const auto cpu_of = [](const Json& t) {
      const std::string cpu = t.is_object() ? t.value("cpu", std::string()) : std::string();
      return cpu.empty() ? std::string("(not recorded)") : cpu;
    };
    // The conditions of the timings that were kept (first pass and repeatability pass).
    const auto conditions = [&](const Json& t) {
      if (!t.is_object()) return;
      if (t.contains("other_busy_during"))
        other_busy.push_back(t.at("other_busy_during").get<double>());
      if (t.contains("waited_seconds")) waits.push_back(t.at("waited_seconds").get<double>());
      if (t.value("attempt", 1) > 1) st.timings_discarded += t.at("attempt").get<int>() - 1;
      st.timings++;
      st.timings_by_cpu[cpu_of(t)]++;
      // The baseline the timing was held to: the recent median, or in shards written before it
      // the recent fastest figure.
      const double baseline = t.value("reference_baseline", t.value("reference_best", 0.0));
      if (baseline > 0) {
        st.timings_with_reference++;
        const double slowest =
            std::max(t.value("reference_before", 0.0), t.value("reference_after", 0.0));
        reference_slowdowns.push_back(slowest / baseline - 1);
      }
    };
    for (const auto& p : shard.pipelines) conditions(p.timing);
    for (const auto& r : shard.retimes) {
      conditions(r.timing);
      for (const auto& p : shard.pipelines) {
        if (p.index == r.pipeline && cpu_of(p.timing) != cpu_of(r.timing))
          st.repeat_on_another_cpu++;
      }
      std::map<int, double> first;
      for (const auto& s : shard.schedules) {
        if (s.pipeline == r.pipeline && s.status == "ok" && s.has_timing)
          first[s.sample] = s.label_seconds;
      }
      std::vector<std::pair<double, double>> list;
      for (const auto& s : r.schedules) {
        if (!s.same_schedule) {
          st.repeat_different_schedules++;
          continue;
        }
        const auto it = first.find(s.sample);
        if (it != first.end()) list.emplace_back(it->second, s.label_seconds);
      }
      repeats.push_back(std::move(list));
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
        best = std::min(best, s->label_seconds);
        worst = std::max(worst, s->label_seconds);
        if (s->sample == 0) {
          beam = s->label_seconds;
        } else {
          random.push_back(s->label_seconds);
        }
      }
      std::map<std::string, double> kind_best;
      for (const ScheduleRecord* s : list) {
        if (s->kind.empty()) continue;
        auto [it, fresh] = kind_best.emplace(s->kind, s->label_seconds);
        if (!fresh) it->second = std::min(it->second, s->label_seconds);
      }
      for (const auto& [kind, b] : kind_best) {
        if (best > 0) kinds[kind].best_over_pipeline_best.push_back(b / best);
      }
      if (worst > 0 && list.size() > 1) {
        best_over_worst.push_back(best / worst);
        if (best > 0) slowest_over_fastest.push_back(worst / best);
      }
      for (std::size_t i = 0; i < list.size(); ++i) {
        for (std::size_t j = i + 1; j < list.size(); ++j) {
          const double a = list[i]->label_seconds, b = list[j]->label_seconds;
          pairs++;
          if (std::max(a, b) <= 1.05 * std::min(a, b)) pairs_close++;
        }
      }
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
  st.median_slowest_over_fastest = quantile(slowest_over_fastest, 0.5);
  st.pairs_within_5pct = pairs ? static_cast<double>(pairs_close) / static_cast<double>(pairs) : 0;
  st.median_label_at_least_1ms =
      st.schedules ? static_cast<double>(at_least_1ms) / st.schedules : 0;
  st.repeatability = compute_agreement(repeats);
  for (const auto& [kind, k] : kinds) {
    st.by_kind[kind] = {
        {"samples", k.samples},
        {"timed", k.timed},
        {"median_autoschedule_seconds", quantile(k.autoschedule, 0.5)},
        {"median_compile_seconds", quantile(k.compile, 0.5)},
        {"median_label_seconds", quantile(k.label, 0.5)},
        {"median_best_over_pipeline_best", quantile(k.best_over_pipeline_best, 0.5)}};
  }
  st.median_other_busy = quantile(other_busy, 0.5);
  st.max_other_busy = quantile(other_busy, 1);
  st.median_wait_seconds = quantile(waits, 0.5);
  st.median_reference_slowdown = quantile(reference_slowdowns, 0.5);
  st.max_reference_slowdown = quantile(reference_slowdowns, 1);
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
  const Agreement& a = st.repeatability;
  const Json repeatability = {
      {"pipelines", a.pipelines},
      {"schedules", a.schedules},
      {"kendall_tau", a.kendall_tau},
      {"kendall_tau_10pct", a.kendall_tau_10pct},
      {"median_relative_difference", a.median_relative_difference},
      {"median_relative_difference_within", a.median_relative_difference_within},
      {"median_pipeline_shift", a.median_pipeline_shift},
      {"different_schedules", st.repeat_different_schedules},
      {"timed_again_on_another_cpu", st.repeat_on_another_cpu}};
  return {{"shards", st.shards},
          {"format_version", st.format_version},
          {"spread",
           {{"median_slowest_over_fastest", st.median_slowest_over_fastest},
            {"pairs_within_5pct", st.pairs_within_5pct},
            {"labels_at_least_1ms", st.median_label_at_least_1ms}}},
          {"repeatability", repeatability},
          {"timing_conditions",
           {{"timings_discarded_under_load", st.timings_discarded},
            {"median_other_busy", st.median_other_busy},
            {"max_other_busy", st.max_other_busy},
            {"median_wait_seconds", st.median_wait_seconds},
            {"timings", st.timings},
            {"timings_with_reference", st.timings_with_reference},
            {"timings_by_cpu", st.timings_by_cpu},
            {"median_reference_slowdown", st.median_reference_slowdown},
            {"max_reference_slowdown", st.max_reference_slowdown}}},
          {"by_kind", st.by_kind},
          {"pipelines", st.pipelines},
          {"schedules", st.schedules},
          {"samples", st.samples},
          {"failed", st.samples - st.schedules},
          {"failures", st.failures},
          {"torn_tails", st.torn_tails},
          {"damaged", st.damaged},
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
  for (const auto& range : st.damaged) out += fmt::format("damaged, skipped  {}\n", range);
  out += fmt::format("pipelines         {} ({}..{} stages, mean {:.1f})\n", st.pipelines,
                     st.stages_min, st.stages_max, st.stages_mean);
  out += fmt::format("schedules timed   {} of {} samples\n", st.schedules, st.samples);
  for (const auto& [status, n] : st.failures)
    out += fmt::format("  failed          {} x {}\n", n, status);
  out += fmt::format("format            version {}\n", st.format_version);
  out += fmt::format("run time (label)  {:.4g} ms .. {:.4g} ms (median {:.4g} ms)\n",
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
  out += fmt::format(
      "spread            per pipeline slowest/fastest median {:.2f}x; {:.1f}% of pairs within 5%; "
      "{:.0f}% of labels >= 1 ms\n",
      st.median_slowest_over_fastest, st.pairs_within_5pct * 100,
      st.median_label_at_least_1ms * 100);
  if (st.format_version != 1) {
    const Agreement& a = st.repeatability;
    out += fmt::format(
        "repeatability     {} pipelines ({} schedules) timed twice: Kendall tau {:.3f}, {:.3f} "
        "over pairs >= 10% apart, median relative difference {:.2f}% ({:.2f}% within a pipeline, "
        "once its common shift is taken out; pipelines shifted {:.1f}% in the median){}\n",
        a.pipelines, a.schedules, a.kendall_tau, a.kendall_tau_10pct,
        a.median_relative_difference * 100, a.median_relative_difference_within * 100,
        a.median_pipeline_shift * 100,
        st.repeat_different_schedules ? fmt::format(" ({} recompiled schedules differed, left out)",
                                                    st.repeat_different_schedules)
                                      : "");
    out += fmt::format(
        "timing            other CPUs busy {:.1f}% median, {:.1f}% max while timing; {} timings "
        "discarded under load; median wait for quiet {:.0f} s\n",
        st.median_other_busy * 100, st.max_other_busy * 100, st.timings_discarded,
        st.median_wait_seconds);
    out += fmt::format(
        "  reference       workload timed around {} of {} timings; it ran {:.1f}% (median), "
        "{:.1f}% (max) slower than the baseline it was held to\n",
        st.timings_with_reference, st.timings, st.median_reference_slowdown * 100,
        st.max_reference_slowdown * 100);
    for (const auto& [cpu, timings] : st.timings_by_cpu)
      out += fmt::format("  processor       {} timings on {}\n", timings, cpu);
    if (st.repeat_on_another_cpu > 0) {
      out +=
          fmt::format("  timed again     {} of {} repeatability pipelines on another processor\n",
                      st.repeat_on_another_cpu, a.pipelines);
    }
  }
  for (const auto& [kind, k] : st.by_kind.items()) {
    out += fmt::format(
        "  {:<15} {} timed of {}; median autoschedule {:.2f} s, compile {:.2f} s, label {:.4g} ms; "
        "its best / pipeline's best {:.2f}\n",
        kind, k.at("timed").get<int>(), k.at("samples").get<int>(),
        k.at("median_autoschedule_seconds").get<double>(),
        k.at("median_compile_seconds").get<double>(),
        k.at("median_label_seconds").get<double>() * 1e3,
        k.at("median_best_over_pipeline_best").get<double>());
  }
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
  // A merged shard would hide what was lost: damaged shards are refused, with where.
  for (const Shard& shard : shards)
    if (!shard.damaged.empty())
      fail("perf merge: {}: corrupt shard (bytes {} to {} damaged; see perf stats)", shard.path,
           shard.damaged.front().first, shard.damaged.front().second);
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
    if (s.version != shards.front().version) {
      fail("perf merge: {} is format {}, {} is format {}", s.path, s.version, shards.front().path,
           shards.front().version);
    }
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
    const int version = shards.front().version;
    ShardWriter writer = ShardWriter::create(temp, config, version);
    for (const Shard& s : shards) {
      std::map<int, const PipelineRecord*> by_index;
      for (const auto& p : s.pipelines) by_index[p.index] = &p;
      if (version >= 2) {
        // One record per pipeline, in the order they were measured, then the second timings.
        std::vector<int> order;
        std::map<int, std::vector<const ScheduleRecord*>> schedules;
        for (const auto& sched : s.schedules) {
          if (!schedules.count(sched.pipeline)) order.push_back(sched.pipeline);
          schedules[sched.pipeline].push_back(&sched);
        }
        for (const int p : order) {
          const auto it = by_index.find(p);
          writer.write(to_record_v2(it == by_index.end() ? nullptr : it->second, p, schedules[p]));
        }
        for (const auto& r : s.retimes) writer.write(to_record(r));
        continue;
      }
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
