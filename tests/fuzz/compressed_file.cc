// Fuzz target: a file read as every reader reads files (plain, or gzip with any number of
// members), then parsed as JSON: the gzip reader and the JSON parser (depth limit, NUL bytes).
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>

#include "tensorplan/common/error.h"
#include "tensorplan/common/file_io.h"
#include "tensorplan/common/json.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path =
      "/tmp/tensorplan-fuzz-compressed-" + std::to_string(::getpid()) + ".gz";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    const std::string text = tensorplan::read_file(path);
    tensorplan::parse_json(path, text);
  } catch (const tensorplan::Error&) {
  }
  return 0;
}
