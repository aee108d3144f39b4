#include "tensorplan/perf/models/halide_weights.h"

#include <array>
#include <cstring>
#include <optional>

#include "tensorplan/common/error.h"
#include "tensorplan/common/file_io.h"
#include "tensorplan/perf/models/cost_model.h"

namespace tensorplan::perf {

// Defined in perf/halide/sampler.cc; declared here because sampler.h pulls in Halide.h.
std::string adams2019_plugin_path();

namespace {

constexpr std::uint32_t kSignature = 0x68776631;  // "hwf1"
constexpr std::uint32_t kBufferCount = 6;

struct BufferShape {
  const char* name;
  std::vector<std::uint32_t> extents;
  std::vector<float> HalideWeights::*field;
};

const std::array<BufferShape, kBufferCount>& buffer_shapes() {
  static const std::array<BufferShape, kBufferCount> shapes = {{
      {"head1_filter", {kHead1Channels, kHead1Width, kHead1Height}, &HalideWeights::head1_filter},
      {"head1_bias", {kHead1Channels}, &HalideWeights::head1_bias},
      {"head2_filter", {kHead2Channels, kHead2Width}, &HalideWeights::head2_filter},
      {"head2_bias", {kHead2Channels}, &HalideWeights::head2_bias},
      {"conv1_filter",
       {kConv1Channels, kHead1Channels + kHead2Channels},
       &HalideWeights::conv1_filter},
      {"conv1_bias", {kConv1Channels}, &HalideWeights::conv1_bias},
  }};
  return shapes;
}

std::size_t element_count(const BufferShape& shape) {
  std::size_t n = 1;
  for (std::uint32_t e : shape.extents) n *= e;
  return n;
}

// Reads little-endian words from a byte string (the host is little-endian x86-64).
class Reader {
 public:
  Reader(const std::string& bytes, std::size_t offset) : bytes_(bytes), offset_(offset) {}
  std::optional<std::uint32_t> word() {
    if (offset_ + 4 > bytes_.size()) return std::nullopt;
    std::uint32_t w;
    std::memcpy(&w, bytes_.data() + offset_, 4);
    offset_ += 4;
    return w;
  }
  bool floats(std::vector<float>& out, std::size_t n) {
    if (offset_ + 4 * n > bytes_.size()) return false;
    out.resize(n);
    std::memcpy(out.data(), bytes_.data() + offset_, 4 * n);
    offset_ += 4 * n;
    return true;
  }
  std::size_t offset() const { return offset_; }

 private:
  const std::string& bytes_;
  std::size_t offset_;
};

// Parses a weights block starting at `offset`; on mismatch returns the reason.
std::optional<std::string> parse_at(const std::string& bytes, std::size_t offset,
                                    HalideWeights& out, std::size_t* end = nullptr) {
  Reader r(bytes, offset);
  const auto signature = r.word();
  if (signature != kSignature) return "no 'hwf1' signature";
  const auto pipeline_version = r.word();
  const auto schedule_version = r.word();
  const auto count = r.word();
  if (!pipeline_version || !schedule_version || !count) return "truncated header";
  if (*count != kBufferCount) return fmt::format("{} buffers, expected {}", *count, kBufferCount);
  out.pipeline_features_version = *pipeline_version;
  out.schedule_features_version = *schedule_version;
  for (const BufferShape& shape : buffer_shapes()) {
    const auto dims = r.word();
    if (dims != shape.extents.size()) return fmt::format("{}: wrong dimension count", shape.name);
    for (std::uint32_t expected : shape.extents)
      if (r.word() != expected) return fmt::format("{}: wrong extent", shape.name);
    if (!r.floats(out.*shape.field, element_count(shape)))
      return fmt::format("{}: truncated data", shape.name);
  }
  if (end) *end = r.offset();
  return std::nullopt;
}

}  // namespace

HalideWeights parse_halide_weights(const std::string& bytes, const std::string& what) {
  HalideWeights w;
  std::size_t end = 0;
  if (const auto error = parse_at(bytes, 0, w, &end))
    fail("{}: not Adams2019 cost-model weights ({})", what, *error);
  if (end != bytes.size())
    fail("{}: {} unexpected bytes after the Adams2019 weights", what, bytes.size() - end);
  return w;
}

std::string serialize_halide_weights(const HalideWeights& w) {
  std::string out;
  const auto word = [&](std::uint32_t value) {
    out.append(reinterpret_cast<const char*>(&value), 4);
  };
  word(kSignature);
  word(w.pipeline_features_version);
  word(w.schedule_features_version);
  word(kBufferCount);
  for (const BufferShape& shape : buffer_shapes()) {
    const std::vector<float>& data = w.*shape.field;
    if (data.size() != element_count(shape))
      fail("Adams2019 weights: {} has {} values, expected {}", shape.name, data.size(),
           element_count(shape));
    word(static_cast<std::uint32_t>(shape.extents.size()));
    for (std::uint32_t e : shape.extents) word(e);
    out.append(reinterpret_cast<const char*>(data.data()), data.size() * sizeof(float));
  }
  return out;
}

HalideWeights halide_weights_from_plugin(const std::string& plugin_path) {
  const std::string bytes = read_file(plugin_path);
  const std::string signature(reinterpret_cast<const char*>(&kSignature), 4);
  // The signature's bytes also occur by chance in code; only a block whose six shapes all match
  // is the weights.
  for (std::size_t at = bytes.find(signature); at != std::string::npos;
       at = bytes.find(signature, at + 1)) {
    HalideWeights w;
    if (!parse_at(bytes, at, w)) return w;
  }
  fail("{}: no built-in Adams2019 weights found in the plugin", plugin_path);
}

HalideWeights baseline_halide_weights() {
  return halide_weights_from_plugin(adams2019_plugin_path());
}

std::string halide_weights_of_model_file(const std::string& model_path) {
  const ModelFile file = read_model_file(model_path);
  if (file.kind != "halide" && file.kind != "halide-retrained")
    fail("{}: a {} model has no Adams2019 weights (only halide and halide-retrained do)",
         model_path, file.kind);
  parse_halide_weights(file.body, model_path);  // checks signature and every buffer's shape
  return file.body;
}

}  // namespace tensorplan::perf
