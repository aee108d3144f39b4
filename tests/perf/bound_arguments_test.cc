// The arguments a compiled schedule was timed on, built again in another process (aot.h).
#include <gtest/gtest.h>

#include <cstring>

#include "tensorplan/common/error.h"
#include "tensorplan/perf/halide/aot.h"
#include "tensorplan/perf/halide/sampler.h"

namespace tensorplan::perf {
namespace {

TEST(BoundArguments, RebuildsBuffersScalarsAndTheOutputInArgumentOrder) {
  // An input with a border (min -1) in an interleaved layout (c innermost), a float and an int
  // scalar, and an output that starts at (1, 1).
  const Json description = Json::parse(R"([
    {"name": "input", "kind": "buffer", "type": "uint8",
     "dims": [[-1, 6, 3], [0, 4, 18], [0, 3, 1]], "seed": 77},
    {"name": "gain", "kind": "scalar", "type": "float32", "value": 1.5},
    {"name": "taps", "kind": "scalar", "type": "int32", "value": 7},
    {"name": "output", "kind": "output", "type": "float32", "dims": [[1, 4, 1], [1, 2, 4]]}
  ])");
  BoundArguments bound(description);
  void** argv = bound.argv();

  const auto* input = static_cast<const halide_buffer_t*>(argv[0]);
  ASSERT_EQ(input->dimensions, 3);
  const int want[3][3] = {{-1, 6, 3}, {0, 4, 18}, {0, 3, 1}};
  for (int d = 0; d < 3; ++d) {
    EXPECT_EQ(input->dim[d].min, want[d][0]);
    EXPECT_EQ(input->dim[d].extent, want[d][1]);
    EXPECT_EQ(input->dim[d].stride, want[d][2]);
  }
  ASSERT_NE(input->host, nullptr);
  // The same data as the timing it was described from: fill_input_buffer with its seed.
  halide_dimension_t shape[3] = {{-1, 6, 3, 0}, {0, 4, 18, 0}, {0, 3, 1, 0}};
  Halide::Buffer<> same(Halide::UInt(8), nullptr, 3, shape);
  same.allocate();
  fill_input_buffer(same, 77);
  EXPECT_EQ(std::memcmp(input->host, same.data(), 6 * 4 * 3), 0);

  float gain = 0;
  std::memcpy(&gain, argv[1], sizeof gain);
  EXPECT_EQ(gain, 1.5f);
  std::int32_t taps = 0;
  std::memcpy(&taps, argv[2], sizeof taps);
  EXPECT_EQ(taps, 7);

  const auto* output = static_cast<const halide_buffer_t*>(argv[3]);
  ASSERT_EQ(output->dimensions, 2);
  EXPECT_EQ(output->dim[0].min, 1);
  EXPECT_EQ(output->dim[1].min, 1);
  EXPECT_EQ(output->dim[1].stride, 4);
  EXPECT_EQ(output->type.code, halide_type_float);
  EXPECT_NE(output->host, nullptr);
}

TEST(BoundArguments, RefusesWhatItCannotBuild) {
  EXPECT_THROW(BoundArguments(Json::array()), Error);
  EXPECT_THROW(BoundArguments(Json::parse(R"([{"name": "x", "kind": "image", "type": "uint8",
                                               "dims": [[0, 1, 1]]}])")),
               Error);
  EXPECT_THROW(BoundArguments(Json::parse(R"([{"name": "x", "kind": "scalar",
                                               "type": "complex64", "value": 1}])")),
               Error);
}

}  // namespace
}  // namespace tensorplan::perf
