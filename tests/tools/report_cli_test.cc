// `mem report` end to end: the page is written, self-contained, carries the numbers of
// `mem plan --json`, and renders in a real headless browser (Debian's chromium) without errors.
// Also `mem simulate`'s attribution of the peak on a zoo ViT.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>

#include "support/cli_runner.h"
#include "tensorplan/common/file_io.h"
#include "tensorplan/common/json.h"
#include "tensorplan/mem/gradients.h"
#include "tensorplan/mem/graph_io.h"

namespace tensorplan {
namespace {

namespace fs = std::filesystem;

using testing::CliResult;

CliResult run(const std::string& args) { return testing::run_cli(args); }

fs::path scratch() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  fs::path dir = fs::temp_directory_path() / ("tensorplan-report-" + std::to_string(::getpid())) /
                 info->name();
  fs::create_directories(dir);
  return dir;
}

const std::string kModels = std::string(TENSORPLAN_SOURCE_DIR) + "/models/";

// The JSON the page embeds in <script type="application/json" id="data">.
Json embedded_data(const std::string& html) {
  const std::string open = "<script type=\"application/json\" id=\"data\">";
  const auto begin = html.find(open);
  EXPECT_NE(begin, std::string::npos);
  if (begin == std::string::npos) return Json();
  const auto end = html.find("</script>", begin);
  return Json::parse(html.substr(begin + open.size(), end - begin - open.size()));
}

// No resource from the network: no src or href that leaves the page (http:, https:, //), no
// external script or stylesheet. (No std::regex: GCC 12 warns inside it under the sanitizers.)
void expect_self_contained(std::string html) {
  std::transform(html.begin(), html.end(), html.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const std::string attribute : {"src", "href"}) {
    for (auto at = html.find(attribute); at != std::string::npos;
         at = html.find(attribute, at + 1)) {
      std::size_t i = at + attribute.size();
      while (i < html.size() && std::isspace(static_cast<unsigned char>(html[i]))) ++i;
      if (i >= html.size() || html[i] != '=') continue;
      ++i;
      while (i < html.size() && (std::isspace(static_cast<unsigned char>(html[i])) ||
                                 html[i] == '"' || html[i] == '\''))
        ++i;
      const std::string value = html.substr(i, 8);
      EXPECT_FALSE(value.starts_with("http:") || value.starts_with("https:") ||
                   value.starts_with("//"))
          << html.substr(at, 80);
    }
  }
  for (auto at = html.find("<script"); at != std::string::npos; at = html.find("<script", at + 1))
    EXPECT_EQ(html.substr(at, html.find('>', at) - at).find(" src"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
}

// The fields of `mem plan --json` that do not depend on timing or on how the plan was found.
const char* const kPlanFields[] = {"graph",
                                   "nodes",
                                   "tensors",
                                   "reference_reserved",
                                   "reference_allocated",
                                   "reference_max_live",
                                   "planned_max_live",
                                   "placed_max_live",
                                   "alignment",
                                   "arena_bytes",
                                   "planned_total",
                                   "lower_bound",
                                   "saving",
                                   "fragmentation",
                                   "gradients",
                                   "baseline_reserved",
                                   "baseline_gradients",
                                   "saving_from_allocator",
                                   "saving_from_order",
                                   "saving_from_gradients",
                                   "saving_from_placement"};

void expect_same_figures(const Json& page, const Json& plan) {
  for (const char* field : kPlanFields) EXPECT_EQ(page.at(field), plan.at(field)) << field;
}

TEST(Report, PageIsSelfContainedAndCarriesThePlansNumbers) {
  const fs::path dir = scratch();
  const std::string graph = kModels + "resnet50-b32-sgd.json.gz";
  const fs::path plan = dir / "plan.json", html = dir / "report.html";
  // A placement share the search always finishes in (it proves the bound in 0.4 s, 3 s under
  // ASan): with the default 5 s a loaded machine can stop it early, and the in-process plan below
  // would then differ from this one.
  const std::string planning = " --placement-time 120";
  CliResult r = run("mem plan -q --json " + graph + planning + " -o " + plan.string());
  ASSERT_EQ(r.status, 0) << r.err;
  const Json planned = Json::parse(r.out);

  // A given plan: the page's numbers are those `mem plan --json` printed for it.
  r = run("mem report -q " + graph + " " + plan.string() + " -o " + html.string());
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string page = read_file(html.string());
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
  expect_self_contained(page);
  const Json data = embedded_data(page);
  expect_same_figures(data.at("plan"), planned);
  EXPECT_EQ(data.at("plan").at("order_method"), "given");
  // The curves agree with the figures: eager peaks are the reference ones, the planned peak is
  // the plan's max-live, and every step's kinds add up to its live bytes.
  const Json& eager = data.at("eager");
  EXPECT_EQ(eager.at("max_live"), planned.at("reference_max_live"));
  EXPECT_EQ(eager.at("peak_reserved"), planned.at("reference_reserved"));
  EXPECT_EQ(eager.at("peak_allocated"), planned.at("reference_allocated"));
  EXPECT_EQ(data.at("planned").at("max_live"), planned.at("planned_max_live"));
  for (const char* side : {"eager", "planned"}) {
    const Json& s = data.at(side);
    ASSERT_EQ(s.at("live").size(), planned.at("nodes").get<std::size_t>());
    for (std::size_t step = 0; step < s.at("live").size(); ++step) {
      std::int64_t sum = 0;
      for (const Json& bytes : s.at("live")[step]) sum += bytes.get<std::int64_t>();
      ASSERT_EQ(sum, s.at("live_bytes")[step].get<std::int64_t>()) << side << " step " << step;
    }
    std::int64_t by_kind = 0;
    for (const auto& [kind, bytes] : s.at("peak").at("by_kind").items())
      by_kind += bytes.get<std::int64_t>();
    EXPECT_EQ(by_kind, s.at("max_live").get<std::int64_t>()) << side;
  }
  // The exporter's phases are marked; the ceiling is 1 - bound / baseline.
  ASSERT_EQ(data.at("phases").size(), 4u);
  EXPECT_EQ(data.at("phases")[0].at("name"), "forward");
  EXPECT_EQ(data.at("phases")[3].at("name"), "optimizer");
  EXPECT_NEAR(
      data.at("plan").at("saving_ceiling").get<double>(),
      1.0 - planned.at("lower_bound").get<double>() / planned.at("baseline_reserved").get<double>(),
      1e-12);
  for (const char* text :
       {"forward", "backward", "optimizer", "Where the saving comes from", "GiB", "MiB", "ceiling"})
    EXPECT_NE(page.find(text), std::string::npos) << text;

  // Without a plan it plans in-process with mem plan's defaults: the same figures again.
  const fs::path html2 = dir / "report2.html";
  r = run("mem report -q " + graph + planning + " -o " + html2.string());
  ASSERT_EQ(r.status, 0) << r.err;
  expect_same_figures(embedded_data(read_file(html2.string())).at("plan"), planned);
}

TEST(Report, AFusedGraphAgainstItsKeepGraphSplitsOffTheGradients) {
  const fs::path dir = scratch();
  const std::string keep = kModels + "resnet18-b1-sgd.json.gz";
  const fs::path fused = dir / "fused.json", plan = dir / "plan.json";
  mem::write_graph(mem::with_fused_gradients(mem::read_graph(keep)), fused.string());
  CliResult r =
      run("mem plan -q --json " + fused.string() + " --baseline " + keep + " -o " + plan.string());
  ASSERT_EQ(r.status, 0) << r.err;
  const Json planned = Json::parse(r.out);
  EXPECT_GT(planned.at("saving_from_gradients").get<double>(), 0.1);
  for (const std::string& given : {std::string(), plan.string()}) {
    const fs::path html = dir / "report.html";
    r = run("mem report -q " + fused.string() + " " + given + " --baseline " + keep + " -o " +
            html.string());
    ASSERT_EQ(r.status, 0) << r.err;
    const std::string page = read_file(html.string());
    const Json data = embedded_data(page);
    expect_same_figures(data.at("plan"), planned);
    // The eager run shown is the keep step's: its peak is the baseline.
    EXPECT_EQ(data.at("eager_gradients"), "keep");
    EXPECT_EQ(data.at("eager").at("peak_reserved"), planned.at("baseline_reserved"));
    EXPECT_NE(page.find("fused gradients"), std::string::npos);
  }
  // A keep graph is its own baseline: --baseline is refused.
  r = run("mem report " + keep + " --baseline " + keep + " -o " + (dir / "never.html").string());
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("keeps them"), std::string::npos) << r.err;
}

TEST(Report, GraphWithoutPhasesSaysSo) {
  const fs::path html = scratch() / "report.html";
  CliResult r =
      run("mem report -q --time-limit 1 " + kModels + "mlp-b32-sgd.json -o " + html.string());
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string page = read_file(html.string());
  EXPECT_NE(page.find("No phases"), std::string::npos);
  EXPECT_TRUE(embedded_data(page).at("phases").empty());
}

TEST(Report, BadInputGetsOneLineAndExitTwo) {
  const fs::path dir = scratch();
  const fs::path plan = dir / "plan-b1.json", html = dir / "never.html";
  ASSERT_EQ(run("mem plan -q " + kModels + "resnet50-b1-sgd.json.gz -o " + plan.string()).status,
            0);
  // The batch-1 plan has the same ids as the batch-32 graph: it is refused by its graph's name.
  CliResult r = run("mem report " + kModels + "resnet50-b32-sgd.json.gz " + plan.string() + " -o " +
                    html.string());
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("the plan is for graph \"resnet50-b1-sgd\", but the graph given is "
                       "\"resnet50-b32-sgd\""),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(html));
  for (const std::string& args :
       {"mem report " + (dir / "missing.json.gz").string() + " -o " + html.string(),
        "mem report " + kModels + "mlp-b32-sgd.json " + (dir / "missing.json").string() + " -o " +
            html.string(),
        "mem report " + kModels + "mlp-b32-sgd.json"}) {
    r = run(args);
    EXPECT_EQ(r.status, 2) << args;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << "\n" << r.err;
  }
  EXPECT_FALSE(fs::exists(html));
}

// Loads the page in headless chromium and returns the DOM after its scripts ran ("" if the
// browser could not be run).
std::string rendered_dom(const fs::path& html, const fs::path& dir) {
  const fs::path dom = dir / "dom.html";
  const std::string command =
      "timeout 120 chromium --headless --disable-gpu --no-sandbox --user-data-dir=" +
      (dir / "chromium-profile").string() + " --dump-dom file://" + html.string() + " >" +
      dom.string() + " 2>" + (dir / "chromium.log").string();
  if (std::system(command.c_str()) != 0) return "";
  return read_file(dom.string());
}

bool have_chromium() { return std::system("command -v chromium >/dev/null 2>&1") == 0; }

class ReportInBrowser : public ::testing::TestWithParam<const char*> {};

TEST_P(ReportInBrowser, RendersWithoutErrors) {
  if (!have_chromium())
    GTEST_SKIP() << "chromium is not installed (scripts/install-deps installs it): the page was "
                    "not loaded in a browser";
  const fs::path dir = scratch();
  const fs::path html = dir / "report.html";
  CliResult r = run(std::string("mem report -q ") + kModels + GetParam() + " -o " + html.string());
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string dom = rendered_dom(html, dir);
  ASSERT_FALSE(dom.empty()) << "chromium failed: " << read_file((dir / "chromium.log").string());
  // The script marks <body> when it has drawn everything; an error would mark data-error.
  const auto body = dom.find("<body");
  ASSERT_NE(body, std::string::npos) << dom.substr(0, 2000);
  const std::string body_tag = dom.substr(body, dom.find('>', body) - body + 1);
  EXPECT_NE(body_tag.find("data-ok=\"1\""), std::string::npos) << body_tag;
  EXPECT_EQ(body_tag.find("data-error"), std::string::npos) << body_tag;
  // It drew: stacked areas for both orders and one rectangle per placed tensor.
  EXPECT_NE(dom.find("<polygon"), std::string::npos);
  EXPECT_NE(dom.find("data-i=\""), std::string::npos);
  EXPECT_NE(dom.find("forward</text>"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Zoo, ReportInBrowser,
                         ::testing::Values("resnet50-b32-sgd.json.gz",
                                           "transformer-b32-sgd.json.gz"),
                         [](const auto& info) {
                           return std::string(info.param).find("resnet") == 0 ? "Resnet50"
                                                                              : "Transformer";
                         });

TEST(Simulate, NamesTheTrueOperatorAtAViTsPeakAndTotalsIt) {
  // ViT-B/16 at batch 1 peaks at the weight-gradient matmul of the first layer's attention input
  // projection. It reads no weight, so the exporter files it under the module of the activation
  // it reads (ln_1); it is the attention's operator.
  CliResult r = run("mem simulate --json --top 3 " + kModels + "vit_b_16-b1-sgd.json.gz");
  ASSERT_EQ(r.status, 0) << r.err;
  const Json j = Json::parse(r.out);
  const Json& op = j.at("peak_operator");
  EXPECT_EQ(op.at("op"), "aten.mm");
  EXPECT_EQ(op.at("module"), "encoder.layers.encoder_layer_0.self_attention");
  EXPECT_EQ(op.at("gradient_of"), "encoder.layers.encoder_layer_0.self_attention.in_proj_weight");
  // The live-bytes curve, and totals at the peak that add up to max-live.
  ASSERT_EQ(j.at("live_bytes").size(), j.at("nodes").get<std::size_t>());
  EXPECT_EQ(j.at("live_bytes")[j.at("peak_step").get<int>()], j.at("max_live"));
  std::int64_t kinds = 0, modules = 0;
  for (const auto& [kind, bytes] : j.at("peak_by_kind").items()) kinds += bytes.get<std::int64_t>();
  for (const Json& m : j.at("peak_by_module")) modules += m.at("bytes").get<std::int64_t>();
  EXPECT_EQ(kinds, j.at("max_live").get<std::int64_t>());
  EXPECT_EQ(modules, j.at("max_live").get<std::int64_t>());
  EXPECT_EQ(j.at("peak_by_module")[0].at("module"), "encoder");
  EXPECT_EQ(j.at("live_at_peak").size(), 3u);
  r = run("mem simulate " + kModels + "vit_b_16-b1-sgd.json.gz");
  EXPECT_NE(r.out.find("mm in encoder.layers.encoder_layer_0.self_attention (gradient of"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("by top-level module"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace tensorplan
