// Fuzz target: a perf dataset shard, as `perf stats` and `perf gen --resume` read it (framing that
// resynchronises after damage, zlib, CBOR, the records' fields).
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>

#include "tensorplan/common/error.h"
#include "tensorplan/perf/dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path =
      "/tmp/tensorplan-fuzz-shard-" + std::to_string(::getpid()) + ".tpshard";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    tensorplan::perf::read_shard(path);
  } catch (const tensorplan::Error&) {
  }
  return 0;
}
