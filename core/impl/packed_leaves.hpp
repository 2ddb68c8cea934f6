#pragma once
// The leaf expansion of packed keys that the tensor-core kernels share (CUDA):
// every key's leaves of a slab of 256-page blocks, written in the order the
// scan's MMAs read them. A Layout gives the buffer's rows (keys, padded to its
// tiles) and the word index of (leaf of the slab, key, word of the leaf).
#include "pagequery/core/dpf_packed.hpp"
#include "pagequery/core/impl/dpf_walk.hpp"

#include <cstddef>
#include <cstdint>

namespace pagequery::impl {

inline constexpr int kLeafRun = 32;  // leaves a thread of the expansion walks to, left to right
// The leaf buffer of one slab is bounded: larger batches scan in several slabs.
inline constexpr std::size_t kLeafBufferBytes = std::size_t{256} << 20;

// Thread: one key and a run of kLeafRun leaves of the slab's leaves
// [first_leaf, +leaf_count) (global leaf indices). The root-to-leaf path is
// kept and only the levels below the highest changed bit are re-expanded (two
// PRG blocks a leaf on average). Rows past key_count are zeros.
template <class Layout>
__global__ void expand_packed_leaves(const PackedDpfKey* keys, int key_count, Layout layout, std::uint64_t first_leaf,
                                     std::uint64_t leaf_count, std::uint32_t* out) {
  const std::uint64_t item = static_cast<std::uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int k = static_cast<int>(item % layout.rows);
  const std::uint64_t begin = item / layout.rows * kLeafRun;
  if (begin >= leaf_count) return;
  const std::uint64_t end = min(begin + kLeafRun, leaf_count);
  if (k >= key_count) {
    for (std::uint64_t leaf = begin; leaf < end; ++leaf)
      for (int w = 0; w < 4; ++w) out[layout.word(leaf, k, w)] = 0;
    return;
  }
  const PackedDpfKey& key = keys[k];
  const int d = key.domain_bits;
  DpfNode path[kMaxPackedDomainBits + 1];
  path[0] = DpfNode{key.root_seed, key.root_t};
  for (std::uint64_t leaf = begin; leaf < end; ++leaf) {
    const std::uint64_t global = first_leaf + leaf;
    descend(key, global, first_changed_level(global, d, leaf == begin), d,
            [&](int level) { return NodeRef{path[level]}; });
    const Bits128 value = dpf_leaf_mask(key, path[d]);
    for (int w = 0; w < 4; ++w) out[layout.word(leaf, k, w)] = value.w[w];
  }
}

// Queues the expansion of `leaf_count` leaves from global leaf `first_leaf`.
template <class Layout>
void queue_leaf_expansion(cudaStream_t stream, const PackedDpfKey* keys, int key_count, const Layout& layout,
                          std::uint64_t first_leaf, std::uint64_t leaf_count, std::uint32_t* out) {
  const std::uint64_t items = (leaf_count + kLeafRun - 1) / kLeafRun * layout.rows;
  expand_packed_leaves<<<static_cast<unsigned>((items + 255) / 256), 256, 0, stream>>>(keys, key_count, layout,
                                                                                       first_leaf, leaf_count, out);
}

}  // namespace pagequery::impl
