// End-to-end tests of the tensorplan program: what a user sees, exit codes, files written or not.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "support/cli_runner.h"
#include "tensorplan/common/file_io.h"
#include "tensorplan/common/json.h"

namespace tensorplan {
namespace {

namespace fs = std::filesystem;

using testing::CliResult;

CliResult run(const std::string& args) { return testing::run_cli(args); }

// A fresh directory for the files of the running test.
fs::path scratch() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  fs::path dir =
      fs::temp_directory_path() / ("tensorplan-cli-" + std::to_string(::getpid())) / info->name();
  fs::create_directories(dir);
  return dir;
}

const std::string kModels = std::string(TENSORPLAN_SOURCE_DIR) + "/models/";

int lines(const std::string& text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

TEST(Cli, PlanJsonPrintsTheFieldsAndTheWrittenPlanPassesCheck) {
  const fs::path plan = scratch() / "plan.json";
  const fs::path svg = scratch() / "plan.svg";
  CliResult r = run("mem plan " + kModels + "cnn-small-b32-sgd.json --json -o " + plan.string() +
                    " --svg " + svg.string());
  ASSERT_EQ(r.status, 0) << r.err;
  const Json j = Json::parse(r.out);
  for (const char* field :
       {"reference_reserved", "reference_max_live", "planned_max_live", "arena_bytes",
        "planned_total", "lower_bound", "saving", "fragmentation", "seconds"})
    EXPECT_TRUE(j.contains(field)) << field;
  EXPECT_EQ(j.at("alignment"), 512);  // the default, as PyTorch's allocator rounds
  EXPECT_GE(j.at("arena_bytes").get<std::int64_t>(), j.at("placed_max_live").get<std::int64_t>());
  EXPECT_TRUE(fs::exists(plan));
  EXPECT_EQ(Json::parse(read_file(plan.string())).at("alignment"), 512);
  EXPECT_NE(read_file(svg.string()).find("<svg"), std::string::npos);
  r = run("mem check " + kModels + "cnn-small-b32-sgd.json " + plan.string());
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("valid"), std::string::npos);
}

TEST(Cli, PlanPrintsATable) {
  CliResult r = run("mem plan --time-limit 1 " + kModels + "mlp-b32-sgd.json");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("PyTorch reserved"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("saving"), std::string::npos) << r.out;
}

TEST(Cli, CheckReportsAnInvalidPlanWithExitOne) {
  const fs::path plan = scratch() / "plan.json";
  ASSERT_EQ(
      run("mem plan -q --time-limit 1 " + kModels + "mlp-b32-sgd.json -o " + plan.string()).status,
      0);
  Json doc = Json::parse(read_file(plan.string()));
  for (auto& [key, value] : doc["offsets"].items()) value = 0;  // everything at address 0
  write_file_atomic(plan.string(), doc.dump());
  CliResult r = run("mem check " + kModels + "mlp-b32-sgd.json " + plan.string());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("overlap"), std::string::npos) << r.out;
  // How many problems there are, beside the first 20 it lists.
  const Json j =
      Json::parse(run("mem check --json " + kModels + "mlp-b32-sgd.json " + plan.string()).out);
  const auto count = j.at("problem_count").get<std::int64_t>();
  EXPECT_GT(count, 20);
  EXPECT_EQ(j.at("problems").size(), 20u);
  EXPECT_NE(r.out.find(fmt::format("{} problems, the first 20", count)), std::string::npos)
      << r.out;
  // -q: the exit status alone.
  r = run("mem check -q " + kModels + "mlp-b32-sgd.json " + plan.string());
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "");
}

// A MiniMalloc CSV given to a command that wants a graph: pointed to the one that takes it.
TEST(Cli, APlacementInstanceGivenAsAGraphSuggestsMemPlace) {
  const fs::path csv = scratch() / "A.csv";
  write_file_atomic(csv.string(), "id,lower,upper,size\n0,0,2,4\n");
  const CliResult r = run("mem plan " + csv.string());
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(lines(r.err), 1);
  EXPECT_NE(r.err.find("`tensorplan mem place " + csv.string() + "` places it"), std::string::npos)
      << r.err;
}

TEST(Cli, SimulateNamesWhatHoldsThePeak) {
  CliResult r = run("mem simulate " + kModels + "cnn-small-b32-sgd.json");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("max-live"), std::string::npos);
  EXPECT_NE(r.out.find("block"), std::string::npos) << r.out;  // module names of the CNN
  r = run("mem simulate --json " + kModels + "cnn-small-b32-sgd.json");
  ASSERT_EQ(r.status, 0) << r.err;
  const Json j = Json::parse(r.out);
  EXPECT_GT(j.at("max_live").get<std::int64_t>(), 0);
  EXPECT_GE(j.at("reserved").get<std::int64_t>(), j.at("max_live").get<std::int64_t>());
}

TEST(Cli, BadInputGetsOneLineAndExitTwoAndWritesNothing) {
  const fs::path dir = scratch();
  const fs::path bad = dir / "bad.json";
  write_file_atomic(bad.string(), R"({"format": "tensorplan.graph", "version": 1, "tensors": [],
      "nodes": [{"id": 0, "inputs": [5], "outputs": []}], "order": [0]})");
  const fs::path plan = dir / "never.json";
  for (const std::string& args :
       {"mem plan " + bad.string() + " -o " + plan.string(),
        "mem plan " + (dir / "missing.json").string() + " -o " + plan.string(),
        "mem simulate " + bad.string(), "mem check " + bad.string() + " " + bad.string(),
        "mem plan --time-limit -3 " + kModels + "mlp-b32-sgd.json",
        "mem plan --threads -1 " + kModels + "mlp-b32-sgd.json",
        "mem plan --no-such-flag " + kModels + "mlp-b32-sgd.json", std::string("mem frobnicate")}) {
    CliResult r = run(args);
    EXPECT_EQ(r.status, 2) << args;
    EXPECT_EQ(lines(r.err), 1) << args << "\n" << r.err;
    EXPECT_EQ(r.err.rfind("tensorplan: error: ", 0), 0u) << r.err;
    EXPECT_TRUE(r.out.empty()) << args;
  }
  EXPECT_FALSE(fs::exists(plan));
  CliResult r = run("mem plan " + bad.string());
  EXPECT_NE(r.err.find("unknown tensor id 5"), std::string::npos) << r.err;
}

// Numeric options out of their range, not finite, or not in canonical decimal: CLI11 alone clamped
// 2^64 to INT64_MAX (alignment 2^64 gave every offset 0 and "saving 100%"), took NaN as a time
// limit, read 010 as octal 8, and printed DBL_MAX in full for infinity.
TEST(Cli, NumericOptionsAreRangeCheckedWithOneShortLine) {
  const fs::path dir = scratch();
  const std::string graph = kModels + "mlp-b32-sgd.json";
  const fs::path csv = dir / "in.csv";
  write_file_atomic(csv.string(), "id,lower,upper,size\n1,0,2,5\n");
  const fs::path out = dir / "out";
  const std::string two64 = "18446744073709551616", two63 = "9223372036854775808";
  const std::string gen =
      "perf gen --tiny --quiet --pipelines 1 --schedules 1 --out " + out.string() + " ";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"mem plan -o " + (dir / "p.json").string() + " --alignment " + two64 + " " + graph,
       "--alignment"},
      {"mem plan --alignment 4611686018427387904 " + graph, "--alignment"},
      {"mem plan --alignment 0 " + graph, "--alignment"},
      {"mem plan --alignment 010 " + graph, "--alignment"},
      {"mem plan --alignment 0x10 " + graph, "--alignment"},
      {"mem plan --alignment +8 " + graph, "--alignment"},
      {"mem plan --time-limit nan " + graph, "--time-limit"},
      {"mem plan --time-limit inf " + graph, "--time-limit"},
      {"mem plan --time-limit -inf " + graph, "--time-limit"},
      {"mem plan --time-limit 1e400 " + graph, "--time-limit"},
      {"mem plan --threads " + two64 + " " + graph, "--threads"},
      {"mem check --alignment " + two64 + " " + graph + " " + graph, "--alignment"},
      {"mem simulate --top " + two64 + " " + graph, "--top"},
      {"mem bench --time-limit nan " + graph, "--time-limit"},
      {"mem place --capacity " + two63 + " " + csv.string(), "--capacity"},
      {"mem place --capacity 0 " + csv.string(), "--capacity"},
      {"mem place --time-limit nan " + csv.string(), "--time-limit"},
      {"mem place --alignment " + two64 + " " + csv.string(), "--alignment"},
      {gen + "--timing-budget nan", "--timing-budget"},
      {gen + "--timing-budget inf", "--timing-budget"},
      {gen + "--autoschedule-timeout nan", "--autoschedule-timeout"},
      {gen + "--compile-timeout inf", "--compile-timeout"},
      {gen + "--run-timeout nan", "--run-timeout"},
      {gen + "--retime-fraction nan", "--retime-fraction"},
      {gen + "--quiet-load nan", "--quiet-load"},
      {gen + "--quiet-window nan", "--quiet-window"},
      {gen + "--seed " + two64, "--seed"},
      {gen + "--max-work " + two64, "--max-work"},
      {gen + "--pipelines 4294967296", "--pipelines"},
      {"perf train --model gcn --time-limit nan -o " + (dir / "m").string() + " " + out.string(),
       "--time-limit"},
  };
  for (const auto& [args, option] : cases) {
    CliResult r = run(args);
    EXPECT_EQ(r.status, 2) << args << "\n" << r.out << r.err;
    EXPECT_EQ(lines(r.err), 1) << args << "\n" << r.err;
    EXPECT_NE(r.err.find("error: " + option + ": "), std::string::npos) << args << "\n" << r.err;
    EXPECT_LT(r.err.size(), 200u) << args << "\n" << r.err;
    EXPECT_TRUE(r.out.empty()) << args;
  }
  EXPECT_FALSE(fs::exists(dir / "p.json"));
  EXPECT_FALSE(fs::exists(out));
  // In range, still accepted.
  CliResult r = run("mem place --capacity 4611686018427387904 --time-limit 0.5 --alignment 8 " +
                    csv.string());
  EXPECT_EQ(r.status, 0) << r.err;
}

// Input echoed in an error is quoted, escaped and shortened: a newline in a value used to make two
// lines, terminal escapes passed through, and a 100 MB field became a 100 MB line.
TEST(Cli, ErrorsQuoteInputEscapedAndShortened) {
  const fs::path dir = scratch();
  const fs::path bad = dir / "bad.json";
  const std::string kind = "\\u001b[31mred\\nsecond line\\u0007" + std::string(1 << 20, 'k');
  write_file_atomic(bad.string(), R"({"format": "tensorplan.graph", "version": 1,
      "tensors": [{"id": 0, "size": 8, "kind": ")" +
                                      kind + R"("}],
      "nodes": [], "order": []})");
  CliResult r = run("mem simulate " + bad.string());
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(lines(r.err), 1) << r.err.substr(0, 500);
  EXPECT_LT(r.err.size(), 400u);
  EXPECT_EQ(r.err.find('\x1b'), std::string::npos);
  EXPECT_EQ(r.err.find('\x07'), std::string::npos);
  EXPECT_NE(r.err.find("unknown kind \"\\x1b[31mred\\nsecond line\\x07kkk"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("\"..."), std::string::npos) << r.err;
}

// An array 60,000 deep in a size field crashed the reader (SIGSEGV); a NUL byte ended the file.
TEST(Cli, DeeplyNestedJsonAndNulBytesGetOneLine) {
  const fs::path dir = scratch();
  const fs::path deep = dir / "deep.json";
  write_file_atomic(
      deep.string(),
      R"({"format": "tensorplan.graph", "version": 1, "tensors": [{"id": 0, "size": )" +
          std::string(60000, '[') + std::string(60000, ']') +
          R"(, "kind": "input"}], "nodes": [], "order": []})");
  CliResult r = run("mem simulate " + deep.string());
  EXPECT_EQ(r.status, 2) << r.err.substr(0, 300);
  EXPECT_EQ(lines(r.err), 1);
  EXPECT_NE(r.err.find("nested deeper than 512 levels"), std::string::npos) << r.err;

  const fs::path nul = dir / "nul.json";
  write_file_atomic(nul.string(), read_file(kModels + "mlp-b32-sgd.json") + std::string(1, '\0') +
                                      "{\"not\": \"json\"");
  r = run("mem simulate " + nul.string());
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.err.find("NUL byte at byte"), std::string::npos) << r.err;
}

// Names with control characters made the SVG invalid XML.
TEST(Cli, SvgStaysValidXmlWithControlCharactersInNames) {
  const fs::path dir = scratch();
  const fs::path graph = dir / "names.json";
  write_file_atomic(graph.string(), R"({"format": "tensorplan.graph", "version": 1,
      "name": "g\u0001<&>",
      "tensors": [{"id": 0, "name": "x\u001b[31m\u0000", "size": 64, "kind": "input"},
                  {"id": 1, "name": "y\u0008\"'", "size": 64, "kind": "activation",
                   "output": true}],
      "nodes": [{"id": 0, "name": "n", "op": "op", "inputs": [0], "outputs": [1]}],
      "order": [0]})");
  const fs::path svg = dir / "names.svg";
  CliResult r = run("mem plan --time-limit 1 --json " + graph.string() + " --svg " + svg.string());
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string text = read_file(svg.string());
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    EXPECT_TRUE(byte >= 0x20 || c == '\n' || c == '\t' || c == '\r') << static_cast<int>(byte);
  }
  EXPECT_NE(text.find("g\xEF\xBF\xBD&lt;&amp;&gt;"), std::string::npos);
}

// `-o plan.json --svg missing/x.svg` wrote plan.json and then failed: every output is checked
// before any is written (and before the planning time is spent).
TEST(Cli, EveryOutputIsCheckedBeforeAnyIsWritten) {
  const fs::path dir = scratch();
  const std::string graph = kModels + "mlp-b32-sgd.json";
  const fs::path plan = dir / "plan.json";
  const fs::path csv = dir / "in.csv";
  write_file_atomic(csv.string(), "id,lower,upper,size\n1,0,2,5\n");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"mem plan " + graph + " -o " + plan.string() + " --svg " + (dir / "missing/x.svg").string(),
       "missing/x.svg: cannot write: directory"},
      {"mem plan " + graph + " -o " + plan.string() + " --svg " + dir.string(),
       "cannot write: it is a directory"},
      {"mem plan " + graph + " -o " + plan.string() + " --svg " + plan.string(),
       "named as two outputs"},
      {"mem bench " + graph + " --csv " + plan.string() + " --md " + (dir / "no/t.md").string(),
       "no/t.md: cannot write"},
      {"mem place " + csv.string() + " -o " + (dir / "no/out.csv").string(),
       "no/out.csv: cannot write"},
  };
  for (const auto& [args, message] : cases) {
    CliResult r = run(args);
    EXPECT_EQ(r.status, 2) << args;
    EXPECT_EQ(lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << args << "\n" << r.err;
    EXPECT_TRUE(r.out.empty()) << args;
    EXPECT_FALSE(fs::exists(plan)) << args;
  }
  const auto left = std::distance(fs::directory_iterator(dir), fs::directory_iterator());
  EXPECT_EQ(left, 1);  // in.csv only: no temporary files either
}

TEST(Cli, PlanSplitsTheSavingAndMeasuresAFusedGraphAgainstItsKeepGraph) {
  const fs::path dir = scratch();
  const std::string keep = kModels + "cnn-small-b32-sgd.json";
  CliResult r = run("mem plan -q --json " + keep);
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(r.out.back(), '\n');
  const Json k = Json::parse(r.out);
  EXPECT_EQ(k.at("gradients"), "keep");
  EXPECT_EQ(k.at("baseline_reserved"), k.at("reference_reserved"));
  EXPECT_EQ(k.at("saving_from_gradients"), 0.0);
  const double sum = k.at("saving_from_allocator").get<double>() +
                     k.at("saving_from_order").get<double>() +
                     k.at("saving_from_placement").get<double>();
  EXPECT_NEAR(sum, k.at("saving").get<double>(), 1e-9);

  // The same step with fused gradients, as a file (the exporter's --gradients fused writes one).
  Json doc = Json::parse(read_file(keep));
  doc["gradients"] = "fused";
  for (Json& t : doc["tensors"])
    if (t.at("kind") == "gradient") t.erase("output");
  const fs::path fused = dir / "fused.json";
  write_file_atomic(fused.string(), doc.dump());
  r = run("mem plan -q --json " + fused.string() + " --baseline " + keep);
  ASSERT_EQ(r.status, 0) << r.err;
  const Json f = Json::parse(r.out);
  EXPECT_EQ(f.at("gradients"), "fused");
  EXPECT_EQ(f.at("baseline_gradients"), "keep");
  EXPECT_EQ(f.at("baseline_reserved"), k.at("reference_reserved"));
  EXPECT_GE(f.at("saving_from_gradients").get<double>(), 0.0);
  EXPECT_GE(f.at("saving").get<double>(), k.at("saving").get<double>());
  r = run("mem plan -q " + fused.string() + " --baseline " + keep);
  EXPECT_NE(r.out.find("fused gradients"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("PyTorch reserved, keep graph"), std::string::npos) << r.out;

  // --baseline for a keep graph, or a baseline of another step: one line, exit 2.
  for (const std::string& args :
       {"mem plan " + keep + " --baseline " + keep,
        "mem plan " + fused.string() + " --baseline " + kModels + "mlp-b32-sgd.json"}) {
    r = run(args);
    EXPECT_EQ(r.status, 2) << args;
    EXPECT_EQ(lines(r.err), 1) << r.err;
  }
}

TEST(Cli, PlanThreadsChangeNothingButTheSpeed) {
  std::vector<std::string> written;
  for (int threads : {1, 3}) {
    const fs::path plan = scratch() / ("plan" + std::to_string(threads) + ".json");
    const CliResult r = run("mem plan -q --time-limit 5 --threads " + std::to_string(threads) +
                            " " + kModels + "cnn-small-b32-sgd.json -o " + plan.string());
    ASSERT_EQ(r.status, 0) << r.err;
    written.push_back(read_file(plan.string()));
  }
  EXPECT_EQ(written[0], written[1]);
}

TEST(Cli, BenchTabulatesEveryGraphAndWritesCsvAndMarkdown) {
  const fs::path dir = scratch();
  // The two hand-made graphs and one exported graph (copied: the test does not need the zoo).
  fs::create_directories(dir / "zoo");
  for (const char* name : {"mlp-b32-sgd.json", "cnn-small-b32-sgd.json", "resnet18-b1-sgd.json.gz"})
    fs::copy_file(kModels + name, dir / "zoo" / name, fs::copy_options::overwrite_existing);
  const fs::path csv = dir / "zoo.csv", md = dir / "zoo.md";
  CliResult r = run("mem bench -q --time-limit 1 " + (dir / "zoo").string() + " --csv " +
                    csv.string() + " --md " + md.string());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;  // -q
  const std::string table = read_file(md.string());
  EXPECT_EQ(table, r.out);
  // The exported graph is the zoo, with its fused-gradient column; the toys are listed apart.
  const std::size_t toys = table.find("Hand-made toy graphs");
  ASSERT_NE(toys, std::string::npos) << table;
  EXPECT_LT(table.find("| resnet18-b1-sgd"), toys) << table;
  EXPECT_GT(table.find("| cnn-small"), toys) << table;
  EXPECT_GT(table.find("| mlp"), toys) << table;
  EXPECT_LT(table.find("1 graphs, gradients kept: average saving"), toys) << table;
  EXPECT_NE(table.find("Gradients fused (1 graphs, same baseline)"), std::string::npos) << table;
  EXPECT_GT(table.find("2 graphs, gradients kept: average saving"), toys) << table;
  EXPECT_NE(table.find("fused saving"), std::string::npos) << table;
  const std::string rows = read_file(csv.string());
  EXPECT_EQ(lines(rows), 4) << rows;  // header + one row per graph
  EXPECT_EQ(rows.rfind("graph,exported,nodes,tensors,reference_reserved,", 0), 0u) << rows;
  EXPECT_NE(rows.find("fused_saving_ceiling"), std::string::npos) << rows;

  // An empty directory, or a filter that matches nothing, is an error; nothing is written.
  fs::create_directories(dir / "empty");
  for (const std::string& args :
       {"mem bench " + (dir / "empty").string() + " --csv " + (dir / "never.csv").string(),
        "mem bench " + (dir / "zoo").string() + " --filter nothing-matches"}) {
    r = run(args);
    EXPECT_EQ(r.status, 2) << args;
    EXPECT_EQ(lines(r.err), 1) << r.err;
  }
  EXPECT_FALSE(fs::exists(dir / "never.csv"));
}

TEST(Cli, HelpExplainsAndSucceeds) {
  CliResult r = run("mem plan --help");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("--time-limit"), std::string::npos);
  EXPECT_NE(run("--help").out.find("mem"), std::string::npos);
}

// One command line: every help has an example; the same thing is spelled the same way
// everywhere (files -o/--output, progress -q/--quiet, planning options alike); positional
// names are upper case; enumerated options show their values.
TEST(Cli, EveryHelpHasAnExampleAndTheSharedOptionNames) {
  struct Command {
    std::string name;
    bool writes_a_file, has_progress;
  };
  const std::vector<Command> commands = {
      {"", false, false},         {"mem", false, false},          {"perf", false, false},
      {"mem plan", true, true},   {"mem place", true, true},      {"mem simulate", false, false},
      {"mem check", false, true}, {"mem report", true, true},     {"mem bench", false, true},
      {"perf gen", true, true},   {"perf merge", true, true},     {"perf stats", false, false},
      {"perf train", true, true}, {"perf predict", false, false}, {"perf eval", false, false},
      {"perf tune", true, true},  {"perf weights", true, true}};
  for (const Command& c : commands) {
    const CliResult r = run(c.name + " --help");
    EXPECT_EQ(r.status, 0) << c.name;
    EXPECT_NE(r.out.find("Example"), std::string::npos) << c.name << ":\n" << r.out;
    if (c.writes_a_file) {
      EXPECT_NE(r.out.find("-o,--output"), std::string::npos) << c.name;
    }
    if (c.has_progress) {
      EXPECT_NE(r.out.find("-q,--quiet"), std::string::npos) << c.name;
    }
    // Positionals: upper case (GRAPH, PLAN, MODEL, DATA, SHARD...).
    const auto positionals = r.out.find("Positionals:");
    if (positionals != std::string::npos) {
      const std::string first = r.out.substr(positionals + 15, 40);
      const std::string name = first.substr(0, first.find(' '));
      EXPECT_EQ(name, fmt::format("{}",
                                  [&] {
                                    std::string upper = name;
                                    for (char& ch : upper) ch = static_cast<char>(std::toupper(ch));
                                    return upper;
                                  }()))
          << c.name << ": " << name;
    }
  }
  for (const std::string planning : {"mem plan", "mem report", "mem bench"}) {
    const std::string help = run(planning + " --help").out;
    for (const char* option : {"--time-limit", "--alignment", "--placement-time", "--threads"})
      EXPECT_NE(help.find(option), std::string::npos) << planning << " " << option;
  }
  EXPECT_NE(run("perf eval --help").out.find("{test,validation,train}"), std::string::npos);
  EXPECT_NE(run("perf train --help").out.find("{gcn,"), std::string::npos);
}

// Long phases show on a terminal (script(1) gives a pseudo-terminal) and print nothing extra
// when stderr is not one.
TEST(Cli, LongPhasesShowProgressOnATerminalOnly) {
  if (std::system("script --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "no script(1)";
  const std::string cli = std::string(TENSORPLAN_CLI);
  const fs::path dir = scratch();
  const std::string graph = kModels + "googlenet-b1-sgd.json.gz";
  const std::string a_csv =
      std::string(TENSORPLAN_SOURCE_DIR) + "/tests/data/minimalloc-challenging/D.csv";
  struct Case {
    std::string arguments;
    std::vector<std::string> expected;
  };
  const std::vector<Case> cases = {
      {"mem plan " + graph + " --time-limit 3 -o /dev/null",
       {"planning googlenet-b1-sgd", "ordering: ", "placing: "}},
      {"mem place " + a_csv + " --time-limit 2 --threads 1", {"placing ", "search (part 1 of"}},
      {"mem bench " + kModels + " --filter googlenet-b1 --time-limit 2",
       // "0/1 (0%) 1.": the line keeps ticking while the (quiet) planner works.
       {"mem bench [", "planning googlenet-b1-sgd.json.gz", "0/1 (0%) 1.",
        "[1/1] googlenet-b1-sgd: saving"}}};
  for (const Case& c : cases) {
    const fs::path terminal = dir / "terminal.txt";
    std::system(
        ("script -qec '" + cli + " " + c.arguments + "' " + terminal.string() + " >/dev/null 2>&1")
            .c_str());
    const std::string seen = read_file(terminal.string());
    for (const std::string& expected : c.expected)
      EXPECT_NE(seen.find(expected), std::string::npos) << c.arguments << "\n" << seen;
  }
  // Not a terminal: the plan's table on stdout, nothing on stderr.
  const CliResult r = run("mem plan " + graph + " --time-limit 3 -o /dev/null");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.err, "");
}

}  // namespace
}  // namespace tensorplan
