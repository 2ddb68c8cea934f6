#pragma once
// Packed DPF keys (docs/packed-dpf.md): Morphogen's tree with early termination.
// A leaf carries 128 output bits, one selection bit for each of 128 pages, so
// the tree is 7 levels shallower than Morphogen's, and one ChaCha8 block per
// node gives both children and both control bits.
//
// Page p is bit (p & 127) of leaf p >> 7; bit b of a 128-bit value is bit
// b % 32 of word b / 32. Party 0's and party 1's leaves XOR to beta (only bit
// x & 127 set) at leaf x >> 7 and to zero elsewhere, so the XOR of the selected
// pages of both parties' answers is page x.
//
// Evaluation is host+device (dpf_children, dpf_evaluate, dpf_leaf_mask of
// core/dpf.hpp take a PackedDpfKey); key generation and bytes are host-only.
#include "dpf.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace pagequery {

inline constexpr int kPackedLeafLog2 = 7;  // 128 pages a leaf
inline constexpr int kPackedLeafPages = 1 << kPackedLeafLog2;
inline constexpr int kMaxPackedDomainBits = kMaxDomainBits - kPackedLeafLog2;  // 25: 2^32 pages
inline constexpr std::size_t kPackedMagicBytes = 4;                            // "PQP1"

// One party's packed key; domain_bits is the depth of the tree: leaf bits.
// The same fields as DpfKey, so the tree functions of core/dpf.hpp serve both.
struct PackedDpfKey {
  Bits128 root_seed;
  std::uint8_t root_t;
  std::uint8_t party;
  std::uint8_t domain_bits;
  CorrectionWord cw[kMaxPackedDomainBits];
  Bits128 final_cw;
};

struct PackedDpfKeyPair {
  PackedDpfKey party0;
  PackedDpfKey party1;
};

// The packed PRG: one ChaCha8 block, key = seed || seed, counter 0, nonce 0.
// Left seed = words 0..3, right seed = words 4..7, t = words 8 and 9, bit 0.
PAGEQUERY_INLINE PrgChildren packed_prg_expand(const Bits128& seed) {
  const std::uint32_t key[8] = {seed.w[0], seed.w[1], seed.w[2], seed.w[3], seed.w[0], seed.w[1], seed.w[2], seed.w[3]};
  const std::uint32_t nonce[3] = {0, 0, 0};
  std::uint32_t b[16];
  chacha_block<8>(key, 0, nonce, b);
  return {{{b[0], b[1], b[2], b[3]}},
          {{b[4], b[5], b[6], b[7]}},
          static_cast<std::uint8_t>(b[8] & 1u),
          static_cast<std::uint8_t>(b[9] & 1u)};
}

PAGEQUERY_INLINE PrgChildren tree_expand(const PackedDpfKey&, const Bits128& seed) { return packed_prg_expand(seed); }

// Bit b (0..127) of a leaf value: whether page 128 leaf + b is selected.
PAGEQUERY_INLINE bool leaf_bit(const Bits128& leaf, int b) { return (leaf.w[b >> 5] >> (b & 31)) & 1u; }

// Scalar reference: whether one party's key selects page p (a root-to-leaf walk).
PAGEQUERY_INLINE bool packed_selects(const PackedDpfKey& key, std::uint64_t page) {
  return leaf_bit(dpf_evaluate(key, page >> kPackedLeafLog2), static_cast<int>(page & (kPackedLeafPages - 1)));
}

// Leaf bits of a matrix of `pages` pages: max(1, ceil(log2(ceil(pages / 128)))).
// Equals max(1, domain_bits_for(pages) - 7); throws MatrixError as that does.
int packed_domain_bits(std::uint64_t pages);

// Key generation for page `target` < 2^(leaf_bits + 7), 1 <= leaf_bits <= 25.
PackedDpfKeyPair generate_packed_keys(int leaf_bits, std::uint64_t target, KeyRng& rng);

// "PQP1" | root_seed | root_t | party | d | d x (seed_cw, t_cw_left, t_cw_right) |
// final_cw: 39 + 18 d bytes. Parsing refuses a wrong magic or length, a party or
// t byte other than 0/1, and d outside 1..25 (KeyError, "packed DPF key: ...").
std::size_t packed_key_size(int leaf_bits);
std::vector<std::uint8_t> to_bytes(const PackedDpfKey& key);
PackedDpfKey packed_key_from_bytes(std::span<const std::uint8_t> bytes);

// The two key formats. Key bytes tell them apart by length: 39 + 18 d is 3
// modulo 18, Morphogen's 35 + 18 d is 17. Bytes of any other length are packed
// when they start with the magic, else Morphogen (the parser then says why not).
enum class DpfFormat { Morphogen, Packed };
DpfFormat key_format_of(std::span<const std::uint8_t> bytes);
std::string to_string(DpfFormat format);  // "morphogen", "packed"

// Scalar reference answer of one packed key over `pages` (count x 4096 bytes,
// global pages first_page..): the XOR of the selected pages, 4096 bytes.
std::vector<std::uint8_t> packed_reference_answer(std::span<const std::uint8_t> pages, std::uint64_t first_page,
                                                  const PackedDpfKey& key);

}  // namespace pagequery
