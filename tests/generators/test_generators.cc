// Halide generators for the tests of perf/halide/generator_pipeline and `perf tune
// --generator-library`: built into a shared library (tensorplan_test_generators) that registers
// them when the tests dlopen it. Small on purpose: scheduling and timing them takes milliseconds.
#include <Halide.h>

#include <string>

namespace {

using Halide::Buffer;
using Halide::Func;
using Halide::Generator;
using Halide::GeneratorParam;
using Halide::Var;

// Three stages: a horizontal and a vertical 3-tap average of a 2-D float image, scaled by a scalar
// input. The output covers the interior, so its estimated region starts at 1. The estimate_*
// params leave out one estimate each, for the tests of the error messages.
class TinyBlur : public Generator<TinyBlur> {
 public:
  GeneratorParam<int> size{"size", 32};  // output width and height, at most 65536
  GeneratorParam<bool> estimate_input{"estimate_input", true};
  GeneratorParam<bool> estimate_gain{"estimate_gain", true};
  GeneratorParam<bool> estimate_output{"estimate_output", true};

  Input<Buffer<float, 2>> input{"input"};
  Input<float> gain{"gain"};
  Output<Buffer<float, 2>> output{"output"};

  void generate() {
    Var x("x"), y("y");
    Func across("across"), down("down");
    across(x, y) = (input(x - 1, y) + input(x, y) + input(x + 1, y)) / 3;
    down(x, y) = (across(x, y - 1) + across(x, y) + across(x, y + 1)) / 3;
    output(x, y) = down(x, y) * gain;

    const int n = size;
    // Refused before n + 2 can overflow an int (the fuzzer's size=2147483647 did, under UBSan).
    if (n > (1 << 16))
      throw Halide::CompileError("tiny_blur: size " + std::to_string(n) + " is above 65536");
    if (estimate_input) input.set_estimates({{0, n + 2}, {0, n + 2}});
    if (estimate_gain) gain.set_estimate(1.5f);
    if (estimate_output) output.set_estimates({{1, n}, {1, n}});
  }
};

// Two stages on a 3-D uint8 image: a horizontal difference, then its square as float.
class TinyGradient : public Generator<TinyGradient> {
 public:
  Input<Buffer<uint8_t, 3>> input{"input"};
  Output<Buffer<float, 3>> output{"output"};

  void generate() {
    Var x("x"), y("y"), c("c");
    Func dx("dx");
    dx(x, y, c) = Halide::cast<float>(input(x + 1, y, c)) - Halide::cast<float>(input(x, y, c));
    output(x, y, c) = dx(x, y, c) * dx(x, y, c);
    input.set_estimates({{0, 25}, {0, 16}, {0, 3}});
    output.set_estimates({{0, 24}, {0, 16}, {0, 3}});
  }
};

// Estimated as Halide's apps/conv_layer and apps/harris are: the output's estimate (20 x 20)
// disagrees with its bounds (24 x 16, set_bounds: wider in x, narrower in y), and the input's
// estimate covers the output's region but not the stencil's reach (x - 1, y + 2). Sized by its
// estimates it cannot run; sized by a bounds query, as Halide's RunGen sizes buffers, it does.
class TinyMisestimated : public Generator<TinyMisestimated> {
 public:
  Input<Buffer<float, 2>> input{"input"};
  Output<Buffer<float, 2>> output{"output"};

  void generate() {
    Var x("x"), y("y");
    output(x, y) = input(x - 1, y) + input(x + 1, y + 2);
    output.dim(0).set_bounds(0, 24);
    output.dim(1).set_bounds(0, 16);
    input.set_estimates({{0, 20}, {0, 16}});
    output.set_estimates({{0, 20}, {0, 20}});
  }
};

// An algorithm that depends on its input's size, as Halide's apps/iir_blur scans over
// input.height(): each output row is the sum of its input row. Sized by a bounds query that
// starts from empty inputs, the input would come out one column wide.
class TinyRowSum : public Generator<TinyRowSum> {
 public:
  Input<Buffer<float, 2>> input{"input"};
  Output<Buffer<float, 1>> output{"output"};

  void generate() {
    Var y("y");
    Halide::RDom r(0, input.width());
    output(y) = 0.0f;
    output(y) += input(r, y);
    input.set_estimates({{0, 40}, {0, 12}});
    output.set_estimates({{0, 12}});
  }
};

// A pipeline that is cheap to schedule but whose output (8 GiB of floats) cannot be allocated
// under a sample's memory cap: every schedule fails to run.
class TinyTooBig : public Generator<TinyTooBig> {
 public:
  Input<Buffer<float, 2>> input{"input"};
  Output<Buffer<float, 2>> output{"output"};

  void generate() {
    Var x("x"), y("y");
    output(x, y) = input(x % 16, y % 16) * 2;
    input.set_estimates({{0, 16}, {0, 16}});
    output.set_estimates({{0, 1 << 16}, {0, 1 << 15}});
  }
};

}  // namespace

HALIDE_REGISTER_GENERATOR(TinyBlur, tiny_blur)
HALIDE_REGISTER_GENERATOR(TinyGradient, tiny_gradient)
HALIDE_REGISTER_GENERATOR(TinyMisestimated, tiny_misestimated)
HALIDE_REGISTER_GENERATOR(TinyTooBig, tiny_too_big)
HALIDE_REGISTER_GENERATOR(TinyRowSum, tiny_row_sum)
