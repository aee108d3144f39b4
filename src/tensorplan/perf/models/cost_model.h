// One interface for every performance model (the GCN, the Adams2019 network, the Ansor-style
// XGBoost models), so that evaluation and the autotuner never know which model they ask — the
// shape of Adams2019's CostModel / DefaultCostModel split.
//
// A model file starts with one JSON line
//   {"format": "tensorplan.perf-model", "version": 1, "kind": "gcn", ...}\n
// followed by the kind's own bytes; load_cost_model reads the line and dispatches on "kind".
#pragma once

#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "tensorplan/common/json.h"
#include "tensorplan/perf/models/samples.h"

namespace tensorplan::perf {

inline constexpr const char* kModelFormat = "tensorplan.perf-model";
inline constexpr int kModelVersion = 1;

// One schedule of one pipeline to predict: views into data the caller keeps alive.
struct CostQuery {
  const PipelineSamples* pipeline = nullptr;              // graph + pipeline features
  const std::vector<float>* schedule_features = nullptr;  // stages x 39
};

// One query per timed schedule of `p`, in order (what evaluation and benchmarks ask).
std::vector<CostQuery> schedule_queries(const PipelineSamples& p);

// Throws Error (naming `kind`) unless the query's features have one row per stage of its pipeline.
void check_query(const std::string& kind, const CostQuery& q);

struct TrainOptions {
  int epochs = 0;   // 0: the model's default
  int seed = 1;     // everything random (init, shuffling) derives from it
  int threads = 1;  // intra-op threads
  // Seconds (infinite: none; 0, as everywhere: the least it can do, one step). Training stops
  // there and keeps the best so far.
  double time_limit = std::numeric_limits<double>::infinity();
  bool quiet = false;  // no progress on stderr
  // Hyper-parameters that override the model's defaults: a JSON object (gcn's keys are listed in
  // docs/perf-models.md); "" = the defaults. Only gcn takes any.
  std::string model_options;
};

class CostModel {
 public:
  virtual ~CostModel() = default;
  // "gcn", "halide", "halide-retrained", "xgboost", "xgboost-rank".
  virtual std::string name() const = 0;
  // Fits the model. `validation` is for early stopping and model selection, never for fitting.
  virtual void train(const std::vector<PipelineSamples>& train,
                     const std::vector<PipelineSamples>& validation,
                     const TrainOptions& options) = 0;
  // Predicted run time in seconds for each query. Models that only rank (xgboost-rank) return a
  // score that is monotone in predicted run time (lower = faster), documented by the model.
  virtual std::vector<double> predict(const std::vector<CostQuery>& batch) = 0;
  // Writes the model file (temporary name + rename).
  virtual void save(const std::string& path) const = 0;
  // True if predict returns seconds (MAPE is meaningful), false for a pure ranker.
  virtual bool predicts_seconds() const { return true; }
  // False for a kind whose train() fits nothing (halide: Adams2019's shipped network as it is).
  virtual bool trains() const { return true; }
};

// A fresh, untrained model of the given kind; throws Error naming the known kinds.
std::unique_ptr<CostModel> make_cost_model(const std::string& kind);
// Loads a model file written by save(); throws Error naming the file on bad input.
std::unique_ptr<CostModel> load_cost_model(const std::string& path);

// A model file split into its checked header line (format, version, a known kind) and the kind's
// bytes after it; throws Error naming the file on bad input.
struct ModelFile {
  Json header;
  std::string kind;
  std::string body;
};
ModelFile read_model_file(const std::string& path);
// The kinds this build knows, in table order (for --help and error messages).
std::vector<std::string> known_model_kinds();

// For save(): writes the header line {"format", "version", "kind", ...extra} and then `body`, to a
// temporary name renamed over `path`. `extra` (a JSON object) carries a kind's own header fields.
void write_model_file(const std::string& path, const std::string& kind, const std::string& body,
                      const Json& extra = Json::object());

// The two functions each kind provides; cost_model.cc lists them in its table, one line per kind.
// `kind` lets one class serve several kinds (halide / halide-retrained). A load function gets the
// parsed header line and the bytes after it, and throws Error naming `path` on bad input.
using MakeModelFn = std::unique_ptr<CostModel> (*)(const std::string& kind);
using LoadModelFn = std::unique_ptr<CostModel> (*)(const std::string& path, const Json& header,
                                                   const std::string& body);

}  // namespace tensorplan::perf
