// The weights of Adams2019's cost model network, in Halide's own `.weights` format, so that a
// model file's body is a weights file the autoscheduler itself can load (HL_WEIGHTS_DIR), and the
// built-in weights can be read out of Debian's plugin.
//
// The format (all little-endian): uint32 signature 0x68776631 ("hwf1"), uint32 pipeline-features
// version, uint32 schedule-features version, uint32 buffer count (6), then per buffer: uint32
// dimension count, one uint32 extent per dimension (innermost first, as Halide lists them), and
// the float32 data in Halide's order (dimension 0 fastest).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tensorplan::perf {

// The network's sizes (Adams2019's NetworkSize.h).
inline constexpr int kHead1Channels = 8;   // algorithm embedding width
inline constexpr int kHead1Width = 40;     // pipeline features, less the 7 types-in-use flags,
inline constexpr int kHead1Height = 7;     // as 40 (op or access kind) x 7 (scalar type)
inline constexpr int kHead2Channels = 24;  // schedule embedding width
inline constexpr int kHead2Width = 39;     // schedule features
inline constexpr int kConv1Channels = 32;  // coefficients of the hand-designed cost terms

struct HalideWeights {
  std::uint32_t pipeline_features_version = 3;  // Halide 14's PipelineFeatures::version()
  std::uint32_t schedule_features_version = 3;  // Halide 14's ScheduleFeatures::version()
  // Halide buffer extents, innermost first; data in Halide's order.
  std::vector<float> head1_filter;  // (8, 40, 7): channel, feature column, scalar type
  std::vector<float> head1_bias;    // (8)
  std::vector<float> head2_filter;  // (24, 39): channel, schedule feature
  std::vector<float> head2_bias;    // (24)
  std::vector<float> conv1_filter;  // (32, 32): output channel, input channel (8 algorithm + 24)
  std::vector<float> conv1_bias;    // (32)
};

// Parses a `.weights` file's bytes; throws Error (prefixed with `what`) unless the signature, the
// buffer count and every buffer's shape are those above.
HalideWeights parse_halide_weights(const std::string& bytes, const std::string& what);
// The `.weights` bytes of `w`.
std::string serialize_halide_weights(const HalideWeights& w);

// The `.weights` bytes of a halide or halide-retrained model file (its body, checked), for
// Adams2019 itself: HL_WEIGHTS_DIR=<file>.weights makes the plugin load them. Throws Error naming
// the file for another kind or a damaged body.
std::string halide_weights_of_model_file(const std::string& model_path);

// The built-in `baseline.weights` of Debian's Adams2019 plugin (adams2019_plugin_path()). The
// plugin embeds them as a hidden (non-exported) data symbol, so dlsym cannot find them; instead the
// plugin file is scanned for the signature followed by the six expected buffer shapes. Throws
// Error if the plugin is missing or holds no such block.
HalideWeights baseline_halide_weights();
// The same, from a given shared object.
HalideWeights halide_weights_from_plugin(const std::string& plugin_path);

}  // namespace tensorplan::perf
