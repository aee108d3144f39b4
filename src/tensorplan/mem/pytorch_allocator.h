// A simulation of PyTorch's CUDA caching allocator (c10/cuda/CUDACachingAllocator.cpp), replaying
// the allocations and frees of a training step in a given order. Its peak *reserved* bytes under
// the reference order is the "PyTorch, eager order" baseline that every saving is measured against.
#pragma once

#include <cstdint>
#include <vector>

#include "tensorplan/mem/graph.h"

namespace tensorplan::mem {

struct AllocatorStats {
  std::int64_t peak_reserved = 0;   // max bytes held in segments (what nvidia-smi would show)
  std::int64_t peak_allocated = 0;  // max bytes of live blocks; like PyTorch's allocated_bytes it
                                    // counts whole blocks: an unsplit cached block counts its full
                                    // size even where the request was smaller
  std::int64_t segments = 0;        // number of segments created (cudaMalloc calls)
};

// The allocator itself: malloc/free of byte sizes, no memory pressure (segments are never given
// back). Rules: sizes round up to 512 B; requests <= 1 MiB come from the small pool (2 MiB
// segments), larger ones from the large pool (requests < 10 MiB get 20 MiB segments, larger ones
// a segment rounded up to 2 MiB); best fit over cached free blocks of the pool; a block is split
// if the remainder is >= 512 B (small pool) or > 1 MiB (large pool); freed blocks merge with free
// neighbours in their segment.
class CachingAllocatorSim {
 public:
  CachingAllocatorSim();
  ~CachingAllocatorSim();
  CachingAllocatorSim(const CachingAllocatorSim&) = delete;
  CachingAllocatorSim& operator=(const CachingAllocatorSim&) = delete;

  // Returns a handle for free(). A size of 0 allocates nothing and returns -1.
  std::int64_t malloc(std::int64_t size);
  void free(std::int64_t handle);
  const AllocatorStats& stats() const;
  std::int64_t reserved() const;   // bytes held in segments now
  std::int64_t allocated() const;  // bytes of allocated blocks now (block sizes, as PyTorch counts)
  // Simulated address of a live allocation. Segments are laid out one after another in creation
  // order, so equal-sized free blocks tie-break towards older segments, as lower addresses would.
  std::int64_t address(std::int64_t handle) const;

 private:
  struct Impl;
  Impl* impl_;
};

// Replays a step: tensors that exist before the step are allocated first (in tensor order); then
// at each step the node's outputs are allocated (in output order), and after it the tensors whose
// last use it was are freed (in tensor order). Tensors that live to the end are never freed.
// Zero-size tensors allocate nothing. The last use of a tensor is its last consumer's step, or its
// producer's step if nothing reads it. Throws tensorplan::Error if `order` is not a complete
// topological order. Holds: peak_reserved >= peak_allocated >= max_live(graph, order).
// With `trace`, also records the allocator's bytes at every step (after the step's allocations,
// before its frees: the step's own peak).
struct AllocatorTrace {
  std::vector<std::int64_t> reserved;   // per step: bytes held in segments
  std::vector<std::int64_t> allocated;  // per step: bytes of allocated blocks
};
AllocatorStats replay_pytorch_allocator(const Graph& graph, const std::vector<int>& order,
                                        AllocatorTrace* trace = nullptr);

}  // namespace tensorplan::mem
