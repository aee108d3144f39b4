#include "tensorplan/perf/halide/random_pipeline.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>

#include "tensorplan/common/error.h"
#include "tensorplan/common/rng.h"

namespace tensorplan::perf {

using Halide::Expr;
using Halide::Func;
using Halide::RDom;
using Halide::Type;

PipelineOptions tiny_pipeline_options() {
  PipelineOptions options;
  options.min_stages = 3;
  options.max_stages = 6;
  options.min_size = 16;
  options.max_size = 32;
  options.max_channels = 4;
  options.max_work = 2'000'000;
  return options;
}

namespace {

// One tensor of the pipeline under construction: a Func over (x, y, c) defined everywhere, of
// which [0, width) x [0, height) x [0, channels) is meaningful.
struct Tensor {
  Func func;
  TensorShape shape;
  Type type;
  int uses = 0;  // how many later ops read it
};

std::int64_t points(const TensorShape& s) {
  return static_cast<std::int64_t>(s.width) * s.height * s.channels;
}

class Generator {
 public:
  Generator(std::uint64_t seed, const PipelineOptions& options) : rng_(seed), options_(options) {
    result_.seed = seed;
  }

  GeneratedPipeline run() {
    if (options_.min_stages < 1 || options_.max_stages < options_.min_stages ||
        options_.min_size < 4 || options_.max_size < options_.min_size ||
        options_.max_channels < 1) {
      fail("invalid pipeline options (stages {}..{}, size {}..{}, channels {})",
           options_.min_stages, options_.max_stages, options_.min_size, options_.max_size,
           options_.max_channels);
    }
    result_.stage_budget = rng_.uniform(options_.min_stages, options_.max_stages);
    make_inputs();
    // Leave room for the final join of unused tensors.
    while (stages_ < result_.stage_budget - 1) {
      const std::size_t before = tensors_.size();
      add_random_op();
      if (tensors_.size() == before) break;  // nothing fits the work budget any more
    }
    finish();
    return std::move(result_);
  }

 private:
  // ---- names and bookkeeping -------------------------------------------------------------

  Func new_func(const std::string& kind) {
    Func f(fmt::format("f{}_{}", func_counter_++, kind));
    result_.func_op[f.name()] = kind;
    return f;
  }
  RDom new_rdom(const Halide::Region& region) {
    return RDom(region, fmt::format("r{}", rdom_counter_++));
  }
  int add_tensor(Func f, TensorShape shape, Type type, const std::string& kind, int stages) {
    tensors_.push_back(Tensor{std::move(f), shape, type, 0});
    stages_ += stages;
    work_ += points(shape) * 4;
    result_.ops.push_back(kind);
    return static_cast<int>(tensors_.size()) - 1;
  }

  // The tensor an op reads first: usually the newest (long chains, as in real pipelines),
  // sometimes an older one (branches). Returned by value: adding tensors moves the vector.
  Tensor primary() {
    const int newest = static_cast<int>(tensors_.size()) - 1;
    int index = newest;
    if (newest > 0 && rng_.chance(0.3)) index = rng_.uniform(0, newest - 1);
    tensors_[index].uses++;
    primary_index_ = index;
    return tensors_[index];
  }
  // A second operand for joins, other than the last primary: prefer a tensor nothing reads yet.
  Tensor secondary() {
    std::vector<int> unused, all;
    for (int i = 0; i < static_cast<int>(tensors_.size()); ++i) {
      if (i == primary_index_) continue;
      all.push_back(i);
      if (tensors_[i].uses == 0) unused.push_back(i);
    }
    int index = primary_index_;
    if (!unused.empty() && rng_.chance(0.7)) {
      index = rng_.pick(unused);
    } else if (!all.empty()) {
      index = rng_.pick(all);
    }
    tensors_[index].uses++;
    return tensors_[index];
  }

  // ---- expression helpers ----------------------------------------------------------------

  static bool is_float(Type t) { return t.is_float(); }

  // Reads `t` at the point (x, y, c) of a tensor of shape `to`, scaling coordinates when the
  // shapes differ (nearest-neighbour resampling; extent-1 dimensions broadcast).
  Expr resampled(const Tensor& t, const TensorShape& to) {
    const auto map = [](Expr v, int from_extent, int to_extent) -> Expr {
      if (from_extent == to_extent) return v;
      if (from_extent == 1) return 0;
      return (v * from_extent) / to_extent;
    };
    return t.func(map(x_, t.shape.width, to.width), map(y_, t.shape.height, to.height),
                  map(c_, t.shape.channels, to.channels));
  }

  // Converts `e` of type `from` to type `to`, saturating so that every value is defined.
  static Expr convert(Expr e, Type from, Type to) {
    if (from == to) return e;
    if (to.is_float()) {
      // Integers are treated as 8-bit-like intensities.
      return Halide::cast(to, e) * Halide::cast(to, 1.0f / 255.0f);
    }
    if (from.is_float()) {
      Expr scaled = e * 64.0f;
      scaled = Halide::select(Halide::is_nan(scaled), 0.0f, scaled);
      return Halide::cast(
          to, Halide::clamp(scaled, Halide::cast(from, to.min()), Halide::cast(from, to.max())));
    }
    // int -> int: widen first, then saturate.
    Expr wide = Halide::cast(Halide::Int(32), e);
    if (from.bits() < 32 || to.bits() < 32) {
      return Halide::cast(to, Halide::clamp(wide, Halide::cast(Halide::Int(32), to.min()),
                                            Halide::cast(Halide::Int(32), to.max())));
    }
    return Halide::cast(to, wide);
  }

  // A data-dependent index in [0, extent) from a value of type `t`.
  static Expr index_from_value(Expr v, Type t, int extent) {
    // Clamp again after the cast: Halide compiles floats with fast-math, so a NaN or infinity
    // can slip through a float clamp and become INT_MIN, and a scatter (histogram) or gather
    // with that index would touch memory outside the buffer.
    Expr f = t.is_float() ? v : Halide::cast(Halide::Float(32), v) / 255.0f;
    Expr i = Halide::cast(Halide::Int(32), Halide::clamp(f, 0.0f, 1.0f) * float(extent - 1));
    return Halide::clamp(i, 0, extent - 1);
  }

  // A deterministic weight in about [-0.25, 0.25] (float) or {-1, 0, 1} (int), from integer
  // coordinates, so convolutions need no weight inputs.
  static Expr weight(const std::vector<Expr>& coords, Type accumulate, int salt) {
    Expr h = salt;
    int prime = 3;
    for (const Expr& k : coords) {
      h = h + k * prime;
      prime += 4;
    }
    h = h % 7;
    if (accumulate.is_float()) return Halide::cast(accumulate, h - 3) * (1.0f / 12.0f);
    return Halide::cast(accumulate, h % 3 - 1);
  }

  static Type accumulator_type(Type t) { return t.is_float() ? t : Halide::Int(32); }

  // ---- the ops ---------------------------------------------------------------------------

  void make_inputs() {
    const int count = rng_.chance(0.35) ? 2 : 1;
    const std::vector<int> channel_choices = {1, 3, 4, 8, 16};
    for (int i = 0; i < count; ++i) {
      TensorShape shape;
      shape.width = rng_.uniform(options_.min_size, options_.max_size);
      shape.height = rng_.uniform(options_.min_size, options_.max_size);
      shape.channels = std::min(options_.max_channels, rng_.pick(channel_choices));
      const std::vector<Type> types = {Halide::Float(32), Halide::Float(32), Halide::UInt(8),
                                       Halide::Int(16)};
      const Type type = rng_.pick(types);
      Halide::ImageParam input(type, 3, fmt::format("input{}", i));
      input.dim(0).set_estimate(0, shape.width);
      input.dim(1).set_estimate(0, shape.height);
      input.dim(2).set_estimate(0, shape.channels);
      result_.inputs.push_back(input);
      result_.input_shapes.push_back(shape);
      // Every read of an input goes through a clamp, so no stencil reads outside the buffer.
      // The name starts with "repeat_edge" like Halide's own boundary condition, which
      // Adams2019 recognises and always inlines.
      Func edge(fmt::format("repeat_edge_input{}", i));
      result_.func_op[edge.name()] = "repeat_edge";
      edge(x_, y_, c_) =
          input(Halide::clamp(x_, 0, shape.width - 1), Halide::clamp(y_, 0, shape.height - 1),
                Halide::clamp(c_, 0, shape.channels - 1));
      add_tensor(edge, shape, type, "repeat_edge", 1);
      tensors_.back().uses = 0;
    }
  }

  void add_random_op() {
    struct Choice {
      const char* name;
      int weight;
      std::function<bool()> op;  // false when it does not fit (budget, shape)
    };
    const std::vector<Choice> choices = {
        {"pointwise", 14, [this] { return op_pointwise(); }},
        {"cast", 5, [this] { return op_cast(); }},
        {"binary", 10, [this] { return op_binary(); }},
        {"conv1d", 8, [this] { return op_conv1d(); }},
        {"conv2d", 7, [this] { return op_conv2d(); }},
        {"pool", 6, [this] { return op_pool(); }},
        {"pad", 4, [this] { return op_pad(); }},
        {"upsample", 4, [this] { return op_upsample(); }},
        {"downsample", 4, [this] { return op_downsample(); }},
        {"channel_mix", 6, [this] { return op_channel_mix(); }},
        {"scan", 4, [this] { return op_scan(); }},
        {"histogram", 3, [this] { return op_histogram(); }},
        {"reduce", 4, [this] { return op_reduce(); }},
        {"gather", 4, [this] { return op_gather(); }},
        {"transpose", 3, [this] { return op_transpose(); }},
    };
    int total = 0;
    for (const auto& choice : choices) total += choice.weight;
    for (int attempt = 0; attempt < 20; ++attempt) {
      int draw = rng_.uniform(0, total - 1);
      for (const auto& choice : choices) {
        if (draw < choice.weight) {
          // An op that does not fit must not leave marks: restore the use counts.
          std::vector<int> saved_uses;
          for (const auto& t : tensors_) saved_uses.push_back(t.uses);
          if (choice.op()) return;
          for (std::size_t i = 0; i < saved_uses.size(); ++i) tensors_[i].uses = saved_uses[i];
          break;
        }
        draw -= choice.weight;
      }
    }
  }

  bool fits(std::int64_t more_work) const { return work_ + more_work <= options_.max_work; }
  bool stages_left(int needed) const { return stages_ + needed <= result_.stage_budget; }

  Expr float_activation(Expr v) {
    switch (rng_.uniform(0, 7)) {
      case 0:
        return Halide::max(v, 0.0f);
      case 1:
        return v / (1.0f + Halide::abs(v));
      case 2:
        return 1.0f / (1.0f + Halide::exp(-Halide::abs(v)));
      case 3:
        return Halide::sqrt(Halide::abs(v) + 0.5f);
      case 4:
        return Halide::log(1.0f + Halide::abs(v));
      case 5:
        return v * 0.75f + 0.125f;
      case 6:
        return Halide::sin(v);
      default:
        return Halide::select(v > 0.5f, v - 0.5f, v * v);
    }
  }
  Expr int_activation(Expr v, Type t) {
    switch (rng_.uniform(0, 4)) {
      case 0:
        return Halide::max(v, Halide::cast(t, 0));
      case 1:
        return Halide::cast(t, Halide::abs(v) / 2);
      case 2:
        return v / Halide::cast(t, 2) + Halide::cast(t, 1);
      case 3:
        return v ^ Halide::cast(t, 5);
      default:
        return Halide::min(v, Halide::cast(t, 100));
    }
  }

  bool op_pointwise() {
    const Tensor in = primary();
    const TensorShape shape = in.shape;
    if (!fits(points(shape) * 8) || !stages_left(1)) return false;
    Func f = new_func("pointwise");
    Expr v = in.func(x_, y_, c_);
    const int depth = rng_.uniform(1, 3);
    for (int i = 0; i < depth; ++i)
      v = is_float(in.type) ? float_activation(v) : int_activation(v, in.type);
    f(x_, y_, c_) = v;
    add_tensor(f, shape, in.type, "pointwise", 1);
    return true;
  }

  bool op_cast() {
    const Tensor in = primary();
    if (!fits(points(in.shape) * 4) || !stages_left(1)) return false;
    const std::vector<Type> types = {Halide::Float(32), Halide::Int(32), Halide::Int(16),
                                     Halide::UInt(8)};
    Type to = rng_.pick(types);
    if (to == in.type) to = in.type.is_float() ? Halide::Int(16) : Halide::Float(32);
    Func f = new_func("cast");
    f(x_, y_, c_) = convert(in.func(x_, y_, c_), in.type, to);
    const TensorShape shape = in.shape;
    add_tensor(f, shape, to, "cast", 1);
    return true;
  }

  bool op_binary() {
    if (tensors_.size() < 2) return false;
    const Tensor a = primary();
    const Tensor b = secondary();
    if (!fits(points(a.shape) * 6) || !stages_left(1)) return false;
    Func f = new_func("binary");
    Expr va = a.func(x_, y_, c_);
    Expr vb = convert(resampled(b, a.shape), b.type, a.type);
    Expr v;
    switch (rng_.uniform(0, 5)) {
      case 0:
        v = va + vb;
        break;
      case 1:
        v = va - vb;
        break;
      case 2:
        v = Halide::max(va, vb);
        break;
      case 3:
        v = Halide::min(va, vb);
        break;
      case 4:
        v = a.type.is_float() ? va * vb
                              : (va / Halide::cast(a.type, 2)) + (vb / Halide::cast(a.type, 2));
        break;
      default:
        v = Halide::select(va > vb, va, vb - va);
        break;
    }
    f(x_, y_, c_) = v;
    const TensorShape shape = a.shape;
    add_tensor(f, shape, a.type, "binary", 1);
    return true;
  }

  bool op_conv1d() {
    const Tensor in = primary();
    const int taps = rng_.pick(std::vector<int>{3, 5, 7});
    const bool along_x = rng_.chance(0.5);
    const bool with_rdom = rng_.chance(0.5);
    if (!fits(points(in.shape) * taps * 2) || !stages_left(with_rdom ? 2 : 1)) return false;
    const Type acc = accumulator_type(in.type);
    Func f = new_func("conv1d");
    const auto tap = [&](Expr k) -> Expr {
      Expr src = along_x ? in.func(x_ + k - taps / 2, y_, c_) : in.func(x_, y_ + k - taps / 2, c_);
      return Halide::cast(acc, src) * weight({k}, acc, taps);
    };
    if (with_rdom) {
      RDom r = new_rdom({{0, taps}});
      f(x_, y_, c_) = Halide::cast(acc, 0);
      f(x_, y_, c_) += tap(r.x);
    } else {
      Expr sum = tap(0);
      for (int k = 1; k < taps; ++k) sum = sum + tap(k);
      f(x_, y_, c_) = sum;
    }
    const TensorShape shape = in.shape;
    add_tensor(f, shape, acc, "conv1d", with_rdom ? 2 : 1);
    return true;
  }

  bool op_conv2d() {
    const Tensor in = primary();
    const int k = rng_.pick(std::vector<int>{3, 3, 5});
    const bool depthwise = rng_.chance(0.4);
    TensorShape shape = in.shape;
    if (!depthwise)
      shape.channels = std::min(options_.max_channels, rng_.pick(std::vector<int>{4, 8, 16}));
    const std::int64_t macs = points(shape) * k * k * (depthwise ? 1 : in.shape.channels);
    if (!fits(macs * 2) || !stages_left(2)) return false;
    const Type acc = accumulator_type(in.type);
    Func f = new_func(depthwise ? "conv2d_depthwise" : "conv2d");
    f(x_, y_, c_) = Halide::cast(acc, 0);
    if (depthwise) {
      RDom r = new_rdom({{0, k}, {0, k}});
      f(x_, y_, c_) += Halide::cast(acc, in.func(x_ + r.x - k / 2, y_ + r.y - k / 2, c_)) *
                       weight({r.x, r.y, c_}, acc, 1);
    } else {
      RDom r = new_rdom({{0, k}, {0, k}, {0, in.shape.channels}});
      f(x_, y_, c_) += Halide::cast(acc, in.func(x_ + r.x - k / 2, y_ + r.y - k / 2, r.z)) *
                       weight({r.x, r.y, r.z, c_}, acc, 2);
    }
    add_tensor(f, shape, acc, depthwise ? "conv2d_depthwise" : "conv2d", 2);
    return true;
  }

  bool op_pool() {
    const Tensor in = primary();
    const bool strided = rng_.chance(0.5) && in.shape.width >= 8 && in.shape.height >= 8;
    const int window = strided ? rng_.uniform(2, 3) : 3;
    const int stride = strided ? 2 : 1;
    const bool is_max = rng_.chance(0.6);
    const bool with_rdom = rng_.chance(0.5);
    TensorShape shape = in.shape;
    shape.width = (shape.width + stride - 1) / stride;
    shape.height = (shape.height + stride - 1) / stride;
    if (!fits(points(shape) * window * window * 2) || !stages_left(with_rdom ? 2 : 1)) return false;
    const Type acc = is_max ? in.type : accumulator_type(in.type);
    Func f = new_func(is_max ? "max_pool" : "avg_pool");
    const int offset = stride == 1 ? -1 : 0;
    const auto at = [&](Expr dx, Expr dy) {
      return Halide::cast(acc, in.func(x_ * stride + dx + offset, y_ * stride + dy + offset, c_));
    };
    if (with_rdom) {
      RDom r = new_rdom({{0, window}, {0, window}});
      f(x_, y_, c_) = is_max ? acc.min() : Halide::cast(acc, 0);
      f(x_, y_, c_) =
          is_max ? Halide::max(f(x_, y_, c_), at(r.x, r.y)) : f(x_, y_, c_) + at(r.x, r.y);
    } else {
      Expr v;
      for (int dy = 0; dy < window; ++dy) {
        for (int dx = 0; dx < window; ++dx) {
          Expr e = at(dx, dy);
          v = !v.defined() ? e : (is_max ? Halide::max(v, e) : v + e);
        }
      }
      f(x_, y_, c_) = v;
    }
    add_tensor(f, shape, acc, is_max ? "max_pool" : "avg_pool", with_rdom ? 2 : 1);
    return true;
  }

  bool op_pad() {
    const Tensor in = primary();
    if (!fits(points(in.shape) * 4) || !stages_left(1)) return false;
    const TensorShape s = in.shape;
    Func f = new_func("pad");
    Expr inside = x_ >= 0 && x_ < s.width && y_ >= 0 && y_ < s.height;
    switch (rng_.uniform(0, 2)) {
      case 0:  // constant exterior
        f(x_, y_, c_) = Halide::select(inside, in.func(x_, y_, c_), Halide::cast(in.type, 0));
        break;
      case 1:  // repeat edge
        f(x_, y_, c_) =
            in.func(Halide::clamp(x_, 0, s.width - 1), Halide::clamp(y_, 0, s.height - 1), c_);
        break;
      default: {  // mirror
        const auto mirror = [](Expr v, int n) {
          Expr m = Halide::select(v < 0, -v - 1, Halide::select(v >= n, 2 * n - 1 - v, v));
          return Halide::clamp(m, 0, n - 1);
        };
        f(x_, y_, c_) = in.func(mirror(x_, s.width), mirror(y_, s.height), c_);
      }
    }
    add_tensor(f, s, in.type, "pad", 1);
    return true;
  }

  bool op_upsample() {
    const Tensor in = primary();
    TensorShape shape = in.shape;
    const bool along_x = rng_.chance(0.7), along_y = !along_x || rng_.chance(0.7);
    if (along_x) shape.width *= 2;
    if (along_y) shape.height *= 2;
    if (shape.width > 2 * options_.max_size || shape.height > 2 * options_.max_size) return false;
    if (!fits(points(shape) * 4) || !stages_left(1)) return false;
    Func f = new_func("upsample");
    Expr sx = along_x ? x_ / 2 : x_, sy = along_y ? y_ / 2 : y_;
    if (rng_.chance(0.5) || !in.type.is_float()) {
      f(x_, y_, c_) = in.func(sx, sy, c_);  // nearest
    } else {
      Expr nx = along_x ? (x_ + 1) / 2 : x_, ny = along_y ? (y_ + 1) / 2 : y_;
      f(x_, y_, c_) = (in.func(sx, sy, c_) + in.func(nx, ny, c_)) * 0.5f;  // linear
    }
    add_tensor(f, shape, in.type, "upsample", 1);
    return true;
  }

  bool op_downsample() {
    const Tensor in = primary();
    if (in.shape.width < 8 || in.shape.height < 8) return false;
    TensorShape shape = in.shape;
    shape.width = (shape.width + 1) / 2;
    shape.height = (shape.height + 1) / 2;
    if (!fits(points(shape) * 6) || !stages_left(1)) return false;
    Func f = new_func("downsample");
    if (rng_.chance(0.5)) {
      f(x_, y_, c_) = in.func(2 * x_, 2 * y_, c_);
    } else {
      const Type acc = accumulator_type(in.type);
      Expr sum = Halide::cast(acc, in.func(2 * x_ - 1, 2 * y_, c_)) +
                 Halide::cast(acc, in.func(2 * x_, 2 * y_, c_)) * 2 +
                 Halide::cast(acc, in.func(2 * x_ + 1, 2 * y_, c_));
      f(x_, y_, c_) = convert(sum / Halide::cast(acc, 4), acc, in.type);
    }
    add_tensor(f, shape, in.type, "downsample", 1);
    return true;
  }

  bool op_channel_mix() {  // all-to-all over channels: a 1x1 convolution, matrix-multiply-like
    const Tensor in = primary();
    TensorShape shape = in.shape;
    shape.channels = std::min(options_.max_channels, rng_.pick(std::vector<int>{1, 4, 8, 16}));
    if (!fits(points(shape) * in.shape.channels * 2) || !stages_left(2)) return false;
    const Type acc = accumulator_type(in.type);
    Func f = new_func("channel_mix");
    RDom r = new_rdom({{0, in.shape.channels}});
    f(x_, y_, c_) = Halide::cast(acc, 0);
    f(x_, y_, c_) += Halide::cast(acc, in.func(x_, y_, r.x)) * weight({r.x, c_}, acc, 5);
    add_tensor(f, shape, acc, "channel_mix", 2);
    return true;
  }

  bool op_scan() {  // a recursive filter along x or y: each point depends on its predecessor
    const Tensor in = primary();
    const bool along_x = rng_.chance(0.5);
    const int extent = along_x ? in.shape.width : in.shape.height;
    if (extent < 2 || !fits(points(in.shape) * 4) || !stages_left(2)) return false;
    Func f = new_func("scan");
    RDom r = new_rdom({{1, extent - 1}});
    f(x_, y_, c_) = in.func(x_, y_, c_);
    if (along_x) {
      f(r.x, y_, c_) = in.type.is_float()
                           ? f(r.x - 1, y_, c_) * 0.5f + f(r.x, y_, c_) * 0.5f
                           : (f(r.x - 1, y_, c_) + f(r.x, y_, c_)) / Halide::cast(in.type, 2);
    } else {
      f(x_, r.x, c_) = in.type.is_float()
                           ? f(x_, r.x - 1, c_) * 0.5f + f(x_, r.x, c_) * 0.5f
                           : (f(x_, r.x - 1, c_) + f(x_, r.x, c_)) / Halide::cast(in.type, 2);
    }
    const TensorShape shape = in.shape;
    add_tensor(f, shape, in.type, "scan", 2);
    return true;
  }

  bool op_histogram() {  // histogram per channel, then a data-dependent lookup (equalisation)
    const Tensor in = primary();
    const int bins = rng_.pick(std::vector<int>{16, 32, 64});
    if (!fits(points(in.shape) * 6) || !stages_left(3)) return false;
    Func hist = new_func("histogram");
    RDom r = new_rdom({{0, in.shape.width}, {0, in.shape.height}});
    hist(x_, y_, c_) = 0;
    hist(index_from_value(in.func(r.x, r.y, c_), in.type, bins), 0, c_) += 1;
    add_tensor(hist, TensorShape{bins, 1, in.shape.channels}, Halide::Int(32), "histogram", 2);
    tensors_.back().uses++;
    const Tensor h = tensors_.back();
    Func lookup = new_func("lookup");
    const float norm = 1.0f / static_cast<float>(in.shape.width * in.shape.height);
    lookup(x_, y_, c_) =
        Halide::cast(Halide::Float(32),
                     h.func(index_from_value(in.func(x_, y_, c_), in.type, bins), 0, c_)) *
        norm;
    const TensorShape shape = in.shape;
    add_tensor(lookup, shape, Halide::Float(32), "lookup", 1);
    return true;
  }

  bool op_reduce() {  // sum or max over channels (or rows), optionally normalising by it
    const Tensor in = primary();
    const bool over_channels = in.shape.channels > 1 && rng_.chance(0.7);
    const bool is_max = rng_.chance(0.4);
    const bool normalise = rng_.chance(0.5);
    if (!fits(points(in.shape) * (normalise ? 6 : 3)) || !stages_left(normalise ? 3 : 2))
      return false;
    const Type acc = is_max ? in.type : accumulator_type(in.type);
    Func f = new_func(is_max ? "reduce_max" : "reduce_sum");
    TensorShape shape = in.shape;
    f(x_, y_, c_) = is_max ? acc.min() : Halide::cast(acc, 0);
    if (over_channels) {
      RDom r = new_rdom({{0, in.shape.channels}});
      Expr v = Halide::cast(acc, in.func(x_, y_, r.x));
      f(x_, y_, c_) = is_max ? Halide::max(f(x_, y_, c_), v) : f(x_, y_, c_) + v;
      shape.channels = 1;
    } else {
      RDom r = new_rdom({{0, in.shape.width}});
      Expr v = Halide::cast(acc, in.func(r.x, y_, c_));
      f(x_, y_, c_) = is_max ? Halide::max(f(x_, y_, c_), v) : f(x_, y_, c_) + v;
      shape.width = 1;
    }
    const std::string kind = is_max ? "reduce_max" : "reduce_sum";
    add_tensor(f, shape, acc, kind, 2);
    if (normalise) {
      const Tensor& source = in;
      tensors_.back().uses++;
      const Tensor red = tensors_.back();
      Func g = new_func("normalise");
      Expr num = convert(source.func(x_, y_, c_), source.type, Halide::Float(32));
      Expr den = convert(resampled(red, source.shape), red.type, Halide::Float(32));
      g(x_, y_, c_) = num / (Halide::abs(den) + 1.0f);
      const TensorShape s = source.shape;
      add_tensor(g, s, Halide::Float(32), "normalise", 1);
    }
    return true;
  }

  bool op_gather() {  // data-dependent lookup: one tensor's values index another
    if (tensors_.size() < 2) return false;
    const Tensor idx = primary();
    const Tensor table = secondary();
    if (!fits(points(idx.shape) * 6) || !stages_left(1)) return false;
    Func f = new_func("gather");
    const TensorShape out = idx.shape;
    Expr gx = index_from_value(idx.func(x_, y_, c_), idx.type, table.shape.width);
    Expr gy = table.shape.height == out.height ? Expr(y_) : (y_ * table.shape.height) / out.height;
    Expr gc = table.shape.channels == out.channels ? Expr(c_)
                                                   : (c_ * table.shape.channels) / out.channels;
    f(x_, y_, c_) = table.func(gx, gy, gc);
    add_tensor(f, out, table.type, "gather", 1);
    return true;
  }

  bool op_transpose() {
    const Tensor in = primary();
    if (!fits(points(in.shape) * 2) || !stages_left(1)) return false;
    Func f = new_func("transpose");
    TensorShape shape = in.shape;
    if (rng_.chance(0.6)) {
      f(x_, y_, c_) = in.func(y_, x_, c_);
      std::swap(shape.width, shape.height);
    } else {
      f(x_, y_, c_) = in.func(x_, y_, shape.channels - 1 - c_);  // reverse the channels
    }
    add_tensor(f, shape, in.type, "transpose", 1);
    return true;
  }

  // The output is the newest tensor joined with every tensor nothing reads yet, so every stage
  // generated contributes to the output.
  void finish() {
    const int newest = static_cast<int>(tensors_.size()) - 1;
    std::vector<int> unused;
    for (int i = 0; i < newest; ++i) {
      if (tensors_[i].uses == 0) unused.push_back(i);
    }
    const Tensor last = tensors_[newest];
    if (unused.empty() && newest >= static_cast<int>(result_.inputs.size())) {
      result_.output = last.func;
      result_.output_shape = last.shape;
      result_.output_type = last.type;
    } else {
      Func f = new_func("output");
      const Type type = Halide::Float(32);
      Expr v = convert(last.func(x_, y_, c_), last.type, type);
      for (int i : unused)
        v = v + convert(resampled(tensors_[i], last.shape), tensors_[i].type, type);
      f(x_, y_, c_) = v;
      result_.ops.push_back("output");
      stages_ += 1;
      result_.output = f;
      result_.output_shape = last.shape;
      result_.output_type = type;
    }
    result_.output.set_estimates({{0, result_.output_shape.width},
                                  {0, result_.output_shape.height},
                                  {0, result_.output_shape.channels}});
  }

  Rng rng_;
  const PipelineOptions& options_;
  GeneratedPipeline result_;
  std::vector<Tensor> tensors_;
  int stages_ = 0;
  std::int64_t work_ = 0;
  int func_counter_ = 0;
  int rdom_counter_ = 0;
  int primary_index_ = -1;
  Halide::Var x_{"x"}, y_{"y"}, c_{"c"};
};

}  // namespace

GeneratedPipeline generate_pipeline(std::uint64_t seed, const PipelineOptions& options) {
  return Generator(seed, options).run();
}

}  // namespace tensorplan::perf
