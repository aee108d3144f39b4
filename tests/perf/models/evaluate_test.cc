#include "tensorplan/perf/models/evaluate.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tensorplan/perf/halide/featurizer.h"
#include "tensorplan/perf/models/scatter_svg.h"

namespace tensorplan::perf {
namespace {

// Predicts the measured time times a fixed factor, read back from the first schedule feature
// (the tests store the measured time there), so every metric is known in advance.
class ScaledOracle final : public CostModel {
 public:
  ScaledOracle(double factor, bool seconds) : factor_(factor), seconds_(seconds) {}
  std::string name() const override { return seconds_ ? "oracle" : "ranker"; }
  void train(const std::vector<PipelineSamples>&, const std::vector<PipelineSamples>&,
             const TrainOptions&) override {}
  std::vector<double> predict(const std::vector<CostQuery>& batch) override {
    std::vector<double> out;
    for (const CostQuery& q : batch) out.push_back(factor_ * (*q.schedule_features)[0]);
    return out;
  }
  void save(const std::string&) const override {}
  bool predicts_seconds() const override { return seconds_; }

 private:
  double factor_;
  bool seconds_;
};

std::vector<PipelineSamples> two_pipelines() {
  std::vector<PipelineSamples> pipelines(2);
  for (int p = 0; p < 2; ++p) {
    pipelines[p].pipeline = p;
    for (double seconds : {1e-3, 2e-3, 4e-3}) {
      ScheduleSample s;
      s.seconds = seconds * (p + 1);
      s.schedule_features.assign(kScheduleFeatureCount, 0.0f);
      s.schedule_features[0] = static_cast<float>(s.seconds);
      pipelines[p].schedules.push_back(s);
    }
  }
  return pipelines;
}

TEST(Evaluate, ScoresEverySchedulePerPipelineAndAverages) {
  ScaledOracle model(1.5, true);
  const ModelEvaluation e = evaluate_model(model, two_pipelines());
  EXPECT_EQ(e.model, "oracle");
  EXPECT_EQ(e.schedules, 6);
  EXPECT_EQ(e.metrics.pipelines, 2);
  EXPECT_NEAR(e.metrics.mape, 0.5, 1e-6);  // every prediction 50% high
  EXPECT_NEAR(e.metrics.kendall_tau, 1.0, 1e-9);
  EXPECT_NEAR(e.metrics.top1_slowdown, 0.0, 1e-9);
  ASSERT_EQ(e.predicted.size(), 6u);
  EXPECT_NEAR(e.predicted[5], 1.5 * 8e-3, 1e-9);
  EXPECT_DOUBLE_EQ(e.measured[5], 8e-3);
}

TEST(Evaluate, ARankerHasNoErrorInSecondsButStillRanks) {
  ScaledOracle model(-1.0, false);  // lower = predicted faster: exactly the reverse order
  const ModelEvaluation e = evaluate_model(model, two_pipelines());
  EXPECT_TRUE(std::isnan(e.metrics.mape));
  EXPECT_NEAR(e.metrics.kendall_tau, -1.0, 1e-9);
  EXPECT_NEAR(e.metrics.top1_slowdown, 3.0, 1e-9);  // picks the 4 ms schedule over the 1 ms one
}

TEST(ScatterSvg, OnePanelPerModelThatPredictsSecondsAndTheRankersNamed) {
  ScaledOracle oracle(1.0, true), ranker(1.0, false);
  const std::vector<ModelEvaluation> e = {evaluate_model(oracle, two_pipelines()),
                                          evaluate_model(ranker, two_pipelines())};
  const std::string svg = prediction_scatter_svg(e, "test <split>");
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("test &lt;split&gt;"), std::string::npos);
  std::size_t circles = 0;
  for (std::size_t at = svg.find("<circle"); at != std::string::npos;
       at = svg.find("<circle", at + 1))
    ++circles;
  EXPECT_EQ(circles, 6u);  // the oracle's six schedules; the ranker draws none
  EXPECT_NE(svg.find("rank only, no seconds): ranker"), std::string::npos);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
}

}  // namespace
}  // namespace tensorplan::perf
