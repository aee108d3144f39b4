#include "tensorplan/mem/gradients.h"

#include <gtest/gtest.h>

#include "support/random_graph.h"
#include "tensorplan/mem/graph_io.h"
#include "tensorplan/mem/lower_bound.h"
#include "tensorplan/mem/simulate.h"
#include "test_graphs.h"

namespace tensorplan::mem {
namespace {

using testing::GraphBuilder;

// Two layers, forward / backward / per-weight update in the eager order:
//   x(1000, input), w1(10), w2(20) weights
//   f1: x,w1 -> a1(100)        f2: a1,w2 -> a2(100)        loss: a2 -> l(1, output)
//   b2: l,a1 -> g2(200, grad)  b1: l,x -> g1(400, grad)    (gradients kept: outputs)
//   u2: w2,g2 -> 0-byte        u1: w1,g1 -> 0-byte
// Kept, the peak is at the end: persistent 1030 + l 1 + g2 200 + g1 400 = 1631 (steps b1, u2, u1).
// Fused, g2 dies at u2; the best order runs u2 before b1: peak 1030 + 1 + 400 = 1431 at b1.
Graph two_layer_step() {
  GraphBuilder b;
  const int x = b.tensor(1000, TensorKind::kInput), w1 = b.weight(10), w2 = b.weight(20);
  const int a1 = b.tensor(100), a2 = b.tensor(100), l = b.tensor(1, TensorKind::kActivation, true);
  const int g2 = b.tensor(200, TensorKind::kGradient, true);
  const int g1 = b.tensor(400, TensorKind::kGradient, true);
  const int v2 = b.tensor(0, TensorKind::kTemporary), v1 = b.tensor(0, TensorKind::kTemporary);
  b.node({x, w1}, {a1});
  b.node({a1, w2}, {a2});
  b.node({a2}, {l});
  b.node({l, a1}, {g2});
  b.node({l, x}, {g1});
  b.node({w2, g2}, {v2});
  b.node({w1, g1}, {v1});
  return b.finish("two-layer");
}

TEST(Gradients, FusedGradientsAreNoLongerOutputsAndNothingElseChanges) {
  const Graph keep = two_layer_step();
  const Graph fused = with_fused_gradients(keep);
  EXPECT_EQ(fused.gradients, GradientSemantics::kFused);
  ASSERT_EQ(fused.num_tensors(), keep.num_tensors());
  for (int t = 0; t < keep.num_tensors(); ++t) {
    const Tensor &k = keep.tensors[t], &f = fused.tensors[t];
    EXPECT_EQ(f.size, k.size);
    EXPECT_EQ(f.kind, k.kind);
    EXPECT_EQ(f.producer, k.producer);
    EXPECT_EQ(f.consumers, k.consumers);
    EXPECT_EQ(f.output, k.kind == TensorKind::kGradient ? false : k.output) << t;
  }
  EXPECT_TRUE(fused.tensors[5].output);  // the loss stays an output
  EXPECT_EQ(fused.order, keep.order);
  // Fusing a fused graph changes nothing; the result is a graph the reader accepts.
  EXPECT_EQ(graph_to_json(with_fused_gradients(fused)), graph_to_json(fused));
  Graph copy = fused;
  EXPECT_NO_THROW(link_and_validate(copy, "fused"));
}

TEST(Gradients, HandGraphFusedMaxLiveIsKnown) {
  const Graph keep = two_layer_step();
  const Graph fused = with_fused_gradients(keep);
  EXPECT_EQ(max_live(keep, keep.order), 1631);
  // The eager order runs both updates last, so fusing alone gains nothing there...
  EXPECT_EQ(max_live(fused, fused.order), 1631);
  // ... but updating w2 before computing g1 does: g2 is freed first.
  const std::vector<int> update_early = {0, 1, 2, 3, 5, 4, 6};
  EXPECT_EQ(max_live(fused, update_early), 1431);
  EXPECT_EQ(max_live(keep, update_early), 1631);
  EXPECT_EQ(best_lower_bound(fused), 1431);
}

TEST(Gradients, FusedMaxLiveIsAtMostKeepsUnderAnyOrder) {
  int gained = 0;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    const Graph keep = random_training_graph(1 + static_cast<int>(seed % 12), seed);
    const Graph fused = with_fused_gradients(keep);
    int gradients = 0;
    for (const Tensor& t : keep.tensors) gradients += t.kind == TensorKind::kGradient && t.output;
    ASSERT_GT(gradients, 0) << seed;
    EXPECT_LE(max_live(fused, keep.order), max_live(keep, keep.order)) << seed;
    EXPECT_LE(best_lower_bound(fused), best_lower_bound(keep)) << seed;
    gained += best_lower_bound(fused) < best_lower_bound(keep);
  }
  // Freeing gradients early must pay somewhere: the random graphs keep each to the end.
  EXPECT_GT(gained, 0);
}

}  // namespace
}  // namespace tensorplan::mem
