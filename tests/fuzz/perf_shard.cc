// Fuzz target: a perf dataset shard, as `perf stats` and `perf gen --resume` read it (framing that
// resynchronises after damage, zlib, CBOR, the records' fields).
#include <cstdint>
#include <string>

#include "scratch_file.h"
#include "tensorplan/common/error.h"
#include "tensorplan/perf/dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = write_scratch_file(".tpshard", data, size);
  try {
    tensorplan::perf::read_shard(path);
  } catch (const tensorplan::Error&) {
  }
  return 0;
}
