// Which nodes must run before (or after) which, in every order of a graph: ancestor and
// descendant sets as bit sets. The precedence lower bound, the ILPs' step windows and the joint
// ILP's "ends before" test all ask this.
#pragma once

#include <bit>
#include <cstdint>
#include <vector>

#include "tensorplan/mem/graph.h"

namespace tensorplan::mem {

// A set of nodes of one graph, one bit per node.
class NodeSet {
 public:
  explicit NodeSet(int n = 0) : words_((static_cast<std::size_t>(n) + 63) / 64, 0) {}
  void insert(int v) { words_[static_cast<std::size_t>(v) >> 6] |= std::uint64_t{1} << (v & 63); }
  bool contains(int v) const { return words_[static_cast<std::size_t>(v) >> 6] >> (v & 63) & 1; }
  void unite(const NodeSet& other) {
    for (std::size_t i = 0; i < words_.size(); ++i) words_[i] |= other.words_[i];
  }
  void intersect(const NodeSet& other) {
    for (std::size_t i = 0; i < words_.size(); ++i) words_[i] &= other.words_[i];
  }
  int count() const {
    int c = 0;
    for (std::uint64_t w : words_) c += std::popcount(w);
    return c;
  }
  template <typename F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i < words_.size(); ++i)
      for (std::uint64_t w = words_[i]; w != 0; w &= w - 1)
        f(static_cast<int>(i * 64 + static_cast<std::size_t>(std::countr_zero(w))));
  }

 private:
  std::vector<std::uint64_t> words_;
};

// Closed ancestor sets: ancestors[v] holds v and every node that runs before v in every order
// (the producers of its inputs, theirs, ...). O(n^2 / 8) bytes.
std::vector<NodeSet> ancestor_sets(const Graph& graph);

// Closed descendant sets: descendants[v] holds v and every node that runs after v in every order.
std::vector<NodeSet> descendant_sets(const Graph& graph);

}  // namespace tensorplan::mem
