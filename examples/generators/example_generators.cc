// Example Halide generators to tune with `tensorplan perf tune --generator-library
// build/release/examples/libexample_generators.so --generator NAME [-p key=value]`. A shared
// library that registers generators (HALIDE_REGISTER_GENERATOR) is all perf tune needs: each
// generator declares estimates on its inputs and output, which size the data it is timed on.
#include <Halide.h>

namespace {

using Halide::Buffer;
using Halide::Func;
using Halide::Generator;
using Halide::GeneratorParam;
using Halide::RDom;
using Halide::Var;

// The 3x3 box blur of Halide's apps/blur: a uint16 image, blurred horizontally then vertically.
class Blur3x3 : public Generator<Blur3x3> {
 public:
  GeneratorParam<int> width{"width", 1536};
  GeneratorParam<int> height{"height", 2560};

  Input<Buffer<uint16_t, 2>> input{"input"};
  Output<Buffer<uint16_t, 2>> blur_y{"blur_y"};

  void generate() {
    Var x("x"), y("y");
    Func blur_x("blur_x");
    blur_x(x, y) = (input(x, y) + input(x + 1, y) + input(x + 2, y)) / 3;
    blur_y(x, y) = (blur_x(x, y) + blur_x(x, y + 1) + blur_x(x, y + 2)) / 3;

    const int w = width, h = height;
    input.set_estimates({{0, w + 2}, {0, h + 2}});
    blur_y.set_estimates({{0, w}, {0, h}});
  }
};

// One layer of a small convolutional network, as in Halide's apps/conv_layer but smaller: a 3x3
// convolution of a batch of float images (channels, x, y, batch) with bias, then ReLU.
class ConvRelu : public Generator<ConvRelu> {
 public:
  GeneratorParam<int> channels_in{"channels_in", 32};
  GeneratorParam<int> channels_out{"channels_out", 32};
  GeneratorParam<int> size{"size", 64};  // output width and height
  GeneratorParam<int> batch{"batch", 1};

  Input<Buffer<float, 4>> input{"input"};    // (ci, x, y, n)
  Input<Buffer<float, 4>> filter{"filter"};  // (co, ci, 3, 3)
  Input<Buffer<float, 1>> bias{"bias"};      // (co)
  Output<Buffer<float, 4>> relu{"relu"};     // (co, x, y, n)

  void generate() {
    Var c("c"), x("x"), y("y"), n("n");
    const int ci = channels_in, co = channels_out, s = size, b = batch;
    RDom r(0, ci, 0, 3, 0, 3, "r");
    Func conv("conv");
    conv(c, x, y, n) = bias(c);
    conv(c, x, y, n) += filter(c, r.x, r.y, r.z) * input(r.x, x + r.y, y + r.z, n);
    relu(c, x, y, n) = Halide::max(0.0f, conv(c, x, y, n));

    input.set_estimates({{0, ci}, {0, s + 2}, {0, s + 2}, {0, b}});
    filter.set_estimates({{0, co}, {0, ci}, {0, 3}, {0, 3}});
    bias.set_estimates({{0, co}});
    relu.set_estimates({{0, co}, {0, s}, {0, s}, {0, b}});
  }
};

}  // namespace

HALIDE_REGISTER_GENERATOR(Blur3x3, blur3x3)
HALIDE_REGISTER_GENERATOR(ConvRelu, conv_relu)
