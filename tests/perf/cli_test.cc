// The perf CLI: bad input gives one clear error line and exit code 2; stats --json; MPI.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "support/cli_runner.h"
#include "support/temp_path.h"
#include "tensorplan/common/json.h"

namespace tensorplan::perf {
namespace {

using testing::TestDir;

struct CliRun {
  int code;
  std::string out;
};

// The CLI's exit code and its stdout and stderr together.
CliRun run(const std::string& args) {
  const testing::CliResult r = testing::run_cli(args);
  return {r.status, r.out + r.err};
}

TEST(PerfCli, BadInputGetsOneClearError) {
  TestDir dir("cli-bad");
  CliRun r =
      run("perf gen --pipelines 2 --schedules 1 --shard 3/2 --tiny --quiet --out " + dir.str());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("tensorplan: error: --shard 3/2 is out of range"), std::string::npos)
      << r.out;
  r = run("perf gen --pipelines 2 --shard x --tiny --quiet --out " + dir.str());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("--shard wants i/n"), std::string::npos) << r.out;
  r = run("perf gen --pipelines 2 --tiny --quiet --format 3 --out " + dir.str());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("--format"), std::string::npos) << r.out;
  r = run("perf gen --pipelines 2 --tiny --quiet --out /proc/nope");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("/proc/nope"), std::string::npos) << r.out;
  EXPECT_TRUE(std::filesystem::is_empty(dir.str()));

  std::ofstream(dir / "shard-00000-of-00001.tpshard") << "garbage";
  r = run("perf stats " + dir.str());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("not a tensorplan perf shard"), std::string::npos) << r.out;
}

TEST(PerfCli, GenThenStatsJson) {
  TestDir dir("cli-gen");
  CliRun r =
      run("perf gen --pipelines 1 --schedules 2 --seed 4 --tiny --quiet --no-quiet-wait "
          "--quiet-window 0.05 --rounds 7 --retime-fraction 1 --out " +
          dir.str());
  ASSERT_EQ(r.code, 0) << r.out;
  // A second, corrupt shard next to it is reported but does not hide the good one.
  std::ofstream(dir / "shard-00009-of-00010.tpshard") << "TPR1 broken";
  const testing::CliResult stats = testing::run_cli("perf stats --json " + dir.str());
  EXPECT_EQ(stats.status, 2);
  const Json j = Json::parse(stats.out);
  EXPECT_EQ(j.at("pipelines"), 1);
  EXPECT_EQ(j.at("schedules"), 2);
  EXPECT_EQ(j.at("corrupt_shards").size(), 1u);
  EXPECT_EQ(j.at("format_version"), 2);
  EXPECT_GE(j.at("spread").at("median_slowest_over_fastest").get<double>(), 1.0);
  EXPECT_TRUE(j.at("spread").contains("pairs_within_5pct"));
  EXPECT_EQ(j.at("repeatability").at("pipelines"), 1);  // --retime-fraction 1: timed twice
  for (const char* key : {"kendall_tau", "kendall_tau_10pct", "median_relative_difference"})
    EXPECT_TRUE(j.at("repeatability").at(key).is_number()) << key;
}

TEST(PerfCli, MpiRunsOneShardPerRank) {
  if (std::system("command -v mpirun >/dev/null 2>&1") != 0) GTEST_SKIP() << "no mpirun";

  TestDir dir("cli-mpi");
  const std::string command =
      "mpirun -n 2 --allow-run-as-root --oversubscribe " + std::string(TENSORPLAN_CLI) +
      " perf gen --mpi --pipelines 2 --schedules 1 --seed 9 --tiny --quiet --no-quiet-wait "
      "--quiet-window 0.05 --rounds 7 --out " +
      dir.str();
  const testing::CliResult r = testing::run_command(command);
  const std::string out = r.out + r.err;
  if (out.find("built without MPI") != std::string::npos) GTEST_SKIP() << "built without MPI";
  ASSERT_EQ(r.status, 0) << out;
  EXPECT_TRUE(std::filesystem::exists(dir / "shard-00000-of-00002.tpshard")) << out;
  EXPECT_TRUE(std::filesystem::exists(dir / "shard-00001-of-00002.tpshard")) << out;
}

}  // namespace
}  // namespace tensorplan::perf
