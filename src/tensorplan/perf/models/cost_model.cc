#include "tensorplan/perf/models/cost_model.h"

#include <fstream>

#include "tensorplan/common/error.h"
#include "tensorplan/common/json.h"

namespace tensorplan::perf {

namespace {

// The kinds, in the order --help lists them. Each model's file adds its entry here.
const std::vector<std::string>& known_kinds() {
  static const std::vector<std::string> kinds = {};
  return kinds;
}

std::string kinds_list() {
  std::string out;
  for (const auto& k : known_kinds()) out += (out.empty() ? "" : ", ") + k;
  return out.empty() ? "(none built)" : out;
}

}  // namespace

std::unique_ptr<CostModel> make_cost_model(const std::string& kind) {
  fail("unknown model kind '{}' (known: {})", kind, kinds_list());
}

std::unique_ptr<CostModel> load_cost_model(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open model file", path);
  std::string line;
  std::getline(in, line);
  Json header;
  try {
    header = Json::parse(line);
  } catch (const std::exception&) {
    fail("{}: not a tensorplan model file (no JSON header line)", path);
  }
  if (!header.is_object() || header.value("format", "") != kModelFormat)
    fail("{}: not a tensorplan model file (format is not '{}')", path, kModelFormat);
  if (header.value("version", 0) != kModelVersion)
    fail("{}: model file version {} is not supported (expected {})", path,
         header.value("version", Json()).dump(), kModelVersion);
  const std::string kind = header.value("kind", "");
  fail("{}: unknown model kind '{}' (known: {})", path, kind, kinds_list());
}

}  // namespace tensorplan::perf
