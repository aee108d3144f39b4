// The predicted-vs-measured picture of `tensorplan perf eval --plot`: one log-log panel per model,
// side by side on shared axes, one dot per schedule, the diagonal marking a perfect prediction.
#pragma once

#include <string>
#include <vector>

#include "tensorplan/perf/models/evaluate.h"

namespace tensorplan::perf {

// A standalone SVG document. Models that only rank (predicts_seconds false) get no panel; the
// caption names them.
std::string prediction_scatter_svg(const std::vector<ModelEvaluation>& evaluations,
                                   const std::string& title);

}  // namespace tensorplan::perf
