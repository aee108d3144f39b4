// Which addresses are taken during a range of time, for the greedy placers. A query returns the
// union of the address ranges of every placed buffer that shares a moment with the range — the
// sorted, coalesced list the gap search walks — without visiting each such buffer: training
// graphs keep thousands of buffers (weights, saved activations) live at once, and walking them all
// for every placement would be quadratic.
//
// How: a segment tree over the elementary time slots. A buffer's slot range splits into O(log n)
// canonical nodes; each node keeps `own`, the union of the buffers stored at it (they cover the
// node's whole range), and `below`, the union over its subtree. The buffers that meet a query range
// are those stored in the subtrees of its canonical nodes (their `below`) and those stored at the
// strict ancestors of those nodes (their `own`). Unions coalesce, so a densely packed arena keeps
// every set short.
#pragma once

#include <cstdint>
#include <vector>

namespace tensorplan::mem::place {

struct AddressRange {
  std::int64_t begin = 0;  // first byte
  std::int64_t end = 0;    // one past the last byte
};

// A union of address ranges: sorted, disjoint, touching ranges merged.
class AddressUnion {
 public:
  void add(std::int64_t begin, std::int64_t end);
  const std::vector<AddressRange>& ranges() const { return ranges_; }

 private:
  std::vector<AddressRange> ranges_;
};

class Occupancy {
 public:
  // Time is `slots` elementary slots, numbered 0..slots-1.
  explicit Occupancy(int slots);

  // Marks [begin, end) taken during slots [first_slot, end_slot).
  void add(int first_slot, int end_slot, std::int64_t begin, std::int64_t end);

  // The union of the address ranges taken at any slot of [first_slot, end_slot): sorted, disjoint
  // and coalesced. Overwrites `out`; the reference stays valid until the next call.
  const std::vector<AddressRange>& taken(int first_slot, int end_slot);

 private:
  // The canonical nodes of a slot range into canonical_, and their strict ancestors (each once)
  // into ancestors_.
  void decompose(int first_slot, int end_slot);

  int leaves_;                          // a power of two >= slots
  std::vector<AddressUnion> own_;       // per node: buffers stored at the node
  std::vector<AddressUnion> below_;     // per node: buffers stored at the node or under it
  std::vector<std::uint32_t> visited_;  // per node: the epoch of the last decompose that saw it
  std::uint32_t epoch_ = 0;
  std::vector<int> canonical_, ancestors_;               // scratch for decompose()
  std::vector<AddressRange> scratch_, merged_, result_;  // scratch for taken()
  std::vector<std::size_t> runs_;                        // run boundaries in scratch_
};

}  // namespace tensorplan::mem::place
