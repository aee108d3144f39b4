// tensorplan._core: the C++ memory planner called in-process from Python. Graph in (the text of a
// tensorplan.graph, as `mem plan` reads it), plan out (the text `mem plan -o` writes) with the
// report `mem plan --json` prints. JSON text crosses the boundary, so the Python side needs no
// mirror of the C++ types; python/tensorplan/planner.py wraps it with dicts.
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <utility>

#include "tensorplan/common/error.h"
#include "tensorplan/common/json.h"
#include "tensorplan/mem/graph_io.h"
#include "tensorplan/mem/planner.h"

namespace py = pybind11;

namespace {

// Plans the graph in `graph_text` (against the keep graph in `baseline_text` unless it is empty,
// as `mem plan --baseline`); returns (plan text, report text). Pure C++: runs without the GIL.
std::pair<std::string, std::string> plan_text(const std::string& graph_text,
                                              const std::string& baseline_text,
                                              const std::string& source,
                                              const tensorplan::mem::PlanOptions& options) {
  using namespace tensorplan;
  const mem::Graph graph = mem::graph_from_json(parse_json(source, graph_text), source);
  mem::PlanReport report;
  if (baseline_text.empty()) {
    report = mem::plan_memory(graph, options);
  } else {
    const std::string where = source + " (baseline)";
    const mem::Graph keep = mem::graph_from_json(parse_json(where, baseline_text), where);
    report = mem::plan_against_keep_baseline(graph, keep, options);
  }
  return {mem::plan_to_text(report.plan, graph), mem::report_to_json(report, graph).dump()};
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() =
      "tensorplan's C++ memory planner, in-process. plan() takes the JSON text of a "
      "tensorplan.graph and returns (plan JSON text, report JSON text), exactly what "
      "`tensorplan mem plan -o PLAN --json` writes and prints.";

  // One Python exception for every bad input; its message is the CLI's one-line error.
  py::register_exception<tensorplan::Error>(m, "PlanError", PyExc_ValueError);

  const tensorplan::mem::PlanOptions defaults;
  m.def(
      "plan",
      [](const std::string& graph_text, double time_limit, std::int64_t alignment,
         double placement_time_limit, bool placement_ilp, bool joint, int threads, bool quiet,
         const std::string& baseline_text, const std::string& source) {
        if (!(time_limit >= 0)) throw tensorplan::Error("time_limit must be >= 0 seconds");
        if (alignment < 1) throw tensorplan::Error("alignment must be >= 1 byte");
        if (!(placement_time_limit >= 0))
          throw tensorplan::Error("placement_time_limit must be >= 0 seconds");
        if (threads < 0) throw tensorplan::Error("threads must be >= 0 (0: one per core)");
        tensorplan::mem::PlanOptions options;
        options.time_limit = time_limit;
        options.alignment = alignment;
        options.placement_time_limit = placement_time_limit;
        options.placement_ilp = placement_ilp;
        options.joint = joint;
        options.threads = threads;
        options.quiet = quiet;
        std::pair<std::string, std::string> result;
        {
          // Only the C++ work runs without the GIL: the arguments are already C++ strings, and
          // the Python objects are made after it is taken back.
          py::gil_scoped_release release;
          result = plan_text(graph_text, baseline_text, source, options);
        }
        return py::make_tuple(py::str(result.first), py::str(result.second));
      },
      py::arg("graph_text"), py::kw_only(), py::arg("time_limit") = defaults.time_limit,
      py::arg("alignment") = defaults.alignment,
      py::arg("placement_time_limit") = defaults.placement_time_limit,
      py::arg("placement_ilp") = defaults.placement_ilp, py::arg("joint") = defaults.joint,
      py::arg("threads") = defaults.threads, py::arg("quiet") = true, py::arg("baseline_text") = "",
      py::arg("source") = "graph",
      "Plans the tensorplan.graph in graph_text (str) with `mem plan`'s options; returns "
      "(plan_text, report_text). baseline_text: for a graph whose gradients are fused, the keep "
      "graph of the same step (as mem plan --baseline). Releases the GIL while planning. Bad input "
      "raises PlanError (a ValueError) with one line naming `source` and the JSON path.");
}
