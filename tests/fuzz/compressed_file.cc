// Fuzz target: a file read as every reader reads files (plain, or gzip with any number of
// members), then parsed as JSON: the gzip reader and the JSON parser (depth limit, NUL bytes).
#include <cstdint>
#include <string>

#include "scratch_file.h"
#include "tensorplan/common/error.h"
#include "tensorplan/common/file_io.h"
#include "tensorplan/common/json.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = write_scratch_file(".gz", data, size);
  try {
    const std::string text = tensorplan::read_file(path);
    tensorplan::parse_json(path, text);
  } catch (const tensorplan::Error&) {
  }
  return 0;
}
