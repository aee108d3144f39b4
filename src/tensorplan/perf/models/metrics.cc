#include "tensorplan/perf/models/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "tensorplan/common/error.h"

namespace tensorplan::perf {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

int sign(double x) { return (x > 0) - (x < 0); }

// The schedules in the model's order of preference: by predicted time, ties slowest first.
std::vector<int> model_order(const std::vector<double>& predicted,
                             const std::vector<double>& measured) {
  std::vector<int> order(predicted.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    if (predicted[a] != predicted[b]) return predicted[a] < predicted[b];
    return measured[a] > measured[b];
  });
  return order;
}

double top_k_slowdown(const std::vector<int>& order, const std::vector<double>& measured,
                      double fastest, int k) {
  double best = std::numeric_limits<double>::infinity();
  for (int i = 0; i < std::min<int>(k, static_cast<int>(order.size())); ++i)
    best = std::min(best, measured[order[i]]);
  return best / fastest - 1;
}

}  // namespace

Metrics pipeline_metrics(const std::vector<double>& predicted, const std::vector<double>& measured,
                         bool predicts_seconds) {
  if (predicted.size() != measured.size() || measured.empty())
    fail("metrics: {} predictions for {} measured schedules", predicted.size(), measured.size());
  const int n = static_cast<int>(measured.size());
  Metrics m{};
  m.pipelines = 1;

  m.mape = m.rmse_log = kNaN;
  if (predicts_seconds) {
    double abs_rel = 0, sq_log = 0;
    for (int i = 0; i < n; ++i) {
      abs_rel += std::abs(predicted[i] - measured[i]) / measured[i];
      // A non-positive predicted time has no logarithm; clamp it to a nanosecond.
      const double d = std::log(std::max(predicted[i], 1e-9)) - std::log(measured[i]);
      sq_log += d * d;
    }
    m.mape = abs_rel / n;
    m.rmse_log = std::sqrt(sq_log / n);
  }

  // Pair statistics: concordant/discordant pairs and ties (Kendall's tau-b).
  long concordant = 0, discordant = 0, tied_predicted = 0, tied_measured = 0, pairs = 0;
  double right = 0;
  long distinct_measured = 0;
  for (int i = 0; i < n; ++i) {
    for (int j = i + 1; j < n; ++j) {
      ++pairs;
      const int sp = sign(predicted[i] - predicted[j]);
      const int sm = sign(measured[i] - measured[j]);
      if (sp == 0) ++tied_predicted;
      if (sm == 0) ++tied_measured;
      if (sp != 0 && sm != 0) (sp == sm ? concordant : discordant)++;
      if (sm != 0) {
        ++distinct_measured;
        right += sp == sm ? 1.0 : sp == 0 ? 0.5 : 0.0;
      }
    }
  }
  const double tau_denominator =
      std::sqrt(static_cast<double>(pairs - tied_predicted) * (pairs - tied_measured));
  m.kendall_tau = tau_denominator > 0 ? (concordant - discordant) / tau_denominator : kNaN;
  m.pairwise_accuracy = distinct_measured > 0 ? right / distinct_measured : kNaN;

  const int fastest =
      static_cast<int>(std::min_element(measured.begin(), measured.end()) - measured.begin());
  int good = 0, judged = 0;
  for (int i = 0; i < n; ++i) {
    if (measured[i] <= 1.3 * measured[fastest]) continue;  // too close to the fastest to judge
    ++judged;
    if (predicted[i] >= predicted[fastest]) ++good;
  }
  m.ordering_rate = judged > 0 ? static_cast<double>(good) / judged : kNaN;

  const std::vector<int> order = model_order(predicted, measured);
  m.top1_slowdown = top_k_slowdown(order, measured, measured[fastest], 1);
  m.top5_slowdown = top_k_slowdown(order, measured, measured[fastest], 5);
  return m;
}

Metrics average_metrics(const std::vector<Metrics>& per_pipeline) {
  Metrics mean{};
  mean.pipelines = static_cast<int>(per_pipeline.size());
  auto average = [&](double Metrics::*field) {
    double sum = 0;
    int count = 0;
    for (const Metrics& m : per_pipeline) {
      if (std::isnan(m.*field)) continue;
      sum += m.*field;
      ++count;
    }
    mean.*field = count > 0 ? sum / count : kNaN;
  };
  for (double Metrics::*field :
       {&Metrics::mape, &Metrics::rmse_log, &Metrics::kendall_tau, &Metrics::pairwise_accuracy,
        &Metrics::ordering_rate, &Metrics::top1_slowdown, &Metrics::top5_slowdown})
    average(field);
  return mean;
}

}  // namespace tensorplan::perf
