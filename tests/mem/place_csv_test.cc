// MiniMalloc CSV: round trips, the public challenging instances, and one test per rejection.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "support/random_graph.h"
#include "tensorplan/common/error.h"
#include "tensorplan/common/file_io.h"
#include "tensorplan/mem/place/csv.h"
#include "tensorplan/mem/place/placer.h"
#include "test_graphs.h"

namespace tensorplan::mem::place {
namespace {

TEST(PlaceCsv, ReadsMiniMallocRows) {
  const CsvInstance instance = parse_csv("id,lower,upper,size\n0,0,10,4096\n7,5,8,3\n", "x.csv");
  ASSERT_EQ(instance.problem.buffers.size(), 2u);
  const Buffer& b = instance.problem.buffers[1];
  EXPECT_EQ(b.id, 7);
  EXPECT_EQ(b.lower, 5);
  EXPECT_EQ(b.upper, 8);
  EXPECT_EQ(b.size, 3);
  EXPECT_FALSE(instance.offsets.has_value());
}

TEST(PlaceCsv, AcceptsCrlfBlankLinesSpacesAndAnyColumnOrder) {
  const CsvInstance instance =
      parse_csv("size, id ,upper,lower\r\n\r\n 4096,0,10,0\r\n3,7,8,5\r\n\n", "x.csv");
  ASSERT_EQ(instance.problem.buffers.size(), 2u);
  EXPECT_EQ(instance.problem.buffers[0].size, 4096);
  EXPECT_EQ(instance.problem.buffers[1].lower, 5);
}

TEST(PlaceCsv, KeepsAnOffsetColumn) {
  const CsvInstance instance =
      parse_csv("id,lower,upper,size,offset\n0,0,2,4,0\n1,1,3,4,4\n", "x.csv");
  ASSERT_TRUE(instance.offsets.has_value());
  EXPECT_EQ(*instance.offsets, (std::vector<std::int64_t>{0, 4}));
  EXPECT_TRUE(is_valid(instance.problem, *instance.offsets));
}

TEST(PlaceCsv, AnyIdTextIsKeptAndNonCanonicalNumbersStayDistinct) {
  const CsvInstance instance =
      parse_csv("id,lower,upper,size\nb1,0,2,4\n09,0,2,4\n9,0,2,4\n", "x.csv");
  EXPECT_EQ(instance.ids, (std::vector<std::string>{"b1", "09", "9"}));
  // Not all integers: every buffer's numeric id is its row.
  EXPECT_EQ(instance.problem.buffers[2].id, 2);
  EXPECT_EQ(format_csv(instance.problem, {0, 4, 8}, instance.ids),
            "id,lower,upper,size,offset\nb1,0,2,4,0\n09,0,2,4,4\n9,0,2,4,8\n");
  // Integer ids keep their numbers.
  EXPECT_EQ(parse_csv("id,lower,upper,size\n7,0,2,4\n", "x.csv").problem.buffers[0].id, 7);
}

TEST(PlaceCsv, HeaderOnlyIsAnEmptyInstance) {
  EXPECT_TRUE(parse_csv("id,lower,upper,size\n", "x.csv").problem.buffers.empty());
}

TEST(PlaceCsv, RoundTripsThroughAFile) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    const Graph graph = random_training_graph(8, seed);
    const Problem problem = problem_from_graph(graph, graph.order);
    const BestPlacement best = place_best(problem, heuristic_placers(), Deadline());
    const std::string path = testing::temp_path(std::to_string(seed) + ".csv");
    write_csv(path, problem, best.placement.offsets);
    const CsvInstance back = read_csv(path);
    ASSERT_EQ(back.problem.buffers.size(), problem.buffers.size());
    for (std::size_t i = 0; i < problem.buffers.size(); ++i) {
      EXPECT_EQ(back.problem.buffers[i].id, problem.buffers[i].id);
      EXPECT_EQ(back.problem.buffers[i].lower, problem.buffers[i].lower);
      EXPECT_EQ(back.problem.buffers[i].upper, problem.buffers[i].upper);
      EXPECT_EQ(back.problem.buffers[i].size, problem.buffers[i].size);
    }
    ASSERT_TRUE(back.offsets.has_value());
    EXPECT_EQ(*back.offsets, best.placement.offsets);
    std::filesystem::remove(path);
  }
}

TEST(PlaceCsv, WritesTheHeaderWithOffset) {
  const Problem problem{{{3, 0, 2, 10}}, 1};
  EXPECT_EQ(format_csv(problem, {0}), "id,lower,upper,size,offset\n3,0,2,10,0\n");
}

// Parsing `text` must throw an Error whose message contains each of `needles`.
void expect_rejected(const std::string& text, std::vector<std::string> needles) {
  try {
    parse_csv(text, "in.csv");
    ADD_FAILURE() << "accepted: " << text;
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    for (const auto& needle : needles)
      EXPECT_NE(message.find(needle), std::string::npos)
          << "'" << needle << "' not in: " << message;
  }
}

const std::string kHeader = "id,lower,upper,size\n";

TEST(PlaceCsvRejects, EmptyFile) { expect_rejected("", {"in.csv", "empty"}); }
TEST(PlaceCsvRejects, MissingHeaderColumn) {
  expect_rejected("id,lower,upper\n0,0,1\n", {"in.csv:1:", "size"});
}
TEST(PlaceCsvRejects, UnknownHeaderColumn) {
  expect_rejected("id,lower,upper,size,colour\n", {"in.csv:1:", "colour"});
}
TEST(PlaceCsvRejects, RepeatedHeaderColumn) {
  expect_rejected("id,lower,upper,size,size\n", {"in.csv:1:", "twice"});
}
TEST(PlaceCsvRejects, RowWithMissingColumns) {
  expect_rejected(kHeader + "0,0,1,5\n1,0,1\n", {"in.csv:3:", "3 fields", "4 columns"});
}
TEST(PlaceCsvRejects, RowWithExtraColumns) {
  expect_rejected(kHeader + "0,0,1,5,9\n", {"in.csv:2:", "5 fields"});
}
TEST(PlaceCsvRejects, NonIntegers) {
  expect_rejected(kHeader + "0,0,1,5\n1,0,x,5\n", {"in.csv:3:", "upper \"x\" is not"});
  expect_rejected(kHeader + "0,0,1,1.5\n", {"in.csv:2:", "size \"1.5\" is not"});
  expect_rejected(kHeader + ",0,1,5\n", {"in.csv:2:", "empty id"});
  expect_rejected(kHeader + "0,0,1,99999999999999999999\n", {"in.csv:2:", "not a 64-bit integer"});
}
TEST(PlaceCsvRejects, LowerNotBelowUpper) {
  expect_rejected(kHeader + "0,4,4,5\n", {"in.csv:2:", "lower 4", "upper 4"});
  expect_rejected(kHeader + "0,5,4,5\n", {"in.csv:2:"});
}
TEST(PlaceCsvRejects, NegativeOrZeroSize) {
  expect_rejected(kHeader + "0,0,1,-5\n", {"in.csv:2:", "size -5"});
  expect_rejected(kHeader + "0,0,1,0\n", {"in.csv:2:", "size 0"});
}
TEST(PlaceCsvRejects, SizesBeyondTwoToThe62) {
  expect_rejected(kHeader + "0,0,1,4611686018427387904\n1,0,1,1\n", {"in.csv:3:", "2^62"});
}
TEST(PlaceCsvRejects, NegativeOffset) {
  expect_rejected("id,lower,upper,size,offset\n0,0,1,5,-1\n", {"in.csv:2:", "offset -1"});
}
TEST(PlaceCsvRejects, DuplicateId) {
  expect_rejected(kHeader + "0,0,1,5\n\n0,1,2,5\n", {"in.csv:4:", "duplicate id 0", "line 2"});
}
TEST(PlaceCsvRejects, MissingFile) {
  EXPECT_THROW(read_csv(testing::temp_path("absent.csv")), Error);
}

// The eleven MiniMalloc "challenging" instances (Apache-2.0, google/minimalloc), shipped in
// tests/data; TENSORPLAN_MINIMALLOC_DIR points the test at another copy.
TEST(PlaceCsv, ReadsTheChallengingInstances) {
  const char* env = std::getenv("TENSORPLAN_MINIMALLOC_DIR");
  const std::filesystem::path dir =
      env ? env : TENSORPLAN_SOURCE_DIR "/tests/data/minimalloc-challenging";
  if (!std::filesystem::exists(dir / "A.csv"))
    FAIL() << "no instances at " << dir << " (they ship with the repository)";
  const std::vector<std::tuple<std::string, std::size_t, std::int64_t>> expected = {
      {"A", 154, 1048576}, {"B", 170, 1048576}, {"C", 203, 1039360}, {"D", 213, 986112},
      {"E", 215, 1048576}, {"F", 296, 1048576}, {"G", 308, 1048576}, {"H", 316, 1048576},
      {"I", 374, 1048576}, {"J", 409, 989184},  {"K", 454, 1048576}};
  for (const auto& [name, buffers, bound] : expected) {
    const CsvInstance instance = read_csv((dir / (name + ".csv")).string());
    EXPECT_EQ(instance.problem.buffers.size(), buffers) << name;
    EXPECT_EQ(max_live(instance.problem), bound) << name;
    const BestPlacement best = place_best(instance.problem, heuristic_placers(), Deadline());
    EXPECT_TRUE(is_valid(instance.problem, best.placement.offsets)) << name;
    EXPECT_GE(best.placement.height, bound) << name;
  }
}

}  // namespace
}  // namespace tensorplan::mem::place
