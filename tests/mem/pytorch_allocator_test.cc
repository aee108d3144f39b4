#include "tensorplan/mem/pytorch_allocator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <vector>

#include "support/random_graph.h"
#include "tensorplan/common/error.h"
#include "tensorplan/mem/simulate.h"
#include "test_graphs.h"

namespace tensorplan::mem {
namespace {

using testing::GraphBuilder;

constexpr std::int64_t KiB = 1024;
constexpr std::int64_t MiB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Hand-worked traces. Addresses are simulated: segments follow one another in creation order.

TEST(PytorchAllocator, ZeroSizeAllocatesNothing) {
  CachingAllocatorSim sim;
  EXPECT_EQ(sim.malloc(0), -1);
  EXPECT_EQ(sim.reserved(), 0);
  EXPECT_EQ(sim.stats().segments, 0);
  EXPECT_THROW(sim.malloc(-1), Error);
}

TEST(PytorchAllocator, SmallPoolReusesFreedMemory) {
  CachingAllocatorSim sim;
  // 1000 B rounds to 1024 B; the small pool cudaMallocs a 2 MiB segment and splits it
  // (remainder 2 MiB - 1024 >= 512).
  const auto a = sim.malloc(1000);
  EXPECT_EQ(sim.allocated(), 1024);
  EXPECT_EQ(sim.reserved(), 2 * MiB);
  sim.free(a);  // merges back with the remainder: one free 2 MiB block
  EXPECT_EQ(sim.allocated(), 0);
  EXPECT_EQ(sim.reserved(), 2 * MiB);  // segments are never given back
  const auto b = sim.malloc(1000);     // served from the cache, same place
  EXPECT_EQ(sim.address(b), 0);
  EXPECT_EQ(sim.stats().segments, 1);
  EXPECT_EQ(sim.stats().peak_reserved, 2 * MiB);
  EXPECT_EQ(sim.stats().peak_allocated, 1024);
  EXPECT_THROW(sim.free(a), Error);  // already freed
  EXPECT_THROW(sim.free(99), Error);
}

TEST(PytorchAllocator, SmallSegmentSplitsInto512ByteBlocks) {
  CachingAllocatorSim sim;
  // 4096 requests of 1 B each take 512 B: 4096 * 512 B = 2 MiB, exactly one small segment. The
  // last one takes the final 512 B block whole (remainder 0, no split).
  for (int i = 0; i < 4096; ++i) {
    const auto h = sim.malloc(1);
    ASSERT_EQ(sim.address(h), i * 512);
  }
  EXPECT_EQ(sim.stats().segments, 1);
  EXPECT_EQ(sim.allocated(), 2 * MiB);
  EXPECT_EQ(sim.reserved(), 2 * MiB);
  // The 4097th needs a second segment, which starts right after the first.
  const auto h = sim.malloc(513);  // rounds to 1024
  EXPECT_EQ(sim.address(h), 2 * MiB);
  EXPECT_EQ(sim.stats().segments, 2);
  EXPECT_EQ(sim.stats().peak_reserved, 4 * MiB);
  EXPECT_EQ(sim.stats().peak_allocated, 2 * MiB + 1024);
}

TEST(PytorchAllocator, OneMebibyteIsSmallOneMoreByteIsLarge) {
  CachingAllocatorSim sim;
  // Exactly 1 MiB: small pool, 2 MiB segment, split (remainder 1 MiB).
  sim.malloc(MiB);
  EXPECT_EQ(sim.reserved(), 2 * MiB);
  EXPECT_EQ(sim.allocated(), MiB);
  // 1 MiB + 1 rounds to 1 MiB + 512 > 1 MiB: large pool, which does not see the small pool's free
  // 1 MiB; a 20 MiB segment, split (remainder 19 MiB - 512 > 1 MiB).
  sim.malloc(MiB + 1);
  EXPECT_EQ(sim.reserved(), 22 * MiB);
  EXPECT_EQ(sim.allocated(), 2 * MiB + 512);
  // A second 1-10 MiB request fits the 20 MiB segment's remainder: no new segment.
  sim.malloc(9 * MiB);
  EXPECT_EQ(sim.reserved(), 22 * MiB);
  EXPECT_EQ(sim.allocated(), 11 * MiB + 512);
  // A small request still goes to the small pool's remaining 1 MiB.
  sim.malloc(100);
  EXPECT_EQ(sim.stats().segments, 2);
  EXPECT_EQ(sim.stats().peak_reserved, 22 * MiB);
  EXPECT_EQ(sim.stats().peak_allocated, 11 * MiB + 1024);
}

TEST(PytorchAllocator, LargeRequestsRoundToTwoMebibyteSegments) {
  {
    CachingAllocatorSim sim;
    sim.malloc(12 * MiB);  // >= 10 MiB: a segment of exactly 12 MiB, nothing left to split
    EXPECT_EQ(sim.reserved(), 12 * MiB);
    EXPECT_EQ(sim.allocated(), 12 * MiB);
  }
  {
    CachingAllocatorSim sim;
    sim.malloc(10 * MiB);  // exactly kMinLargeAlloc: its own 10 MiB segment, not 20 MiB
    EXPECT_EQ(sim.reserved(), 10 * MiB);
    sim.malloc(10 * MiB - 512);  // just below: a 20 MiB segment
    EXPECT_EQ(sim.reserved(), 30 * MiB);
  }
  {
    CachingAllocatorSim sim;
    // 10 MiB + 1 rounds to 10 MiB + 512; the segment rounds up to 12 MiB; the remainder
    // 2 MiB - 512 > 1 MiB is split off and cached.
    const auto a = sim.malloc(10 * MiB + 1);
    EXPECT_EQ(sim.reserved(), 12 * MiB);
    EXPECT_EQ(sim.allocated(), 10 * MiB + 512);
    // 1.5 MiB fits that remainder; 2 MiB - 512 - 1.5 MiB = 0.5 MiB - 512 <= 1 MiB: no split, so
    // the whole 2 MiB - 512 block counts as allocated (PyTorch's allocated_bytes counts blocks).
    const auto b = sim.malloc(MiB + MiB / 2);
    EXPECT_EQ(sim.address(a), 0);
    EXPECT_EQ(sim.address(b), 10 * MiB + 512);
    EXPECT_EQ(sim.reserved(), 12 * MiB);
    EXPECT_EQ(sim.allocated(), 12 * MiB);
    EXPECT_EQ(sim.stats().segments, 1);
  }
}

TEST(PytorchAllocator, BestFitTakesTheTighterBlock) {
  CachingAllocatorSim sim;
  // Two large segments: 12 MiB at 0 and 14 MiB at 12 MiB, both freed.
  const auto a = sim.malloc(12 * MiB);
  const auto b = sim.malloc(14 * MiB);
  sim.free(a);
  sim.free(b);
  // 11 MiB: best fit is the 12 MiB block (remainder 1 MiB: not split), not the first-listed or
  // largest one; then 13 MiB still fits the 14 MiB block. Worst or first fit by size would have
  // put 11 MiB in the 14 MiB block and needed a third segment for 13 MiB.
  const auto c = sim.malloc(11 * MiB);
  const auto d = sim.malloc(13 * MiB);
  EXPECT_EQ(sim.address(c), 0);
  EXPECT_EQ(sim.address(d), 12 * MiB);
  EXPECT_EQ(sim.stats().segments, 2);
  EXPECT_EQ(sim.stats().peak_reserved, 26 * MiB);
  EXPECT_EQ(sim.allocated(), 26 * MiB);  // unsplit blocks count whole
}

TEST(PytorchAllocator, BestFitBreaksTiesByAddress) {
  CachingAllocatorSim sim;
  // Small pool. Segment 0: x [0, 600K) y [600K, 1200K) rest 848K. Segment 1 (at 2 MiB): z, same.
  const auto x = sim.malloc(600 * KiB);
  const auto y = sim.malloc(600 * KiB);
  const auto z = sim.malloc(900 * KiB);  // 848K left in segment 0 is too small: segment 1
  EXPECT_EQ(sim.address(x), 0);
  EXPECT_EQ(sim.address(y), 600 * KiB);
  EXPECT_EQ(sim.address(z), 2 * MiB);
  // Free y: merges with segment 0's tail into 1448K at 600K. Segment 1's tail is 1148K at
  // 2 MiB + 900K. A 1000K request: best fit is segment 1's tail (1148K < 1448K), although
  // segment 0's block has the lower address.
  sim.free(y);
  const auto w = sim.malloc(1000 * KiB);
  EXPECT_EQ(sim.address(w), 2 * MiB + 900 * KiB);
  // Now free blocks: 1448K at 600K and 148K at 2 MiB + 1900K. Free z and w: segment 1 becomes
  // one 2 MiB block. Free x: segment 0 becomes one 2 MiB block too. Equal sizes: the lower
  // address wins.
  sim.free(z);
  sim.free(w);
  sim.free(x);
  const auto v = sim.malloc(MiB);
  EXPECT_EQ(sim.address(v), 0);
  EXPECT_EQ(sim.stats().segments, 2);
}

TEST(PytorchAllocator, LargePoolSplitsOnlyAboveOneMebibyte) {
  CachingAllocatorSim sim;
  const auto a = sim.malloc(20 * MiB);  // 20 MiB segment, used whole
  sim.free(a);
  // 19 MiB in the 20 MiB block leaves exactly 1 MiB: not > 1 MiB, so no split.
  const auto b = sim.malloc(19 * MiB);
  EXPECT_EQ(sim.allocated(), 20 * MiB);
  sim.free(b);
  // 19 MiB - 512 leaves 1 MiB + 512 > 1 MiB: split; a 1 MiB + 1 request (1 MiB + 512 rounded)
  // then fits the remainder exactly, without a new segment.
  const auto c = sim.malloc(19 * MiB - 512);
  EXPECT_EQ(sim.allocated(), 19 * MiB - 512);
  const auto d = sim.malloc(MiB + 1);
  EXPECT_EQ(sim.address(c), 0);
  EXPECT_EQ(sim.address(d), 19 * MiB - 512);
  EXPECT_EQ(sim.allocated(), 20 * MiB);
  EXPECT_EQ(sim.stats().segments, 1);
  EXPECT_EQ(sim.stats().peak_reserved, 20 * MiB);
}

TEST(PytorchAllocator, FreeingMergesWithBothNeighbours) {
  {
    CachingAllocatorSim sim;
    // Small pool: a [0, 512K) b [512K, 1M) c [1M, 1.5M), free tail [1.5M, 2M).
    const auto a = sim.malloc(512 * KiB);
    const auto b = sim.malloc(512 * KiB);
    const auto c = sim.malloc(512 * KiB);
    sim.free(a);  // no free neighbour yet
    sim.free(c);  // merges with the tail: [1M, 2M)
    sim.free(b);  // merges with a (prev) and [1M, 2M) (next): the whole 2 MiB
    // Two 1 MiB requests fit the merged block; without merging only one 1 MiB hole existed.
    const auto d = sim.malloc(MiB);
    const auto e = sim.malloc(MiB);
    EXPECT_EQ(sim.address(d), 0);
    EXPECT_EQ(sim.address(e), MiB);
    EXPECT_EQ(sim.stats().segments, 1);
    EXPECT_EQ(sim.stats().peak_reserved, 2 * MiB);
  }
  {
    CachingAllocatorSim sim;
    // Large pool: x [0, 4M) y [4M, 8M) in a 20 MiB segment, free tail [8M, 20M).
    const auto x = sim.malloc(4 * MiB);
    const auto y = sim.malloc(4 * MiB);
    sim.free(x);
    sim.free(y);  // merges with x and the tail: one 20 MiB block again
    // 18 MiB fits (and splits off 2 MiB) without a new segment.
    const auto z = sim.malloc(18 * MiB);
    EXPECT_EQ(sim.address(z), 0);
    EXPECT_EQ(sim.allocated(), 18 * MiB);
    EXPECT_EQ(sim.stats().segments, 1);
    EXPECT_EQ(sim.stats().peak_reserved, 20 * MiB);
  }
}

// ---------------------------------------------------------------------------------------------
// Replay of a graph.

// w (3000 B, weight) -> n0 -> a (4 MiB) -> n1 -> b (6 MiB); n2(a, b) -> c (100 B, output);
// n3(c) -> d (12 MiB, never read), e (0 B).
Graph chain() {
  GraphBuilder g;
  const int w = g.weight(3000);
  const int a = g.tensor(4 * MiB), b = g.tensor(6 * MiB);
  const int c = g.tensor(100, TensorKind::kActivation, /*output=*/true);
  const int d = g.tensor(12 * MiB), e = g.tensor(0);
  g.node({w}, {a});
  g.node({a}, {b});
  g.node({a, b}, {c});
  g.node({c}, {d, e});
  return g.finish("chain");
}

TEST(PytorchAllocatorReplay, TinyGraphByHand) {
  const Graph g = chain();
  // before: w -> 3072 B in a 2 MiB small segment.                  reserved 2M, alloc 3072
  // step 0: a (4 MiB) -> 20 MiB large segment, split: a [0,4M).     reserved 22M, alloc 4M+3072
  // step 1: b (6 MiB) -> the 16 MiB tail, split: b [4M,10M).                      alloc 10M+3072
  // step 2: c (512 B) -> small segment.                                           alloc 10M+3584
  //         then a and b are freed (last read at step 2); b merges with a and the tail: 20 MiB.
  // step 3: d (12 MiB) -> the 20 MiB block, split; e allocates nothing.           alloc 12M+3584
  //         then d is freed (never read). w and c live to the end.
  const AllocatorStats stats = replay_pytorch_allocator(g, g.order);
  EXPECT_EQ(stats.peak_reserved, 22 * MiB);
  EXPECT_EQ(stats.peak_allocated, 12 * MiB + 3584);
  EXPECT_EQ(stats.segments, 2);
  // Max-live is at step 3: w + c + d = 12 MiB + 3100 <= peak allocated.
  EXPECT_EQ(max_live(g, g.order), 12 * MiB + 3100);
}

TEST(PytorchAllocatorReplay, FreesFollowTheOrder) {
  // Two independent branches, n0 -> p -> n1 -> q and n2 -> r -> n3 -> s, all 8 MiB; q and s are
  // never read. Run branch after branch, at most two are live (16 MiB, one 20 MiB segment);
  // interleaved, p, r and q are live at once (24 MiB > 20 MiB: a second segment).
  GraphBuilder b;
  const int p = b.tensor(8 * MiB), q = b.tensor(8 * MiB);
  const int r = b.tensor(8 * MiB), s = b.tensor(8 * MiB);
  b.node({}, {p});
  b.node({p}, {q});
  b.node({}, {r});
  b.node({r}, {s});
  const Graph g = b.finish("branches");
  // Order 0 1 2 3. step 0: p [0,8M) of a 20 MiB segment. step 1: q [8M,16M); p freed (merges
  // into nothing: q is allocated) -> free 8 MiB at 0 and 4 MiB at 16M; q freed (no consumer)
  // -> q merges with both: 20 MiB. step 2: r [0,8M). step 3: s [8M,16M).
  const AllocatorStats in_order = replay_pytorch_allocator(g, {0, 1, 2, 3});
  EXPECT_EQ(in_order.peak_reserved, 20 * MiB);
  EXPECT_EQ(in_order.peak_allocated, 16 * MiB);
  EXPECT_EQ(in_order.segments, 1);
  // Order 0 2 1 3. step 0: p [0,8M). step 1: r [8M,16M); tail 4 MiB. step 2: q needs 8 MiB: a
  // second 20 MiB segment; then p and q are freed. step 3: s takes the best fit among 8 MiB at 0
  // (p merged with nothing: r is allocated) and segment 2's 20 MiB: p's 8 MiB.
  const AllocatorStats interleaved = replay_pytorch_allocator(g, {0, 2, 1, 3});
  EXPECT_EQ(interleaved.peak_reserved, 40 * MiB);
  EXPECT_EQ(interleaved.peak_allocated, 24 * MiB);
  EXPECT_EQ(interleaved.segments, 2);
}

TEST(PytorchAllocatorReplay, RejectsAnOrderThatIsNotTopological) {
  const Graph g = chain();
  EXPECT_THROW(replay_pytorch_allocator(g, {1, 0, 2, 3}), Error);
  EXPECT_THROW(replay_pytorch_allocator(g, {0, 1, 2}), Error);
}

TEST(PytorchAllocatorReplay, GraphWithoutNodesHoldsPersistentTensors) {
  GraphBuilder b;
  b.weight(100);
  b.weight(3 * MiB);
  const Graph g = b.finish();
  // 100 B -> 512 B of a 2 MiB small segment; 3 MiB -> a 20 MiB large segment.
  const AllocatorStats stats = replay_pytorch_allocator(g, g.order);
  EXPECT_EQ(stats.peak_reserved, 22 * MiB);
  EXPECT_EQ(stats.peak_allocated, 3 * MiB + 512);
}

// ---------------------------------------------------------------------------------------------
// A plain reference model (linear scans over every block) to check the fast simulator against.

class ReferenceAllocator {
 public:
  std::int64_t malloc(std::int64_t request) {
    const std::int64_t size = std::max<std::int64_t>(512, (request + 511) / 512 * 512);
    const bool small = size <= MiB;
    // Best fit: smallest free block of the same pool that fits, then lowest address.
    int best = -1;
    for (int i = 0; i < static_cast<int>(blocks_.size()); ++i) {
      const Block& b = blocks_[i];
      if (b.dead || b.allocated || b.small != small || b.size < size) continue;
      if (best < 0 || b.size < blocks_[best].size ||
          (b.size == blocks_[best].size && b.address < blocks_[best].address))
        best = i;
    }
    if (best < 0) {
      const std::int64_t segment = small             ? 2 * MiB
                                   : size < 10 * MiB ? 20 * MiB
                                                     : (size + 2 * MiB - 1) / (2 * MiB) * 2 * MiB;
      blocks_.push_back(Block{end_, segment, end_, small, false, false});
      end_ += segment;
      reserved_ += segment;
      ++stats_.segments;
      stats_.peak_reserved = std::max(stats_.peak_reserved, reserved_);
      best = static_cast<int>(blocks_.size()) - 1;
    }
    const std::int64_t rest = blocks_[best].size - size;
    if (small ? rest >= 512 : rest > MiB) {
      Block tail = blocks_[best];
      tail.address += size;
      tail.size = rest;
      blocks_[best].size = size;
      blocks_.push_back(tail);
    }
    blocks_[best].allocated = true;
    allocated_ += blocks_[best].size;
    stats_.peak_allocated = std::max(stats_.peak_allocated, allocated_);
    handles_[next_handle_] = blocks_[best].address;
    return next_handle_++;
  }

  void free(std::int64_t handle) {
    const std::int64_t address = handles_.at(handle);
    handles_.erase(handle);
    Block* b = find(address);
    b->allocated = false;
    allocated_ -= b->size;
    // Merge with the free block that ends where this starts, and the one that starts where this
    // ends, inside the same segment.
    for (Block& o : blocks_) {
      if (o.dead || o.allocated || &o == b || o.segment != b->segment) continue;
      if (o.address + o.size == b->address) {
        o.size += b->size;
        b->dead = true;
        b = &o;
        break;
      }
    }
    for (Block& o : blocks_) {
      if (o.dead || o.allocated || &o == b || o.segment != b->segment) continue;
      if (b->address + b->size == o.address) {
        b->size += o.size;
        o.dead = true;
        break;
      }
    }
  }

  std::int64_t address(std::int64_t handle) const { return handles_.at(handle); }
  const AllocatorStats& stats() const { return stats_; }

 private:
  struct Block {
    std::int64_t address;
    std::int64_t size;
    std::int64_t segment;  // address of its segment
    bool small;
    bool allocated;
    bool dead;  // merged into a neighbour
  };
  Block* find(std::int64_t address) {
    for (Block& b : blocks_)
      if (!b.dead && b.allocated && b.address == address) return &b;
    return nullptr;
  }
  std::vector<Block> blocks_;
  std::map<std::int64_t, std::int64_t> handles_;
  std::int64_t next_handle_ = 0, end_ = 0, reserved_ = 0, allocated_ = 0;
  AllocatorStats stats_;
};

TEST(PytorchAllocatorProperty, MatchesAPlainReferenceModelOnRandomTraces) {
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    Rng rng(seed);
    CachingAllocatorSim sim;
    ReferenceAllocator ref;
    std::vector<std::pair<std::int64_t, std::int64_t>> live;  // (sim handle, ref handle)
    for (int op = 0; op < 400; ++op) {
      if (!live.empty() && rng.chance(0.45)) {
        const auto k =
            static_cast<std::size_t>(rng.uniform(0, static_cast<std::int64_t>(live.size()) - 1));
        sim.free(live[k].first);
        ref.free(live[k].second);
        live.erase(live.begin() + static_cast<std::ptrdiff_t>(k));
      } else {
        // Sizes around every threshold: tiny, small, near 1 MiB, 1-10 MiB, > 10 MiB.
        std::int64_t size = 0;
        switch (rng.uniform(0, 4)) {
          case 0:
            size = rng.uniform(1, 4096);
            break;
          case 1:
            size = rng.uniform(1, MiB);
            break;
          case 2:
            size = MiB + rng.uniform(-2048, 2048);
            break;
          case 3:
            size = rng.uniform(MiB, 10 * MiB + 4096);
            break;
          default:
            size = rng.uniform(10 * MiB, 64 * MiB);
            break;
        }
        const auto h = sim.malloc(size);
        const auto r = ref.malloc(size);
        ASSERT_EQ(sim.address(h), ref.address(r)) << "seed " << seed << " op " << op;
        live.emplace_back(h, r);
      }
      ASSERT_EQ(sim.stats().peak_reserved, ref.stats().peak_reserved) << "seed " << seed;
      ASSERT_EQ(sim.stats().peak_allocated, ref.stats().peak_allocated) << "seed " << seed;
      ASSERT_EQ(sim.stats().segments, ref.stats().segments) << "seed " << seed;
    }
    for (const auto& [h, r] : live) sim.free(h);
    EXPECT_EQ(sim.allocated(), 0);
    EXPECT_EQ(sim.reserved(), sim.stats().peak_reserved);  // nothing is ever given back
  }
}

// Max-live with every size rounded up to 512 B (zero stays zero): what the live tensors occupy
// in the allocator at the very least.
std::int64_t rounded_max_live(Graph graph) {
  for (Tensor& t : graph.tensors)
    if (t.size > 0) t.size = (t.size + 511) / 512 * 512;
  return max_live(graph, graph.order);
}

// What holds for every graph and order: at the peak step of the simulator, every live tensor is
// an allocated block at least as large as its 512-rounded size (outputs of the step are allocated
// before anything is freed after it), and every block lies in a segment. So
//   peak_reserved >= peak_allocated >= rounded max-live >= max-live,
// and reserved bytes are a whole number of 2 MiB (every segment size is a multiple of 2 MiB).
void expect_bounds(const Graph& g, const std::string& what) {
  const AllocatorStats stats = replay_pytorch_allocator(g, g.order);
  const std::int64_t live = max_live(g, g.order);
  const std::int64_t rounded = rounded_max_live(g);
  EXPECT_GE(stats.peak_reserved, stats.peak_allocated) << what;
  EXPECT_GE(stats.peak_allocated, rounded) << what;
  EXPECT_GE(rounded, live) << what;
  EXPECT_EQ(stats.peak_reserved % (2 * MiB), 0) << what;
  EXPECT_LE(stats.segments * 2 * MiB, stats.peak_reserved) << what;
}

TEST(PytorchAllocatorProperty, PeaksBoundMaxLiveOnRandomGraphs) {
  for (std::uint64_t seed = 1; seed <= 150; ++seed) {
    const int n = static_cast<int>(5 + seed % 60);
    expect_bounds(random_dag(n, seed), fmt::format("random_dag({}, {})", n, seed));
    expect_bounds(random_dag(n, seed, 3 * MiB), fmt::format("random_dag({}, {}, 3M)", n, seed));
    expect_bounds(random_dag(n, seed, 40 * MiB), fmt::format("random_dag({}, {}, 40M)", n, seed));
  }
  for (std::uint64_t seed = 1; seed <= 100; ++seed) {
    const int layers = static_cast<int>(1 + seed % 12);
    expect_bounds(random_training_graph(layers, seed),
                  fmt::format("random_training_graph({}, {})", layers, seed));
  }
}

// The replay drives the allocator exactly as an independent event list would: persistent tensors
// first, then per step the outputs, then the tensors last used there, in index order.
TEST(PytorchAllocatorProperty, ReplayMatchesTheReferenceModelOnRandomGraphs) {
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    const Graph g = seed % 2 ? random_dag(40, seed, 24 * MiB) : random_training_graph(6, seed);
    const int steps = g.num_nodes();
    std::vector<int> position(steps);
    for (int s = 0; s < steps; ++s) position[g.order[s]] = s;
    ReferenceAllocator ref;
    std::vector<std::int64_t> handle(g.tensors.size(), -1);
    for (int i = 0; i < g.num_tensors(); ++i)
      if (g.tensors[i].producer < 0 && g.tensors[i].size > 0)
        handle[i] = ref.malloc(g.tensors[i].size);
    for (int s = 0; s < steps; ++s) {
      for (int t : g.nodes[g.order[s]].outputs)
        if (g.tensors[t].size > 0) handle[t] = ref.malloc(g.tensors[t].size);
      for (int i = 0; i < g.num_tensors(); ++i) {
        const Tensor& t = g.tensors[i];
        if (t.producer < 0 || t.output || handle[i] < 0) continue;
        int last = position[t.producer];
        for (int c : t.consumers) last = std::max(last, position[c]);
        if (last == s) {
          ref.free(handle[i]);
          handle[i] = -1;
        }
      }
    }
    const AllocatorStats stats = replay_pytorch_allocator(g, g.order);
    EXPECT_EQ(stats.peak_reserved, ref.stats().peak_reserved) << "seed " << seed;
    EXPECT_EQ(stats.peak_allocated, ref.stats().peak_allocated) << "seed " << seed;
    EXPECT_EQ(stats.segments, ref.stats().segments) << "seed " << seed;
  }
}

}  // namespace
}  // namespace tensorplan::mem
