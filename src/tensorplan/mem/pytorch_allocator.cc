// The rules follow c10/cuda/CUDACachingAllocator.cpp of PyTorch 1.13 with its defaults (one
// device, one stream, no max_split_size, no roundup_power2_divisions, no memory pressure):
//   round_size:           max(512, size rounded up to a multiple of 512)
//   get_pool:             rounded size <= 1 MiB -> small pool, else large pool
//   get_allocation_size:  <= 1 MiB -> 2 MiB; < 10 MiB -> 20 MiB; else rounded up to 2 MiB
//   get_free_block:       lower_bound in the pool's set ordered by (size, address): the smallest
//                         cached block that fits, the lowest address among equal sizes
//   should_split:         small pool: remainder >= 512 B; large pool: remainder > 1 MiB
//   split:                the allocation takes the low end of the block, the remainder (high end)
//                         goes back to the pool
//   free_block:           merge with the previous and the next block of the segment when free
//   stats:                reserved_bytes grows by the segment size at each cudaMalloc;
//                         allocated_bytes counts block->size (so an unsplit block counts whole,
//                         e.g. a 1.5 MiB request served by a 2 MiB cached block counts 2 MiB).
// Addresses are simulated: segments are laid out one after another in creation order, so ties
// between equal-sized free blocks of different segments go to the older segment.
#include "tensorplan/mem/pytorch_allocator.h"

#include <algorithm>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "tensorplan/common/error.h"
#include "tensorplan/mem/simulate.h"

namespace tensorplan::mem {

namespace {

constexpr std::int64_t kMinBlockSize = 512;        // all sizes round up to this
constexpr std::int64_t kSmallSize = 1 << 20;       // largest small-pool request (1 MiB)
constexpr std::int64_t kSmallBuffer = 2 << 20;     // small-pool segment (2 MiB)
constexpr std::int64_t kLargeBuffer = 20 << 20;    // segment for 1-10 MiB requests (20 MiB)
constexpr std::int64_t kMinLargeAlloc = 10 << 20;  // requests below this use kLargeBuffer
constexpr std::int64_t kRoundLarge = 2 << 20;      // larger segments round up to 2 MiB

std::int64_t round_size(std::int64_t size) {
  if (size < kMinBlockSize) return kMinBlockSize;
  return kMinBlockSize * ((size + kMinBlockSize - 1) / kMinBlockSize);
}

std::int64_t allocation_size(std::int64_t rounded) {
  if (rounded <= kSmallSize) return kSmallBuffer;
  if (rounded < kMinLargeAlloc) return kLargeBuffer;
  return kRoundLarge * ((rounded + kRoundLarge - 1) / kRoundLarge);
}

// A free block as its pool orders it: by size, then address (c10's BlockComparator).
struct FreeKey {
  std::int64_t size;
  std::int64_t address;
  int block;  // index into Impl::blocks (unique per address, so it never decides the order)
  auto operator<=>(const FreeKey&) const = default;
};

}  // namespace

struct CachingAllocatorSim::Impl {
  struct Block {
    std::int64_t address = 0;  // simulated device address of its first byte
    std::int64_t size = 0;     // bytes (a multiple of 512)
    int prev = -1;             // neighbour below it in its segment, -1 if none
    int next = -1;             // neighbour above it in its segment, -1 if none
    bool small = false;        // belongs to the small pool
    bool allocated = false;    // handed out (not cached)
  };

  std::vector<Block> blocks;      // all blocks ever made; dead ones are listed in `spare`
  std::vector<int> spare;         // indices of blocks merged away, for reuse
  std::set<FreeKey> pools[2];     // cached free blocks: [0] large pool, [1] small pool
  std::vector<int> handle_block;  // handle -> block index, -1 once freed
  std::int64_t next_address = 0;  // where the next segment starts
  std::int64_t reserved = 0;      // bytes in segments
  std::int64_t allocated = 0;     // bytes of allocated blocks
  AllocatorStats stats;

  int new_block() {
    if (!spare.empty()) {
      const int index = spare.back();
      spare.pop_back();
      blocks[index] = Block{};
      return index;
    }
    blocks.emplace_back();
    return static_cast<int>(blocks.size()) - 1;
  }

  std::set<FreeKey>& pool_of(const Block& b) { return pools[b.small ? 1 : 0]; }

  void cache(int index) {
    const Block& b = blocks[index];
    pool_of(b).insert(FreeKey{b.size, b.address, index});
  }

  void uncache(int index) {
    const Block& b = blocks[index];
    pool_of(b).erase(FreeKey{b.size, b.address, index});
  }

  std::int64_t malloc(std::int64_t request) {
    if (request < 0) fail("caching allocator: negative allocation size {}", request);
    if (request == 0) return -1;
    if (request > kMaxBytes) fail("caching allocator: allocation size {} exceeds 2^62", request);
    const std::int64_t size = round_size(request);
    const bool small = size <= kSmallSize;
    std::set<FreeKey>& pool = pools[small ? 1 : 0];

    int index;
    auto it = pool.lower_bound(FreeKey{size, std::numeric_limits<std::int64_t>::min(), -1});
    if (it != pool.end()) {
      index = it->block;
      pool.erase(it);
    } else {
      // cudaMalloc a new segment.
      const std::int64_t segment = allocation_size(size);
      index = new_block();
      Block& b = blocks[index];
      b.address = next_address;
      b.size = segment;
      b.small = small;
      next_address += segment;
      reserved += segment;
      stats.peak_reserved = std::max(stats.peak_reserved, reserved);
      ++stats.segments;
    }

    const std::int64_t remaining = blocks[index].size - size;
    if (small ? remaining >= kMinBlockSize : remaining > kSmallSize) {
      const int tail = new_block();  // may reallocate `blocks`: take references afterwards
      Block& b = blocks[index];
      Block& t = blocks[tail];
      t.address = b.address + size;
      t.size = remaining;
      t.small = small;
      t.prev = index;
      t.next = b.next;
      if (b.next >= 0) blocks[b.next].prev = tail;
      b.next = tail;
      b.size = size;
      cache(tail);
    }

    Block& b = blocks[index];
    b.allocated = true;
    allocated += b.size;
    stats.peak_allocated = std::max(stats.peak_allocated, allocated);
    handle_block.push_back(index);
    return static_cast<std::int64_t>(handle_block.size()) - 1;
  }

  void free(std::int64_t handle) {
    if (handle < 0 || handle >= static_cast<std::int64_t>(handle_block.size()) ||
        handle_block[handle] < 0)
      fail("caching allocator: free of unknown or already freed handle {}", handle);
    int index = handle_block[handle];
    handle_block[handle] = -1;
    Block* b = &blocks[index];
    b->allocated = false;
    allocated -= b->size;

    // Merge with the previous block: it absorbs this one.
    if (b->prev >= 0 && !blocks[b->prev].allocated) {
      const int prev = b->prev;
      uncache(prev);
      Block& p = blocks[prev];
      p.size += b->size;
      p.next = b->next;
      if (b->next >= 0) blocks[b->next].prev = prev;
      spare.push_back(index);
      index = prev;
      b = &p;
    }
    // Merge with the next block: this one absorbs it.
    if (b->next >= 0 && !blocks[b->next].allocated) {
      const int next = b->next;
      uncache(next);
      const Block& n = blocks[next];
      b->size += n.size;
      b->next = n.next;
      if (n.next >= 0) blocks[n.next].prev = index;
      spare.push_back(next);
    }
    cache(index);
  }
};

CachingAllocatorSim::CachingAllocatorSim() : impl_(new Impl) {}
CachingAllocatorSim::~CachingAllocatorSim() { delete impl_; }

std::int64_t CachingAllocatorSim::malloc(std::int64_t size) { return impl_->malloc(size); }
void CachingAllocatorSim::free(std::int64_t handle) { impl_->free(handle); }
const AllocatorStats& CachingAllocatorSim::stats() const { return impl_->stats; }
std::int64_t CachingAllocatorSim::reserved() const { return impl_->reserved; }
std::int64_t CachingAllocatorSim::allocated() const { return impl_->allocated; }
std::int64_t CachingAllocatorSim::address(std::int64_t handle) const {
  if (handle < 0 || handle >= static_cast<std::int64_t>(impl_->handle_block.size()) ||
      impl_->handle_block[handle] < 0)
    fail("caching allocator: address of unknown or freed handle {}", handle);
  return impl_->blocks[impl_->handle_block[handle]].address;
}

AllocatorStats replay_pytorch_allocator(const Graph& graph, const std::vector<int>& order,
                                        AllocatorTrace* trace) {
  std::string why;
  if (!is_topological_order(graph, order, &why))
    fail("PyTorch allocator replay of graph '{}': {}", graph.name, why);
  const int steps = static_cast<int>(order.size());
  const std::vector<Lifetime> lives = lifetimes(graph, order);

  // Tensors freed after each step, in tensor index order (bucketed by a counting sort).
  std::vector<int> free_start(static_cast<std::size_t>(steps) + 1, 0);
  for (int i = 0; i < graph.num_tensors(); ++i)
    if (!graph.tensors[i].lives_to_end()) ++free_start[lives[i].end + 1];
  for (int s = 0; s < steps; ++s) free_start[s + 1] += free_start[s];
  std::vector<int> free_list(static_cast<std::size_t>(free_start[steps]));
  {
    std::vector<int> fill(free_start.begin(), free_start.end() - 1);
    for (int i = 0; i < graph.num_tensors(); ++i)
      if (!graph.tensors[i].lives_to_end()) free_list[fill[lives[i].end]++] = i;
  }

  CachingAllocatorSim sim;
  if (trace) *trace = {};
  std::vector<std::int64_t> handle(graph.tensors.size(), -1);
  for (int i = 0; i < graph.num_tensors(); ++i)
    if (graph.tensors[i].persistent()) handle[i] = sim.malloc(graph.tensors[i].size);
  for (int s = 0; s < steps; ++s) {
    for (int t : graph.nodes[order[s]].outputs) handle[t] = sim.malloc(graph.tensors[t].size);
    if (trace) {
      trace->reserved.push_back(sim.reserved());
      trace->allocated.push_back(sim.allocated());
    }
    for (int k = free_start[s]; k < free_start[s + 1]; ++k) {
      const int t = free_list[k];
      if (handle[t] >= 0) sim.free(handle[t]);
      handle[t] = -1;
    }
  }
  return sim.stats();
}

}  // namespace tensorplan::mem
