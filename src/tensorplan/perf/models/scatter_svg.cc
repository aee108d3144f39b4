#include "tensorplan/perf/models/scatter_svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace tensorplan::perf {

namespace {

constexpr double kPanel = 300;  // panel side, px
constexpr double kMargin = 56;  // room for axis labels
constexpr double kGap = 24;     // between panels
constexpr double kTop = 48;     // title
constexpr double kBottom = 64;  // axis title and caption

std::string seconds_label(double seconds) {
  if (seconds >= 1) return fmt::format("{:g} s", seconds);
  if (seconds >= 1e-3) return fmt::format("{:g} ms", seconds * 1e3);
  if (seconds >= 1e-6) return fmt::format("{:g} µs", seconds * 1e6);
  return fmt::format("{:g} ns", seconds * 1e9);
}

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else
      out += c;
  }
  return out;
}

std::string percent(double fraction) {
  return std::isnan(fraction) ? "n/a" : fmt::format("{:.1f}%", 100 * fraction);
}

}  // namespace

std::string prediction_scatter_svg(const std::vector<ModelEvaluation>& evaluations,
                                   const std::string& title) {
  std::vector<const ModelEvaluation*> panels;
  std::vector<std::string> rankers;
  for (const ModelEvaluation& e : evaluations) {
    if (e.predicts_seconds)
      panels.push_back(&e);
    else
      rankers.push_back(e.model);
  }
  // Shared decades covering every measured and predicted time.
  double low = std::numeric_limits<double>::infinity(), high = 0;
  for (const ModelEvaluation* e : panels)
    for (std::size_t i = 0; i < e->measured.size(); ++i)
      for (double v : {e->measured[i], e->predicted[i]})
        if (v > 0 && std::isfinite(v)) low = std::min(low, v), high = std::max(high, v);
  if (!(low < high)) low = 1e-4, high = 1e-1;
  const double lo_exp = std::floor(std::log10(low)), hi_exp = std::ceil(std::log10(high));
  const auto scale = [&](double v) {
    const double t =
        (std::log10(std::clamp(v, std::pow(10, lo_exp), std::pow(10, hi_exp))) - lo_exp) /
        (hi_exp - lo_exp);
    return t * kPanel;
  };

  const std::size_t n = std::max<std::size_t>(panels.size(), 1);
  // At least wide enough for the title and caption when there is only one panel.
  const double width =
      std::max(760.0, kMargin + static_cast<double>(n) * (kPanel + kGap + kMargin) - kMargin);
  const double height = kTop + kPanel + kBottom;
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0:.0f}\" height=\"{1:.0f}\" "
      "viewBox=\"0 0 {0:.0f} {1:.0f}\" font-family=\"sans-serif\" font-size=\"11\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{2:.0f}\" y=\"20\" font-size=\"14\" font-weight=\"bold\">{3}</text>\n",
      width, height, kMargin, escape(title));
  static const char* colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"};
  for (std::size_t k = 0; k < panels.size(); ++k) {
    const ModelEvaluation& e = *panels[k];
    const double x0 = kMargin + static_cast<double>(k) * (kPanel + kGap + kMargin);
    const double y0 = kTop;
    svg += fmt::format("<g transform=\"translate({:.1f},{:.1f})\">\n", x0, y0);
    svg += fmt::format(
        "<rect width=\"{0:.0f}\" height=\"{0:.0f}\" fill=\"#fafafa\" stroke=\"#888\"/>\n", kPanel);
    for (double ex = lo_exp; ex <= hi_exp; ++ex) {
      const double p = scale(std::pow(10, ex));
      svg += fmt::format(
          "<line x1=\"{0:.1f}\" y1=\"0\" x2=\"{0:.1f}\" y2=\"{1:.0f}\" stroke=\"#e4e4e4\"/>"
          "<line x1=\"0\" y1=\"{2:.1f}\" x2=\"{1:.0f}\" y2=\"{2:.1f}\" stroke=\"#e4e4e4\"/>\n"
          "<text x=\"{0:.1f}\" y=\"{3:.0f}\" text-anchor=\"middle\">{4}</text>"
          "<text x=\"-4\" y=\"{5:.1f}\" text-anchor=\"end\">{4}</text>\n",
          p, kPanel, kPanel - p, kPanel + 14, seconds_label(std::pow(10, ex)), kPanel - p + 4);
    }
    svg += fmt::format(
        "<line x1=\"0\" y1=\"{0:.0f}\" x2=\"{0:.0f}\" y2=\"0\" stroke=\"#444\" "
        "stroke-dasharray=\"4 3\"/>\n",
        kPanel);
    // Dots in the panel's colour, translucent so that density shows.
    svg += fmt::format("<g fill=\"{}\" fill-opacity=\"0.35\">\n", colours[k % 5]);
    for (std::size_t i = 0; i < e.measured.size(); ++i) {
      if (!(e.predicted[i] > 0) || !std::isfinite(e.predicted[i])) continue;
      svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"1.6\"/>", scale(e.measured[i]),
                         kPanel - scale(e.predicted[i]));
      if (i % 16 == 15) svg += '\n';
    }
    svg += "</g>\n";
    svg += fmt::format(
        "<text x=\"{:.0f}\" y=\"-8\" font-size=\"13\">"
        "<tspan font-weight=\"bold\">{}</tspan>  MAPE {}  τ {:.3f}</text>\n",
        0.0, escape(e.model), percent(e.metrics.mape), e.metrics.kendall_tau);
    svg += fmt::format("<text x=\"{:.0f}\" y=\"{:.0f}\" text-anchor=\"middle\">measured</text>\n",
                       kPanel / 2, kPanel + 30);
    svg += fmt::format(
        "<text transform=\"translate({:.0f},{:.0f}) rotate(-90)\" text-anchor=\"middle\">"
        "predicted</text>\n</g>\n",
        -44.0, kPanel / 2);
  }
  std::string caption = "one dot per schedule; dashed line: prediction = measurement";
  if (panels.empty()) caption = "no model here predicts seconds";
  if (!rankers.empty()) {
    caption += "; not drawn (rank only, no seconds): ";
    for (std::size_t i = 0; i < rankers.size(); ++i) caption += (i ? ", " : "") + rankers[i];
  }
  svg += fmt::format("<text x=\"{:.0f}\" y=\"{:.0f}\" fill=\"#444\">{}</text>\n</svg>\n", kMargin,
                     height - 12, escape(caption));
  return svg;
}

}  // namespace tensorplan::perf
