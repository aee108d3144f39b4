// Fuzz target: a cost model file (.tpmodel: a JSON header line, then the model's body), loaded as
// `perf eval`, `perf predict` and `perf tune` load it.
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>

#include "tensorplan/common/error.h"
#include "tensorplan/perf/models/cost_model.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path =
      "/tmp/tensorplan-fuzz-model-" + std::to_string(::getpid()) + ".tpmodel";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    tensorplan::perf::load_cost_model(path);
  } catch (const tensorplan::Error&) {
  }
  return 0;
}
