#pragma once
// ChaCha block function (RFC 8439 layout, round count a template parameter) and
// Morphogen's PRG: a 128-bit seed expands to two child seeds and two control bits.
#include "bits128.hpp"

namespace pagequery {

namespace detail {
PAGEQUERY_INLINE std::uint32_t rotl32(std::uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }
PAGEQUERY_INLINE void quarter_round(std::uint32_t& a, std::uint32_t& b, std::uint32_t& c, std::uint32_t& d) {
  a += b;
  d ^= a;
  d = rotl32(d, 16);
  c += d;
  b ^= c;
  b = rotl32(b, 12);
  a += b;
  d ^= a;
  d = rotl32(d, 8);
  c += d;
  b ^= c;
  b = rotl32(b, 7);
}
}  // namespace detail

// The state's initial words: constants | key[8] | counter | nonce[3].
PAGEQUERY_INLINE void chacha_init(const std::uint32_t (&key)[8], std::uint32_t counter, const std::uint32_t (&nonce)[3],
                                  std::uint32_t (&init)[16]) {
  const std::uint32_t words[16] = {0x61707865u, 0x3320646eu, 0x79622d32u, 0x6b206574u, key[0], key[1],
                                   key[2],      key[3],      key[4],      key[5],      key[6], key[7],
                                   counter,     nonce[0],    nonce[1],    nonce[2]};
  for (int i = 0; i < 16; ++i) init[i] = words[i];
}

// Rounds of ChaCha on x, from `first_column`: the first round's column quarter
// rounds 1..3 are skipped when first_column is 1 (already done by the caller).
template <int Rounds>
PAGEQUERY_INLINE void chacha_rounds(std::uint32_t (&x)[16], int first_column) {
  static_assert(Rounds > 0 && Rounds % 2 == 0, "ChaCha runs whole double rounds");
  for (int r = 0; r < Rounds / 2; ++r) {
    detail::quarter_round(x[0], x[4], x[8], x[12]);
    if (r > 0 || first_column == 0) {
      detail::quarter_round(x[1], x[5], x[9], x[13]);
      detail::quarter_round(x[2], x[6], x[10], x[14]);
      detail::quarter_round(x[3], x[7], x[11], x[15]);
    }
    detail::quarter_round(x[0], x[5], x[10], x[15]);
    detail::quarter_round(x[1], x[6], x[11], x[12]);
    detail::quarter_round(x[2], x[7], x[8], x[13]);
    detail::quarter_round(x[3], x[4], x[9], x[14]);
  }
}

// One ChaCha block: state = constants | key[8] | counter | nonce[3].
template <int Rounds>
PAGEQUERY_INLINE void chacha_block(const std::uint32_t (&key)[8], std::uint32_t counter,
                                   const std::uint32_t (&nonce)[3], std::uint32_t (&out)[16]) {
  std::uint32_t init[16], x[16];
  chacha_init(key, counter, nonce, init);
  for (int i = 0; i < 16; ++i) x[i] = init[i];
  chacha_rounds<Rounds>(x, 0);
  for (int i = 0; i < 16; ++i) out[i] = x[i] + init[i];
}

// Blocks `counter` and `counter + 1` of one key and nonce. Only the counter word
// differs, so the first round's three column quarter rounds that do not touch
// it are computed once (3 of 64 quarter rounds of ChaCha8 saved).
template <int Rounds>
PAGEQUERY_INLINE void chacha_block_pair(const std::uint32_t (&key)[8], std::uint32_t counter,
                                        const std::uint32_t (&nonce)[3], std::uint32_t (&out0)[16],
                                        std::uint32_t (&out1)[16]) {
  std::uint32_t init[16], x0[16], x1[16];
  chacha_init(key, counter, nonce, init);
  for (int i = 0; i < 16; ++i) x0[i] = init[i];
  detail::quarter_round(x0[1], x0[5], x0[9], x0[13]);
  detail::quarter_round(x0[2], x0[6], x0[10], x0[14]);
  detail::quarter_round(x0[3], x0[7], x0[11], x0[15]);
  for (int i = 0; i < 16; ++i) x1[i] = x0[i];
  x1[12] = counter + 1;
  chacha_rounds<Rounds>(x0, 1);
  chacha_rounds<Rounds>(x1, 1);
  for (int i = 0; i < 16; ++i) out0[i] = x0[i] + init[i];
  init[12] = counter + 1;
  for (int i = 0; i < 16; ++i) out1[i] = x1[i] + init[i];
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
  const std::uint32_t key[8] = {seed.w[0], seed.w[1], seed.w[2], seed.w[3], seed.w[0], seed.w[1], seed.w[2], seed.w[3]};
  const std::uint32_t nonce[3] = {0, 0, 0};
  std::uint32_t b0[16];
  std::uint32_t b1[16];
  chacha_block_pair<8>(key, 0, nonce, b0, b1);
  return {{{b0[0], b0[1], b0[2], b0[3]}},
          {{b0[4], b0[5], b0[6], b0[7]}},
          static_cast<std::uint8_t>(b1[0] & 1u),
          static_cast<std::uint8_t>(b1[1] & 1u)};
}

}  // namespace pagequery
