// Fuzz target: a cost model file (.tpmodel: a JSON header line, then the model's body), loaded as
// `perf eval`, `perf predict` and `perf tune` load it.
#include <cstdint>
#include <string>

#include "scratch_file.h"
#include "tensorplan/common/error.h"
#include "tensorplan/perf/models/cost_model.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = write_scratch_file(".tpmodel", data, size);
  try {
    tensorplan::perf::load_cost_model(path);
  } catch (const tensorplan::Error&) {
  }
  return 0;
}
