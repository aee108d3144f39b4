// The graph-convolution cost model (Singh, Steiner, Hegarty, Leather 2021), kind "gcn".
//
// One node per stage of a schedule. A node's input is its stage's pipeline features (287) and
// schedule features (39), each sign-preserving log1p-transformed and normalised with the mean and
// standard deviation of the training stages (saved in the model). An embedding layer, then
// `layers` graph convolutions over the stage graph, each adding to the node state (residual)
//   h <- h + ReLU(W_self h + W_pred mean(h of producers) + W_succ mean(h of consumers)),
// then a readout into the log of the schedule's run time:
//   "stage-softplus": a per-stage cost head, softplus(MLP(h)), summed over the stages (the
//                     paper's per-stage costs; a stage's cost is non-negative by construction);
//   "stage-exp":      the same with exp instead of softplus (a log-linear head);
//   "pooled":         an MLP over the mean and the sum of the stages' states;
//   "halide-terms":   per stage, softplus coefficients for Adams2019's hand-designed cost terms
//                     (halide_cost_terms.h: compute, loads, stores, parallel overheads, each from
//                     the raw schedule features, scaled by its training median) and for a constant
//                     per-stage cost, summed: Halide's cost formula with the coefficients coming
//                     from the graph convolutions instead of one stage's features.
// Seconds = the readout times `unit`, the training set's median of seconds per stage, so the
// heads work near 1.
//
// Training minimises, on batches of whole pipelines (all their schedules, packed as one
// block-diagonal graph), the mean squared error of ln(predicted) - ln(measured) — a loss on ratios,
// so fast and slow pipelines count alike — plus the same error centred on each pipeline's mean
// (only the ratios within a pipeline, which the error of a pipeline's overall scale otherwise
// dominates), a pairwise logistic ranking term over the pairs of schedules of one pipeline
// whose measured times differ by more than the timing noise, and (when list_weight > 0) a listwise
// term on which schedule of a pipeline is fastest. After each
// epoch the validation pipelines are scored (Kendall tau, RMSE of ln time); the best epoch's
// weights are kept (early stopping).
//
// File: the header line carries the hyper-parameters, the normalisation and the list of weight
// tensors (name, shape); the body is those tensors' float32 values, in that order.
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "tensorplan/common/error.h"
#include "tensorplan/common/progress.h"
#include "tensorplan/common/rng.h"
#include "tensorplan/common/timer.h"
#include "tensorplan/perf/halide/featurizer.h"
#include "tensorplan/perf/models/cost_model.h"
#include "tensorplan/perf/models/halide_cost_terms.h"
#include "tensorplan/perf/models/metrics.h"

namespace tensorplan::perf {

namespace {

constexpr int kNodeFeatures = kPipelineFeatureCount + kScheduleFeatureCount;

// The hyper-parameters; saved in the model's header. TrainOptions::model_options (`perf train
// --model-options`, a JSON object with any of these keys) overrides the defaults when training;
// a saved model records what it used.
struct GcnHyper {
  int hidden = 64;                         // node state width
  int layers = 3;                          // graph convolutions
  std::string readout = "stage-softplus";  // "stage-softplus", "stage-exp", "pooled" or
                                           // "halide-terms"
  double learning_rate = 2e-3;             // Adam
  double weight_decay = 1e-5;              // Adam's L2 term
  double rank_weight = 1.0;                // weight of the pairwise ranking term
  double center_weight = 3.0;  // weight of the squared error of ln time relative to the mean of
                               // the pipeline's schedules (ratios within a pipeline only)
  int batch_pipelines = 8;     // pipelines (with all their schedules) per step
  int epochs = 150;            // default when TrainOptions::epochs is 0
  double rank_tie_log = 0.03;  // measured ln-times closer than this are a tie for the ranking
                               // term (timing noise)
  // Weight of the listwise term: the cross-entropy between the measured and the predicted
  // "which schedule is fastest" distributions of a pipeline (softmax of -ln time /
  // list_temperature), which, unlike the pairwise term, weighs the pairs near the top most: what
  // top-1 needs.
  double list_weight = 0.0;
  double list_temperature = 0.1;    // ln-time scale of the distributions: 0.1 ~ within 10%
  double select_rmse_weight = 0.1;  // early stopping keeps the epoch of the best validation
                                    // tau - this x rmse-log
  int patience = 30;                // epochs without validation improvement before stopping
  // The graph the convolutions run on: "recovered" (the producer-consumer edges recovered from
  // the pipeline, stage_graph.h), or, for ablations, "chain" (each stage to the next in the
  // featurization's order: a graph with no knowledge of the pipeline) or "none" (no edges: each
  // stage sees only itself).
  std::string edges = "recovered";

  Json to_json() const {
    return Json{{"hidden", hidden},
                {"layers", layers},
                {"readout", readout},
                {"learning_rate", learning_rate},
                {"weight_decay", weight_decay},
                {"rank_weight", rank_weight},
                {"center_weight", center_weight},
                {"rank_tie_log", rank_tie_log},
                {"list_weight", list_weight},
                {"list_temperature", list_temperature},
                {"select_rmse_weight", select_rmse_weight},
                {"batch_pipelines", batch_pipelines},
                {"epochs", epochs},
                {"patience", patience},
                {"edges", edges}};
  }
  // Reads the keys `j` has; throws Error (with `where`) on a wrong type or value.
  void update_from(const Json& j, const std::string& where) {
    if (!j.is_object()) fail("{}: GCN options are not a JSON object", where);
    const Json known = to_json();
    for (const auto& item : j.items()) {
      if (known.contains(item.key())) continue;
      std::string names;
      for (const auto& k : known.items()) names += (names.empty() ? "" : ", ") + k.key();
      fail("{}: unknown GCN option '{}' (known: {})", where, item.key().substr(0, 40), names);
    }
    try {
      hidden = j.value("hidden", hidden);
      layers = j.value("layers", layers);
      readout = j.value("readout", readout);
      learning_rate = j.value("learning_rate", learning_rate);
      weight_decay = j.value("weight_decay", weight_decay);
      rank_weight = j.value("rank_weight", rank_weight);
      center_weight = j.value("center_weight", center_weight);
      rank_tie_log = j.value("rank_tie_log", rank_tie_log);
      list_weight = j.value("list_weight", list_weight);
      list_temperature = j.value("list_temperature", list_temperature);
      select_rmse_weight = j.value("select_rmse_weight", select_rmse_weight);
      batch_pipelines = j.value("batch_pipelines", batch_pipelines);
      epochs = j.value("epochs", epochs);
      patience = j.value("patience", patience);
      edges = j.value("edges", edges);
    } catch (const std::exception& e) {
      fail("{}: bad GCN option ({})", where, e.what());
    }
    if (hidden < 1 || hidden > 4096 || layers < 0 || layers > 64 || batch_pipelines < 1 ||
        !(list_temperature > 0) ||
        (readout != "stage-softplus" && readout != "stage-exp" && readout != "pooled" &&
         readout != "halide-terms") ||
        (edges != "recovered" && edges != "chain" && edges != "none"))
      fail("{}: bad GCN options {}", where, to_json().dump());
  }
};

float slog(float x) { return std::copysign(std::log1p(std::abs(x)), x); }

// The "halide-terms" readout's terms: Adams2019's, then a constant 1 (a per-stage cost of its own).
constexpr int kStageTerms = kHalideCostTerms + 1;

// The unscaled terms of stages: `raw_schedule` [N, kScheduleFeatureCount], `last_stage` [N] bool.
// One core: the dataset is timed with one thread. Terms are costs: one that comes out negative or
// not finite (features Adams2019 would not produce) counts as zero, so that a prediction is
// always a positive time.
torch::Tensor stage_terms(const torch::Tensor& raw_schedule, const torch::Tensor& last_stage) {
  const torch::Tensor terms =
      torch::nan_to_num(halide_cost_terms(raw_schedule, last_stage, 1), 0.0, 0.0, 0.0).clamp_min(0);
  return torch::cat({terms, torch::ones({raw_schedule.size(0), 1})}, 1);
}

// Per-column mean and standard deviation of the transformed features.
struct Normaliser {
  std::vector<float> pipeline_mean, pipeline_std;  // kPipelineFeatureCount each
  std::vector<float> schedule_mean, schedule_std;  // kScheduleFeatureCount each
  // The "halide-terms" readout only: each term's training median (kStageTerms), which it is
  // divided by; empty for the other readouts.
  std::vector<float> term_scale;

  // The normalised pipeline features of all of p's stages (stages x kPipelineFeatureCount).
  std::vector<float> pipeline_rows(const PipelineSamples& p) const {
    std::vector<float> out(p.pipeline_features.size());
    for (std::size_t i = 0; i < out.size(); ++i) {
      const std::size_t f = i % kPipelineFeatureCount;
      out[i] = (slog(p.pipeline_features[i]) - pipeline_mean[f]) / pipeline_std[f];
    }
    return out;
  }
  // One stage's normalised schedule features.
  void write_schedule(const float* schedule, float* out) const {
    for (int f = 0; f < kScheduleFeatureCount; ++f)
      out[f] = (slog(schedule[f]) - schedule_mean[f]) / schedule_std[f];
  }
};

void column_stats(const std::vector<std::vector<double>>& sums, std::vector<float>& mean,
                  std::vector<float>& std_dev) {
  // sums[f] = {count, sum, sum of squares}
  mean.clear();
  std_dev.clear();
  for (const auto& s : sums) {
    const double m = s[0] > 0 ? s[1] / s[0] : 0.0;
    const double var = s[0] > 0 ? std::max(0.0, s[2] / s[0] - m * m) : 0.0;
    const double sd = std::sqrt(var);
    mean.push_back(static_cast<float>(m));
    std_dev.push_back(sd > 1e-6 ? static_cast<float>(sd) : 1.0f);  // constant column -> 0
  }
}

Normaliser fit_normaliser(const std::vector<PipelineSamples>& train) {
  std::vector<std::vector<double>> pipeline_sums(kPipelineFeatureCount, {0, 0, 0});
  std::vector<std::vector<double>> schedule_sums(kScheduleFeatureCount, {0, 0, 0});
  auto add = [](std::vector<double>& s, float raw) {
    const double x = slog(raw);
    s[0] += 1;
    s[1] += x;
    s[2] += x * x;
  };
  for (const PipelineSamples& p : train) {
    for (std::size_t i = 0; i < p.pipeline_features.size(); ++i)
      add(pipeline_sums[i % kPipelineFeatureCount], p.pipeline_features[i]);
    for (const ScheduleSample& s : p.schedules)
      for (std::size_t i = 0; i < s.schedule_features.size(); ++i)
        add(schedule_sums[i % kScheduleFeatureCount], s.schedule_features[i]);
  }
  Normaliser n;
  column_stats(pipeline_sums, n.pipeline_mean, n.pipeline_std);
  column_stats(schedule_sums, n.schedule_mean, n.schedule_std);
  return n;
}

// The median of v (1 if v is empty).
double median(std::vector<double> v) {
  if (v.empty()) return 1.0;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

// Each term's median over the training stages where it is not zero (1 where it always is), so
// that a scaled term is about 1 on a typical stage whatever its unit.
std::vector<float> fit_term_scale(const std::vector<PipelineSamples>& train) {
  std::vector<std::vector<double>> values(kStageTerms);
  for (const PipelineSamples& p : train) {
    const int stages = p.stages();
    std::vector<float> raw;
    for (const ScheduleSample& s : p.schedules)
      raw.insert(raw.end(), s.schedule_features.begin(), s.schedule_features.end());
    const auto rows = static_cast<int64_t>(raw.size() / kScheduleFeatureCount);
    if (rows == 0 || stages <= 0) continue;
    const torch::Tensor last = (torch::arange(rows, torch::kInt64).remainder(stages) == stages - 1);
    const torch::Tensor terms =
        stage_terms(torch::from_blob(raw.data(), {rows, kScheduleFeatureCount}), last).contiguous();
    const float* t = terms.data_ptr<float>();
    for (int64_t r = 0; r < rows; ++r)
      for (int k = 0; k < kStageTerms; ++k)
        if (const float v = t[r * kStageTerms + k]; v > 0)  // stage_terms: finite, >= 0
          values[static_cast<std::size_t>(k)].push_back(v);
  }
  std::vector<float> scale;
  for (const std::vector<double>& v : values)
    scale.push_back(std::max(static_cast<float>(median(v)), 1e-30f));
  return scale;
}

// A set of schedules as one block-diagonal graph: node features, edges, and which schedule each
// node belongs to. Built on the CPU side as plain vectors, then turned into tensors. A node's
// pipeline features are the same in every schedule of its pipeline, so they are stored (and
// embedded) once per pipeline stage and gathered per node.
struct GraphBatch {
  torch::Tensor pipeline_rows;   // [U, kPipelineFeatureCount] one per distinct pipeline stage
  torch::Tensor schedule_rows;   // [N, kScheduleFeatureCount]
  torch::Tensor node_stage_row;  // [N] the node's row of pipeline_rows
  torch::Tensor edge_src;        // [E] producer node
  torch::Tensor edge_dst;        // [E] consumer node
  torch::Tensor inv_in;          // [N, 1] 1 / number of producers (1 if none)
  torch::Tensor inv_out;         // [N, 1] 1 / number of consumers (1 if none)
  torch::Tensor node_schedule;   // [N] schedule index of each node
  torch::Tensor inv_stages;      // [S, 1] 1 / stages of each schedule
  torch::Tensor terms;           // [N, kStageTerms] scaled terms ("halide-terms" readout only)
  int64_t schedules = 0;
};

class GraphBuilder {
 public:
  GraphBuilder(const Normaliser& norm, const std::string& edges) : norm_(norm), edges_(edges) {}

  // Appends one schedule of `p`; throws Error if the features do not match the graph.
  void add(const PipelineSamples& p, const std::vector<float>& schedule_features) {
    const int stages = p.stages();
    if (stages <= 0 ||
        p.pipeline_features.size() != static_cast<std::size_t>(stages) * kPipelineFeatureCount ||
        schedule_features.size() != static_cast<std::size_t>(stages) * kScheduleFeatureCount)
      fail("gcn: features of pipeline {} do not match its {} stages", p.pipeline, stages);
    const auto first = static_cast<int64_t>(node_schedule_.size());
    // The pipeline part once per pipeline (the batch's pipelines outlive the builder, so their
    // addresses are stable keys).
    auto base = pipeline_base_.find(&p);
    if (base == pipeline_base_.end()) {
      const std::vector<float> rows = norm_.pipeline_rows(p);
      base = pipeline_base_
                 .emplace(&p, static_cast<int64_t>(pipeline_rows_.size() / kPipelineFeatureCount))
                 .first;
      pipeline_rows_.insert(pipeline_rows_.end(), rows.begin(), rows.end());
    }
    schedule_rows_.resize(schedule_rows_.size() +
                          static_cast<std::size_t>(stages) * kScheduleFeatureCount);
    float* out = schedule_rows_.data() + first * kScheduleFeatureCount;
    for (int s = 0; s < stages; ++s) {
      norm_.write_schedule(
          schedule_features.data() + static_cast<std::size_t>(s) * kScheduleFeatureCount,
          out + static_cast<std::size_t>(s) * kScheduleFeatureCount);
      node_schedule_.push_back(schedules_);
      node_stage_row_.push_back(base->second + s);
      last_stage_.push_back(s == stages - 1 ? 1 : 0);  // rows run producer first
    }
    if (!norm_.term_scale.empty())
      raw_schedule_rows_.insert(raw_schedule_rows_.end(), schedule_features.begin(),
                                schedule_features.end());
    in_degree_.resize(node_schedule_.size(), 0);
    out_degree_.resize(node_schedule_.size(), 0);
    const auto add_edge = [&](int producer, int consumer) {
      src_.push_back(first + producer);
      dst_.push_back(first + consumer);
      ++out_degree_[static_cast<std::size_t>(first + producer)];
      ++in_degree_[static_cast<std::size_t>(first + consumer)];
    };
    for (const StageEdge& e : p.graph.edges) {
      if (e.producer < 0 || e.producer >= stages || e.consumer < 0 || e.consumer >= stages)
        fail("gcn: pipeline {} has an edge {} -> {} outside its {} stages", p.pipeline, e.producer,
             e.consumer, stages);
      if (edges_ == "recovered") add_edge(e.producer, e.consumer);
    }
    if (edges_ == "chain")
      for (int s = 0; s + 1 < stages; ++s) add_edge(s, s + 1);
    inv_stages_.push_back(1.0f / static_cast<float>(stages));
    ++schedules_;
  }

  GraphBatch build() const {
    const auto n = static_cast<int64_t>(node_schedule_.size());
    auto i64 = torch::TensorOptions().dtype(torch::kInt64);
    GraphBatch b;
    b.pipeline_rows =
        torch::from_blob(const_cast<float*>(pipeline_rows_.data()),
                         {static_cast<int64_t>(pipeline_rows_.size() / kPipelineFeatureCount),
                          kPipelineFeatureCount})
            .clone();
    b.schedule_rows =
        torch::from_blob(const_cast<float*>(schedule_rows_.data()), {n, kScheduleFeatureCount})
            .clone();
    b.node_stage_row =
        torch::from_blob(const_cast<int64_t*>(node_stage_row_.data()), {n}, i64).clone();
    b.edge_src = torch::from_blob(const_cast<int64_t*>(src_.data()),
                                  {static_cast<int64_t>(src_.size())}, i64)
                     .clone();
    b.edge_dst = torch::from_blob(const_cast<int64_t*>(dst_.data()),
                                  {static_cast<int64_t>(dst_.size())}, i64)
                     .clone();
    std::vector<float> inv_in(node_schedule_.size()), inv_out(node_schedule_.size());
    for (std::size_t i = 0; i < inv_in.size(); ++i) {
      inv_in[i] = 1.0f / static_cast<float>(std::max(1, in_degree_[i]));
      inv_out[i] = 1.0f / static_cast<float>(std::max(1, out_degree_[i]));
    }
    b.inv_in = torch::from_blob(inv_in.data(), {n, 1}).clone();
    b.inv_out = torch::from_blob(inv_out.data(), {n, 1}).clone();
    b.node_schedule =
        torch::from_blob(const_cast<int64_t*>(node_schedule_.data()), {n}, i64).clone();
    b.inv_stages =
        torch::from_blob(const_cast<float*>(inv_stages_.data()), {schedules_, 1}).clone();
    if (!norm_.term_scale.empty()) {
      const torch::Tensor raw = torch::from_blob(const_cast<float*>(raw_schedule_rows_.data()),
                                                 {n, kScheduleFeatureCount});
      const torch::Tensor last =
          torch::from_blob(const_cast<std::uint8_t*>(last_stage_.data()), {n}, torch::kUInt8)
              .to(torch::kBool);
      const torch::Tensor scale =
          torch::from_blob(const_cast<float*>(norm_.term_scale.data()), {kStageTerms});
      b.terms = stage_terms(raw, last) / scale;
    }
    b.schedules = schedules_;
    return b;
  }

 private:
  const Normaliser& norm_;
  const std::string edges_;
  std::map<const PipelineSamples*, int64_t> pipeline_base_;  // row of the pipeline's stage 0
  std::vector<float> pipeline_rows_, schedule_rows_;
  std::vector<float> raw_schedule_rows_;  // unnormalised, for the terms
  std::vector<std::uint8_t> last_stage_;  // 1 for a schedule's output stage
  std::vector<int64_t> src_, dst_, node_schedule_, node_stage_row_;
  std::vector<int> in_degree_, out_degree_;
  std::vector<float> inv_stages_;
  int64_t schedules_ = 0;
};

// The network. Parameters are registered under stable names; the file lists them in
// named_parameters() order.
struct GcnNet : torch::nn::Module {
  explicit GcnNet(const GcnHyper& h) : hyper(h) {
    embed = register_module("embed", torch::nn::Linear(kNodeFeatures, h.hidden));
    for (int l = 0; l < h.layers; ++l) {
      const std::string prefix = "conv" + std::to_string(l) + "_";
      self_weights.push_back(
          register_module(prefix + "self", torch::nn::Linear(h.hidden, h.hidden)));
      pred_weights.push_back(register_module(
          prefix + "pred",
          torch::nn::Linear(torch::nn::LinearOptions(h.hidden, h.hidden).bias(false))));
      succ_weights.push_back(register_module(
          prefix + "succ",
          torch::nn::Linear(torch::nn::LinearOptions(h.hidden, h.hidden).bias(false))));
    }
    const int readout_in = h.readout == "pooled" ? 2 * h.hidden : h.hidden;
    head_hidden = register_module("head_hidden", torch::nn::Linear(readout_in, h.hidden));
    head_out = register_module(
        "head_out", torch::nn::Linear(h.hidden, h.readout == "halide-terms" ? kStageTerms : 1));
  }

  // ln(run time / unit) of each schedule of the batch: [S].
  torch::Tensor forward(const GraphBatch& b) {
    // The embedding of [pipeline features, schedule features], with the pipeline half computed
    // once per pipeline stage.
    const torch::Tensor& w = embed->weight;
    torch::Tensor h = torch::relu(
        torch::linear(b.pipeline_rows, w.narrow(1, 0, kPipelineFeatureCount))
            .index_select(0, b.node_stage_row) +
        torch::linear(b.schedule_rows, w.narrow(1, kPipelineFeatureCount, kScheduleFeatureCount),
                      embed->bias));
    for (std::size_t l = 0; l < self_weights.size(); ++l) {
      // Mean over producers (messages along edges) and over consumers (against them).
      torch::Tensor from_producers =
          torch::zeros_like(h).index_add_(0, b.edge_dst, h.index_select(0, b.edge_src)) * b.inv_in;
      torch::Tensor from_consumers =
          torch::zeros_like(h).index_add_(0, b.edge_src, h.index_select(0, b.edge_dst)) * b.inv_out;
      h = h + torch::relu(self_weights[l]->forward(h) + pred_weights[l]->forward(from_producers) +
                          succ_weights[l]->forward(from_consumers));
    }
    const auto per_schedule = [&](const torch::Tensor& x) {
      return torch::zeros({b.schedules, x.size(1)}, x.options()).index_add_(0, b.node_schedule, x);
    };
    if (hyper.readout == "pooled") {
      torch::Tensor sum = per_schedule(h);
      torch::Tensor pooled = torch::cat({sum * b.inv_stages, sum * 0.1}, 1);
      return head_out->forward(torch::relu(head_hidden->forward(pooled))).squeeze(1);
    }
    torch::Tensor z = head_out->forward(torch::relu(head_hidden->forward(h)));
    if (hyper.readout == "halide-terms") {
      const torch::Tensor stage_cost = (torch::softplus(z) * b.terms).sum(1, true);
      return torch::log(per_schedule(stage_cost).squeeze(1) + 1e-9);
    }
    torch::Tensor stage_cost =
        hyper.readout == "stage-exp" ? torch::exp(torch::clamp(z, -30, 30)) : torch::softplus(z);
    return torch::log(per_schedule(stage_cost).squeeze(1) + 1e-9);
  }

  GcnHyper hyper;
  torch::nn::Linear embed{nullptr}, head_hidden{nullptr}, head_out{nullptr};
  std::vector<torch::nn::Linear> self_weights, pred_weights, succ_weights;
};

// One pipeline's schedules, ready for training: its graph batch, measured ln seconds and the
// ranking pairs (faster, slower) by local schedule index.
struct PipelineBlock {
  GraphBatch graph;
  torch::Tensor log_seconds;  // [S]
  std::vector<int64_t> faster, slower;
  std::vector<double> seconds;
};

PipelineBlock make_block(const PipelineSamples& p, const Normaliser& norm, const GcnHyper& hyper) {
  const double rank_tie_log = hyper.rank_tie_log;
  GraphBuilder builder(norm, hyper.edges);
  PipelineBlock block;
  std::vector<float> log_seconds;
  for (const ScheduleSample& s : p.schedules) {
    builder.add(p, s.schedule_features);
    log_seconds.push_back(static_cast<float>(std::log(s.seconds)));
    block.seconds.push_back(s.seconds);
  }
  block.graph = builder.build();
  block.log_seconds =
      torch::from_blob(log_seconds.data(), {static_cast<int64_t>(log_seconds.size())}).clone();
  for (std::size_t i = 0; i < log_seconds.size(); ++i)
    for (std::size_t j = 0; j < log_seconds.size(); ++j)
      if (log_seconds[i] + rank_tie_log < log_seconds[j]) {
        block.faster.push_back(static_cast<int64_t>(i));
        block.slower.push_back(static_cast<int64_t>(j));
      }
  return block;
}

// Several blocks as one block-diagonal batch.
struct TrainBatch {
  GraphBatch graph;
  torch::Tensor log_seconds, faster, slower;
  torch::Tensor schedule_pipeline;               // [S] which block each schedule belongs to
  torch::Tensor inv_block_size;                  // [blocks] 1 / schedules of the block
  std::vector<int64_t> block_first, block_size;  // each block's schedules: [first, first + size)
};

TrainBatch concat_blocks(const std::vector<const PipelineBlock*>& blocks) {
  std::vector<torch::Tensor> pipeline_rows, schedule_rows, node_stage_row, src, dst, inv_in,
      inv_out, node_schedule, inv_stages, terms, logs, faster, slower, schedule_pipeline;
  std::vector<float> inv_block_size;
  int64_t node_offset = 0, schedule_offset = 0, stage_row_offset = 0;
  auto i64 = torch::TensorOptions().dtype(torch::kInt64);
  TrainBatch t;
  for (const PipelineBlock* b : blocks) {
    const GraphBatch& g = b->graph;
    pipeline_rows.push_back(g.pipeline_rows);
    schedule_rows.push_back(g.schedule_rows);
    node_stage_row.push_back(g.node_stage_row + stage_row_offset);
    src.push_back(g.edge_src + node_offset);
    dst.push_back(g.edge_dst + node_offset);
    inv_in.push_back(g.inv_in);
    inv_out.push_back(g.inv_out);
    node_schedule.push_back(g.node_schedule + schedule_offset);
    inv_stages.push_back(g.inv_stages);
    if (g.terms.defined()) terms.push_back(g.terms);
    logs.push_back(b->log_seconds);
    faster.push_back(torch::tensor(b->faster, i64) + schedule_offset);
    slower.push_back(torch::tensor(b->slower, i64) + schedule_offset);
    schedule_pipeline.push_back(
        torch::full({g.schedules}, static_cast<int64_t>(inv_block_size.size()), i64));
    inv_block_size.push_back(1.0f / static_cast<float>(g.schedules));
    t.block_first.push_back(schedule_offset);
    t.block_size.push_back(g.schedules);
    node_offset += g.schedule_rows.size(0);
    stage_row_offset += g.pipeline_rows.size(0);
    schedule_offset += g.schedules;
  }
  t.graph.pipeline_rows = torch::cat(pipeline_rows);
  t.graph.schedule_rows = torch::cat(schedule_rows);
  t.graph.node_stage_row = torch::cat(node_stage_row);
  t.graph.edge_src = torch::cat(src);
  t.graph.edge_dst = torch::cat(dst);
  t.graph.inv_in = torch::cat(inv_in);
  t.graph.inv_out = torch::cat(inv_out);
  t.graph.node_schedule = torch::cat(node_schedule);
  t.graph.inv_stages = torch::cat(inv_stages);
  if (!terms.empty()) t.graph.terms = torch::cat(terms);
  t.graph.schedules = schedule_offset;
  t.log_seconds = torch::cat(logs);
  t.faster = torch::cat(faster);
  t.slower = torch::cat(slower);
  t.schedule_pipeline = torch::cat(schedule_pipeline);
  t.inv_block_size = torch::tensor(inv_block_size);
  return t;
}

class GcnModel final : public CostModel {
 public:
  std::string name() const override { return "gcn"; }

  void train(const std::vector<PipelineSamples>& train,
             const std::vector<PipelineSamples>& validation, const TrainOptions& options) override {
    if (train.empty()) fail("gcn: no training pipelines");
    if (!options.model_options.empty()) {
      Json j;
      try {
        j = parse_json("--model-options", options.model_options);  // depth and NUL checked
      } catch (const std::exception&) {
        fail("--model-options is not JSON (want an object such as '{{\"layers\": 2}}')");
      }
      hyper_.update_from(j, "--model-options");
    }
    torch::set_num_threads(std::max(1, options.threads));
    torch::manual_seed(static_cast<uint64_t>(options.seed));
    const int max_epochs = options.epochs > 0 ? options.epochs : hyper_.epochs;
    const Deadline deadline(options.time_limit);

    norm_ = fit_normaliser(train);
    if (hyper_.readout == "halide-terms") norm_.term_scale = fit_term_scale(train);
    std::vector<double> per_stage;
    for (const PipelineSamples& p : train)
      for (const ScheduleSample& s : p.schedules) per_stage.push_back(s.seconds / p.stages());
    log_unit_ = std::log(median(per_stage));

    std::vector<PipelineBlock> train_blocks, validation_blocks;
    for (const PipelineSamples& p : train) train_blocks.push_back(make_block(p, norm_, hyper_));
    for (const PipelineSamples& p : validation)
      validation_blocks.push_back(make_block(p, norm_, hyper_));

    net_ = std::make_shared<GcnNet>(hyper_);
    torch::optim::Adam adam(
        net_->parameters(),
        torch::optim::AdamOptions(hyper_.learning_rate).weight_decay(hyper_.weight_decay));
    Rng rng(static_cast<std::uint64_t>(options.seed));  // portable: std::shuffle is not
    std::vector<std::size_t> order(train_blocks.size());
    std::iota(order.begin(), order.end(), 0);

    Progress progress("train gcn", max_epochs, options.quiet, Progress::Redirected::kLog);
    std::vector<torch::Tensor> best_state = snapshot();
    double best_score = -std::numeric_limits<double>::infinity();
    Metrics best_metrics{};
    int best_epoch = 0;
    for (int epoch = 1; epoch <= max_epochs; ++epoch) {
      rng.shuffle(order);
      double loss_sum = 0;
      int steps = 0;
      net_->train();
      for (std::size_t first = 0; first < order.size();
           first += static_cast<std::size_t>(hyper_.batch_pipelines)) {
        std::vector<const PipelineBlock*> blocks;
        for (std::size_t i = first;
             i < std::min(order.size(), first + static_cast<std::size_t>(hyper_.batch_pipelines));
             ++i)
          blocks.push_back(&train_blocks[order[i]]);
        const TrainBatch batch = concat_blocks(blocks);
        torch::Tensor predicted = net_->forward(batch.graph) + log_unit_;
        torch::Tensor error = predicted - batch.log_seconds;
        torch::Tensor loss = error.square().mean();
        if (hyper_.center_weight > 0) {
          // The error minus its pipeline's mean error: what is left is wrong ratios.
          torch::Tensor block_mean = torch::zeros({batch.inv_block_size.size(0)})
                                         .index_add_(0, batch.schedule_pipeline, error) *
                                     batch.inv_block_size;
          torch::Tensor centered = error - block_mean.index_select(0, batch.schedule_pipeline);
          loss = loss + hyper_.center_weight * centered.square().mean();
        }
        if (hyper_.rank_weight > 0 && batch.faster.numel() > 0) {
          // Logistic loss on the predicted log-ratio of each (faster, slower) pair.
          torch::Tensor margin =
              predicted.index_select(0, batch.slower) - predicted.index_select(0, batch.faster);
          loss = loss + hyper_.rank_weight * torch::softplus(-margin).mean();
        }
        if (hyper_.list_weight > 0) {
          torch::Tensor list_loss = torch::zeros({});
          for (std::size_t b = 0; b < batch.block_first.size(); ++b) {
            const torch::Tensor measured =
                batch.log_seconds.narrow(0, batch.block_first[b], batch.block_size[b]);
            const torch::Tensor guess =
                predicted.narrow(0, batch.block_first[b], batch.block_size[b]);
            const torch::Tensor target = torch::softmax(-measured / hyper_.list_temperature, 0);
            list_loss = list_loss -
                        (target * torch::log_softmax(-guess / hyper_.list_temperature, 0)).sum();
          }
          loss =
              loss + hyper_.list_weight * list_loss / static_cast<double>(batch.block_first.size());
        }
        adam.zero_grad();
        loss.backward();
        torch::nn::utils::clip_grad_norm_(net_->parameters(), 5.0);
        adam.step();
        loss_sum += loss.item<double>();
        ++steps;
        if (deadline.expired()) break;
      }
      const double mean_loss = loss_sum / std::max(1, steps);
      // Without validation pipelines, the last epoch is the model.
      Metrics m{};
      double score = epoch;
      if (!validation_blocks.empty()) {
        m = evaluate(validation_blocks);
        score = selection_score(m, hyper_.select_rmse_weight);
      }
      if (score > best_score) {
        best_score = score;
        best_metrics = m;
        best_epoch = epoch;
        best_state = snapshot();
      }
      progress.update(epoch, validation_blocks.empty()
                                 ? fmt::format("loss {:.4f}", mean_loss)
                                 : fmt::format("loss {:.4f}  val tau {:.3f}  val rmse-log {:.3f}",
                                               mean_loss, m.kendall_tau, m.rmse_log));
      if (epoch - best_epoch >= hyper_.patience || deadline.expired()) break;
    }
    restore(best_state);
    net_->eval();
    progress.finish(validation_blocks.empty()
                        ? fmt::format("{} epochs", best_epoch)
                        : fmt::format("best epoch {}, val tau {:.3f}, val rmse-log {:.3f}",
                                      best_epoch, best_metrics.kendall_tau, best_metrics.rmse_log));
  }

  std::vector<double> predict(const std::vector<CostQuery>& batch) override {
    if (!net_) fail("gcn: model is not trained");
    std::vector<double> out(batch.size());
    if (batch.empty()) return out;
    GraphBuilder builder(norm_, hyper_.edges);
    for (const CostQuery& q : batch) {
      if (!q.pipeline || !q.schedule_features) fail("gcn: empty query");
      builder.add(*q.pipeline, *q.schedule_features);
    }
    torch::NoGradGuard no_grad;
    const torch::Tensor log_seconds = (net_->forward(builder.build()) + log_unit_).contiguous();
    const float* values = log_seconds.data_ptr<float>();
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = std::exp(static_cast<double>(values[i]));
    return out;
  }

  void save(const std::string& path) const override {
    if (!net_) fail("gcn: model is not trained");
    Json tensors = Json::array();
    std::string body;
    for (const auto& item : net_->named_parameters()) {
      const torch::Tensor t = item.value().detach().contiguous().to(torch::kFloat32);
      tensors.push_back(Json{{"name", item.key()}, {"shape", t.sizes().vec()}});
      body.append(reinterpret_cast<const char*>(t.data_ptr<float>()),
                  static_cast<std::size_t>(t.numel()) * sizeof(float));
    }
    Json extra = {{"hyper", hyper_.to_json()},
                  {"log_unit", log_unit_},
                  {"pipeline_mean", norm_.pipeline_mean},
                  {"pipeline_std", norm_.pipeline_std},
                  {"schedule_mean", norm_.schedule_mean},
                  {"schedule_std", norm_.schedule_std},
                  {"tensors", tensors}};
    if (!norm_.term_scale.empty()) extra["term_scale"] = norm_.term_scale;
    write_model_file(path, "gcn", body, extra);
  }

  void load(const std::string& path, const Json& header, const std::string& body) {
    try {
      hyper_ = GcnHyper{};
      hyper_.update_from(header.at("hyper"), path);
      log_unit_ = header.at("log_unit").get<double>();
      norm_.pipeline_mean = header.at("pipeline_mean").get<std::vector<float>>();
      norm_.pipeline_std = header.at("pipeline_std").get<std::vector<float>>();
      norm_.schedule_mean = header.at("schedule_mean").get<std::vector<float>>();
      norm_.schedule_std = header.at("schedule_std").get<std::vector<float>>();
      if (norm_.pipeline_mean.size() != kPipelineFeatureCount ||
          norm_.pipeline_std.size() != kPipelineFeatureCount ||
          norm_.schedule_mean.size() != kScheduleFeatureCount ||
          norm_.schedule_std.size() != kScheduleFeatureCount)
        fail("{}: gcn normalisation has the wrong number of features", path);
      for (float s : norm_.pipeline_std)
        if (!(s > 0)) fail("{}: gcn normalisation has a non-positive deviation", path);
      for (float s : norm_.schedule_std)
        if (!(s > 0)) fail("{}: gcn normalisation has a non-positive deviation", path);
      norm_.term_scale.clear();
      if (hyper_.readout == "halide-terms") {
        norm_.term_scale = header.at("term_scale").get<std::vector<float>>();
        if (norm_.term_scale.size() != kStageTerms)
          fail("{}: gcn term scales have {} entries, expected {}", path, norm_.term_scale.size(),
               kStageTerms);
        for (float s : norm_.term_scale)
          if (!(s > 0) || !std::isfinite(s)) fail("{}: gcn term scale is not positive", path);
      }
      const Json& tensors = header.at("tensors");
      auto net = std::make_shared<GcnNet>(hyper_);
      auto params = net->named_parameters();
      if (!tensors.is_array() || tensors.size() != params.size())
        fail("{}: gcn model lists {} weight tensors, the network has {}", path,
             tensors.is_array() ? tensors.size() : 0, params.size());
      std::size_t offset = 0;
      torch::NoGradGuard no_grad;
      for (std::size_t i = 0; i < params.size(); ++i) {
        const auto& item = params[i];
        const std::string name = tensors[i].at("name").get<std::string>();
        const auto shape = tensors[i].at("shape").get<std::vector<int64_t>>();
        if (name != item.key() || shape != item.value().sizes().vec())
          fail("{}: gcn weight tensor {} is '{}' {}, expected '{}'", path, i, name,
               Json(shape).dump(), item.key());
        const std::size_t bytes = static_cast<std::size_t>(item.value().numel()) * sizeof(float);
        if (offset + bytes > body.size())
          fail("{}: truncated gcn model ({} bytes of weights, more expected)", path, body.size());
        torch::Tensor values = torch::empty(item.value().sizes());
        std::memcpy(values.data_ptr<float>(), body.data() + offset, bytes);
        item.value().copy_(values);
        offset += bytes;
      }
      if (offset != body.size())
        fail("{}: corrupt gcn model ({} bytes of weights, expected {})", path, body.size(), offset);
      net->eval();
      net_ = net;
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      fail("{}: corrupt gcn model header ({})", path, e.what());
    }
  }

 private:
  // Validation Kendall tau, with the log error as a tie-breaker: ranking is what an autotuner
  // needs, but of two equally good rankers the one with right seconds is better.
  static double selection_score(const Metrics& m, double rmse_weight) {
    const double tau = std::isnan(m.kendall_tau) ? -1.0 : m.kendall_tau;
    const double rmse = std::isnan(m.rmse_log) ? 10.0 : m.rmse_log;
    return tau - rmse_weight * rmse;
  }

  Metrics evaluate(const std::vector<PipelineBlock>& blocks) {
    torch::NoGradGuard no_grad;
    net_->eval();
    std::vector<Metrics> per_pipeline;
    for (const PipelineBlock& b : blocks) {
      const torch::Tensor log_seconds = (net_->forward(b.graph) + log_unit_).contiguous();
      const float* values = log_seconds.data_ptr<float>();
      std::vector<double> predicted(b.seconds.size());
      for (std::size_t i = 0; i < predicted.size(); ++i)
        predicted[i] = std::exp(static_cast<double>(values[i]));
      per_pipeline.push_back(pipeline_metrics(predicted, b.seconds, true));
    }
    net_->train();
    return average_metrics(per_pipeline);
  }

  std::vector<torch::Tensor> snapshot() const {
    std::vector<torch::Tensor> state;
    for (const torch::Tensor& p : net_->parameters()) state.push_back(p.detach().clone());
    return state;
  }

  void restore(const std::vector<torch::Tensor>& state) {
    torch::NoGradGuard no_grad;
    auto params = net_->parameters();
    for (std::size_t i = 0; i < params.size(); ++i) params[i].copy_(state[i]);
  }

  GcnHyper hyper_;
  Normaliser norm_;
  double log_unit_ = 0;  // ln(seconds per unit of the readout)
  std::shared_ptr<GcnNet> net_;
};

}  // namespace

std::unique_ptr<CostModel> make_gcn_model(const std::string& /*kind*/) {
  return std::make_unique<GcnModel>();
}

std::unique_ptr<CostModel> load_gcn_model(const std::string& path, const Json& header,
                                          const std::string& body) {
  auto model = std::make_unique<GcnModel>();
  model->load(path, header, body);
  return model;
}

}  // namespace tensorplan::perf
