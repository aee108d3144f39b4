#include "tensorplan/mem/graph_io.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/random_graph.h"
#include "tensorplan/common/error.h"
#include "tensorplan/common/file_io.h"
#include "test_graphs.h"

namespace tensorplan::mem {
namespace {

using testing::temp_path;

// A valid two-node graph: w (weight) and x (input) -> mul -> y -> relu -> z (output).
Json valid_doc() {
  return Json::parse(R"({
    "format": "tensorplan.graph", "version": 1, "name": "tiny",
    "tensors": [{"id": 10, "name": "x", "size": 400, "kind": "input"},
                {"id": 11, "name": "w", "size": 40, "kind": "weight"},
                {"id": 12, "name": "y", "size": 400, "kind": "activation"},
                {"id": 13, "name": "z", "size": 400, "kind": "activation", "output": true,
                 "shape": [10, 10], "dtype": "float32"}],
    "nodes": [{"id": 1, "name": "mul", "op": "aten.mul", "inputs": [10, 11], "outputs": [12]},
              {"id": 2, "name": "relu", "op": "aten.relu", "inputs": [12], "outputs": [13],
               "module": "act"}],
    "order": [1, 2]})");
}

std::string write_doc(const Json& doc, const std::string& name = "graph.json") {
  const std::string path = temp_path(name);
  write_file_atomic(path, doc.dump());
  return path;
}

// Expects read_graph to throw an Error whose message contains every fragment.
void expect_rejected(const Json& doc, std::initializer_list<std::string> fragments) {
  const std::string path = write_doc(doc);
  try {
    read_graph(path);
    ADD_FAILURE() << "accepted: " << doc.dump();
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    for (const auto& f : fragments) EXPECT_NE(message.find(f), std::string::npos) << message;
  }
}

TEST(GraphIo, ReadsValidGraphAndLinksProducersAndConsumers) {
  const Graph g = read_graph(write_doc(valid_doc()));
  EXPECT_EQ(g.name, "tiny");
  ASSERT_EQ(g.num_tensors(), 4);
  ASSERT_EQ(g.num_nodes(), 2);
  EXPECT_TRUE(g.tensors[0].persistent());
  EXPECT_EQ(g.tensors[2].producer, 0);
  EXPECT_EQ(g.tensors[2].consumers, std::vector<int>{1});
  EXPECT_TRUE(g.tensors[3].output);
  EXPECT_EQ(g.nodes[1].module, "act");
  EXPECT_EQ(g.order, (std::vector<int>{0, 1}));
  EXPECT_EQ(g.persistent_bytes(), 440);
}

TEST(GraphIo, RoundTripsPlainAndGzip) {
  const Graph original = random_training_graph(30, 7);
  for (const char* name : {"rt.json", "rt.json.gz"}) {
    const std::string path = temp_path(name);
    write_graph(original, path);
    const Graph back = read_graph(path);
    EXPECT_EQ(graph_to_json(back), graph_to_json(original)) << name;
  }
  // The .gz file really is compressed.
  std::ifstream in(temp_path("rt.json.gz"), std::ios::binary);
  EXPECT_EQ(in.get(), 0x1f);
}

TEST(GraphIo, RejectsWrongFormatAndVersion) {
  Json doc = valid_doc();
  doc["format"] = "tensorplan.plan";
  expect_rejected(doc, {"format", "tensorplan.graph"});
  doc = valid_doc();
  doc["version"] = 2;
  expect_rejected(doc, {"version 2"});
  doc = valid_doc();
  doc.erase("format");
  expect_rejected(doc, {"missing \"format\""});
}

TEST(GraphIo, RejectsUnknownAndDuplicateIds) {
  Json doc = valid_doc();
  doc["nodes"][1]["inputs"][0] = 99;
  expect_rejected(doc, {"/nodes/1/inputs/0", "unknown tensor id 99"});
  doc = valid_doc();
  doc["tensors"][1]["id"] = 10;
  expect_rejected(doc, {"/tensors/1/id", "duplicate tensor id 10"});
  doc = valid_doc();
  doc["nodes"][1]["id"] = 1;
  expect_rejected(doc, {"duplicate node id 1"});
  doc = valid_doc();
  doc["order"][1] = 7;
  expect_rejected(doc, {"/order/1", "unknown node id 7"});
}

TEST(GraphIo, RejectsTwoProducersAndCycles) {
  Json doc = valid_doc();
  doc["nodes"][1]["outputs"] = {12};
  expect_rejected(doc, {"tensor 12 has two producers", "nodes 1 and 2"});
  // y -> relu -> z, and mul now also reads z: a cycle.
  doc = valid_doc();
  doc["nodes"][0]["inputs"] = {10, 11, 13};
  expect_rejected(doc, {"cycle"});
  doc = valid_doc();
  doc["nodes"][1]["inputs"] = {12, 13};
  expect_rejected(doc, {"node 2 reads its own output tensor 13"});
}

TEST(GraphIo, RejectsBadOrders) {
  Json doc = valid_doc();
  doc["order"] = {2, 1};
  expect_rejected(doc, {"not a topological order", "node 2"});
  doc = valid_doc();
  doc["order"] = {1};
  expect_rejected(doc, {"not a topological order", "1 entries", "2 nodes"});
  doc = valid_doc();
  doc["order"] = {1, 1};
  expect_rejected(doc, {"appears twice"});
  doc = valid_doc();
  doc.erase("order");
  expect_rejected(doc, {"/order"});
}

TEST(GraphIo, RejectsBadSizesAndKinds) {
  Json doc = valid_doc();
  doc["tensors"][2]["size"] = -4;
  expect_rejected(doc, {"/tensors/2/size", "negative"});
  doc = valid_doc();
  doc["tensors"][2]["size"] = (std::int64_t{1} << 62) + 1;
  expect_rejected(doc, {"exceeds 2^62"});
  doc = valid_doc();
  doc["tensors"][2]["size"] = std::uint64_t{1} << 63;
  expect_rejected(doc, {"too large"});
  doc = valid_doc();
  doc["tensors"][2]["size"] = std::int64_t{1} << 62;
  doc["tensors"][3]["size"] = std::int64_t{1} << 62;
  expect_rejected(doc, {"total size"});
  doc = valid_doc();
  doc["tensors"][2]["size"] = 4.5;
  expect_rejected(doc, {"/tensors/2/size", "expected an integer"});
  doc = valid_doc();
  doc["tensors"][2]["size"] = "400";
  expect_rejected(doc, {"expected an integer"});
  doc = valid_doc();
  doc["tensors"][2]["kind"] = "buffer";
  expect_rejected(doc, {"/tensors/2/kind", "unknown kind \"buffer\""});
  doc = valid_doc();
  doc["nodes"][0]["outputs"] = Json::array();
  expect_rejected(doc, {"tensor 12 (activation) has no producer"});
  doc = valid_doc();
  doc["tensors"][0].erase("size");
  expect_rejected(doc, {"/tensors/0/size: missing"});
}

TEST(GraphIo, GradientSemanticsDefaultToKeepAndRoundTrip) {
  Json doc = valid_doc();
  EXPECT_EQ(read_graph(write_doc(doc)).gradients, GradientSemantics::kKeep);
  EXPECT_FALSE(graph_to_json(read_graph(write_doc(doc))).contains("gradients"));
  doc["gradients"] = "keep";
  EXPECT_EQ(read_graph(write_doc(doc)).gradients, GradientSemantics::kKeep);
  doc["gradients"] = "fused";
  const Graph fused = read_graph(write_doc(doc));
  EXPECT_EQ(fused.gradients, GradientSemantics::kFused);
  const std::string path = temp_path("fused.json");
  write_graph(fused, path);
  EXPECT_EQ(read_graph(path).gradients, GradientSemantics::kFused);
}

TEST(GraphIo, RejectsUnknownGradientSemanticsAndKeptGradientsInAFusedGraph) {
  Json doc = valid_doc();
  doc["gradients"] = "kept";
  expect_rejected(doc, {"/gradients", "unknown gradient semantics \"kept\"", "\"fused\""});
  doc["gradients"] = true;
  expect_rejected(doc, {"/gradients", "expected \"keep\" or \"fused\""});
  // A fused graph's gradients die after their update: one marked output contradicts it.
  doc = valid_doc();
  doc["gradients"] = "fused";
  doc["tensors"][3]["kind"] = "gradient";
  expect_rejected(doc, {"tensor 13 (gradient) is marked output", "fused"});
  doc["gradients"] = "keep";
  EXPECT_NO_THROW(read_graph(write_doc(doc)));
}

TEST(GraphIo, RejectsFilesThatAreNotGraphs) {
  const std::string path = temp_path("broken.json");
  write_file_atomic(path, "{\"format\": \"tensorplan.graph\", ");
  EXPECT_THROW(read_graph(path), Error);
  try {
    read_graph(path);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not valid JSON"), std::string::npos);
  }
  EXPECT_THROW(read_graph(temp_path("does-not-exist.json")), Error);
  // A truncated gzip stream.
  const std::string gz = temp_path("good.json.gz");
  write_graph(random_dag(20, 3), gz);
  std::string bytes = read_file(gz);  // decompressed
  std::ifstream in(gz, std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string cut = temp_path("cut.json.gz.raw");
  {
    std::ofstream out(cut, std::ios::binary);
    out.write(raw.data(), static_cast<std::streamsize>(raw.size() / 2));
  }
  try {
    read_graph(cut);
    ADD_FAILURE() << "truncated gzip accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gzip"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(bytes.empty());
}

TEST(GraphIo, AtomicWriteLeavesNoTemporaryFiles) {
  const std::string path = temp_path("atomic.json");
  write_graph(random_dag(10, 1), path);
  for (const auto& entry :
       std::filesystem::directory_iterator(std::filesystem::path(path).parent_path()))
    EXPECT_EQ(entry.path().string().find(".tmp."), std::string::npos) << entry.path();
}

}  // namespace
}  // namespace tensorplan::mem
