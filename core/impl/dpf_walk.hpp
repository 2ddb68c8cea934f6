#pragma once
// The DPF tree walks every page-query kernel shares (host+device): a kernel
// visits consecutive nodes of one depth (chunks, blocks, leaves) and keeps the
// path from the root, re-expanding only the levels below the highest bit in
// which a node's index differs from the previous one's; a chunk's subtree is
// expanded in place, one level at a time.
#include "pagequery/core/dpf.hpp"

#include <bit>
#include <cstdint>

namespace pagequery::impl {

// The first level of the path to node `index` (of `depth` levels) that differs
// from the path to index - 1; level 1 for the first node of a walk.
PAGEQUERY_INLINE int first_changed_level(std::uint64_t index, int depth, bool first) {
  if (first) return 1;
#if defined(__CUDA_ARCH__)
  const int width = 64 - __clzll(static_cast<long long>(index ^ (index - 1)));
#else
  const int width = std::bit_width(index ^ (index - 1));
#endif
  return depth - width + 1;
}

// Re-expands levels [from, depth] of the path to node `index`. `path(level)`
// returns a reference-like accessor of the node at that level: get() / set(node).
template <class Key, class Path>
PAGEQUERY_FORCEINLINE void descend(const Key& key, std::uint64_t index, int from, int depth, const Path& path) {
  for (int level = from; level <= depth; ++level) {
    const int bit = static_cast<int>((index >> (depth - level)) & 1u);
    path(level).set(dpf_child(key, level - 1, path(level - 1).get(), bit));
  }
}

// One item of level j of the in-place subtree expansion of 2^s leaves below
// the path's node at level `top`: node m of depth j sits at m * (2^s >> j), its
// left child stays there and the right one goes half a stride further; the
// last level writes leaf masks (a packed key's leaf values). `root()` (read at
// level 0 only) and `node(pos)` are accessors as in descend; `leaf(pos)` returns
// a Bits128&.
template <class Key, class Root, class Node, class Leaf>
PAGEQUERY_FORCEINLINE void expand_subtree_item(const Key& key, int top, int j, int s, int item, const Root& root,
                                               const Node& node, const Leaf& leaf) {
  const int stride = (1 << s) >> j;
  const int pos = item * stride;
  const DpfNode parent = j == 0 ? root().get() : node(pos).get();
  DpfNode left, right;
  dpf_children(key, top + j, parent, left, right);
  if (j + 1 == s) {
    leaf(pos) = dpf_leaf_mask(key, left);
    leaf(pos + stride / 2) = dpf_leaf_mask(key, right);
  } else {
    node(pos).set(left);
    node(pos + stride / 2).set(right);
  }
}

// A node held as a seed and a control bit in two places (scratch views,
// shared-memory arrays): the accessor descend and expand_subtree_item take.
template <class Seed, class Bit>
struct SplitNode {
  Seed& seed;
  Bit& t;
  PAGEQUERY_INLINE DpfNode get() const { return DpfNode{seed, t}; }
  PAGEQUERY_INLINE void set(const DpfNode& n) const {
    seed = n.seed;
    t = n.t;
  }
};
template <class Seed, class Bit>
PAGEQUERY_INLINE SplitNode<Seed, Bit> split_node(Seed& seed, Bit& t) {
  return {seed, t};
}

// A node held whole (a thread's own path).
struct NodeRef {
  DpfNode& node;
  PAGEQUERY_INLINE DpfNode get() const { return node; }
  PAGEQUERY_INLINE void set(const DpfNode& n) const { node = n; }
};

}  // namespace pagequery::impl
