#include "tensorplan/perf/models/autotune.h"

#include <gtest/gtest.h>

#include <set>

#include "tensorplan/common/error.h"

namespace tensorplan::perf {
namespace {

// Scores a schedule by the sum of its features: any fixed, deterministic ranking will do here.
class FeatureSumModel final : public CostModel {
 public:
  std::string name() const override { return "feature-sum"; }
  void train(const std::vector<PipelineSamples>&, const std::vector<PipelineSamples>&,
             const TrainOptions&) override {}
  std::vector<double> predict(const std::vector<CostQuery>& batch) override {
    std::vector<double> out;
    for (const CostQuery& q : batch) {
      double sum = 0;
      for (float x : *q.schedule_features) sum += x;
      out.push_back(sum);
    }
    return out;
  }
  void save(const std::string&) const override {}
};

TuneOptions tiny(int samples, int top) {
  TuneOptions o;
  o.pipeline_options = tiny_pipeline_options();
  o.pipeline = 3;
  o.samples = samples;
  o.top = top;
  o.timing.budget_seconds = 0.05;
  return o;
}

TEST(Autotune, RanksDistinctSamplesAndTimesTheFavourites) {
  FeatureSumModel model;
  const TuneResult r = autotune(model, tiny(6, 2));
  EXPECT_GT(r.beam.seconds, 0.0);
  EXPECT_FALSE(r.beam.schedule_source.empty());
  // Six distinct schedules, drawing more where the search repeated itself (up to 4x).
  EXPECT_EQ(r.ranked.size(), 6u);
  EXPECT_LE(r.draws, 6 * kDrawsPerSample);
  EXPECT_LE(r.sampled, r.draws);
  EXPECT_EQ(static_cast<int>(r.ranked.size()) + r.duplicates, r.sampled);
  std::set<std::string> sources = {r.beam.schedule_source};
  for (std::size_t i = 0; i < r.ranked.size(); ++i) {
    EXPECT_TRUE(sources.insert(r.ranked[i].schedule_source).second) << "duplicate ranked";
    if (i > 0) {
      EXPECT_LE(r.ranked[i - 1].predicted, r.ranked[i].predicted);
    }
  }
  // Picks are timed in rank order; at most `top` of them ran.
  int ok = 0;
  for (std::size_t i = 0; i < r.timed.size(); ++i) {
    EXPECT_EQ(r.timed[i].sample, r.ranked[i].sample);
    if (r.timed[i].status == "ok") {
      ++ok;
      EXPECT_GT(r.timed[i].seconds, 0.0);
      EXPECT_GE(r.timed[i].median_seconds, r.timed[i].seconds);
    } else {
      EXPECT_FALSE(r.timed[i].detail.empty()) << "a failed pick keeps its reason";
    }
  }
  EXPECT_LE(ok, 2);
  EXPECT_GT(ok, 0) << "no pick of tiny pipeline 3 could be timed";
  if (ok > 0) {
    ASSERT_GE(r.best, 0);
    for (const auto& t : r.timed) {
      if (t.status == "ok") {
        EXPECT_LE(r.timed[static_cast<std::size_t>(r.best)].seconds, t.seconds);
      }
    }
  }
  // The verdict: the beam search's schedule and the picks that ran, timed again in one process,
  // interleaved in rounds; the best pick is the fastest there.
  const HeadToHead& h = r.head_to_head;
  ASSERT_EQ(h.status, "ok");
  ASSERT_EQ(h.samples.size(), static_cast<std::size_t>(1 + ok));
  EXPECT_EQ(h.samples[0], 0);
  ASSERT_EQ(h.rounds.size(), h.samples.size());
  for (std::size_t k = 0; k < h.samples.size(); ++k) {
    EXPECT_EQ(h.rounds[k].size(), static_cast<std::size_t>(TuneOptions{}.head_to_head.rounds));
    EXPECT_GT(h.seconds[k], 0.0);
    if (k >= 1) {
      EXPECT_LE(h.seconds[static_cast<std::size_t>(h.best)], h.seconds[k]);
    }
  }
  ASSERT_GE(r.best, 0);
  EXPECT_EQ(r.timed[static_cast<std::size_t>(r.best)].sample,
            h.samples[static_cast<std::size_t>(h.best)]);
  EXPECT_DOUBLE_EQ(r.speedup(), h.seconds[0] / h.seconds[static_cast<std::size_t>(h.best)]);
}

// The sampler draws as dataset v2 was drawn (its random-weights samples included: the weights
// are written to the tuning's own directory) unless v1's plan is asked for; each ranked schedule
// says how it was drawn.
TEST(Autotune, SamplesWithTheDatasetsPlan) {
  FeatureSumModel model;
  for (int plan : {1, 2}) {
    TuneOptions o = tiny(8, 1);
    o.sample_plan = plan;
    const TuneResult r = autotune(model, o);
    EXPECT_EQ(r.beam.kind, "beam");
    std::set<std::string> kinds;
    for (const TunedSchedule& s : r.ranked) kinds.insert(s.kind);
    if (plan == 1) {
      EXPECT_TRUE(kinds == std::set<std::string>{"random"} ||
                  kinds == (std::set<std::string>{"random", "random-machine"}))
          << "plan 1";
    } else {
      EXPECT_EQ(kinds.count("random-weights"), 1u) << "plan 2";
      for (const std::string& kind : kinds)
        EXPECT_TRUE(kind == "beam-machine" || kind == "random" || kind == "random-machine" ||
                    kind == "random-weights")
            << kind;
    }
  }
  TuneOptions bad = tiny(2, 1);
  bad.sample_plan = 3;
  EXPECT_THROW(autotune(model, bad), Error);
}

// "Faster" is claimed only when the gain exceeds the timing noise of both schedules.
TEST(Autotune, FasterOnlyBeyondTheTimingNoise) {
  TuneResult r;
  r.beam.status = "ok";
  r.beam.seconds = 1.0;
  r.beam.median_seconds = 1.05;  // 5% noise
  TunedSchedule pick;
  pick.status = "ok";
  pick.seconds = 0.95;
  pick.median_seconds = 0.97;  // 2.1% noise
  r.timed.push_back(pick);
  r.best = 0;
  EXPECT_NEAR(r.beam.noise(), 0.05, 1e-12);
  EXPECT_GT(r.speedup(), 1.0);
  EXPECT_FALSE(r.faster_beyond_noise()) << "5.3% faster is within 5% + 2.1% of noise";
  r.timed[0].seconds = 0.8;
  r.timed[0].median_seconds = 0.81;
  EXPECT_TRUE(r.faster_beyond_noise()) << "25% faster is beyond 5% + 1.3%";
  r.best = 0;
  r.beam.status = "error:run";  // a beam schedule that failed to run: nothing to compare with
  EXPECT_EQ(r.speedup(), 0.0);
  EXPECT_FALSE(r.faster_beyond_noise());
  r.beam.status = "ok";
  r.best = -1;
  EXPECT_FALSE(r.faster_beyond_noise());
  EXPECT_EQ(TunedSchedule{}.noise(), 0.0);  // not timed: no noise figure
}

// Timed head to head, "faster" means faster in every round, whatever the separate timings said.
TEST(Autotune, HeadToHeadFasterOnlyInEveryRound) {
  TuneResult r;
  r.beam.status = "ok";
  r.beam.seconds = 1.0;
  r.beam.median_seconds = 1.0;
  TunedSchedule pick;
  pick.status = "ok";
  pick.seconds = 0.5;  // apart: 2x faster, no noise
  pick.median_seconds = 0.5;
  r.timed = {pick};
  r.best = 0;
  ASSERT_TRUE(r.faster_beyond_noise());
  HeadToHead& h = r.head_to_head;
  h.status = "ok";
  h.samples = {0, 7};
  h.best = 1;
  h.rounds = {{1.00, 1.02, 0.99, 1.01, 1.00}, {0.97, 0.98, 1.00, 0.96, 0.97}};
  h.seconds = {1.00, 0.97};
  EXPECT_NEAR(r.speedup(), 1.00 / 0.97, 1e-12);
  EXPECT_EQ(h.rounds_faster(), 4);
  EXPECT_FALSE(r.faster_beyond_noise()) << "slower in round 3";
  h.rounds[1][2] = 0.98;
  EXPECT_EQ(h.rounds_faster(), 5);
  EXPECT_TRUE(r.faster_beyond_noise());
  h.status = "the head-to-head timing process failed: crashed SIGSEGV";  // the separate timings
  EXPECT_DOUBLE_EQ(r.speedup(), 2.0);
  EXPECT_TRUE(r.faster_beyond_noise());
  EXPECT_EQ(h.rounds_faster(), 0);
}

// A user's generator (tests/generators/test_generators.cc) goes through the same steps.
TEST(Autotune, TunesAGeneratorFromASharedLibrary) {
  FeatureSumModel model;
  TuneOptions o = tiny(3, 2);
  o.generator = GeneratorSpec{TENSORPLAN_TEST_GENERATORS, "tiny_blur", {{"size", "48"}}};
  const TuneResult r = autotune(model, o);
  EXPECT_GT(r.beam.seconds, 0.0);
  EXPECT_EQ(r.ranked.size(), 3u);
  EXPECT_EQ(static_cast<int>(r.ranked.size()) + r.duplicates, r.sampled);
  ASSERT_FALSE(r.timed.empty());
  EXPECT_EQ(r.timed[0].sample, r.ranked[0].sample);
  if (r.best >= 0) {
    EXPECT_GT(r.speedup(), 0.0);
    // Timed again ahead of time, on what each ran on: a scalar (gain), an output at (1, 1).
    EXPECT_EQ(r.head_to_head.status, "ok");
  }
}

// Buffers a bounds query moved (a border, an output narrower than its estimate) are rebuilt as
// they were for the head-to-head timing.
TEST(Autotune, TimesAGeneratorSizedByItsBoundsQueryHeadToHead) {
  FeatureSumModel model;
  TuneOptions o = tiny(2, 1);
  o.generator = GeneratorSpec{TENSORPLAN_TEST_GENERATORS, "tiny_misestimated", {}};
  const TuneResult r = autotune(model, o);
  ASSERT_EQ(r.beam.status, "ok") << r.beam.detail;
  ASSERT_GE(r.best, 0);
  EXPECT_EQ(r.head_to_head.status, "ok");
  EXPECT_EQ(r.head_to_head.samples.size(), 2u);
}

TEST(Autotune, ReportsAGeneratorItCannotBuild) {
  FeatureSumModel model;
  TuneOptions o = tiny(2, 1);
  o.generator = GeneratorSpec{TENSORPLAN_TEST_GENERATORS, "tiny_sharpen", {}};
  try {
    autotune(model, o);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tiny_blur, tiny_gradient"), std::string::npos)
        << e.what();
  }
  o.generator = GeneratorSpec{TENSORPLAN_TEST_GENERATORS, "tiny_blur", {{"estimate_input", "0"}}};
  EXPECT_THROW(autotune(model, o), Error);
}

// A beam-search schedule that cannot run (here: its output exceeds the memory cap) is reported
// as a failed run, and the tuning goes on without a speed-up to claim.
TEST(Autotune, ABeamScheduleThatFailsToRunIsReportedAsSuchAndTheTuningGoesOn) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "no memory cap under AddressSanitizer";
#endif
  FeatureSumModel model;
  TuneOptions o = tiny(1, 1);
  o.generator = GeneratorSpec{TENSORPLAN_TEST_GENERATORS, "tiny_too_big", {}};
  const TuneResult r = autotune(model, o);
  EXPECT_EQ(r.beam.status, "error:run");
  EXPECT_NE(r.beam.detail.find("ran out of memory under the child's cap"), std::string::npos)
      << r.beam.detail;
  EXPECT_FALSE(r.beam.schedule_source.empty());
  EXPECT_EQ(r.ranked.size(), 1u);
  ASSERT_FALSE(r.timed.empty());
  EXPECT_EQ(r.timed[0].status, "error:run");
  EXPECT_LT(r.best, 0);
  EXPECT_EQ(r.speedup(), 0.0);
}

// An interrupt stops the tuning between steps; what was done so far is returned, not thrown away.
TEST(Autotune, AnInterruptedTuningReturnsWhatItHas) {
  FeatureSumModel model;
  TuneOptions o = tiny(6, 2);
  int polls = 0;
  o.interrupted = [&] { return ++polls > 2; };  // after the beam search and one draw
  const TuneResult r = autotune(model, o);
  EXPECT_TRUE(r.interrupted);
  EXPECT_EQ(r.beam.status, "ok");
  EXPECT_GT(r.beam.seconds, 0.0);
  EXPECT_EQ(r.draws, 1);
  EXPECT_TRUE(r.timed.empty());
}

TEST(Autotune, RejectsEmptySettings) {
  FeatureSumModel model;
  EXPECT_THROW(autotune(model, tiny(0, 1)), Error);
  EXPECT_THROW(autotune(model, tiny(4, 0)), Error);
}

}  // namespace
}  // namespace tensorplan::perf
