#pragma once
// The page-query scan on binary tensor cores (CUDA, compute capability 8.0+).
//
// Same answers as the portable kernel, computed as GF(2) matrix products: for
// each bit j of a 16-byte vector, mma.m16n8k256 .and.popc multiplies the masks'
// bit j (16 keys x 256 pages) by the pages' bit j (256 pages x 8 vectors); the
// low bit of each count is the XOR of page AND mask over those pages. The pages
// come bit-sliced (bit_slice.hpp): the kernel loads MMA fragments directly.
//
// Morphogen keys, up to 16 (Q <= 5): a team of 1,024 threads per multiprocessor
// owns the keys and a range of 256-page blocks. Producer warps expand each
// block's DPF subtree into shared memory (as the portable kernel does) and
// transpose the 128-bit masks in registers into A fragments, one block ahead of
// the consumer warps, which stream the pages through cp.async rings and run the
// MMAs; each folds the parities of 32 bits into one answer word with a funnel
// shift. More keys: teams of 512 threads own 32 keys and run those phases in
// turn, so that each page load feeds two tiles.
//
// Packed keys (dpf_packed.hpp) select whole pages: their A fragment is the same
// for every bit j, so it is simply the 128-bit leaves of the block's two leaves.
// A first kernel expands every key's leaves of a slab of blocks into a buffer in
// fragment order (one ChaCha8 block a node: a few % of the scan); the scan loads
// each team's fragments of a few blocks into registers, and accumulates the
// MMAs of those blocks in the MMA's own accumulator before it folds the parities.
#include "pagequery/core/bit_slice.hpp"
#include "pagequery/core/dpf.hpp"
#include "pagequery/core/dpf_packed.hpp"
#include "pagequery/core/tensor_kernel.hpp"

#include <cuda_runtime_api.h>

#include <cstdint>

namespace pagequery::impl {

struct MmaPageQuery {
  const std::uint32_t* slices;  // bit-sliced blocks [first_block, first_block + blocks)
  std::uint64_t first_block;
  std::uint64_t blocks;
  int domain_bits;  // of Morphogen keys (packed keys carry their own)
  DpfFormat format;
  const void* keys;  // DpfKey or PackedDpfKey, by format
  int key_count;
  Bits128* answers;     // (key_count x 256) vectors, zero before the launch
  int multiprocessors;  // of the instance's device
  int teams = 0;        // 0: one team per multiprocessor
  int tiles = 0;        // packed keys: 16-key tiles a team holds (1, 2, 3, 4, 6), 0: by key count
  int slab_blocks = 0;  // packed keys: blocks of one leaf expansion, 0: 256 MiB of leaves
  TensorKernel kernel = TensorKernel::MmaSync;  // packed keys, resolved (never Auto)
  int wgmma_cluster = 0;                        // wgmma: blocks sharing the leaves (1, 2, 4), 0: by pass size
};

// Queues the scan on `stream`. Throws std::runtime_error when the launch fails
// and std::invalid_argument for a tile count out of range.
void launch_mma_page_query(cudaStream_t stream, const MmaPageQuery& query);

// The device's rate of the binary MMA `kernel` (MmaSync or Wgmma) issues, in
// m*n*k AND-popc per second: the tensor floor of a scan of K keys over P pages
// is K x P x 32,768 over it. A few milliseconds on `stream`.
double measure_tensor_rate(cudaStream_t stream, TensorKernel kernel, int multiprocessors);

}  // namespace pagequery::impl
