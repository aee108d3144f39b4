// Fuzz target: a generator and its params as `perf tune --generator NAME -p key=value ...` takes
// them from the command line. The input's first line names one of the test generators
// (tests/generators; any other line picks one by its first byte), each further line is one -p
// argument (a newline at the very end ends the last line); the params are parsed and the generator
// is created and built as perf tune builds it (no code is compiled).
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "tensorplan/common/error.h"
#include "tensorplan/perf/halide/generator_pipeline.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::vector<std::string> names =
      tensorplan::perf::load_generator_library(TENSORPLAN_TEST_GENERATORS);
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> lines;
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  if (lines.empty()) lines.emplace_back();
  tensorplan::perf::GeneratorSpec spec;
  spec.library = TENSORPLAN_TEST_GENERATORS;
  spec.name = lines[0];
  if (!spec.name.empty() && !std::binary_search(names.begin(), names.end(), spec.name))
    spec.name = names[static_cast<unsigned char>(spec.name[0]) % names.size()];
  try {
    spec.params = tensorplan::perf::parse_generator_params({lines.begin() + 1, lines.end()});
    tensorplan::perf::build_generator_pipeline(spec, Halide::get_host_target());
  } catch (const tensorplan::Error&) {
  }
  return 0;
}
