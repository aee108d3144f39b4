// `mem report`: one self-contained HTML page (inline SVG drawn by a little JavaScript, no network)
// that shows where a training step's memory goes: live bytes over the step stacked by tensor kind
// for the eager order under PyTorch's caching allocator (reserved, allocated) and for the planned
// order and arena, on the same axes; the exporter's phases; the tensors live at each peak with
// their modules; where the saving comes from and the proven ceiling; and the plan's address layout
// with hover details and zoom along the steps.
#pragma once

#include <string>

#include "tensorplan/common/json.h"
#include "tensorplan/mem/graph.h"
#include "tensorplan/mem/planner.h"

namespace tensorplan::mem {

// The numbers the page shows, as embedded in it (<script type="application/json" id="data">):
// "plan" is report_to_json(report) (the fields of `mem plan --json`) plus "saving_ceiling";
// "eager" and "planned" hold per-step curves, the peak and the tensors live there; "layout" the
// plan's rectangles.
// `baseline`, if given, is the keep graph of a fused `graph` (the same step with gradients kept in
// .grad): its eager run is the one shown, as the report's split is measured against it.
Json report_data(const Graph& graph, const PlanReport& report, const Graph* baseline = nullptr);

// The page.
std::string report_html(const Graph& graph, const PlanReport& report,
                        const Graph* baseline = nullptr);

}  // namespace tensorplan::mem
