#pragma once
// Morphogen's ChaCha8 DPF: keys, their bytes, key generation and evaluation.
// Evaluation functions are host+device; key generation and bytes are host-only.
#include "chacha.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <utility>
#include <vector>

namespace pagequery {

inline constexpr int kMaxDomainBits = 32;

struct CorrectionWord {
  Bits128 seed;
  std::uint8_t t_left;
  std::uint8_t t_right;
};

// One party's key. Fixed-size so that keys are trivially copyable into device Views.
struct DpfKey {
  Bits128 root_seed;
  std::uint8_t root_t;
  std::uint8_t party;
  std::uint8_t domain_bits;
  CorrectionWord cw[kMaxDomainBits];
  Bits128 final_cw;
};

struct DpfKeyPair {
  DpfKey party0;
  DpfKey party1;
};

// Thrown for malformed key bytes or invalid generation parameters.
class KeyError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// ChaCha20 keystream used as the key-generation RNG; seeded from the OS when no
// seed is given (Morphogen draws roots from an OS-seeded CSPRNG).
class KeyRng {
 public:
  explicit KeyRng(std::optional<std::uint64_t> seed = std::nullopt);
  Bits128 next_seed();

 private:
  std::uint32_t key_[8];
  std::uint32_t counter_ = 0;
  std::uint32_t block_[16];
  int used_ = 16;
};

// Morphogen's key generation for target < 2^domain_bits, 1 <= domain_bits <= 32.
DpfKeyPair generate_dpf_keys(int domain_bits, std::uint64_t target, KeyRng& rng);

// Morphogen's ChaChaKey::to_bytes layout; length 19 + 18 d + 16.
std::size_t dpf_key_size(int domain_bits);
std::vector<std::uint8_t> to_bytes(const DpfKey& key);
DpfKey dpf_key_from_bytes(std::span<const std::uint8_t> bytes);

struct DpfNode {
  Bits128 seed;
  std::uint8_t t;
};

// The tree functions below serve both key formats: a key type names its PRG
// through an overload of tree_expand (packed keys: core/dpf_packed.hpp).
PAGEQUERY_INLINE PrgChildren tree_expand(const DpfKey&, const Bits128& seed) { return prg_expand(seed); }

// The children of a node at `level` whose seed and control bit are (seed, t),
// with the key's correction word applied when t == 1.
template <class Key>
PAGEQUERY_INLINE void dpf_children(const Key& key, int level, const DpfNode& node, DpfNode& left, DpfNode& right) {
  const PrgChildren c = tree_expand(key, node.seed);
  left = {c.left, c.t_left};
  right = {c.right, c.t_right};
  if (node.t) {
    const CorrectionWord& cw = key.cw[level];
    left.seed = left.seed ^ cw.seed;
    right.seed = right.seed ^ cw.seed;
    left.t ^= cw.t_left;
    right.t ^= cw.t_right;
  }
}

template <class Key>
PAGEQUERY_INLINE DpfNode dpf_child(const Key& key, int level, const DpfNode& node, int bit) {
  DpfNode left, right;
  dpf_children(key, level, node, left, right);
  return bit ? right : left;
}

template <class Key>
PAGEQUERY_INLINE Bits128 dpf_leaf_mask(const Key& key, const DpfNode& leaf) {
  return leaf.t ? leaf.seed ^ key.final_cw : leaf.seed;
}

// Point evaluation: walks the whole path (d PRG expansions). A reference only;
// the page-query kernel expands each subtree node once.
template <class Key>
PAGEQUERY_INLINE Bits128 dpf_evaluate(const Key& key, std::uint64_t index) {
  DpfNode node{key.root_seed, key.root_t};
  for (int level = 0; level < key.domain_bits; ++level) {
    const int bit = static_cast<int>((index >> (key.domain_bits - 1 - level)) & 1u);
    node = dpf_child(key, level, node, bit);
  }
  return dpf_leaf_mask(key, node);
}

}  // namespace pagequery
