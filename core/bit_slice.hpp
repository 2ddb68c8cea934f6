#pragma once
// The bit-sliced page layout read by the tensor-core (mma) kernel.
//
// Answer bit j of vector v for key k is the parity of sum over pages q of
// mask_k(q)[j] AND page_q[v][j]: for each j a GF(2) product of a (keys x pages)
// by a (pages x vectors) bit matrix. A binary MMA (m16n8k256) takes 256 pages as
// its K dimension, so the matrix is stored in blocks of 256 pages (aligned to
// global page indices) whose bits are grouped across pages: one 32-bit word holds
// bit j of vector v for 32 consecutive pages, already in the order of the MMA's
// B fragment. The block's 1 MiB holds the same bits as its 256 pages; pages
// outside the matrix are zero.
//
// Word order inside a block: (n-tile of 8 vectors, pair of bits j, lane, bit of
// the pair, half) -> a lane loads the B fragments of two bits with one 16-byte load.
// Lane = 4 g + t holds vector 8 n + g; half h and t select pages 128 h + 32 t + i
// (i = bit of the word).
#include "bits128.hpp"

#include <cstdint>

namespace pagequery {

enum class PageLayout {
  Vectors,    // pages as stored by Morphogen: (page, vector) rows of 16 bytes
  BitSliced,  // blocks of 256 pages, bit-sliced for the mma kernel
};

inline constexpr int kSlicePages = 256;                           // pages per block: one MMA's K
inline constexpr int kSliceWords = kSlicePages * kPageBytes / 4;  // 32-bit words per block

// Index, inside a block, of the word holding bit `bit` (0..127) of vector `vector`
// for the 32 pages 128 half + 32 t + (0..31).
PAGEQUERY_INLINE std::uint32_t slice_word_index(int vector, int bit, int half, int t) {
  const int lane = (vector & 7) * 4 + t;
  return ((static_cast<std::uint32_t>((vector >> 3) * 64 + (bit >> 1)) * 32 + lane) * 4) + (bit & 1) * 2 + half;
}

// One round of transpose32: swaps the off-diagonal J x J blocks of every 2J x 2J
// block. Written with a constant stride so that GPU code unrolls it into registers.
template <int J>
PAGEQUERY_INLINE void transpose32_round(std::uint32_t (&m)[32], std::uint32_t mask) {
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
  for (int k = 0; k < 32; ++k) {
    if (k & J) continue;
    const std::uint32_t t = ((m[k] >> J) ^ m[k + J]) & mask;
    m[k + J] ^= t;
    m[k] ^= t << J;
  }
}

// In-register 32 x 32 bit transpose: bit b of m[i] moves to bit i of m[b].
PAGEQUERY_INLINE void transpose32(std::uint32_t (&m)[32]) {
  transpose32_round<16>(m, 0x0000ffffu);
  transpose32_round<8>(m, 0x00ff00ffu);
  transpose32_round<4>(m, 0x0f0f0f0fu);
  transpose32_round<2>(m, 0x33333333u);
  transpose32_round<1>(m, 0x55555555u);
}

}  // namespace pagequery
