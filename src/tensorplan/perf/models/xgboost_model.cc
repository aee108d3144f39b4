// The TVM baselines, on XGBoost's C API.
//
// kind "xgboost" is Ansor's cost model: one row per stage (slog of the stage's schedule features
// and its pipeline features), the trees' outputs summed over a schedule's stages ("pack sum"),
// fitted with Ansor's pack-sum squared error through custom gradients, against the normalised
// throughput (per pipeline: fastest time / this time), each schedule weighted by that throughput
// so that the fast schedules matter most. Throughput is relative to a pipeline's fastest schedule,
// which a new pipeline does not have, so to answer in seconds a second, small booster predicts the
// log of a pipeline's fastest time from its summed pipeline features:
//   seconds = exp(predicted ln fastest) / predicted throughput.
// The ranking within a pipeline comes from the first booster alone.
//
// kind "xgboost-rank" is AutoTVM's: one row per schedule (slog of the per-stage sum and maximum
// of the schedule features), XGBoost's rank:pairwise with one group per pipeline. It only ranks:
// predict returns exp(-score) (lower = faster) and predicts_seconds() is false.
#include <xgboost/c_api.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tensorplan/common/error.h"
#include "tensorplan/common/progress.h"
#include "tensorplan/common/timer.h"
#include "tensorplan/perf/halide/featurizer.h"
#include "tensorplan/perf/models/cost_model.h"
#include "tensorplan/perf/models/metrics.h"

namespace tensorplan::perf {

namespace {

void xgb_check(int status) {
  if (status != 0) fail("xgboost: {}", XGBGetLastError());
}

// Ansor's feature transform: keeps the sign, compresses the magnitude.
float slog(float x) { return std::copysign(std::log1p(std::abs(x)), x); }

class DMatrix {
 public:
  DMatrix(const std::vector<float>& rows, int columns) {
    const auto n = static_cast<bst_ulong>(rows.size() / static_cast<std::size_t>(columns));
    xgb_check(XGDMatrixCreateFromMat(rows.data(), n, static_cast<bst_ulong>(columns),
                                     std::numeric_limits<float>::quiet_NaN(), &handle_));
  }
  ~DMatrix() { XGDMatrixFree(handle_); }
  DMatrix(const DMatrix&) = delete;
  DMatrix& operator=(const DMatrix&) = delete;
  DMatrixHandle get() const { return handle_; }
  void set_labels(const std::vector<float>& labels) {
    xgb_check(XGDMatrixSetFloatInfo(handle_, "label", labels.data(), labels.size()));
  }
  void set_groups(const std::vector<unsigned>& sizes) {
    xgb_check(XGDMatrixSetUIntInfo(handle_, "group", sizes.data(), sizes.size()));
  }

 private:
  DMatrixHandle handle_ = nullptr;
};

class Booster {
 public:
  Booster() = default;
  ~Booster() {
    if (handle_) XGBoosterFree(handle_);
  }
  Booster(const Booster&) = delete;
  Booster& operator=(const Booster&) = delete;

  void create(const DMatrix* train) {
    reset(nullptr);
    DMatrixHandle dmats[1] = {train ? train->get() : nullptr};
    xgb_check(XGBoosterCreate(dmats, train ? 1 : 0, &handle_));
  }
  void reset(BoosterHandle handle) {
    if (handle_) XGBoosterFree(handle_);
    handle_ = handle;
  }
  bool empty() const { return handle_ == nullptr; }
  BoosterHandle get() const { return handle_; }
  void set(const std::string& name, const std::string& value) {
    xgb_check(XGBoosterSetParam(handle_, name.c_str(), value.c_str()));
  }
  // Raw margins (sum of the trees, no objective transform).
  std::vector<float> margins(const DMatrix& data, bool training) const {
    bst_ulong n = 0;
    const float* out = nullptr;
    xgb_check(
        XGBoosterPredict(handle_, data.get(), /*output_margin=*/1, 0, training ? 1 : 0, &n, &out));
    return std::vector<float>(out, out + n);
  }
  // Keeps the first `rounds` rounds.
  void truncate(int rounds) {
    int boosted = 0;
    xgb_check(XGBoosterBoostedRounds(handle_, &boosted));
    if (rounds >= boosted) return;
    BoosterHandle sliced = nullptr;
    xgb_check(XGBoosterSlice(handle_, 0, rounds, 1, &sliced));
    reset(sliced);
  }
  std::string serialize() const {
    bst_ulong n = 0;
    const char* bytes = nullptr;
    xgb_check(XGBoosterSaveModelToBuffer(handle_, R"({"format": "ubj"})", &n, &bytes));
    return std::string(bytes, n);
  }
  void deserialize(const std::string& bytes) {
    create(nullptr);
    xgb_check(XGBoosterLoadModelFromBuffer(handle_, bytes.data(), bytes.size()));
  }

 private:
  BoosterHandle handle_ = nullptr;
};

constexpr int kStageColumns = kScheduleFeatureCount + kPipelineFeatureCount;
constexpr int kScheduleColumns = 2 * kScheduleFeatureCount;
constexpr int kScaleColumns = kPipelineFeatureCount + 1;

// kind "xgboost": one row per stage.
void append_stage_rows(const PipelineSamples& p, const std::vector<float>& schedule,
                       std::vector<float>& rows) {
  for (int s = 0; s < p.stages(); ++s) {
    const float* sf = schedule.data() + static_cast<std::size_t>(s) * kScheduleFeatureCount;
    const float* pf =
        p.pipeline_features.data() + static_cast<std::size_t>(s) * kPipelineFeatureCount;
    for (int f = 0; f < kScheduleFeatureCount; ++f) rows.push_back(slog(sf[f]));
    for (int f = 0; f < kPipelineFeatureCount; ++f) rows.push_back(slog(pf[f]));
  }
}

// kind "xgboost-rank": one row per schedule.
void append_schedule_row(const PipelineSamples& p, const std::vector<float>& schedule,
                         std::vector<float>& rows) {
  std::vector<float> sum(kScheduleFeatureCount, 0.0f);
  std::vector<float> max(kScheduleFeatureCount, -std::numeric_limits<float>::infinity());
  for (int s = 0; s < p.stages(); ++s)
    for (int f = 0; f < kScheduleFeatureCount; ++f) {
      const float x = schedule[static_cast<std::size_t>(s) * kScheduleFeatureCount + f];
      sum[f] += x;
      max[f] = std::max(max[f], x);
    }
  for (float x : sum) rows.push_back(slog(x));
  for (float x : max) rows.push_back(slog(x));
}

// The scale booster's row: one per pipeline.
void append_scale_row(const PipelineSamples& p, std::vector<float>& rows) {
  std::vector<float> sum(kPipelineFeatureCount, 0.0f);
  for (int s = 0; s < p.stages(); ++s)
    for (int f = 0; f < kPipelineFeatureCount; ++f)
      sum[f] += p.pipeline_features[static_cast<std::size_t>(s) * kPipelineFeatureCount + f];
  for (float x : sum) rows.push_back(slog(x));
  rows.push_back(static_cast<float>(p.stages()));
}

double fastest_seconds(const PipelineSamples& p) {
  double best = std::numeric_limits<double>::infinity();
  for (const auto& s : p.schedules) best = std::min(best, s.seconds);
  return best;
}

// The rows of a set of pipelines, for training or validation.
struct Table {
  std::vector<float> rows;
  std::vector<int> pack;             // kind "xgboost": schedule index of each row
  std::vector<int> rows_of;          // kind "xgboost": per schedule, its number of rows
  std::vector<float> label;          // per schedule: normalised throughput
  std::vector<double> seconds;       // per schedule: measured
  std::vector<unsigned> group_size;  // per pipeline: its number of schedules
};

Table make_table(const std::vector<PipelineSamples>& pipelines, bool per_stage) {
  Table t;
  int schedule = 0;
  for (const PipelineSamples& p : pipelines) {
    const double fastest = fastest_seconds(p);
    for (const ScheduleSample& s : p.schedules) {
      if (per_stage) {
        append_stage_rows(p, s.schedule_features, t.rows);
        t.pack.insert(t.pack.end(), static_cast<std::size_t>(p.stages()), schedule);
        t.rows_of.push_back(p.stages());
      } else {
        append_schedule_row(p, s.schedule_features, t.rows);
      }
      t.label.push_back(static_cast<float>(fastest / s.seconds));
      t.seconds.push_back(s.seconds);
      ++schedule;
    }
    t.group_size.push_back(static_cast<unsigned>(p.schedules.size()));
  }
  return t;
}

// Per schedule: the sum of its rows' margins.
std::vector<double> pack_sums(const std::vector<float>& margins, const std::vector<int>& pack,
                              std::size_t schedules) {
  std::vector<double> sums(schedules, 0.0);
  for (std::size_t r = 0; r < margins.size(); ++r)
    sums[static_cast<std::size_t>(pack[r])] += margins[r];
  return sums;
}

// Mean Kendall tau over the pipelines of `t`, ranking by `throughput` (higher = faster).
double mean_tau(const Table& t, const std::vector<double>& throughput) {
  std::vector<Metrics> per_pipeline;
  std::size_t first = 0;
  for (unsigned size : t.group_size) {
    std::vector<double> predicted, measured;
    for (std::size_t i = first; i < first + size; ++i) {
      predicted.push_back(-throughput[i]);
      measured.push_back(t.seconds[i]);
    }
    per_pipeline.push_back(pipeline_metrics(predicted, measured, false));
    first += size;
  }
  const double tau = average_metrics(per_pipeline).kendall_tau;
  return std::isnan(tau) ? -1.0 : tau;
}

void set_tree_params(Booster& b, const TrainOptions& options, int max_depth, double eta) {
  b.set("booster", "gbtree");
  b.set("tree_method", "hist");
  b.set("max_depth", std::to_string(max_depth));
  b.set("eta", fmt::format("{}", eta));
  b.set("gamma", "0.001");
  b.set("nthread", std::to_string(std::max(1, options.threads)));
  b.set("seed", std::to_string(options.seed));
  b.set("verbosity", "0");
  b.set("base_score", "0");
}

class XgboostModel final : public CostModel {
 public:
  explicit XgboostModel(std::string kind)
      : kind_(std::move(kind)), rank_(kind_ == "xgboost-rank") {}

  std::string name() const override { return kind_; }
  bool predicts_seconds() const override { return !rank_; }

  void train(const std::vector<PipelineSamples>& train,
             const std::vector<PipelineSamples>& validation, const TrainOptions& options) override {
    if (train.empty()) fail("{}: no training pipelines", kind_);
    const int max_rounds = options.epochs > 0 ? options.epochs : 400;
    const Deadline deadline(options.time_limit);
    const Table tr = make_table(train, !rank_);
    const Table va = make_table(validation, !rank_);
    const int columns = rank_ ? kScheduleColumns : kStageColumns;
    DMatrix dtrain(tr.rows, columns);
    std::unique_ptr<DMatrix> dval;
    if (!va.label.empty()) dval = std::make_unique<DMatrix>(va.rows, columns);
    if (rank_) {
      dtrain.set_labels(tr.label);
      dtrain.set_groups(tr.group_size);
    }

    main_.create(&dtrain);
    if (rank_) {
      set_tree_params(main_, options, 3, 0.3);  // AutoTVM's: depth 3, eta 0.3, gamma 1e-4
      main_.set("gamma", "0.0001");
      main_.set("objective", "rank:pairwise");
      main_.set("min_child_weight", "1");
    } else {
      set_tree_params(main_, options, 10, 0.2);  // Ansor's: depth 10, eta 0.2, gamma 0.001
      main_.set("min_child_weight", "0");
      main_.set("disable_default_eval_metric", "1");
    }

    Progress progress("train " + kind_, max_rounds, options.quiet, Progress::Redirected::kLog);
    std::vector<float> grad(tr.rows.size() / columns), hess(grad.size());
    int best_rounds = 0;
    double best_tau = -2;
    constexpr int kPatience = 50;
    for (int round = 0; round < max_rounds; ++round) {
      double loss = 0;
      if (rank_) {
        xgb_check(XGBoosterUpdateOneIter(main_.get(), round, dtrain.get()));
      } else {
        // Ansor's pack-sum squared error: every row of a schedule gets the gradient of
        // w * (sum of the schedule's rows - label)^2 / 2. The hessian is scaled by the schedule's
        // row count: all its rows move together, so a plain Newton step (hessian w) overshoots
        // n-fold and, with more than 1/eta stages, diverges (our pipelines have up to 17).
        const std::vector<double> sums =
            pack_sums(main_.margins(dtrain, true), tr.pack, tr.label.size());
        for (std::size_t r = 0; r < grad.size(); ++r) {
          const auto s = static_cast<std::size_t>(tr.pack[r]);
          const double w = tr.label[s];
          grad[r] = static_cast<float>(w * (sums[s] - tr.label[s]));
          hess[r] = static_cast<float>(w * tr.rows_of[s]);
        }
        for (std::size_t s = 0; s < sums.size(); ++s)
          loss += (sums[s] - tr.label[s]) * (sums[s] - tr.label[s]);
        loss = std::sqrt(loss / static_cast<double>(sums.size()));
        xgb_check(XGBoosterBoostOneIter(main_.get(), dtrain.get(), grad.data(), hess.data(),
                                        grad.size()));
      }
      double tau = std::numeric_limits<double>::quiet_NaN();
      if (dval) {
        tau = mean_tau(va, throughputs(*dval, va));
        if (tau > best_tau) {
          best_tau = tau;
          best_rounds = round + 1;
        }
      } else {
        best_rounds = round + 1;
      }
      progress.update(round + 1, rank_ ? fmt::format("val tau {:.3f}", tau)
                                       : fmt::format("loss {:.4f}  val tau {:.3f}", loss, tau));
      if (dval && round + 1 - best_rounds >= kPatience) break;
      if (deadline.expired()) break;
    }
    main_.truncate(best_rounds);
    progress.finish(fmt::format("{} rounds, val tau {:.3f}", best_rounds, best_tau));
    main_.set("nthread", "1");
    if (!rank_) train_scale(train, validation, options);
  }

  std::vector<double> predict(const std::vector<CostQuery>& batch) override {
    if (main_.empty()) fail("{}: model is not trained", kind_);
    std::vector<double> out(batch.size());
    if (batch.empty()) return out;
    std::vector<float> rows;
    std::vector<int> pack;
    for (std::size_t q = 0; q < batch.size(); ++q) {
      const CostQuery& query = batch[q];
      check_query(kind_, query);
      if (rank_) {
        append_schedule_row(*query.pipeline, *query.schedule_features, rows);
      } else {
        append_stage_rows(*query.pipeline, *query.schedule_features, rows);
        pack.insert(pack.end(), static_cast<std::size_t>(query.pipeline->stages()),
                    static_cast<int>(q));
      }
    }
    DMatrix data(rows, rank_ ? kScheduleColumns : kStageColumns);
    const std::vector<float> margins = main_.margins(data, false);
    if (rank_) {
      for (std::size_t q = 0; q < batch.size(); ++q) out[q] = std::exp(-margins[q]);
      return out;
    }
    const std::vector<double> throughput = pack_sums(margins, pack, batch.size());
    // One scale prediction per distinct pipeline in the batch.
    std::map<const PipelineSamples*, std::size_t> pipeline_row;
    std::vector<float> scale_rows;
    for (const CostQuery& query : batch)
      if (pipeline_row.emplace(query.pipeline, pipeline_row.size()).second)
        append_scale_row(*query.pipeline, scale_rows);
    const std::vector<float> log_fastest =
        scale_.margins(DMatrix(scale_rows, kScaleColumns), false);
    for (std::size_t q = 0; q < batch.size(); ++q) {
      // A throughput at or below 0 would be an infinitely slow schedule; floor it.
      const double t = std::max(throughput[q], 1e-3);
      out[q] = std::exp(log_fastest[pipeline_row[batch[q].pipeline]]) / t;
    }
    return out;
  }

  void save(const std::string& path) const override {
    if (main_.empty()) fail("{}: model is not trained", kind_);
    const std::string main = main_.serialize();
    const std::string scale = rank_ ? "" : scale_.serialize();
    write_model_file(path, kind_, main + scale,
                     Json{{"main_bytes", main.size()}, {"scale_bytes", scale.size()}});
  }

  void load(const std::string& path, const Json& header, const std::string& body) {
    const auto size_field = [&](const char* key) -> std::size_t {
      if (!header.contains(key) || !header[key].is_number_unsigned())
        fail("{}: model header lacks \"{}\"", path, key);
      return header[key].get<std::size_t>();
    };
    const std::size_t main_bytes = size_field("main_bytes");
    const std::size_t scale_bytes = size_field("scale_bytes");
    if (main_bytes + scale_bytes != body.size() || main_bytes == 0 || (!rank_ && scale_bytes == 0))
      fail("{}: truncated or corrupt {} model ({} bytes after the header, expected {})", path,
           kind_, body.size(), main_bytes + scale_bytes);
    try {
      main_.deserialize(body.substr(0, main_bytes));
      main_.set("nthread", "1");
      if (!rank_) {
        scale_.deserialize(body.substr(main_bytes));
        scale_.set("nthread", "1");
      }
    } catch (const Error& e) {
      fail("{}: corrupt {} model ({})", path, kind_, e.what());
    }
  }

 private:
  // Predicted normalised throughput of every schedule of `t` (kind "xgboost"), or the ranking
  // score (kind "xgboost-rank"); higher = faster either way.
  std::vector<double> throughputs(const DMatrix& data, const Table& t) const {
    const std::vector<float> margins = main_.margins(data, false);
    if (!rank_) return pack_sums(margins, t.pack, t.label.size());
    return std::vector<double>(margins.begin(), margins.end());
  }

  // The scale booster: ln(fastest seconds) of a pipeline from its summed pipeline features.
  void train_scale(const std::vector<PipelineSamples>& train,
                   const std::vector<PipelineSamples>& validation, const TrainOptions& options) {
    auto rows_of = [](const std::vector<PipelineSamples>& ps, std::vector<float>& rows,
                      std::vector<float>& labels) {
      for (const PipelineSamples& p : ps) {
        append_scale_row(p, rows);
        labels.push_back(static_cast<float>(std::log(fastest_seconds(p))));
      }
    };
    std::vector<float> tr_rows, tr_labels, va_rows, va_labels;
    rows_of(train, tr_rows, tr_labels);
    rows_of(validation, va_rows, va_labels);
    DMatrix dtrain(tr_rows, kScaleColumns);
    dtrain.set_labels(tr_labels);
    std::unique_ptr<DMatrix> dval;
    if (!va_labels.empty()) dval = std::make_unique<DMatrix>(va_rows, kScaleColumns);
    scale_.create(&dtrain);
    set_tree_params(scale_, options, 4, 0.1);
    scale_.set("objective", "reg:squarederror");
    scale_.set("min_child_weight", "1");
    int best_rounds = 0;
    double best_rmse = std::numeric_limits<double>::infinity();
    for (int round = 0; round < 300; ++round) {
      xgb_check(XGBoosterUpdateOneIter(scale_.get(), round, dtrain.get()));
      if (!dval) {
        best_rounds = round + 1;
        continue;
      }
      const std::vector<float> predicted = scale_.margins(*dval, false);
      double sq = 0;
      for (std::size_t i = 0; i < predicted.size(); ++i)
        sq += (predicted[i] - va_labels[i]) * (predicted[i] - va_labels[i]);
      if (sq < best_rmse) {
        best_rmse = sq;
        best_rounds = round + 1;
      }
      if (round + 1 - best_rounds >= 30) break;
    }
    scale_.truncate(best_rounds);
    scale_.set("nthread", "1");
  }

  std::string kind_;
  bool rank_;
  Booster main_;
  Booster scale_;  // kind "xgboost" only
};

}  // namespace

std::unique_ptr<CostModel> make_xgboost_model(const std::string& kind) {
  return std::make_unique<XgboostModel>(kind);
}

std::unique_ptr<CostModel> load_xgboost_model(const std::string& path, const Json& header,
                                              const std::string& body) {
  auto model = std::make_unique<XgboostModel>(header["kind"].get<std::string>());
  model->load(path, header, body);
  return model;
}

}  // namespace tensorplan::perf
