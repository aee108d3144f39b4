// `tensorplan perf train` and `perf predict` end to end, through the tensorplan program (which
// runs tensorplan-models): bad input is one clear error line and exit code 2; a quick training
// run on the first committed shard writes a model that predict then reads.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "support/cli_runner.h"
#include "support/temp_path.h"
#include "tensorplan/common/json.h"
#include "tensorplan/perf/dataset.h"

namespace tensorplan::perf {
namespace {

struct CliRun {
  int code;
  std::string out;
};

// Runs the CLI; `stderr_too` appends stderr to the captured output.
CliRun run(const std::string& args, bool stderr_too = true) {
  const testing::CliResult r = testing::run_cli(args);
  return {r.status, stderr_too ? r.out + r.err : r.out};
}

using tensorplan::testing::temp_path;

const std::string kShard =
    std::string(TENSORPLAN_SOURCE_DIR) + "/data/perf/shard-00000-of-00016.tpshard";

TEST(ModelCli, BadInputGetsOneClearError) {
  CliRun r = run("perf train --model gcn /nonexistent/data -o /tmp/x.tpmodel -q");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.out, "tensorplan: error: /nonexistent/data: no such file or directory\n");

  r = run("perf train --model no-such-kind /nonexistent/data -o /tmp/x.tpmodel -q");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("--model: no-such-kind not in {gcn,"), std::string::npos) << r.out;

  const std::string garbage = temp_path("garbage.tpmodel");
  std::ofstream(garbage) << "not a model\n";
  r = run("perf predict " + garbage + " /nonexistent/data");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("tensorplan: error: " + garbage + ": not a tensorplan model file"),
            std::string::npos)
      << r.out;
  std::filesystem::remove(garbage);

  r = run("perf predict /nonexistent/model.tpmodel " + kShard);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("/nonexistent/model.tpmodel"), std::string::npos) << r.out;

  // Hyper-parameters come from --model-options: only gcn takes them, and only keys it knows.
  r = run("perf train --model xgboost /nonexistent/data -o /tmp/x.tpmodel -q --model-options '{}'");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.out,
            "tensorplan: error: --model-options: xgboost takes none (only gcn has "
            "hyper-parameters to set)\n");
  if (std::filesystem::exists(kShard)) {
    r = run("perf train --model gcn " + kShard +
            " -o /tmp/x.tpmodel -q --model-options '{\"layer\": 2}'");
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.out.find("tensorplan: error: --model-options: unknown GCN option 'layer' (known: "
                         "batch_pipelines, center_weight, edges, epochs, hidden, layers"),
              std::string::npos)
        << r.out;
    r = run("perf train --model gcn " + kShard + " -o /tmp/x.tpmodel -q --model-options '[1'");
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.out.find("--model-options is not JSON"), std::string::npos) << r.out;
  }
}

TEST(ModelCli, TrainThenPredict) {
  if (!std::filesystem::exists(kShard)) FAIL() << "no committed shard " << kShard;
  const std::string model = temp_path("gcn.tpmodel");
  CliRun r = run("perf train --model gcn " + kShard + " -o " + model + " --epochs 1 -q");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("gcn: trained on "), std::string::npos) << r.out;

  r = run("perf predict --json --split test " + model + " " + kShard, false);
  ASSERT_EQ(r.code, 0) << r.out;
  const Json j = Json::parse(r.out);
  EXPECT_EQ(j.at("model"), "gcn");
  ASSERT_FALSE(j.at("predictions").empty());
  for (const Json& row : j.at("predictions")) {
    EXPECT_EQ(row.at("split"), "test");
    EXPECT_GT(row.at("predicted_seconds").get<double>(), 0.0);
    EXPECT_GT(row.at("measured_seconds").get<double>(), 0.0);
  }
  EXPECT_GT(j.at("metrics").at("pipelines").get<int>(), 0);

  const int first = j.at("predictions")[0].at("pipeline").get<int>();
  r = run("perf predict --pipeline " + std::to_string(first) + " " + model + " " + kShard, false);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("gcn on 1 pipeline:"), std::string::npos) << r.out;

  // halide is Adams2019's shipped network: written, not trained, and it says so.
  r = run("perf train --model halide " + kShard + " -o " + model + " -q");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out.find("trained on"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("halide: not trained (Adams2019's shipped weights as they are"),
            std::string::npos)
      << r.out;
  std::filesystem::remove(model);
}

TEST(ModelCli, EvalOfTheShippedModelsPrintsOneObjectWithEveryKind) {
  const std::string data = std::string(TENSORPLAN_SOURCE_DIR) + "/data/perf";
  if (!std::filesystem::exists(data + "/gcn.tpmodel")) FAIL() << "no shipped models in " << data;
  const CliRun r = run("perf eval --json " + data, false);
  ASSERT_EQ(r.code, 0) << r.out;
  const Json j = Json::parse(r.out);
  std::vector<std::string> names;
  for (const Json& m : j.at("models")) {
    names.push_back(m.at("model").get<std::string>());
    for (const char* field :
         {"mape", "rmse_log", "kendall_tau", "pairwise_accuracy", "top1_slowdown", "top5_slowdown"})
      EXPECT_TRUE(m.contains(field)) << field;
    EXPECT_GE(m.at("pairwise_accuracy").get<double>(), 0.0);
    EXPECT_LE(m.at("pairwise_accuracy").get<double>(), 1.0);
  }
  // The GCN first: the table states every baseline's error as a multiple of its.
  EXPECT_EQ(names, (std::vector<std::string>{"gcn", "halide", "halide-retrained", "xgboost",
                                             "xgboost-rank"}));
  EXPECT_TRUE(j.at("models")[4].at("mape").is_null());  // a ranker has no error in seconds
  EXPECT_GT(j.at("pipelines").get<int>(), 0);
  // Format 1 has no repeatability pass: the labels' ceiling is not known, and it says so.
  EXPECT_TRUE(j.at("repeatability_tau").is_null());
  EXPECT_EQ(j.at("repeatability_pipelines").get<int>(), 0);
  const CliRun text = run("perf eval " + data, false);
  EXPECT_NE(text.out.find("labels' repeatability: not measured"), std::string::npos) << text.out;
}

TEST(ModelCli, EvalPrintsTheLabelsOwnRepeatabilityBesideTheModels) {
  // The committed v2 shards carry a repeatability pass: eval states its tau, the same figure as
  // `perf stats`, over every pipeline timed twice (whatever the split evaluated).
  const std::string data = std::string(TENSORPLAN_SOURCE_DIR) + "/data/perf";
  const std::string v2 =
      std::string(TENSORPLAN_SOURCE_DIR) + "/data/perf-v2/shard-00001-of-00032.tpshard";
  const CliRun stats = run("perf stats --json " + v2, false);
  ASSERT_EQ(stats.code, 0) << stats.out;
  const Json repeatability = Json::parse(stats.out).at("repeatability");
  ASSERT_GT(repeatability.at("pipelines").get<int>(), 0);
  const CliRun r = run("perf eval --json --split train " + data + "/gcn.tpmodel " + v2, false);
  ASSERT_EQ(r.code, 0) << r.out;
  const Json j = Json::parse(r.out);
  EXPECT_DOUBLE_EQ(j.at("repeatability_tau").get<double>(),
                   repeatability.at("kendall_tau").get<double>());
  EXPECT_EQ(j.at("repeatability_pipelines").get<int>(), repeatability.at("pipelines").get<int>());
  const CliRun text = run("perf eval --split train " + data + "/gcn.tpmodel " + v2, false);
  EXPECT_NE(text.out.find(fmt::format("labels' repeatability: Kendall tau {:.3f} between two "
                                      "timings of {} pipeline",
                                      repeatability.at("kendall_tau").get<double>(),
                                      repeatability.at("pipelines").get<int>())),
            std::string::npos)
      << text.out;
}

TEST(ModelCli, EvalAndTuneRejectBadInput) {
  const std::string empty = temp_path("empty-dir");
  std::filesystem::create_directory(empty);
  CliRun r = run("perf eval " + empty);
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.out,
            "tensorplan: error: " + empty + ": no model files (*.tpmodel) in this directory\n");
  std::filesystem::remove(empty);

  r = run("perf eval --split nonsense /nonexistent/model.tpmodel " + kShard);
  EXPECT_EQ(r.code, 2);
  // The allowed values are named (and shown in --help).
  EXPECT_NE(r.out.find("--split: nonsense not in {test,validation,train}"), std::string::npos)
      << r.out;

  r = run("perf tune /nonexistent/model.tpmodel --pipeline 8");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("/nonexistent/model.tpmodel"), std::string::npos) << r.out;
  r = run("perf tune " + std::string(TENSORPLAN_SOURCE_DIR) +
          "/data/perf/halide.tpmodel --pipeline 8 --memory-cap 0");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("--memory-cap"), std::string::npos) << r.out;
}

// Two models of one kind (a GCN and its ablation, say) are told apart by their file names.
TEST(ModelCli, EvalLabelsModelsOfOneKindByTheirFiles) {
  const std::string a = temp_path("full.tpmodel"), b = temp_path("ablated.tpmodel");
  std::filesystem::copy_file(std::string(TENSORPLAN_SOURCE_DIR) + "/data/perf/gcn.tpmodel", a,
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(std::string(TENSORPLAN_SOURCE_DIR) + "/data/perf/gcn.tpmodel", b,
                             std::filesystem::copy_options::overwrite_existing);
  const CliRun r = run("perf eval " + a + " " + b + " " + std::string(TENSORPLAN_SOURCE_DIR) +
                           "/data/perf/xgboost.tpmodel " + kShard + " --split train --json",
                       false);
  ASSERT_EQ(r.code, 0) << r.out;
  const Json j = Json::parse(r.out);
  ASSERT_EQ(j.at("models").size(), 3u);
  const std::string first = j.at("models")[0].at("model"), second = j.at("models")[1].at("model");
  EXPECT_EQ(first, "gcn (" + std::filesystem::path(a).filename().string() + ")");
  EXPECT_EQ(second, "gcn (" + std::filesystem::path(b).filename().string() + ")");
  EXPECT_EQ(j.at("models")[2].at("model"), "xgboost");  // a kind of its own keeps its name
  std::filesystem::remove(a);
  std::filesystem::remove(b);
}

// perf tune shows each phase on a terminal (a pseudo-terminal from script(1) here) and prints
// nothing of it when stderr is not one.
TEST(ModelCli, TuneShowsItsPhasesOnATerminalOnly) {
  const std::string tune = std::string(TENSORPLAN_CLI) + " perf tune " + TENSORPLAN_SOURCE_DIR +
                           "/data/perf/halide.tpmodel --samples 2 --top 1 --generator-library " +
                           TENSORPLAN_TEST_GENERATORS + " --generator tiny_blur -p size=48";
  if (std::system("script --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "no script(1)";
  const std::string terminal = temp_path("tune-terminal.txt");
  const int rc = std::system(
      ("script -qec '" + tune + " -o /dev/null' " + terminal + " >/dev/null 2>&1").c_str());
  ASSERT_EQ(rc, 0);
  std::ifstream in(terminal);
  const std::string seen((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(seen.find("perf tune: beam search (Adams2019 default)"), std::string::npos) << seen;
  EXPECT_NE(seen.find("perf tune: sampling: 0/2 distinct (draw 1)"), std::string::npos) << seen;
  EXPECT_NE(seen.find("perf tune: timing pick 1/1"), std::string::npos) << seen;
  std::filesystem::remove(terminal);

  const CliRun plain = run(tune.substr(std::string(TENSORPLAN_CLI).size() + 1) + " -o /dev/null");
  ASSERT_EQ(plain.code, 0) << plain.out;
  EXPECT_EQ(plain.out.find("perf tune:"), std::string::npos) << plain.out;
  if (plain.out.find("predicted") != std::string::npos &&
      plain.out.find("measured", plain.out.find("predicted")) != std::string::npos) {
    // The pick ran: the verdict is timed head to head with the beam search's schedule.
    EXPECT_NE(seen.find("perf tune: timing the beam search's schedule against 1 pick, head to "
                        "head"),
              std::string::npos)
        << seen;
    EXPECT_NE(plain.out.find("head to head, in one process, 9 interleaved rounds"),
              std::string::npos)
        << plain.out;
  }
}

// --json carries the head-to-head timing the verdict comes from.
TEST(ModelCli, TuneJsonCarriesTheHeadToHeadTiming) {
  const CliRun r = run("perf tune " + std::string(TENSORPLAN_SOURCE_DIR) +
                           "/data/perf/halide.tpmodel --samples 2 --top 2 --json -q "
                           "--generator-library " +
                           TENSORPLAN_TEST_GENERATORS + " --generator tiny_blur -p size=48",
                       false);
  ASSERT_EQ(r.code, 0) << r.out;
  const Json j = Json::parse(r.out);
  ASSERT_EQ(j.at("beam_status"), "ok");
  ASSERT_FALSE(j.at("best_sample").is_null()) << r.out;
  const Json& h = j.at("head_to_head");
  ASSERT_EQ(h.at("status"), "ok") << h.dump();
  EXPECT_EQ(h.at("samples").at(0), 0);
  EXPECT_EQ(h.at("rounds"), 9);
  EXPECT_EQ(h.at("round_seconds").at(0).size(), 9u);
  EXPECT_EQ(h.at("best_sample"), j.at("best_sample"));
  EXPECT_DOUBLE_EQ(h.at("speedup").get<double>(), j.at("speedup").get<double>());
  const int faster = h.at("rounds_faster").get<int>();
  EXPECT_EQ(j.at("faster_beyond_noise").get<bool>(), faster == 9);
}

// A refused command: exit code 2 and one error line that names `what`.
void expect_one_error_line(const CliRun& r, const std::string& what) {
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_EQ(r.out.rfind("tensorplan: error: ", 0), 0u) << r.out;
  EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << r.out;
  EXPECT_NE(r.out.find(what), std::string::npos) << r.out;
}

// --dataset DIR tunes pipeline p as that dataset made it: the same pipeline, on the same data.
TEST(ModelCli, TunesAPipelineOfADataset) {
  const std::string dir = temp_path("tune-dataset");
  std::filesystem::remove_all(dir);
  const CliRun gen =
      run("perf gen --tiny --format 2 --pipelines 2 --schedules 2 --seed 5 "
          "--no-quiet-wait --retime-fraction 0 -q --out " +
          dir);
  ASSERT_EQ(gen.code, 0) << gen.out;
  const std::string model = std::string(TENSORPLAN_SOURCE_DIR) + "/data/perf/halide.tpmodel";
  const CliRun r = run(
      "perf tune " + model + " --dataset " + dir + " --pipeline 1 --samples 1 --top 1 --json -q",
      false);
  ASSERT_EQ(r.code, 0) << r.out;
  const Json j = Json::parse(r.out);
  EXPECT_EQ(j.at("dataset"), dir);
  EXPECT_EQ(j.at("pipeline"), 1);
  EXPECT_EQ(j.at("run_seed"), 5);
  // The dataset's record of pipeline 1: its inputs' shapes are what the tuning timed on.
  const std::vector<std::string> shards = perf::list_shards(dir);
  ASSERT_EQ(shards.size(), 1u);
  const perf::Shard shard = perf::read_shard(shards[0]);
  const perf::PipelineRecord* record = nullptr;
  for (const auto& p : shard.pipelines)
    if (p.index == 1) record = &p;
  ASSERT_NE(record, nullptr);
  std::vector<std::vector<int>> shapes;
  for (const Json& in : record->inputs) shapes.push_back(in.at("shape").get<std::vector<int>>());
  EXPECT_EQ(j.at("timed_input_shapes").get<std::vector<std::vector<int>>>(), shapes);
  EXPECT_EQ(j.at("timed_output_shape").get<std::vector<int>>(),
            record->output.at("shape").get<std::vector<int>>());

  expect_one_error_line(run("perf tune " + model + " --dataset " + dir + " --pipeline 2"),
                        "--pipeline 2: " + dir + " has pipelines 0 to 1");
  expect_one_error_line(run("perf tune " + model + " --dataset " + dir + " --run-seed 3"),
                        "--run-seed");
  expect_one_error_line(run("perf tune " + model + " --dataset /nonexistent/v2"),
                        "/nonexistent/v2");
  std::filesystem::remove_all(dir);
}

// Ctrl-C (here SIGINT from timeout(1)) stops the tuning; it still reports, and exits with 130.
TEST(ModelCli, AnInterruptedTuneReportsWhatItHas) {
  const testing::CliResult r = testing::run_command(
      "timeout --preserve-status -s INT 5 " + std::string(TENSORPLAN_CLI) + " perf tune " +
      TENSORPLAN_SOURCE_DIR + "/data/perf/halide.tpmodel --generator-library " +
      TENSORPLAN_TEST_GENERATORS + " --generator tiny_blur --samples 100000 --top 1 --json -q");
  EXPECT_EQ(r.status, 130) << r.out << r.err;
  const Json j = Json::parse(r.out.substr(0, r.out.find('\n')));
  EXPECT_EQ(j.at("interrupted"), true);
  EXPECT_LT(j.at("draws").get<int>(), 100000);
}

// A tune in which no schedule could be timed hands nothing out, and says so with exit code 1.
TEST(ModelCli, ATuneWithNothingTimedExitsWithOne) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "no memory cap under AddressSanitizer";
#endif
  const std::string out = temp_path("tune-none.cc");
  const CliRun r =
      run("perf tune " + std::string(TENSORPLAN_SOURCE_DIR) +
          "/data/perf/halide.tpmodel --generator-library " + TENSORPLAN_TEST_GENERATORS +
          " --generator tiny_too_big --samples 1 --top 1 -q -o " + out);
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("its schedule failed: error:run (ran out of memory under the child's cap"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("no schedule could be timed"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(out));
}

// A generator that cannot be tuned: one error line naming what is wrong, exit code 2.
TEST(ModelCli, TuneRejectsABadGenerator) {
  const std::string tune = "perf tune " + std::string(TENSORPLAN_SOURCE_DIR) +
                           "/data/perf/halide.tpmodel -q --generator-library ";
  const std::string lib = TENSORPLAN_TEST_GENERATORS;
  expect_one_error_line(run(tune + "/nonexistent/libgen.so --generator tiny_blur"),
                        "cannot load generator library /nonexistent/libgen.so");
  expect_one_error_line(
      run(tune + lib + " --generator tiny_sharpen"),
      "no generator named 'tiny_sharpen'; it registers: tiny_blur, tiny_gradient");
  expect_one_error_line(run(tune + lib + " --generator tiny_blur -p size"),
                        "-p size: expected key=value");
  expect_one_error_line(run(tune + lib + " --generator tiny_blur -p size=8 -p size=16"),
                        "-p size=16: the generator param size is given twice");
  expect_one_error_line(run(tune + lib + " --generator tiny_blur -p estimate_output=false"),
                        "output 'output' has no estimate for dimension 0");
}

}  // namespace
}  // namespace tensorplan::perf
