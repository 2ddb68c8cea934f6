#pragma once
// ChaCha block function (RFC 8439 layout, round count a template parameter) and
// Morphogen's PRG: a 128-bit seed expands to two child seeds and two control bits.
#include "bits128.hpp"

namespace pagequery {

namespace detail {
PAGEQUERY_INLINE std::uint32_t rotl32(std::uint32_t x, int n) {
  return (x << n) | (x >> (32 - n));
}
PAGEQUERY_INLINE void quarter_round(std::uint32_t& a, std::uint32_t& b,
                                               std::uint32_t& c, std::uint32_t& d) {
  a += b; d ^= a; d = rotl32(d, 16);
  c += d; b ^= c; b = rotl32(b, 12);
  a += b; d ^= a; d = rotl32(d, 8);
  c += d; b ^= c; b = rotl32(b, 7);
}
}  // namespace detail

// One ChaCha block: state = constants | key[8] | counter | nonce[3].
template <int Rounds>
PAGEQUERY_INLINE void chacha_block(const std::uint32_t (&key)[8], std::uint32_t counter,
                                         const std::uint32_t (&nonce)[3],
                                         std::uint32_t (&out)[16]) {
  static_assert(Rounds > 0 && Rounds % 2 == 0, "ChaCha runs whole double rounds");
  const std::uint32_t init[16] = {0x61707865u, 0x3320646eu, 0x79622d32u, 0x6b206574u,
                                  key[0],      key[1],      key[2],      key[3],
                                  key[4],      key[5],      key[6],      key[7],
                                  counter,     nonce[0],    nonce[1],    nonce[2]};
  std::uint32_t x[16];
  for (int i = 0; i < 16; ++i) x[i] = init[i];
  for (int r = 0; r < Rounds / 2; ++r) {
    detail::quarter_round(x[0], x[4], x[8], x[12]);
    detail::quarter_round(x[1], x[5], x[9], x[13]);
    detail::quarter_round(x[2], x[6], x[10], x[14]);
    detail::quarter_round(x[3], x[7], x[11], x[15]);
    detail::quarter_round(x[0], x[5], x[10], x[15]);
    detail::quarter_round(x[1], x[6], x[11], x[12]);
    detail::quarter_round(x[2], x[7], x[8], x[13]);
    detail::quarter_round(x[3], x[4], x[9], x[14]);
  }
  for (int i = 0; i < 16; ++i) out[i] = x[i] + init[i];
}

struct PrgChildren {
  Bits128 left;
  Bits128 right;
  std::uint8_t t_left;
  std::uint8_t t_right;
};

// Morphogen's expand: key = seed || seed, nonce 0; block 0 gives the child
// seeds, block 1's first two words give the control bits.
PAGEQUERY_INLINE PrgChildren prg_expand(const Bits128& seed) {
  const std::uint32_t key[8] = {seed.w[0], seed.w[1], seed.w[2], seed.w[3],
                                seed.w[0], seed.w[1], seed.w[2], seed.w[3]};
  const std::uint32_t nonce[3] = {0, 0, 0};
  std::uint32_t b0[16];
  std::uint32_t b1[16];
  chacha_block<8>(key, 0, nonce, b0);
  chacha_block<8>(key, 1, nonce, b1);
  return {{{b0[0], b0[1], b0[2], b0[3]}},
          {{b0[4], b0[5], b0[6], b0[7]}},
          static_cast<std::uint8_t>(b1[0] & 1u),
          static_cast<std::uint8_t>(b1[1] & 1u)};
}

}  // namespace pagequery
