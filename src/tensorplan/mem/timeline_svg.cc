#include "tensorplan/mem/timeline_svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "tensorplan/common/progress.h"
#include "tensorplan/common/text.h"
#include "tensorplan/mem/simulate.h"

namespace tensorplan::mem {

namespace {

constexpr double kWidth = 1200, kHeight = 640;                       // plot area, px
constexpr double kLeft = 90, kTop = 60, kRight = 190, kBottom = 50;  // margins, px
constexpr std::size_t kMaxRects = 20000;                             // keeps the file loadable

// Tableau-like colours, one per TensorKind (in enum order).
constexpr std::array<const char*, 6> kColours = {"#4e79a7", "#59a14f", "#76b7b2",
                                                 "#f28e2b", "#e15759", "#bab0ac"};

// Text from the graph as XML character data: characters XML forbids (control characters, bytes that
// are not UTF-8) replaced first, then the markup characters escaped.
std::string escape(const std::string& text) { return escape_markup(xml_safe(text)); }

// A "nice" tick step (1, 2 or 5 times a power of ten) for `range`.
double tick_step(double range, int target_ticks) {
  const double raw = range / std::max(1, target_ticks);
  const double power = std::pow(10.0, std::floor(std::log10(std::max(raw, 1e-12))));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * power >= raw) return m * power;
  return 10 * power;
}

}  // namespace

std::string timeline_svg(const Graph& graph, const Plan& plan) {
  const auto lives = lifetimes(graph, plan.order);
  const Simulation sim = simulate(graph, plan.order);
  const double steps = std::max<double>(1, static_cast<double>(plan.order.size()));
  const double top =
      std::max<double>(1, static_cast<double>(std::max(plan.arena_bytes, sim.max_live)));
  auto x_of = [&](double step) { return kLeft + step / steps * kWidth; };
  auto y_of = [&](double address) { return kTop + kHeight - address / top * kHeight; };

  std::vector<int> drawn;
  for (int t = 0; t < graph.num_tensors(); ++t)
    if (graph.tensors[t].size > 0 && plan.offsets[t] >= 0) drawn.push_back(t);
  const std::size_t total = drawn.size();
  if (drawn.size() > kMaxRects) {
    auto area = [&](int t) {
      return static_cast<double>(graph.tensors[t].size) * (lives[t].end - lives[t].start + 1);
    };
    std::nth_element(drawn.begin(), drawn.begin() + kMaxRects, drawn.end(),
                     [&](int a, int b) { return area(a) > area(b); });
    drawn.resize(kMaxRects);
  }

  const double full_width = kLeft + kWidth + kRight, full_height = kTop + kHeight + kBottom;
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} "
      "{1}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      full_width, full_height);
  svg += fmt::format(
      "<text x=\"{}\" y=\"24\" font-size=\"16\" font-weight=\"bold\">{}</text>\n"
      "<text x=\"{}\" y=\"44\">{} steps, {} tensors · arena {} · max-live {} at step {}{}</text>\n",
      kLeft, escape(graph.name.empty() ? "memory plan" : graph.name), kLeft, plan.order.size(),
      total, format_bytes(plan.arena_bytes), format_bytes(sim.max_live), sim.peak_step,
      drawn.size() < total ? fmt::format(" · {} smallest tensors not drawn", total - drawn.size())
                           : std::string());

  // Tensors.
  svg += "<g stroke=\"#333\" stroke-width=\"0.3\">\n";
  for (int t : drawn) {
    const Tensor& tensor = graph.tensors[t];
    const double x0 = x_of(lives[t].start), x1 = x_of(lives[t].end + 1);
    const double y1 = y_of(static_cast<double>(plan.offsets[t]));
    const double y0 = y_of(static_cast<double>(plan.offsets[t] + tensor.size));
    svg += fmt::format(
        "<rect x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" fill=\"{}\">"
        "<title>{} ({}): {} at offset {}, steps {}-{}</title></rect>\n",
        x0, y0, std::max(0.2, x1 - x0), std::max(0.2, y1 - y0),
        kColours[static_cast<int>(tensor.kind)], escape(tensor.name), to_string(tensor.kind),
        format_bytes(tensor.size), plan.offsets[t], lives[t].start, lives[t].end);
  }
  svg += "</g>\n";

  // Axes and ticks (addresses in the unit that suits the arena).
  svg += fmt::format(
      "<g stroke=\"black\"><line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\"/>"
      "<line x1=\"{0}\" y1=\"{2}\" x2=\"{3}\" y2=\"{2}\"/></g>\n",
      kLeft, kTop, kTop + kHeight, kLeft + kWidth);
  // Address ticks at round numbers of the binary unit (KiB, MiB, GiB) that suits the arena.
  double unit = 1;
  while (unit * 1024 <= top) unit *= 1024;
  const double y_step = tick_step(top / unit, 8) * unit;
  for (double a = 0; a <= top + 0.5; a += y_step)
    svg += fmt::format(
        "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"black\"/>"
        "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n",
        kLeft - 5, y_of(a), kLeft, y_of(a), kLeft - 8, y_of(a) + 4,
        format_bytes(static_cast<std::int64_t>(a)));
  const double x_step = std::max(1.0, tick_step(steps, 10));
  for (double s = 0; s <= steps + 0.5; s += x_step)
    svg += fmt::format(
        "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"black\"/>"
        "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n",
        x_of(s), kTop + kHeight, x_of(s), kTop + kHeight + 5, x_of(s), kTop + kHeight + 20, s);
  svg += fmt::format(
      "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">step (operator in the planned "
      "order)</text>\n"
      "<text transform=\"translate(18 {:.1f}) rotate(-90)\" "
      "text-anchor=\"middle\">address</text>\n",
      kLeft + kWidth / 2, kTop + kHeight + 42, kTop + kHeight / 2);

  // The arena top, max-live level and the peak step.
  svg += fmt::format(
      "<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" stroke=\"black\" "
      "stroke-dasharray=\"6 3\"/>"
      "<text x=\"{3}\" y=\"{4:.1f}\">arena {5}</text>\n",
      kLeft, y_of(static_cast<double>(plan.arena_bytes)), kLeft + kWidth, kLeft + kWidth + 6,
      y_of(static_cast<double>(plan.arena_bytes)) + 4, format_bytes(plan.arena_bytes));
  const double peak_x = x_of(sim.peak_step + 0.5);
  svg += fmt::format(
      "<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#b00\" "
      "stroke-width=\"1.5\" "
      "stroke-dasharray=\"4 3\"/><text x=\"{0:.1f}\" y=\"{3}\" fill=\"#b00\" "
      "text-anchor=\"middle\">"
      "peak {4}</text>\n",
      peak_x, kTop, kTop + kHeight, kTop - 4, format_bytes(sim.max_live));

  // Legend.
  for (int k = 0; k < 6; ++k) {
    const double y = kTop + 30 + 22 * k;
    svg += fmt::format(
        "<rect x=\"{}\" y=\"{}\" width=\"14\" height=\"14\" fill=\"{}\" stroke=\"#333\" "
        "stroke-width=\"0.5\"/>"
        "<text x=\"{}\" y=\"{}\">{}</text>\n",
        kLeft + kWidth + 10, y, kColours[k], kLeft + kWidth + 30, y + 12,
        to_string(static_cast<TensorKind>(k)));
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace tensorplan::mem
