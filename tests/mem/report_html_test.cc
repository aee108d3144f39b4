#include "tensorplan/mem/report_html.h"

#include <gtest/gtest.h>

#include "support/random_graph.h"
#include "tensorplan/mem/graph_io.h"
#include "tensorplan/mem/simulate.h"

namespace tensorplan::mem {
namespace {

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// A random training step whose tensor names try to break out of the page.
Graph hostile_graph() {
  Graph g = random_training_graph(4, 7);
  for (Tensor& t : g.tensors) t.name = "</script><script>alert(1)</script>&<b>" + t.name;
  g.nodes[0].module = "<img src=x>";
  g.phases = {{"forward", 0, g.num_nodes() / 2}, {"backward", g.num_nodes() / 2, g.num_nodes()}};
  return g;
}

TEST(ReportHtml, DataCarriesThePlansFiguresAndTheCurves) {
  const Graph g = hostile_graph();
  PlanOptions options;
  options.time_limit = 1;
  const PlanReport report = plan_memory(g, options);
  const Json data = report_data(g, report);
  const Json figures = report_to_json(report, g);
  for (const auto& [key, value] : figures.items()) EXPECT_EQ(data["plan"][key], value) << key;
  EXPECT_EQ(data["plan"]["saving_ceiling"].get<double>(), saving_ceiling(report));
  EXPECT_EQ(data["eager"]["live_bytes"].get<std::vector<std::int64_t>>(),
            simulate(g, g.order).live_bytes);
  EXPECT_EQ(data["planned"]["max_live"], report.planned_max_live);
  EXPECT_EQ(data["eager"]["reserved"].size(), g.order.size());
  EXPECT_EQ(data["phases"].size(), 2u);
  EXPECT_EQ(data["eager"]["phase"][0], 0);
  EXPECT_EQ(data["eager"]["phase"][g.num_nodes() - 1], 1);
  // Every placed tensor of non-zero size is drawn once.
  int placed = 0;
  for (int t = 0; t < g.num_tensors(); ++t)
    placed += g.tensors[t].size > 0 && report.plan.offsets[t] >= 0;
  EXPECT_EQ(static_cast<int>(data["layout"]["tensors"].size()), placed);
}

TEST(ReportHtml, NamesCannotEndTheScriptOrAddMarkup) {
  const Graph g = hostile_graph();
  PlanOptions options;
  options.time_limit = 1;
  const std::string html = report_html(g, plan_memory(g, options));
  // Three scripts: the error handler, the data, the drawing code; no name adds a fourth.
  EXPECT_EQ(count(html, "</script>"), 3);
  EXPECT_EQ(count(html, "<script"), 3);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("<b>t"), std::string::npos);
  EXPECT_NE(html.find("&lt;/script&gt;"), std::string::npos);  // names shown, escaped
}

TEST(ReportHtml, AGivenPlanGetsTheFiguresItsPlannerReported) {
  const Graph g =
      read_graph(std::string(TENSORPLAN_SOURCE_DIR) + "/models/resnet18-b1-sgd.json.gz");
  PlanOptions options;
  options.time_limit = 5;
  const PlanReport planned = plan_memory(g, options);
  const PlanReport given = evaluate_plan(g, planned.plan, options.time_limit);
  Json a = report_to_json(planned, g), b = report_to_json(given, g);
  for (const char* timing :
       {"seconds", "order_seconds", "placement_seconds", "order_method", "placement_method"}) {
    a.erase(timing);
    b.erase(timing);
  }
  EXPECT_EQ(a, b);
  EXPECT_EQ(given.order_method, "given");
  const std::string html = report_html(g, given);
  for (const char* text : {"forward", "optimizer", "layer1", "MiB"})
    EXPECT_NE(html.find(text), std::string::npos) << text;
}

}  // namespace
}  // namespace tensorplan::mem
