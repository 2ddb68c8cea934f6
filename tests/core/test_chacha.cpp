// ChaCha block function and Morphogen's PRG expand, against published vectors.
#include "pagequery/core/chacha.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>

namespace {

using pagequery::Bits128;
using pagequery::chacha_block;
using pagequery::prg_expand;

// Serialises a block the way RFC 8439 does: each word little-endian.
void serialize(const std::uint32_t (&block)[16], std::uint8_t (&out)[64]) {
  for (int i = 0; i < 16; ++i)
    for (int b = 0; b < 4; ++b) out[4 * i + b] = static_cast<std::uint8_t>(block[i] >> (8 * b));
}

void expect_block(const std::uint32_t (&got)[16], const std::uint32_t (&want)[16]) {
  for (int i = 0; i < 16; ++i) EXPECT_EQ(got[i], want[i]) << "word " << i;
}

void expect_bytes(const std::uint32_t (&got)[16], const std::uint8_t (&want)[64]) {
  std::uint8_t bytes[64];
  serialize(got, bytes);
  for (int i = 0; i < 64; ++i) EXPECT_EQ(bytes[i], want[i]) << "byte " << i;
}

// RFC 8439 section 2.3.2: key 00:01:..:1f, block count 1,
// nonce 00:00:00:09:00:00:00:4a:00:00:00:00 (read as little-endian words).
TEST(ChaCha20, Rfc8439Section232) {
  std::uint32_t key[8];
  for (int i = 0; i < 8; ++i)
    key[i] = static_cast<std::uint32_t>(4 * i) | static_cast<std::uint32_t>(4 * i + 1) << 8 |
             static_cast<std::uint32_t>(4 * i + 2) << 16 | static_cast<std::uint32_t>(4 * i + 3) << 24;
  EXPECT_EQ(key[0], 0x03020100u);
  EXPECT_EQ(key[7], 0x1f1e1d1cu);
  const std::uint32_t nonce[3] = {0x09000000u, 0x4a000000u, 0x00000000u};
  std::uint32_t out[16];
  chacha_block<20>(key, 1, nonce, out);

  // "ChaCha state at the end of the ChaCha20 operation" (after adding the input).
  const std::uint32_t want[16] = {0xe4e7f110u, 0x15593bd1u, 0x1fdd0f50u, 0xc47120a3u, 0xc7f4d1c7u, 0x0368c033u,
                                  0x9aaa2204u, 0x4e6cd4c3u, 0x466482d2u, 0x09aa9f07u, 0x05d7c214u, 0xa2028bd9u,
                                  0xd19c12b5u, 0xb94e16deu, 0xe883d0cbu, 0x4e3c50a2u};
  expect_block(out, want);

  // "Serialized Block".
  const std::uint8_t serialized[64] = {0x10, 0xf1, 0xe7, 0xe4, 0xd1, 0x3b, 0x59, 0x15, 0x50, 0x0f, 0xdd, 0x1f, 0xa3,
                                       0x20, 0x71, 0xc4, 0xc7, 0xd1, 0xf4, 0xc7, 0x33, 0xc0, 0x68, 0x03, 0x04, 0x22,
                                       0xaa, 0x9a, 0xc3, 0xd4, 0x6c, 0x4e, 0xd2, 0x82, 0x64, 0x46, 0x07, 0x9f, 0xaa,
                                       0x09, 0x14, 0xc2, 0xd7, 0x05, 0xd9, 0x8b, 0x02, 0xa2, 0xb5, 0x12, 0x9c, 0xd1,
                                       0xde, 0x16, 0x4e, 0xb9, 0xcb, 0xd0, 0x83, 0xe8, 0xa2, 0x50, 0x3c, 0x4e};
  expect_bytes(out, serialized);
}

// RFC 8439 appendix A.1, test vectors #1 and #2: all-zero key and nonce,
// block counters 0 and 1.
TEST(ChaCha20, Rfc8439AppendixA1ZeroKey) {
  const std::uint32_t key[8] = {};
  const std::uint32_t nonce[3] = {};
  std::uint32_t out[16];
  chacha_block<20>(key, 0, nonce, out);
  const std::uint8_t block0[64] = {0x76, 0xb8, 0xe0, 0xad, 0xa0, 0xf1, 0x3d, 0x90, 0x40, 0x5d, 0x6a, 0xe5, 0x53,
                                   0x86, 0xbd, 0x28, 0xbd, 0xd2, 0x19, 0xb8, 0xa0, 0x8d, 0xed, 0x1a, 0xa8, 0x36,
                                   0xef, 0xcc, 0x8b, 0x77, 0x0d, 0xc7, 0xda, 0x41, 0x59, 0x7c, 0x51, 0x57, 0x48,
                                   0x8d, 0x77, 0x24, 0xe0, 0x3f, 0xb8, 0xd8, 0x4a, 0x37, 0x6a, 0x43, 0xb8, 0xf4,
                                   0x15, 0x18, 0xa1, 0x1c, 0xc3, 0x87, 0xb6, 0x69, 0xb2, 0xee, 0x65, 0x86};
  expect_bytes(out, block0);

  chacha_block<20>(key, 1, nonce, out);
  const std::uint8_t block1[64] = {0x9f, 0x07, 0xe7, 0xbe, 0x55, 0x51, 0x38, 0x7a, 0x98, 0xba, 0x97, 0x7c, 0x73,
                                   0x2d, 0x08, 0x0d, 0xcb, 0x0f, 0x29, 0xa0, 0x48, 0xe3, 0x65, 0x69, 0x12, 0xc6,
                                   0x53, 0x3e, 0x32, 0xee, 0x7a, 0xed, 0x29, 0xb7, 0x21, 0x76, 0x9c, 0xe6, 0x4e,
                                   0x43, 0xd5, 0x71, 0x33, 0xb0, 0x74, 0xd8, 0x39, 0xd5, 0x31, 0xed, 0x1f, 0x28,
                                   0x51, 0x0a, 0xfb, 0x45, 0xac, 0xe1, 0x0a, 0x1f, 0x4b, 0x79, 0x4d, 0x6f};
  expect_bytes(out, block1);
}

// ChaCha8 keystream for the all-zero 256-bit key and all-zero IV: test case
// TC1 ("8 rounds, 256-bit key") of draft-strombergson-chacha-test-vectors,
// which uses Bernstein's original layout (64-bit counter, 64-bit nonce). With
// counter and nonce zero that state equals the RFC layout with counter 0 and
// nonce 0, and the keystream's second 64 bytes are the block of counter 1.
// The same bytes were reproduced while writing this test by an independent
// Python ChaCha that also reproduces the RFC 8439 vectors above.
const std::uint8_t kChaCha8ZeroKeyBlock0[64] = {
    0x3e, 0x00, 0xef, 0x2f, 0x89, 0x5f, 0x40, 0xd6, 0x7f, 0x5b, 0xb8, 0xe8, 0x1f, 0x09, 0xa5, 0xa1,
    0x2c, 0x84, 0x0e, 0xc3, 0xce, 0x9a, 0x7f, 0x3b, 0x18, 0x1b, 0xe1, 0x88, 0xef, 0x71, 0x1a, 0x1e,
    0x98, 0x4c, 0xe1, 0x72, 0xb9, 0x21, 0x6f, 0x41, 0x9f, 0x44, 0x53, 0x67, 0x45, 0x6d, 0x56, 0x19,
    0x31, 0x4a, 0x42, 0xa3, 0xda, 0x86, 0xb0, 0x01, 0x38, 0x7b, 0xfd, 0xb8, 0x0e, 0x0c, 0xfe, 0x42};
const std::uint8_t kChaCha8ZeroKeyBlock1[64] = {
    0xd2, 0xae, 0xfa, 0x0d, 0xea, 0xa5, 0xc1, 0x51, 0xbf, 0x0a, 0xdb, 0x6c, 0x01, 0xf2, 0xa5, 0xad,
    0xc0, 0xfd, 0x58, 0x12, 0x59, 0xf9, 0xa2, 0xaa, 0xdc, 0xf2, 0x0f, 0x8f, 0xd5, 0x66, 0xa2, 0x6b,
    0x50, 0x32, 0xec, 0x38, 0xbb, 0xc5, 0xda, 0x98, 0xee, 0x0c, 0x6f, 0x56, 0x8b, 0x87, 0x2a, 0x65,
    0xa0, 0x8a, 0xbf, 0x25, 0x1d, 0xeb, 0x21, 0xbb, 0x4b, 0x56, 0xe5, 0xd8, 0x82, 0x1e, 0x68, 0xaa};

TEST(ChaCha8, ZeroKeyKeystream) {
  const std::uint32_t key[8] = {};
  const std::uint32_t nonce[3] = {};
  std::uint32_t out[16];
  chacha_block<8>(key, 0, nonce, out);
  expect_bytes(out, kChaCha8ZeroKeyBlock0);
  chacha_block<8>(key, 1, nonce, out);
  expect_bytes(out, kChaCha8ZeroKeyBlock1);
}

// The pair of blocks the PRG draws (shared first-round quarter rounds) is the
// two blocks computed separately: the zero-key vectors, then random keys,
// nonces and counters (including the wrap of counter + 1).
TEST(ChaCha8, BlockPairIsTwoBlocks) {
  const std::uint32_t zero_key[8] = {};
  const std::uint32_t zero_nonce[3] = {};
  std::uint32_t b0[16], b1[16];
  pagequery::chacha_block_pair<8>(zero_key, 0, zero_nonce, b0, b1);
  expect_bytes(b0, kChaCha8ZeroKeyBlock0);
  expect_bytes(b1, kChaCha8ZeroKeyBlock1);
  std::mt19937 gen(11);
  for (std::uint32_t counter : {0u, 1u, 77u, 0xffffffffu}) {
    std::uint32_t key[8], nonce[3], want0[16], want1[16];
    for (auto& k : key) k = gen();
    for (auto& n : nonce) n = gen();
    chacha_block<8>(key, counter, nonce, want0);
    chacha_block<8>(key, counter + 1, nonce, want1);
    pagequery::chacha_block_pair<8>(key, counter, nonce, b0, b1);
    EXPECT_EQ(std::memcmp(b0, want0, sizeof b0), 0) << "counter " << counter;
    EXPECT_EQ(std::memcmp(b1, want1, sizeof b1), 0) << "counter " << counter;
  }
}

// The round count is a real parameter: 8, 12 and 20 rounds give different blocks.
TEST(ChaCha8, RoundCountMatters) {
  const std::uint32_t key[8] = {};
  const std::uint32_t nonce[3] = {};
  std::uint32_t r8[16], r12[16], r20[16];
  chacha_block<8>(key, 0, nonce, r8);
  chacha_block<12>(key, 0, nonce, r12);
  chacha_block<20>(key, 0, nonce, r20);
  EXPECT_NE(std::memcmp(r8, r20, sizeof r8), 0);
  EXPECT_NE(std::memcmp(r8, r12, sizeof r8), 0);
  EXPECT_NE(std::memcmp(r12, r20, sizeof r8), 0);
  EXPECT_EQ(r8[0], 0x2fef003eu);  // bytes 3e 00 ef 2f read little-endian
}

// An independent, table-driven ChaCha written for this test: `double_rounds`
// column+diagonal double rounds, then the feed-forward addition.
void reference_chacha(int double_rounds, const std::uint32_t (&key)[8], std::uint32_t counter,
                      const std::uint32_t (&nonce)[3], std::uint32_t (&out)[16]) {
  static const int kQuarters[8][4] = {{0, 4, 8, 12},  {1, 5, 9, 13},  {2, 6, 10, 14}, {3, 7, 11, 15},
                                      {0, 5, 10, 15}, {1, 6, 11, 12}, {2, 7, 8, 13},  {3, 4, 9, 14}};
  static const int kRot[4] = {16, 12, 8, 7};
  std::uint32_t s[16] = {0x61707865u, 0x3320646eu, 0x79622d32u, 0x6b206574u};
  for (int i = 0; i < 8; ++i) s[4 + i] = key[i];
  s[12] = counter;
  for (int i = 0; i < 3; ++i) s[13 + i] = nonce[i];
  std::uint32_t x[16];
  std::memcpy(x, s, sizeof s);
  for (int r = 0; r < double_rounds; ++r)
    for (const auto& q : kQuarters)
      for (int step = 0; step < 4; ++step) {
        // steps: a+=b, d^=a, d<<<16 | c+=d, b^=c, b<<<12 | a+=b, d^=a, d<<<8 | c+=d, b^=c, b<<<7
        const int add_to = q[step % 2 == 0 ? 0 : 2], add_from = q[step % 2 == 0 ? 1 : 3];
        const int target = q[step % 2 == 0 ? 3 : 1];
        x[add_to] += x[add_from];
        x[target] ^= x[add_to];
        x[target] = (x[target] << kRot[step]) | (x[target] >> (32 - kRot[step]));
      }
  for (int i = 0; i < 16; ++i) out[i] = x[i] + s[i];
}

TEST(ChaCha8, IsFourDoubleRounds) {
  std::uint32_t rng = 987654321u;
  for (int n = 0; n < 50; ++n) {
    std::uint32_t key[8], nonce[3];
    for (std::uint32_t& w : key) w = rng = rng * 1664525u + 1013904223u;
    for (std::uint32_t& w : nonce) w = rng = rng * 1664525u + 1013904223u;
    const std::uint32_t counter = n < 2 ? n : (rng = rng * 1664525u + 1013904223u);
    std::uint32_t got[16], want[16];
    chacha_block<8>(key, counter, nonce, got);
    reference_chacha(4, key, counter, nonce, want);
    expect_block(got, want);
    chacha_block<20>(key, counter, nonce, got);
    reference_chacha(10, key, counter, nonce, want);
    expect_block(got, want);
  }
  // The table-driven reference itself reproduces the published ChaCha8 vector.
  const std::uint32_t zero_key[8] = {};
  const std::uint32_t zero_nonce[3] = {};
  std::uint32_t out[16];
  reference_chacha(4, zero_key, 0, zero_nonce, out);
  expect_bytes(out, kChaCha8ZeroKeyBlock0);
}

// Counter and nonce words land in state words 12..15: changing any of them
// changes the block.
TEST(ChaCha8, CounterAndNonceAreInputs) {
  const std::uint32_t key[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  const std::uint32_t nonce0[3] = {0, 0, 0};
  std::uint32_t base[16], other[16];
  chacha_block<8>(key, 0, nonce0, base);
  for (int w = 0; w < 3; ++w) {
    std::uint32_t nonce[3] = {0, 0, 0};
    nonce[w] = 1;
    chacha_block<8>(key, 0, nonce, other);
    EXPECT_NE(std::memcmp(base, other, sizeof base), 0) << "nonce word " << w;
  }
  chacha_block<8>(key, 1, nonce0, other);
  EXPECT_NE(std::memcmp(base, other, sizeof base), 0);
}

// prg_expand(seed): key = seed || seed, nonce 0; block 0 words 0..3 / 4..7 are
// the left / right seeds, block 1 words 0 / 1 give t_left / t_right (bit 0).
void expect_expand_matches_blocks(const Bits128& seed) {
  const std::uint32_t key[8] = {seed.w[0], seed.w[1], seed.w[2], seed.w[3], seed.w[0], seed.w[1], seed.w[2], seed.w[3]};
  const std::uint32_t nonce[3] = {0, 0, 0};
  std::uint32_t b0[16], b1[16];
  chacha_block<8>(key, 0, nonce, b0);
  chacha_block<8>(key, 1, nonce, b1);
  const pagequery::PrgChildren c = prg_expand(seed);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(c.left.w[i], b0[i]) << "left word " << i;
    EXPECT_EQ(c.right.w[i], b0[4 + i]) << "right word " << i;
  }
  EXPECT_EQ(c.t_left, b1[0] & 1u);
  EXPECT_EQ(c.t_right, b1[1] & 1u);
}

TEST(PrgExpand, MatchesChaCha8Blocks) {
  expect_expand_matches_blocks(Bits128{{0, 0, 0, 0}});
  expect_expand_matches_blocks(Bits128{{0x03020100u, 0x07060504u, 0x0b0a0908u, 0x0f0e0d0cu}});
  expect_expand_matches_blocks(Bits128{{0x01234567u, 0x89abcdefu, 0xdeadbeefu, 0x0badf00du}});
  expect_expand_matches_blocks(Bits128{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}});
  std::uint32_t x = 12345;
  for (int n = 0; n < 64; ++n) {
    Bits128 s;
    for (std::uint32_t& w : s.w) w = x = x * 1664525u + 1013904223u;
    expect_expand_matches_blocks(s);
  }
}

// The zero seed makes the ChaCha key all-zero, so its children are the
// published ChaCha8 keystream above.
TEST(PrgExpand, ZeroSeedIsPublishedKeystream) {
  const pagequery::PrgChildren c = prg_expand(Bits128{{0, 0, 0, 0}});
  const Bits128 left{{0x2fef003eu, 0xd6405f89u, 0xe8b85b7fu, 0xa1a5091fu}};
  const Bits128 right{{0xc30e842cu, 0x3b7f9aceu, 0x88e11b18u, 0x1e1a71efu}};
  EXPECT_TRUE(c.left == left);
  EXPECT_TRUE(c.right == right);
  EXPECT_EQ(c.t_left, 0x0dfaaed2u & 1u);   // block 1 word 0: d2 ae fa 0d
  EXPECT_EQ(c.t_right, 0x51c1a5eau & 1u);  // block 1 word 1: ea a5 c1 51
}

// Known answers computed outside this code base (an independent Python port
// of Morphogen's ChaCha8Prg::expand), chosen so both t bits take both values.
TEST(PrgExpand, KnownAnswers) {
  {
    const pagequery::PrgChildren c = prg_expand(Bits128{{0x03020100u, 0x07060504u, 0x0b0a0908u, 0x0f0e0d0cu}});
    EXPECT_TRUE(c.left == (Bits128{{0x7826d45cu, 0x4aced0f7u, 0xaf73c5cbu, 0x6bea2e6au}}));
    EXPECT_TRUE(c.right == (Bits128{{0x74a34bb3u, 0x17744916u, 0x5bcc83a1u, 0x2760b9cfu}}));
    EXPECT_EQ(c.t_left, 0);
    EXPECT_EQ(c.t_right, 1);
  }
  {
    const pagequery::PrgChildren c = prg_expand(Bits128{{0x01234567u, 0x89abcdefu, 0xdeadbeefu, 0x0badf00du}});
    EXPECT_TRUE(c.left == (Bits128{{0xa996e866u, 0xa789e5e9u, 0x9e07cf74u, 0xa8dfdcd9u}}));
    EXPECT_TRUE(c.right == (Bits128{{0x9e2255f9u, 0xf3ef2740u, 0x1d31a4beu, 0xab6808c6u}}));
    EXPECT_EQ(c.t_left, 1);
    EXPECT_EQ(c.t_right, 0);
  }
}

TEST(Bits128, Operators) {
  const Bits128 a{{0xf0f0f0f0u, 0x12345678u, 0u, 0xffffffffu}};
  const Bits128 b{{0x0ff00ff0u, 0xffffffffu, 0xffffffffu, 0x80000001u}};
  EXPECT_TRUE((a ^ b) == (Bits128{{0xff00ff00u, 0xedcba987u, 0xffffffffu, 0x7ffffffeu}}));
  EXPECT_TRUE((a & b) == (Bits128{{0x00f000f0u, 0x12345678u, 0u, 0x80000001u}}));
  EXPECT_FALSE(a == b);
  EXPECT_EQ(sizeof(Bits128), 16u);
  EXPECT_EQ(alignof(Bits128), 16u);
  EXPECT_EQ(pagequery::kVectorsPerPage * 16, pagequery::kPageBytes);
}

}  // namespace
