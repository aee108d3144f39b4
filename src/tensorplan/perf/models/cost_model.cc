#include "tensorplan/perf/models/cost_model.h"

#include "tensorplan/common/error.h"
#include "tensorplan/common/file_io.h"
#include "tensorplan/common/json.h"
#include "tensorplan/common/text.h"
#include "tensorplan/perf/halide/featurizer.h"

namespace tensorplan::perf {

// Each kind's factory functions, defined in the model's own file (gcn.cc, halide_model.cc,
// xgboost_model.cc). Declared here so that adding a kind is one line in the table below.
std::unique_ptr<CostModel> make_gcn_model(const std::string& kind);
std::unique_ptr<CostModel> load_gcn_model(const std::string& path, const Json& header,
                                          const std::string& body);
std::unique_ptr<CostModel> make_halide_model(const std::string& kind);
std::unique_ptr<CostModel> load_halide_model(const std::string& path, const Json& header,
                                             const std::string& body);
std::unique_ptr<CostModel> make_xgboost_model(const std::string& kind);
std::unique_ptr<CostModel> load_xgboost_model(const std::string& path, const Json& header,
                                              const std::string& body);

namespace {

struct ModelKind {
  const char* name;
  MakeModelFn make;
  LoadModelFn load;
};

// One line per kind, in the order --help lists them. The blank lines keep concurrent additions
// from touching each other's lines (no merge conflicts).
const std::vector<ModelKind>& kinds() {
  static const std::vector<ModelKind> table = {
      {"gcn", make_gcn_model, load_gcn_model},

      {"halide", make_halide_model, load_halide_model},

      {"halide-retrained", make_halide_model, load_halide_model},

      {"xgboost", make_xgboost_model, load_xgboost_model},

      {"xgboost-rank", make_xgboost_model, load_xgboost_model},
  };
  return table;
}

const ModelKind* find_kind(const std::string& name) {
  for (const ModelKind& k : kinds())
    if (name == k.name) return &k;
  return nullptr;
}

std::string kinds_list() {
  std::string out;
  for (const ModelKind& k : kinds()) out += (out.empty() ? "" : ", ") + std::string(k.name);
  return out.empty() ? "(none built)" : out;
}

}  // namespace

std::vector<CostQuery> schedule_queries(const PipelineSamples& p) {
  std::vector<CostQuery> queries;
  for (const ScheduleSample& s : p.schedules) queries.push_back({&p, &s.schedule_features});
  return queries;
}

void check_query(const std::string& kind, const CostQuery& q) {
  if (!q.pipeline || !q.schedule_features ||
      q.schedule_features->size() !=
          static_cast<std::size_t>(q.pipeline->stages()) * kScheduleFeatureCount ||
      q.pipeline->pipeline_features.size() !=
          static_cast<std::size_t>(q.pipeline->stages()) * kPipelineFeatureCount)
    fail("{}: query features do not match the pipeline's {} stages", kind,
         q.pipeline ? q.pipeline->stages() : 0);
}

std::vector<std::string> known_model_kinds() {
  std::vector<std::string> names;
  for (const ModelKind& k : kinds()) names.emplace_back(k.name);
  return names;
}

std::unique_ptr<CostModel> make_cost_model(const std::string& kind) {
  const ModelKind* k = find_kind(kind);
  if (!k) fail("unknown model kind '{}' (known: {})", kind, kinds_list());
  return k->make(kind);
}

ModelFile read_model_file(const std::string& path) {
  const std::string contents = read_file(path);
  const size_t newline = contents.find('\n');
  if (newline == std::string::npos)
    fail("{}: not a tensorplan model file (no JSON header line)", path);
  Json header;
  try {
    // The project's parser: depth limit, NUL bytes, duplicate keys refused like everywhere else.
    header = parse_json(path, contents.substr(0, newline));
  } catch (const Error&) {
    fail("{}: not a tensorplan model file (no JSON header line)", path);
  }
  if (!header.is_object() || !header.contains("format") || header["format"] != kModelFormat)
    fail("{}: not a tensorplan model file (format is not '{}')", path, kModelFormat);
  if (!header.contains("version") || header["version"] != kModelVersion)
    fail("{}: model file version {} is not supported (expected {})", path,
         header.value("version", Json()).dump().substr(0, 80), kModelVersion);
  if (!header.contains("kind") || !header["kind"].is_string())
    fail("{}: model file header has no \"kind\"", path);
  const std::string kind = header["kind"].get<std::string>();
  if (!find_kind(kind))
    fail("{}: unknown model kind {} (known: {})", path, quote_input(kind), kinds_list());
  return {header, kind, contents.substr(newline + 1)};
}

std::unique_ptr<CostModel> load_cost_model(const std::string& path) {
  const ModelFile file = read_model_file(path);
  return find_kind(file.kind)->load(path, file.header, file.body);
}

void write_model_file(const std::string& path, const std::string& kind, const std::string& body,
                      const Json& extra) {
  Json header = {{"format", kModelFormat}, {"version", kModelVersion}, {"kind", kind}};
  if (extra.is_object())
    for (const auto& [key, value] : extra.items()) header[key] = value;
  write_file_atomic(path, header.dump() + "\n" + body);
}

}  // namespace tensorplan::perf
